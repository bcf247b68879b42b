"""The settings dialog: validation, applied to the running engine (listeners, HTTPS, CPE
authentication) without a restart, saved for the next start; the restart for a new database."""

from __future__ import annotations

import asyncio
import socket
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QLineEdit, QPushButton, QSpinBox

from acs_engine.config import EngineConfig
from acs_engine.server.tls import create_self_signed
from acs_engine.session.session import Session
from acs_engine.store.deviceid import make_device_id
from app import main as main_module
from app.main import relaunch_command
from app.settings_dialog import SettingsDialog, saved_config, validate
from app.window import MainWindow
from tests.gui.aio import settle, wait_until
from tests.helpers.engine import RawCpe, inform, running_engine


def test_validation_rules(tmp_path: Path) -> None:
    good = {"cwmp_host": "0.0.0.0", "cwmp_port": 7547, "fs_port": 7567, "nbi_port": 7557,
            "db_path": tmp_path / "x.db", "session_timeout_ms": 30_000}
    assert validate(good) == {}
    assert set(validate({**good, "cwmp_port": 0})) == {"cwmp_port"}
    assert validate({**good, "cwmp_port": 0}, free_ports=["cwmp_port"]) == {}
    assert set(validate({**good, "nbi_port": 70000})) == {"nbi_port"}
    assert set(validate({**good, "fs_port": 7547})) == {"fs_port"}
    assert set(validate({**good, "cwmp_host": "not a host!"})) == {"cwmp_host"}
    assert validate({**good, "cwmp_host": "acs.example.net"}) == {}
    assert set(validate({**good, "db_path": tmp_path})) == {"db_path"}
    assert set(validate({**good, "cwmp_password": "x"})) == {"cwmp_username"}


async def test_live_apply_of_session_timeout_and_a_port(tmp_path: Path, qtbot) -> None:
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    async with running_engine(tmp_path, provisioning=True) as engine:
        dialog = SettingsDialog(engine, settings)
        qtbot.addWidget(dialog)
        urls: list[list[str]] = []
        applied: list[list[str]] = []
        dialog.urlsChanged.connect(urls.append)
        dialog.applied.connect(applied.append)
        ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert ok.isEnabled()
        host = dialog.widget("cwmp_host")
        assert isinstance(host, QLineEdit)
        host.setText("bad host!")
        assert not ok.isEnabled() and "cwmp_host" in dialog.problems
        assert "Listen on address" in dialog.problem_label.text()
        host.setText("127.0.0.1")
        assert ok.isEnabled()

        dialog.widget("session_timeout_ms").setValue(7)  # type: ignore[attr-defined]
        dialog.widget("retry_delay_ms").setValue(42)  # type: ignore[attr-defined]
        port = dialog.widget("cwmp_port")
        assert isinstance(port, QSpinBox)
        new_port = _free_port()
        port.setValue(new_port)
        later = dialog.apply()
        assert later == []
        assert dialog.pending is not None and await dialog.pending
        assert applied == [[]] and "Applied and saved" in dialog.note.text()
        # Live: the running engine's config, which every new session reads, and the listener.
        assert engine.config.session_timeout_ms == 7000
        assert engine.config.retry_delay_ms == 42_000
        assert engine.cwmp_port == new_port == engine.config.cwmp_port
        assert urls == [engine.cwmp_urls()] and urls[0][-1].endswith(f":{new_port}/")
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            status, _, _ = await cpe.send(inform("SET0001"))
            assert status == 200
            assert engine.cwmp is not None
            session = engine.cwmp.session_of_device(make_device_id("F1E1D0", "TestGW", "SET0001"))
            assert isinstance(session, Session)
            assert session.timeout_ms == 7000

    # Saved: the next start reads them back (command-line options win).
    restored = saved_config(EngineConfig(db_path=tmp_path / "fieldacs.db"), settings)
    assert restored.session_timeout_ms == 7000 and restored.cwmp_port == new_port
    assert restored.cwmp_host == restored.fs_host == "127.0.0.1"
    assert restored.cwmp_tls_port is None and restored.tls_cert_path is None
    assert saved_config(EngineConfig(), settings, explicit=["cwmp_port"]).cwmp_port == 7547


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_tls_validation_rules(tmp_path: Path) -> None:
    good = {"cwmp_host": "0.0.0.0", "cwmp_port": 7547, "fs_port": 7567, "nbi_port": 7557,
            "db_path": tmp_path / "x.db", "session_timeout_ms": 30_000, "cwmp_http_enabled": True,
            "cwmp_tls_port": 7548, "fs_tls_port": 7568}
    assert validate(good) == {}
    assert set(validate({**good, "fs_tls_port": 7548})) == {"fs_tls_port"}
    assert set(validate({**good, "cwmp_tls_port": 7557})) == {"nbi_port"}
    assert validate({**good, "cwmp_http_enabled": False}) == {}
    assert set(validate({**good, "cwmp_http_enabled": False, "cwmp_tls_port": None})) == {
        "cwmp_tls_port"}
    cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
    create_self_signed(cert, key)
    assert validate({**good, "tls_cert_path": cert, "tls_key_path": key}) == {}
    assert set(validate({**good, "tls_cert_path": cert})) == {"tls_key_path"}
    assert set(validate({**good, "tls_key_path": key})) == {"tls_cert_path"}
    assert set(validate({**good, "tls_cert_path": cert, "tls_key_path": tmp_path / "no"})) == {
        "tls_key_path"}
    other_cert, other_key = tmp_path / "o.pem", tmp_path / "ok.pem"
    create_self_signed(other_cert, other_key)
    problems = validate({**good, "tls_cert_path": cert, "tls_key_path": other_key})
    assert set(problems) == {"tls_cert_path"} and "Cannot use the certificate" in problems[
        "tls_cert_path"]


