"""The settings dialog: validation, live apply on a running engine, saved for the next start."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QDialogButtonBox, QLineEdit, QSpinBox

from acs_engine.config import EngineConfig
from acs_engine.session.session import Session
from acs_engine.store.deviceid import make_device_id
from app.settings_dialog import SettingsDialog, saved_config, validate
from tests.helpers.engine import RawCpe, inform, running_engine


def test_validation_rules(tmp_path: Path) -> None:
    good = {"cwmp_host": "0.0.0.0", "cwmp_port": 7547, "fs_port": 7567, "nbi_port": 7557,
            "db_path": tmp_path / "x.db", "session_timeout": 30}
    assert validate(good) == {}
    assert set(validate({**good, "cwmp_port": 0})) == {"cwmp_port"}
    assert validate({**good, "cwmp_port": 0}, free_ports=["cwmp_port"]) == {}
    assert set(validate({**good, "nbi_port": 70000})) == {"nbi_port"}
    assert set(validate({**good, "fs_port": 7547})) == {"fs_port"}
    assert set(validate({**good, "cwmp_host": "not a host!"})) == {"cwmp_host"}
    assert validate({**good, "cwmp_host": "acs.example.net"}) == {}
    assert set(validate({**good, "db_path": tmp_path})) == {"db_path"}
    assert set(validate({**good, "cwmp_password": "x"})) == {"cwmp_username"}


async def test_live_apply_of_session_timeout_and_restart_fields(tmp_path: Path, qtbot) -> None:
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    async with running_engine(tmp_path, provisioning=True) as engine:
        dialog = SettingsDialog(engine, settings)
        qtbot.addWidget(dialog)
        ok = dialog.buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert ok.isEnabled()
        host = dialog.widget("cwmp_host")
        assert isinstance(host, QLineEdit)
        host.setText("bad host!")
        assert not ok.isEnabled() and "cwmp_host" in dialog.problems
        assert "Listen on address" in dialog.problem_label.text()
        host.setText("127.0.0.1")
        assert ok.isEnabled()

        dialog.widget("session_timeout").setValue(7)  # type: ignore[attr-defined]
        dialog.widget("retry_delay").setValue(42)  # type: ignore[attr-defined]
        port = dialog.widget("cwmp_port")
        assert isinstance(port, QSpinBox)
        port.setValue(17547)
        later = dialog.apply()
        assert later == ["cwmp_port"]
        assert "Restart FieldACS" in dialog.note.text()
        # Live: the running engine's config, which every new session reads.
        assert engine.config.session_timeout == 7
        assert engine.config.retry_delay == 42
        assert engine.config.cwmp_port == 0  # still listening where it was
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            status, _, _ = await cpe.send(inform("SET0001"))
            assert status == 200
            assert engine.cwmp is not None
            session = engine.cwmp.session_of_device(make_device_id("F1E1D0", "TestGW", "SET0001"))
            assert isinstance(session, Session)
            assert session.timeout == 7

    # Saved: the next start reads them back (command-line options win).
    restored = saved_config(EngineConfig(db_path=tmp_path / "fieldacs.db"), settings)
    assert restored.session_timeout == 7 and restored.cwmp_port == 17547
    assert restored.cwmp_host == restored.fs_host == "127.0.0.1"
    assert saved_config(EngineConfig(), settings, explicit=["cwmp_port"]).cwmp_port == 7547
