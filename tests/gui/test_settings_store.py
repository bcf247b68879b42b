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
        "cwmp_http_enabled": False, "cwmp_username": "cpe", "session_timeout_ms": 45_000,
    })
    read = saved_config(EngineConfig(), store)
    assert (read.cwmp_host, read.fs_host, read.cwmp_port, read.db_path) == (
        "127.0.0.1", "127.0.0.1", 8547, db
    )
    assert (read.cwmp_tls_port, read.cwmp_http_enabled, read.cwmp_username) == (8548, False, "cpe")
    assert read.session_timeout_ms == 45_000
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


def test_a_settings_file_of_the_previous_version_loads_with_the_same_values(
    tmp_path: Path,
) -> None:
    """Before the durations said their unit, the settings file held ``session_timeout``,
    ``retry_delay`` and ``download_timeout`` in seconds and ``connection_request_timeout`` in
    milliseconds, under those names; it still does, and loads with the same values."""
    path = tmp_path / "old.ini"
    path.write_text(
        "[engine]\n"
        "session_timeout=45.0\n"  # a QDoubleSpinBox's value, as the old dialog saved it
        "retry_delay=42\n"
        "download_timeout=600\n"
        "connection_request_timeout=2500\n"
        "script_timeout_ms=700\n"
        "cwmp_port=8547\n"
    )
    old = QSettings(str(path), QSettings.Format.IniFormat)
    read = saved_config(EngineConfig(), old)
    assert (read.session_timeout_ms, read.retry_delay_ms, read.download_timeout_ms) == (
        45_000, 42_000, 600_000
    )
    assert read.connection_request_timeout_ms == 2500
    assert (read.script_timeout_ms, read.cwmp_port) == (700, 8547)


def test_renamed_settings_are_saved_under_their_old_keys_and_units(tmp_path: Path) -> None:
    """An older version reads what this one saves (same keys, seconds stay seconds)."""
    path = tmp_path / "s.ini"
    store = QSettings(str(path), QSettings.Format.IniFormat)
    save_settings(store, {
        "session_timeout_ms": 30_000, "retry_delay_ms": 1500, "download_timeout_ms": 3_600_000,
        "connection_request_timeout_ms": 2000,
    })
    store.beginGroup(GROUP)
    saved = {key: store.value(key) for key in store.childKeys()}
    store.endGroup()
    assert saved == {"session_timeout": 30, "retry_delay": 1.5, "download_timeout": 3600,
                     "connection_request_timeout": 2000}
    again = saved_config(EngineConfig(), QSettings(str(path), QSettings.Format.IniFormat))
    assert (again.session_timeout_ms, again.retry_delay_ms, again.download_timeout_ms,
            again.connection_request_timeout_ms) == (30_000, 1500, 3_600_000, 2000)