async def test_a_busy_port_is_shown_and_nothing_is_saved(tmp_path: Path, qtbot) -> None:
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    async with running_engine(tmp_path) as engine:
        dialog = SettingsDialog(engine, settings)
        qtbot.addWidget(dialog)
        failed: list[str] = []
        dialog.failed.connect(failed.append)
        old = engine.cwmp_port
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            dialog.widget("cwmp_port").setValue(busy.getsockname()[1])  # type: ignore[attr-defined]
            dialog.widget("session_timeout_ms").setValue(9)  # type: ignore[attr-defined]
            dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
            assert dialog.pending is not None and not await dialog.pending
        assert failed and "is in use" in failed[0]
        assert "Not applied" in dialog.problem_label.text() and "in use" in dialog.problem_label.text()
        assert "Nothing was changed" in dialog.note.text()
        assert dialog.result() == 0 and dialog.buttons.button(
            QDialogButtonBox.StandardButton.Apply).isEnabled()
        assert engine.cwmp_port == old and engine.config.session_timeout_ms == 30_000
        settings.beginGroup("engine")
        assert settings.childKeys() == []
        settings.endGroup()


async def test_https_and_cpe_authentication_switched_on_from_the_dialog(
    tmp_path: Path, qtbot
) -> None:
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    async with running_engine(tmp_path) as engine:
        dialog = SettingsDialog(engine, settings)
        qtbot.addWidget(dialog)
        assert "no HTTPS listener" in dialog.fingerprint.text()
        tls_port = _free_port()
        dialog.widget("cwmp_tls_port").setValue(tls_port)  # type: ignore[attr-defined]
        dialog.widget("cwmp_http_enabled").setChecked(False)  # type: ignore[attr-defined]
        dialog.widget("cwmp_username").setText("cpe1")  # type: ignore[attr-defined]
        dialog.widget("cwmp_password").setText("Dialog-Pa55")  # type: ignore[attr-defined]
        assert dialog.apply() == []
        assert dialog.pending is not None and await dialog.pending
        assert engine.tls is not None and engine.tls.self_signed
        assert engine.tls_fingerprint in dialog.fingerprint.text()
        assert engine.cwmp_urls()[-1] == f"https://127.0.0.1:{tls_port}/"
        assert engine.cwmp is not None and engine.cwmp.auth.enabled
        restored = saved_config(EngineConfig(db_path=tmp_path / "fieldacs.db"), settings)
        assert restored.cwmp_tls_port == tls_port and not restored.cwmp_http_enabled
        assert restored.cwmp_username == "cpe1"
        # Switched off again: the setting is removed, not saved as "off".
        dialog.widget("cwmp_http_enabled").setChecked(True)  # type: ignore[attr-defined]
        dialog.widget("cwmp_tls_port").setValue(-1)  # type: ignore[attr-defined]
        assert dialog.widget("cwmp_tls_port").text() == "Off"  # type: ignore[attr-defined]
        dialog.apply()
        assert dialog.pending is not None and await dialog.pending
        assert engine.cwmp_tls_port is None and engine.cwmp_urls()[-1].startswith("http://")
        restored = saved_config(EngineConfig(db_path=tmp_path / "fieldacs.db"), settings)
        assert restored.cwmp_tls_port is None and restored.cwmp_http_enabled


