"""The settings dialog's "Connection requests" group: Basic auth and XMPP (issue 14)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QCheckBox, QComboBox, QGroupBox, QLabel, QLineEdit

from acs_engine.config import EngineConfig
from app.settings_dialog import SettingsDialog, saved_config, validate
from tests.helpers.engine import running_engine


def test_xmpp_validation_rules(tmp_path: Path) -> None:
    good = {"cwmp_host": "0.0.0.0", "cwmp_port": 7547, "fs_port": 7567, "nbi_port": 7557,
            "db_path": tmp_path / "x.db", "session_timeout_ms": 30_000}
    assert validate({**good, "xmpp_jid": ""}) == {}  # XMPP off: nothing else is checked
    xmpp = {**good, "xmpp_jid": "acs@example.net", "xmpp_password": "pw",
            "xmpp_server": "", "xmpp_tls": "starttls", "xmpp_ca_file": None}
    assert validate(xmpp) == {}
    assert set(validate({**xmpp, "xmpp_jid": "acs"})) == {"xmpp_jid"}
    assert set(validate({**xmpp, "xmpp_password": ""})) == {"xmpp_password"}
    assert set(validate({**xmpp, "xmpp_server": "host:99999"})) == {"xmpp_server"}
    assert set(validate({**xmpp, "xmpp_tls": "maybe"})) == {"xmpp_tls"}
    assert set(validate({**xmpp, "xmpp_ca_file": tmp_path / "none.pem"})) == {"xmpp_ca_file"}


async def test_basic_and_xmpp_set_from_the_dialog(tmp_path: Path, qtbot) -> None:
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    async with running_engine(tmp_path) as engine:
        dialog = SettingsDialog(engine, settings)
        qtbot.addWidget(dialog)
        group = next(box for box in dialog.findChildren(QGroupBox)
                     if box.title() == "Connection requests")
        labels = {label.text() for label in group.findChildren(QLabel)}
        assert "Allow Basic auth for connection requests" in labels  # the refusal names it
        assert {"ACS XMPP account", "XMPP password", "XMPP server", "XMPP TLS"} <= labels
        basic = dialog.widget("connection_request_allow_basic_auth")
        assert isinstance(basic, QCheckBox) and not basic.isChecked()
        basic.setChecked(True)
        jid = dialog.widget("xmpp_jid")
        assert isinstance(jid, QLineEdit)
        jid.setText("acs@lab.example")
        assert "xmpp_password" in dialog.problems  # an account needs its password
        password = dialog.widget("xmpp_password")
        assert isinstance(password, QLineEdit)
        assert password.echoMode() == QLineEdit.EchoMode.Password
        password.setText("Xmpp-Pa55")
        dialog.widget("xmpp_server").setText("127.0.0.1:5299")  # type: ignore[attr-defined]
        tls = dialog.widget("xmpp_tls")
        assert isinstance(tls, QComboBox)
        tls.setCurrentText("none")
        assert dialog.problems == {}
        assert dialog.apply() == []
        assert dialog.pending is not None and await dialog.pending
        config = engine.config
        assert config.connection_request_allow_basic_auth is True
        assert (config.xmpp_jid, config.xmpp_password, config.xmpp_server, config.xmpp_tls) == (
            "acs@lab.example", "Xmpp-Pa55", "127.0.0.1:5299", "none")
        client = await engine.xmpp_client()
        assert client is not None and client.where == "127.0.0.1:5299"
        restored = saved_config(EngineConfig(db_path=tmp_path / "fieldacs.db"), settings)
        assert restored.connection_request_allow_basic_auth is True
        assert (restored.xmpp_jid, restored.xmpp_tls, restored.xmpp_ca_file) == (
            "acs@lab.example", "none", None)
