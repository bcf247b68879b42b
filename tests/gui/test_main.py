"""The fieldacs entry point: arguments, start-up errors, a whole run, and the Qt check."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from acs_engine.config import EngineConfig
from acs_engine.server.controller import Engine, EngineStartError
from app import bootstrap
from app import main as main_module
from app.main import EXIT_NO_DISPLAY, build_parser, config_from_args, main, start_error_message
from app.window import MainWindow
from tests.gui.aio import wait_until
from tests.helpers.engine import RawCpe, inform

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port on 127.0.0.1 that another program is listening on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def _repeat_until(action: Callable[[], bool], interval_ms: int = 20) -> QTimer:
    """Call ``action`` from the Qt loop every ``interval_ms`` until it returns True."""
    timer = QTimer()
    timer.setInterval(interval_ms)

    def tick() -> None:
        if action():
            timer.stop()

    timer.timeout.connect(tick)
    timer.start()
    return timer


def _visible(kind: type) -> list:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()]


def test_arguments_become_engine_settings(tmp_path: Path) -> None:
    args = build_parser().parse_args(
        ["--db", str(tmp_path / "x.db"), "--cwmp-port", "0", "--fs-port", "0", "--host", "127.0.0.1"]
    )
    config = config_from_args(args)
    assert (config.db_path, config.cwmp_port, config.cwmp_host) == (
        tmp_path / "x.db",
        0,
        "127.0.0.1",
    )
    defaults = config_from_args(build_parser().parse_args([]))
    assert (defaults.cwmp_port, defaults.cwmp_host) == (7547, "0.0.0.0")
    assert defaults.db_path == EngineConfig().db_path
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--cwmp-port", "70000"])


async def test_port_in_use_message_says_what_to_do(tmp_path: Path, busy_port: int) -> None:
    config = EngineConfig(db_path=tmp_path / "f.db", cwmp_host="127.0.0.1", cwmp_port=busy_port, fs_port=0, nbi_port=0)
    engine = Engine(config)
    with pytest.raises(EngineStartError) as caught:
        await engine.start()
    await engine.stop()
    message = start_error_message(caught.value, config)
    assert message.title == "FieldACS could not start"
    assert f"Port {busy_port} is in use by another program" in message.text
    assert f"--cwmp-port {busy_port + 1}" in message.hint
    assert "Traceback" not in message.text + message.hint


async def test_unreadable_database_message_says_what_to_do(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"this is not an SQLite file" * 10)
    config = EngineConfig(db_path=bad, cwmp_host="127.0.0.1", cwmp_port=0, fs_port=0, nbi_port=0)
    with pytest.raises(EngineStartError) as caught:
        await Engine(config).start()
    message = start_error_message(caught.value, config)
    assert str(bad) in message.text
    assert "--db PATH" in message.hint


def test_main_with_port_in_use_shows_the_dialog_and_exits_non_zero(
    tmp_path: Path, busy_port: int, qapp, capsys
) -> None:
    shown: list[tuple[str, str]] = []

    def dismiss() -> bool:
        boxes = _visible(QMessageBox)
        for box in boxes:
            shown.append((box.text(), box.informativeText()))
            box.button(QMessageBox.StandardButton.Close).click()
        return bool(boxes)

    timer = _repeat_until(dismiss)
    code = main(["--db", str(tmp_path / "f.db"), "--host", "127.0.0.1", "--cwmp-port", str(busy_port), "--fs-port", "0"])
    timer.stop()
    assert code == 1
    assert len(shown) == 1
    text, hint = shown[0]
    assert f"Port {busy_port} is in use by another program" in text
    assert "--cwmp-port" in hint
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert _visible(MainWindow) == []


def test_main_runs_until_the_window_closes_then_stops_the_engine(tmp_path: Path, qapp) -> None:
    seen: list[list[str]] = []

    def close_window() -> bool:
        windows = _visible(MainWindow)
        for window in windows:
            seen.append(window.acs_urls())
            window.close()
        return bool(windows)

    timer = _repeat_until(close_window)
    code = main(["--db", str(tmp_path / "f.db"), "--host", "127.0.0.1", "--cwmp-port", "0", "--fs-port", "0"])
    timer.stop()
    assert code == 0
    assert len(seen) == 1 and len(seen[0]) == 1
    port = int(seen[0][0].rsplit(":", 1)[1].strip("/"))
    assert port > 0 and _refused(port)
    assert (tmp_path / "f.db").is_file()
    assert not qapp.quitOnLastWindowClosed()


async def test_console_url_works_and_closing_stops_the_engine(tmp_path: Path, qapp) -> None:
    config = EngineConfig(db_path=tmp_path / "f.db", cwmp_host="127.0.0.1", cwmp_port=0, fs_port=0, nbi_port=0, provisioning=False)
    run = asyncio.ensure_future(main_module.run_console(qapp, config))
    await wait_until(lambda: _visible(MainWindow), what="the main window")
    (window,) = _visible(MainWindow)
    (url,) = window.acs_urls()
    async with RawCpe(url) as cpe:  # the URL shown is the one that works
        status, _, _ = await cpe.send(inform("SNCONSOLE"))
        assert status == 200
        status, _, _ = await cpe.send(None)
        assert status == 204
    counters = window.overview.counters
    await wait_until(lambda: counters.completed.value == 1, what="the session to be counted")
    assert counters.devices.value == 1
    window.close()
    assert await asyncio.wait_for(run, 10) == 0
    assert _refused(int(url.rsplit(":", 1)[1].strip("/")))


def test_platform_check_explains_a_missing_display(tmp_path: Path) -> None:
    problem = bootstrap.platform_problem({"QT_QPA_PLATFORM": "xcb"}, tmp_path)
    assert problem is not None
    assert "DISPLAY" in problem
    for package in ("libegl1", "libgl1", "libfontconfig1", "libxkbcommon0", "libdbus-1-3",
                    "libglib2.0-0", "libxcb-cursor0"):
        assert package in problem


def test_platform_check_explains_a_plugin_that_cannot_load(tmp_path: Path) -> None:
    (tmp_path / "libqoffscreen.so").write_bytes(b"not a shared library")
    problem = bootstrap.platform_problem({"QT_QPA_PLATFORM": "offscreen"}, tmp_path)
    assert problem is not None
    assert "libqoffscreen.so cannot load" in problem
    assert "libxcb-cursor0" not in problem  # headless: the X packages are not needed


def test_platform_check_passes_with_the_real_offscreen_plugin() -> None:
    assert bootstrap.platform_problem({"QT_QPA_PLATFORM": "offscreen"}) is None
    assert bootstrap.platform_problem({"QT_QPA_PLATFORM": "xcb;offscreen"}) is None


def test_fieldacs_without_a_display_exits_2_with_the_packages_to_install(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "xcb"
    env.pop("XDG_SESSION_TYPE", None)
    result = subprocess.run(
        [sys.executable, "-m", "app", "--db", str(tmp_path / "f.db"), "--cwmp-port", "0", "--fs-port", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == EXIT_NO_DISPLAY
    assert "FieldACS cannot open its window" in result.stderr
    assert "libxcb-cursor0" in result.stderr and "libegl1" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "f.db").exists()  # nothing was started


async def test_an_open_nbi_is_refused_with_what_to_do(tmp_path: Path) -> None:
    config = EngineConfig(db_path=tmp_path / "f.db", cwmp_host="127.0.0.1", cwmp_port=0,
                          fs_port=0, nbi_host="0.0.0.0", nbi_port=0)
    engine = Engine(config)
    with pytest.raises(EngineStartError) as caught:
        await engine.start()
    assert not engine.running
    message = start_error_message(caught.value, config)
    assert "without a token, open to anyone on the network" in message.text
    assert "nbi_host" in message.hint and "nbi_token" in message.hint
