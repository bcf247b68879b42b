"""Start-up plumbing: the Qt platform check, the one QApplication and the qasync loop.

Nothing here knows about the engine. :func:`platform_problem` runs *before* Qt is asked to
open a window, because a Qt platform plugin that cannot load aborts the process from C++
(no Python exception, no chance to explain). The loop is a ``qasync.QEventLoop`` driven by
:class:`asyncio.Runner`; per the project's pitfalls, the application never quits by itself
(``setQuitOnLastWindowClosed(False)``): the main coroutine decides when it is done.
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import socket
import sys
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

log = logging.getLogger("fieldacs.app")

T = TypeVar("T")

#: Debian/Ubuntu packages the Qt runtime needs even without a display.
DEBIAN_QT_PACKAGES: tuple[str, ...] = (
    "libegl1",
    "libgl1",
    "libfontconfig1",
    "libxkbcommon0",
    "libdbus-1-3",
    "libglib2.0-0",
)
#: Extra Debian/Ubuntu packages for a real X11 display (the xcb platform plugin).
DEBIAN_X11_PACKAGES: tuple[str, ...] = (
    "libxcb-cursor0",
    "libxcb-icccm4",
    "libxcb-image0",
    "libxcb-keysyms1",
    "libxcb-randr0",
    "libxcb-render-util0",
    "libxcb-shape0",
    "libxcb-xinerama0",
    "libxcb-xkb1",
    "libxkbcommon-x11-0",
)

#: Platform plugins that draw without any display server.
_HEADLESS_PLATFORMS = frozenset({"offscreen", "minimal", "vnc", "linuxfb", "eglfs"})


def install_hint(x11: bool = True) -> str:
    """The ``apt-get`` line that installs what the Qt runtime needs on Debian/Ubuntu."""
    packages = DEBIAN_QT_PACKAGES + (DEBIAN_X11_PACKAGES if x11 else ())
    return "sudo apt-get install " + " ".join(packages)


def qt_import_problem() -> str | None:
    """Import the Qt modules the console uses; explain in plain words if that fails.

    Returns:
        None when Qt imports; otherwise a message for stderr naming the missing pieces.
    """
    try:
        import PySide6.QtGui
        import PySide6.QtWidgets  # noqa: F401
    except ImportError as exc:
        return (
            "FieldACS cannot start: the Qt libraries failed to load.\n"
            f"  {exc}\n"
            "On Debian or Ubuntu, install the system libraries Qt needs:\n"
            f"  {install_hint()}"
        )
    return None


def _candidate_platforms(env: Mapping[str, str]) -> list[str]:
    """The platform plugins Qt will try, in order (mirrors QGuiApplication's choice)."""
    requested = env.get("QT_QPA_PLATFORM", "").strip()
    if requested:
        names = [part.split(":", 1)[0].strip() for part in requested.split(";")]
        return [name for name in names if name]
    if env.get("XDG_SESSION_TYPE") == "wayland":
        return ["wayland", "xcb"]
    return ["xcb"]


def _platform_plugin_dir() -> Path:
    from PySide6.QtCore import QLibraryInfo

    return Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"


def _check_platform(name: str, env: Mapping[str, str], plugin_dir: Path) -> str | None:
    """Why platform ``name`` cannot start here, or None when it should."""
    if name == "xcb" and not env.get("DISPLAY"):
        return "no X display (the DISPLAY environment variable is not set)"
    if name == "wayland" and not env.get("WAYLAND_DISPLAY"):
        return "no Wayland display (WAYLAND_DISPLAY is not set)"
    plugin = plugin_dir / f"libq{name}.so"
    if not plugin.is_file():
        return f"the Qt platform plugin {plugin.name} is missing from {plugin_dir}"
    try:
        # Loading the plugin resolves its shared-library dependencies, the usual failure.
        ctypes.CDLL(str(plugin))
    except OSError as exc:
        return f"the Qt platform plugin {plugin.name} cannot load: {exc}"
    return None


def platform_problem(
    env: Mapping[str, str] | None = None, plugin_dir: Path | None = None
) -> str | None:
    """Check that a Qt platform plugin can start, before Qt tries (and aborts) on its own.

    Only Linux is checked; elsewhere the plugins ship complete with the wheel.

    Args:
        env: the environment to judge (default: ``os.environ``).
        plugin_dir: the ``platforms`` plugin folder (default: the PySide6 one).

    Returns:
        None when at least one candidate platform can start; otherwise a message for stderr
        that says what failed and which Debian/Ubuntu packages to install.
    """
    if not sys.platform.startswith("linux"):
        return None
    env = os.environ if env is None else env
    plugin_dir = _platform_plugin_dir() if plugin_dir is None else plugin_dir
    names = _candidate_platforms(env)
    reasons: list[str] = []
    for name in names:
        reason = _check_platform(name, env, plugin_dir)
        if reason is None:
            return None
        reasons.append(f"  {name}: {reason}")
    x11 = any(name not in _HEADLESS_PLATFORMS for name in names)
    return (
        "FieldACS cannot open its window: no Qt display platform could start.\n"
        + "\n".join(reasons)
        + "\nOn Debian or Ubuntu, install the system libraries Qt needs:\n"
        + f"  {install_hint(x11=x11)}\n"
        + "and run FieldACS from a desktop session (or set QT_QPA_PLATFORM=offscreen "
        + "to run without a display)."
    )


def create_application(argv: Sequence[str] | None = None) -> Any:
    """Return the one QApplication, creating and configuring it on first use.

    The application keeps running when its last window closes; callers connect
    ``lastWindowClosed`` to their own shutdown (see :func:`app.main.run_console`).

    Args:
        argv: the command line Qt may read its own options from (default ``sys.argv``).

    Returns:
        The ``QApplication`` instance.
    """
    from PySide6.QtWidgets import QApplication

    from app import APP_NAME, ORGANISATION
    from app.icons import app_icon

    existing = QApplication.instance()
    if isinstance(existing, QApplication):
        app = existing
    else:
        app = QApplication(list(argv if argv is not None else sys.argv))
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APP_NAME)
    app.setApplicationDisplayName(APP_NAME)
    app.setDesktopFileName("fieldacs")
    app.setQuitOnLastWindowClosed(False)
    icon = app_icon()
    if not icon.isNull():
        app.setWindowIcon(icon)
    return app


