"""The overview with an HTTPS listener: https:// URLs and the certificate's fingerprint."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QGuiApplication

from acs_engine.bus import EngineNotice
from acs_engine.clock import now_ms
from app.bridge import EngineBridge
from app.overview import acs_urls_of, merge_urls
from app.window import MainWindow
from tests.gui.aio import settle, wait_until
from tests.helpers.engine import running_engine


def test_merge_urls_keeps_order_and_drops_repeats() -> None:
    assert merge_urls(["http://a/", "https://a/"], ["https://a/", "https://b/"]) == [
        "http://a/", "https://a/", "https://b/",
    ]


async def test_https_urls_and_fingerprint_are_shown(
    tmp_path: Path, qtbot, settings: QSettings
) -> None:
    async with running_engine(tmp_path, cwmp_tls_port=0) as engine:
        bridge = EngineBridge(engine.bus)
        window = MainWindow(engine, bridge, settings)
        bridge.setParent(window)
        qtbot.addWidget(window)
        urls = await asyncio.to_thread(acs_urls_of, engine)
        window.set_acs_urls(urls, engine.tls_fingerprint)
        window.show()
        panel = window.overview.urls
        https = f"https://127.0.0.1:{engine.cwmp_tls_port}/"
        assert panel.urls() == [f"http://127.0.0.1:{engine.cwmp_port}/", https]
        fingerprint = engine.tls_fingerprint
        assert fingerprint is not None and len(fingerprint) == 95
        assert panel.fingerprint() == fingerprint
        assert panel.fingerprint_row.isVisible()
        field = panel.fingerprint_field
        assert field.isReadOnly() and field.text() == fingerprint
        assert "SHA-256" in field.toolTip() and "trust" in field.toolTip()
        # Readable whole in the window, not scrolled inside its field.
        assert field.width() > field.fontMetrics().horizontalAdvance(fingerprint)
        copied: list[str] = []
        panel.urlCopied.connect(copied.append)
        clipboard = QGuiApplication.clipboard()
        panel.fingerprint_copy.click()
        assert clipboard.text() == fingerprint and copied == [fingerprint]
        assert fingerprint in window.statusBar().currentMessage()
        clipboard.clear()
        field.setFocus()
        field.deselect()
        qtbot.keyClick(field, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
        assert clipboard.text() == fingerprint
        await settle()


async def test_without_https_no_fingerprint_and_new_listeners_are_shown(
    tmp_path: Path, qtbot, settings: QSettings
) -> None:
    async with running_engine(tmp_path) as engine:
        bridge = EngineBridge(engine.bus)
        window = MainWindow(engine, bridge, settings)
        bridge.setParent(window)
        qtbot.addWidget(window)
        window.set_acs_urls(await asyncio.to_thread(acs_urls_of, engine), engine.tls_fingerprint)
        window.show()
        panel = window.overview.urls
        assert all(u.startswith("http://") for u in panel.urls())
        assert panel.fingerprint() == "" and not panel.fingerprint_row.isVisible()
        # Settings applied while running: the engine says where it listens now.
        engine.bus.publish(EngineNotice(
            now_ms(), "info", "Settings applied",
            {"urls": ["http://127.0.0.1:7547/"], "tls_urls": ["https://127.0.0.1:7548/"],
             "tls_fingerprint": "AB:CD"},
        ))
        await wait_until(lambda: len(panel.urls()) == 2, what="the HTTPS URL listed")
        assert panel.urls() == ["http://127.0.0.1:7547/", "https://127.0.0.1:7548/"]
        assert panel.fingerprint() == "AB:CD"
        assert window.acs_urls() == panel.urls()
        await settle()


async def test_applying_settings_keeps_the_https_urls_and_fingerprint(
    tmp_path: Path, qtbot, settings: QSettings
) -> None:
    async with running_engine(tmp_path, cwmp_tls_port=0) as engine:
        bridge = EngineBridge(engine.bus)
        window = MainWindow(engine, bridge, settings)
        bridge.setParent(window)
        qtbot.addWidget(window)
        window.set_acs_urls(await asyncio.to_thread(acs_urls_of, engine), engine.tls_fingerprint)
        window.show()
        panel = window.overview.urls
        before = panel.urls()
        assert len(before) == 2 and panel.fingerprint() == engine.tls_fingerprint
        assert window.admin is not None
        dialog = window.admin.open_settings()
        dialog.widget("session_timeout_ms").setValue(9)  # type: ignore[attr-defined]
        dialog.apply()
        assert dialog.pending is not None and await dialog.pending
        await settle()
        assert panel.urls() == before
        assert panel.fingerprint() == engine.tls_fingerprint
        dialog.close()
        await settle()
