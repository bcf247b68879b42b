"""Which certificate is in use (issue 11, finding 12), shown on the overview next to the
fingerprint and in the settings dialog."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import QSettings

from acs_engine.server.tls import create_self_signed
from app.bridge import EngineBridge
from app.overview import acs_urls_of
from app.settings_dialog import SettingsDialog
from app.window import MainWindow
from tests.gui.aio import settle
from tests.helpers.engine import running_engine


async def test_the_overview_and_settings_say_fieldacs_private_ca_leaf(
    tmp_path: Path, qtbot, settings: QSettings
) -> None:
    async with running_engine(tmp_path, cwmp_tls_port=0) as engine:
        bridge = EngineBridge(engine.bus)
        window = MainWindow(engine, bridge, settings)
        bridge.setParent(window)
        qtbot.addWidget(window)
        window.set_acs_urls(
            await asyncio.to_thread(acs_urls_of, engine), engine.tls_fingerprint, engine.tls_kind
        )
        window.show()
        kind = window.overview.urls.fingerprint_kind
        assert kind.isVisible() and "private CA" in kind.text() and "fieldacs-ca.pem" in kind.text()
        dialog = SettingsDialog(engine, settings)
        qtbot.addWidget(dialog)
        assert engine.tls is not None and engine.tls.ca_fingerprint
        text = dialog.fingerprint.text()
        assert engine.tls.fingerprint in text and "private CA" in text
        assert engine.tls.ca_fingerprint in text
        await settle()


async def test_the_overview_and_settings_say_the_users_own_certificate(
    tmp_path: Path, qtbot, settings: QSettings
) -> None:
    cert, key = tmp_path / "mine.pem", tmp_path / "mine-key.pem"
    create_self_signed(cert, key, hostnames=["127.0.0.1"])
    async with running_engine(
        tmp_path, cwmp_tls_port=0, tls_cert_path=cert, tls_key_path=key
    ) as engine:
        bridge = EngineBridge(engine.bus)
        window = MainWindow(engine, bridge, settings)
        bridge.setParent(window)
        qtbot.addWidget(window)
        window.set_acs_urls(
            await asyncio.to_thread(acs_urls_of, engine), engine.tls_fingerprint, engine.tls_kind
        )
        window.show()
        assert window.overview.urls.fingerprint_kind.text() == (
            "Certificate in use: your certificate"
        )
        dialog = SettingsDialog(engine, settings)
        qtbot.addWidget(dialog)
        assert "your certificate" in dialog.fingerprint.text()
        assert "private CA" not in dialog.fingerprint.text()
        await settle()