def run_on_qasync(app: Any, coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion on a qasync loop over ``app`` and return its result.

    The loop is created, run and closed by :class:`asyncio.Runner` (async generators and the
    default executor are shut down cleanly).
    """
    import qasync

    with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
        return runner.run(coro)


def install_interrupt_handler(
    loop: asyncio.AbstractEventLoop, on_interrupt: Callable[[], None]
) -> Callable[[], None]:
    """Make Ctrl+C in the terminal call ``on_interrupt`` on the loop, without polling.

    Qt's event loop sleeps in C++, so Python would only see SIGINT at the next Python
    callback. A socketpair registered with :func:`signal.set_wakeup_fd` wakes the loop.
    Only on POSIX; elsewhere this does nothing.

    Returns:
        A function that restores the previous SIGINT handling.
    """
    if sys.platform == "win32":
        return lambda: None
    reader, writer = socket.socketpair()
    reader.setblocking(False)
    writer.setblocking(False)

    def drain() -> None:
        try:
            while reader.recv(64):
                pass
        except OSError:
            pass

    def handler(signum: int, frame: object) -> None:
        loop.call_soon_threadsafe(on_interrupt)

    try:
        old_fd = signal.set_wakeup_fd(writer.fileno())
    except ValueError:  # not the main thread
        reader.close()
        writer.close()
        return lambda: None
    old_handler = signal.signal(signal.SIGINT, handler)
    loop.add_reader(reader.fileno(), drain)

    def restore() -> None:
        loop.remove_reader(reader.fileno())
        signal.signal(signal.SIGINT, old_handler)
        signal.set_wakeup_fd(old_fd)
        reader.close()
        writer.close()

    return restore