async def test_a_new_database_offers_a_restart(tmp_path: Path, qtbot) -> None:
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    async with running_engine(tmp_path) as engine:
        dialog = SettingsDialog(engine, settings)
        qtbot.addWidget(dialog)
        restart: list[str] = []
        dialog.restartRequested.connect(restart.append)
        assert dialog.restart_button.isHidden()
        db = dialog.widget("db_path")
        assert isinstance(db, QLineEdit)
        db.setText(str(tmp_path / "other.db"))
        dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
        assert dialog.pending is not None and await dialog.pending
        assert dialog.result() == 0  # stays open to offer the restart
        assert not dialog.restart_button.isHidden()
        assert "Restart FieldACS now" in dialog.note.text() and "other.db" in dialog.note.text()
        assert engine.config.db_path == tmp_path / "fieldacs.db"  # not under a running engine
        assert saved_config(EngineConfig(), settings).db_path == tmp_path / "other.db"
        dialog.restart_button.click()
        assert restart == [str(tmp_path / "other.db")]


def test_the_relaunch_command() -> None:
    args = ["--db", "/old.db", "--cwmp-port", "7600", "--smoke-exit-after", "3"]
    assert relaunch_command(args, db_path="/new.db", executable="/opt/FieldACS/fieldacs",
                            frozen=True) == (
        "/opt/FieldACS/fieldacs", ["--db", "/new.db", "--cwmp-port", "7600"])
    assert relaunch_command(["--db=/old.db", "-v"], db_path="/new.db", executable="/py",
                            frozen=False, main_module="app.__main__") == (
        "/py", ["-m", "app", "--db=/new.db", "-v"])
    assert relaunch_command(["-v"], db_path="/new.db", executable="/py", frozen=False,
                            main_module="", script="/venv/bin/fieldacs") == (
        "/py", ["/venv/bin/fieldacs", "-v"])  # no --db given: the saved database is read


