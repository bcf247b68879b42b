"""The ``fieldacs`` entry point: parse arguments, start the engine, show the window.

Structure::

    main(argv)                    sync; exit code; never shows the user a traceback
      parse_args -> EngineConfig
      qt_import_problem / platform_problem    -> message on stderr, exit 2
      create_application                       the one QApplication, quit-on-close off
      run_on_qasync(app, run_console(...))     asyncio.Runner over qasync.QEventLoop
        run_console                            engine.start -> window -> wait -> engine.stop
          EngineStartError -> show_start_error (non-blocking QMessageBox) -> exit 1
          Settings "Restart FieldACS now"     window closes -> engine.stop -> relaunch_command
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from acs_engine.config import EngineConfig, default_db_path

log = logging.getLogger("fieldacs.app")

#: Exit codes of :func:`main`.
EXIT_OK = 0
EXIT_START_FAILED = 1
EXIT_NO_DISPLAY = 2
#: After the window shows, when the objects alive are frozen out of full collections.
FREEZE_AFTER_MS = 3000


@dataclass(frozen=True, slots=True)
class StartErrorMessage:
    """What the start-up error dialog says.

    Attributes:
        title: the dialog's window title.
        text: the reason, in plain words (the engine's own message).
        hint: what to do about it.
    """

    title: str
    text: str
    hint: str


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not between 0 and 65535")
    return port


def build_parser() -> argparse.ArgumentParser:
    """The command line of ``fieldacs``."""
    defaults = EngineConfig.__dataclass_fields__
    parser = argparse.ArgumentParser(
        prog="fieldacs",
        description="FieldACS: a TR-069 (CWMP) management console with the ACS built in.",
    )
    parser.add_argument(
        "--db",
        type=Path,
        default=None,
        metavar="PATH",
        help=f"the device database (default: {default_db_path()})",
    )
    parser.add_argument(
        "--cwmp-port",
        type=_port,
        default=defaults["cwmp_port"].default,
        metavar="N",
        help="the port CPEs connect to (default: %(default)s; 0 picks a free port)",
    )
    parser.add_argument(
        "--fs-port",
        type=_port,
        default=defaults["fs_port"].default,
        metavar="N",
        help="the file server's port for firmware downloads (default: %(default)s)",
    )
    parser.add_argument(
        "--host",
        default=defaults["cwmp_host"].default,
        metavar="H",
        help="the address the ACS listens on (default: %(default)s, every address)",
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log what the ACS does to stderr"
    )
    # Hidden, for installer/smoke.py: close the window SECONDS after it is shown and print
    # the ACS URLs and the database path to stdout.
    parser.add_argument(
        "--smoke-exit-after", type=float, default=None, metavar="SECONDS", help=argparse.SUPPRESS
    )
    return parser


def config_from_args(args: argparse.Namespace) -> EngineConfig:
    """The engine settings the command line asks for."""
    config = EngineConfig(
        cwmp_host=args.host, cwmp_port=args.cwmp_port, fs_host=args.host, fs_port=args.fs_port
    )
    if args.db is not None:
        config = config.replace(db_path=args.db.expanduser())
    return config


def start_error_message(exc: BaseException, config: EngineConfig) -> StartErrorMessage:
    """Describe why the engine did not start and what the user can do about it.

    Args:
        exc: the :class:`~acs_engine.server.controller.EngineStartError` (its message is
            already in plain words; its ``__cause__`` tells what failed).
        config: the settings the engine was started with.

    Returns:
        The title, reason and hint for the error dialog.
    """
    text = str(exc) or "The ACS could not start."
    cause = exc.__cause__
    other_port = config.cwmp_port + 1 if 0 < config.cwmp_port < 65535 else 7548
    from acs_engine.store.errors import StoreError

    if "nbi would listen" in text.lower():
        hint = (
            "The NBI address and token come from FieldACS's saved settings (group "
            "\"engine\": nbi_host, nbi_token). Set nbi_host to 127.0.0.1 there, or give "
            "nbi_token a random value of at least 8 characters; then start FieldACS again."
        )
    elif isinstance(cause, StoreError) or "database" in text.lower():
        hint = (
            f"Check that {config.db_path} is a FieldACS database and that you may read and "
            "write it, or start FieldACS with another database file:\n"
            "    fieldacs --db PATH"
        )
    elif isinstance(cause, OSError) and cause.errno == errno.EADDRINUSE:
        hint = (
            f"Close the other program that uses port {config.cwmp_port}, or start FieldACS "
            f"on another port and give CPEs that port in their ACS URL:\n"
            f"    fieldacs --cwmp-port {other_port}"
        )
    elif isinstance(cause, OSError) and cause.errno in (errno.EACCES, errno.EPERM):
        hint = f"Choose a port above 1024:\n    fieldacs --cwmp-port {other_port}"
    elif isinstance(cause, OSError) and cause.errno == errno.EADDRNOTAVAIL:
        hint = "Leave out --host to listen on every address of this computer."
    else:
        hint = "Run fieldacs --help to see the options."
    return StartErrorMessage("FieldACS could not start", text, hint)


async def show_start_error(message: StartErrorMessage) -> None:
    """Show ``message`` in an error dialog and wait until the user closes it.

    The dialog is opened with ``open()``, so the event loop keeps running (no nested
    ``exec()`` on the qasync loop).
    """
    from PySide6.QtWidgets import QMessageBox

    from app.icons import app_icon

    box = QMessageBox(
        QMessageBox.Icon.Critical, message.title, message.text, QMessageBox.StandardButton.Close
    )
    box.setObjectName("startErrorDialog")
    box.setInformativeText(message.hint)
    box.setWindowIcon(app_icon())
    done: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def finished(result: int) -> None:
        if not done.done():
            done.set_result(result)

    box.finished.connect(finished)
    box.open()
    try:
        await done
    finally:
        box.deleteLater()


def relaunch_command(
    args: Sequence[str],
    *,
    db_path: Path | str | None = None,
    executable: str | None = None,
    frozen: bool | None = None,
    main_module: str | None = None,
    script: str | None = None,
) -> tuple[str, list[str]]:
    """The program and arguments that start FieldACS again as it was started.

    Args:
        args: the arguments it was started with (after the program name).
        db_path: the database to start on; replaces a ``--db`` option (which would win over
            the saved setting), and is not added when there was none (the saved one is read).
        executable: the program (default ``sys.executable``: Python, or the frozen build).
        frozen: a PyInstaller build (default: ``sys.frozen``): the executable is FieldACS.
        main_module: the module run with ``python -m`` (default: read from ``__main__``).
        script: the script Python runs otherwise (default ``sys.argv[0]``, e.g. the
            ``fieldacs`` launcher).
    """
    program = executable or sys.executable
    rest: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--db" and db_path is not None:
            rest += ["--db", str(db_path)]
            skip = True
        elif arg.startswith("--db=") and db_path is not None:
            rest.append(f"--db={db_path}")
        elif arg == "--smoke-exit-after":
            skip = True
        elif not arg.startswith("--smoke-exit-after="):
            rest.append(arg)
    if frozen if frozen is not None else bool(getattr(sys, "frozen", False)):
        return program, rest
    if main_module is None:
        spec = getattr(sys.modules.get("__main__"), "__spec__", None)
        main_module = spec.name if spec is not None and spec.name else ""
    if main_module:
        return program, ["-m", main_module.removesuffix(".__main__"), *rest]
    return program, [script if script is not None else sys.argv[0], *rest]


def relaunch(program: str, arguments: Sequence[str]) -> bool:
    """Start ``program`` detached (it outlives this process); True when it started."""
    from PySide6.QtCore import QProcess

    started, _pid = QProcess.startDetached(program, list(arguments))
    if not started:
        log.error("could not start %s %s", program, " ".join(arguments))
    return bool(started)


async def run_console(
    app: Any, config: EngineConfig, settings: Any = None, exit_after: float | None = None,
    argv: Sequence[str] | None = None,
) -> int:
    """Start the engine, show the main window until it closes, then stop the engine.

    When the settings dialog asks for a restart, the window closes, the engine stops
    (sessions ended, database closed, ports free), then FieldACS is started again
    (:func:`relaunch_command` over ``argv``) and this run returns.

    Args:
        app: the QApplication (its ``lastWindowClosed`` ends the run).
        config: the engine settings.
        settings: a ``QSettings`` for the window layout (default: the application's).
        exit_after: close the window this many seconds after it is shown, printing what it
            shows to stdout (the installer's smoke test); None waits for the user.
        argv: the arguments (after the program name) a restart starts with (default:
            ``sys.argv[1:]``).

    Returns:
        :data:`EXIT_OK`, or :data:`EXIT_START_FAILED` after the error dialog was closed.
    """
    from PySide6.QtCore import QSettings, QTimer

    from acs_engine.console_api import EngineStartError, LocalConsoleEngine
    from app.bootstrap import install_interrupt_handler
    from app.bridge import EngineBridge
    from app.collector import GuiThreadCollector
    from app.overview import acs_urls_of
    from app.remote_ui import RemoteWindows
    from app.window import MainWindow

    loop = asyncio.get_running_loop()
    closed = asyncio.Event()
    engine = LocalConsoleEngine.create(config)
    # The bridge and window exist before start() so the engine's start notices are shown.
    bridge = EngineBridge(engine.bus)
    window = MainWindow(engine, bridge, settings)
    window.closed.connect(closed.set)
    app.lastWindowClosed.connect(closed.set)
    # File > Connect to ACS…: windows on remote engines, closed with this one.
    remote_windows = RemoteWindows(settings if settings is not None else QSettings())
    window.connectRequested.connect(lambda: remote_windows.ask(window))
    restart_on: list[str] = []

    def restart(db_path: str) -> None:
        log.info("restarting FieldACS on %s", db_path)
        restart_on.append(db_path)
        window.close()
        closed.set()

    if window.admin is not None:
        window.admin.restartRequested.connect(restart)

    def interrupted() -> None:
        log.info("interrupted; closing")
        if window.isVisible():
            window.close()
        closed.set()

    restore_interrupt = install_interrupt_handler(loop, interrupted)
    # Garbage is collected on this (the GUI) thread only: see app/collector.py.
    collector = GuiThreadCollector(app)
    collector.start()
    try:
        try:
            await engine.start()
        except EngineStartError as exc:
            log.error("the ACS could not start: %s", exc)
            await show_start_error(start_error_message(exc, config))
            return EXIT_START_FAILED
        # Listing local addresses may resolve the host name: keep it off the loop.
        window.set_acs_urls(
            await asyncio.to_thread(acs_urls_of, engine), engine.tls_fingerprint, engine.tls_kind
        )
        window.show()
        window.raise_()
        window.activateWindow()
        # Once the panels' first loads are in, what exists leaves the full collections.
        QTimer.singleShot(FREEZE_AFTER_MS, collector, collector.freeze_startup)
        if exit_after is not None:
            _print_smoke_report(window, config)
            loop.call_later(exit_after, window.close)
        await closed.wait()
        if window.isVisible():
            window.close()
        return EXIT_OK
    finally:
        restore_interrupt()
        app.lastWindowClosed.disconnect(closed.set)
        await remote_windows.close_all()
        bridge.detach()
        await engine.stop()
        window.deleteLater()
        collector.stop()  # deletes the window here and now, then collects
        collector.deleteLater()
        log.info("FieldACS stopped")
        if restart_on:
            relaunch(*relaunch_command(
                sys.argv[1:] if argv is None else argv, db_path=restart_on[-1]
            ))


def _with_saved_settings(config: EngineConfig, args: argparse.Namespace) -> EngineConfig:
    """``config`` with the Settings dialog's saved values; options given on the command
    line (those that differ from their defaults) win."""
    from app.settings_dialog import saved_config

    parser = build_parser()
    given = {
        field for option, fields in (
            ("db", ("db_path",)), ("cwmp_port", ("cwmp_port",)), ("fs_port", ("fs_port",)),
            ("host", ("cwmp_host", "fs_host")),
        )
        if getattr(args, option) != parser.get_default(option) for field in fields
    }
    return saved_config(config, explicit=given)


def _configure_logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from app.logfile import install_log_file

    install_log_file()  # the platform's log folder; Help > Open log folder shows it


def _print_smoke_report(window: Any, config: EngineConfig) -> None:
    if sys.stdout is None:  # a windowed build has no stdout
        return
    print(f"smoke: window shown: {window.isVisible()} ({window.windowTitle()})")
    print(f"smoke: database: {config.db_path}")
    for url in window.acs_urls():
        print(f"smoke: ACS URL: {url}")
    sys.stdout.flush()


def _print_error(text: str) -> None:
    if sys.stderr is not None:  # None in a windowed (no console) build
        print(text, file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``fieldacs`` command: run the console until its window closes.

    Args:
        argv: the arguments after the program name (default: ``sys.argv[1:]``).

    Returns:
        0 after a normal close; 1 when the ACS could not start (after telling the user why);
        2 when Qt cannot open a window here (the reason and the packages to install are
        printed to stderr).
    """
    args = build_parser().parse_args(argv)
    _configure_logging(args.verbose)
    config = config_from_args(args)

    from app import bootstrap

    problem = bootstrap.qt_import_problem()
    if problem is None:
        from PySide6.QtWidgets import QApplication

        if QApplication.instance() is None:
            problem = bootstrap.platform_problem()
    if problem is not None:
        _print_error(problem)
        return EXIT_NO_DISPLAY

    app = bootstrap.create_application([sys.argv[0] if sys.argv else "fieldacs"])
    config = _with_saved_settings(config, args)
    try:
        return bootstrap.run_on_qasync(
            app, run_console(
                app, config, exit_after=args.smoke_exit_after,
                argv=list(sys.argv[1:] if argv is None else argv),
            )
        )
    except Exception:
        log.critical("FieldACS stopped because of an unexpected error", exc_info=True)
        return EXIT_START_FAILED


if __name__ == "__main__":
    sys.exit(main())
