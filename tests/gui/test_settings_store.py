"""app.settings_store without the dialog: saving settings and reading them back."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings

from acs_engine.config import EngineConfig
from app import settings_dialog
from app.settings_store import FIELDS, GROUP, save_settings, saved_config


def test_saved_settings_read_back_and_none_removes_one(tmp_path: Path) -> None:
    store = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    db = tmp_path / "other.db"
    save_settings(store, {
        "cwmp_host": "127.0.0.1", "cwmp_port": 8547, "db_path": db, "cwmp_tls_port": 8548,
        "cwmp_http_enabled": False, "cwmp_username": "cpe", "session_timeout": 45.0,
    })
    read = saved_config(EngineConfig(), store)
    assert (read.cwmp_host, read.fs_host, read.cwmp_port, read.db_path) == (
        "127.0.0.1", "127.0.0.1", 8547, db
    )
    assert (read.cwmp_tls_port, read.cwmp_http_enabled, read.cwmp_username) == (8548, False, "cpe")
    assert read.session_timeout == 45.0
    assert saved_config(EngineConfig(), store, explicit=["cwmp_port"]).cwmp_port == 7547

    save_settings(store, {"cwmp_tls_port": None, "cwmp_username": None})
    again = saved_config(EngineConfig(), store)
    assert (again.cwmp_tls_port, again.cwmp_username, again.cwmp_port) == (None, None, 8547)
    store.beginGroup(GROUP)
    assert not store.contains("cwmp_tls_port")
    store.endGroup()


def test_the_names_are_still_importable_from_the_dialog_module() -> None:
    assert settings_dialog.FIELDS is FIELDS
    assert settings_dialog.saved_config is saved_config
    assert set(settings_dialog.__all__) >= {"Field", "LIVE_FIELDS", "PORT_FIELDS", "validate"}