async def test_restart_now_stops_the_engine_then_relaunches(
    tmp_path: Path, qapp, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(main_module, "relaunch", lambda p, a: started.append((p, list(a))) or True)
    # As bootstrap.create_application does: closing the window must not stop the loop.
    quit_on_close = qapp.quitOnLastWindowClosed()
    qapp.setQuitOnLastWindowClosed(False)
    try:
        await _restart_now(tmp_path, qapp, started)
    finally:
        qapp.setQuitOnLastWindowClosed(quit_on_close)


async def _restart_now(tmp_path: Path, qapp, started: list[tuple[str, list[str]]]) -> None:
    config = EngineConfig(db_path=tmp_path / "f.db", cwmp_host="127.0.0.1", cwmp_port=0,
                          fs_host="127.0.0.1", fs_port=0, nbi_port=0, provisioning=False)
    argv = ["--db", str(tmp_path / "f.db"), "--cwmp-port", "0"]
    run = asyncio.ensure_future(main_module.run_console(qapp, config, argv=argv))
    await wait_until(lambda: _visible(MainWindow), what="the main window")
    (window,) = _visible(MainWindow)
    assert window.admin is not None
    dialog = window.admin.open_settings()
    port = _free_port()
    dialog.widget("cwmp_port").setValue(port)  # type: ignore[attr-defined]
    dialog.widget("db_path").setText(str(tmp_path / "g.db"))  # type: ignore[attr-defined]
    dialog.apply()
    assert dialog.pending is not None and await dialog.pending
    assert started == []
    # The main window shows the URL the listener moved to.
    assert window.acs_urls() == [f"http://127.0.0.1:{port}/"]
    assert f":{port}/" in window.status_text()
    dialog.restart_button.click()
    assert await asyncio.wait_for(run, 10) == 0
    assert len(started) == 1
    program, args = started[0]
    assert program == sys.executable
    assert args[-4:] == ["--db", str(tmp_path / "g.db"), "--cwmp-port", "0"]
    with pytest.raises(OSError):  # the engine stopped first: its port is closed
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def _visible(kind: type) -> list:
    return [w for w in QApplication.topLevelWidgets() if isinstance(w, kind) and w.isVisible()]


async def test_the_dialog_fits_a_laptop_screen(tmp_path: Path, qtbot) -> None:
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    async with running_engine(tmp_path) as engine:
        dialog = SettingsDialog(engine, settings)
        qtbot.addWidget(dialog)
        dialog.show()
        available = dialog.screen().availableGeometry()
        assert dialog.frameGeometry().height() <= available.height()
        # Every group is still reachable: the groups scroll, the buttons stay in view.
        assert dialog.buttons.isVisible()
        box = dialog.widget("db_path")
        dialog.scroll_area.ensureWidgetVisible(box)
        await settle()
        assert not box.visibleRegion().isEmpty()
        dialog.close()


def test_nbi_validation_rules(tmp_path: Path) -> None:
    good = {"cwmp_host": "0.0.0.0", "cwmp_port": 7547, "fs_port": 7567, "nbi_port": 7557,
            "db_path": tmp_path / "x.db", "session_timeout_ms": 30_000, "nbi_host": "127.0.0.1"}
    assert validate(good) == {}
    assert set(validate({**good, "nbi_host": "0.0.0.0"})) == {"nbi_token"}
    assert "open to the network" in validate({**good, "nbi_host": "0.0.0.0"})["nbi_token"]
    assert validate({**good, "nbi_host": "0.0.0.0", "nbi_token": "long-enough-token"}) == {}
    assert set(validate({**good, "nbi_token": "short"})) == {"nbi_token"}
    assert set(validate({**good, "nbi_host": "not a host!"})) == {"nbi_host"}


async def test_an_open_nbi_is_refused_by_the_dialog_until_it_has_a_token(
    tmp_path: Path, qtbot
) -> None:
    import aiohttp

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    async with running_engine(tmp_path) as engine:
        dialog = SettingsDialog(engine, settings)
        qtbot.addWidget(dialog)
        ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
        host = dialog.widget("nbi_host")
        assert isinstance(host, QLineEdit) and host.text() == "127.0.0.1"
        host.setText("0.0.0.0")
        assert not ok.isEnabled() and "nbi_token" in dialog.problems
        assert "NBI token: An NBI on 0.0.0.0 would be open" in dialog.problem_label.text()
        assert dialog.apply() is None  # not handed to the engine
        assert engine.config.nbi_host == "127.0.0.1"
        dialog.findChild(QPushButton, "generateNbiToken").click()
        token = dialog.widget("nbi_token").text()  # type: ignore[attr-defined]
        assert len(token) >= 32 and ok.isEnabled()
        dialog.widget("cwmp_digest_rfc2069").setChecked(True)  # type: ignore[attr-defined]
        assert dialog.apply() == []
        assert dialog.pending is not None and await dialog.pending
        assert engine.config.nbi_host == "0.0.0.0" and engine.config.nbi_token == token
        assert engine.cwmp is not None and engine.cwmp.auth.allow_rfc2069
        url = f"http://127.0.0.1:{engine.nbi_port}/devices/"
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as resp:
                assert resp.status == 401
            async with http.get(url, headers={"Authorization": f"Bearer {token}"}) as resp:
                assert resp.status == 200
        restored = saved_config(EngineConfig(db_path=tmp_path / "fieldacs.db"), settings)
        assert restored.nbi_host == "0.0.0.0" and restored.nbi_token == token
        assert restored.cwmp_digest_rfc2069
