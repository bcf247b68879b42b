"""MainWindow against the real engine on 127.0.0.1 (port 0, database in tmp_path)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QDockWidget

from acs_engine.bus import EngineNotice
from acs_engine.server.controller import Engine
from app.bridge import EngineBridge
from app.window import MainWindow
from tests.gui.aio import settle, wait_until
from tests.helpers.engine import RawCpe, inform, running_engine


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    async with running_engine(tmp_path) as engine:
        yield engine


@pytest.fixture
def window(engine: Engine, qtbot, settings: QSettings) -> MainWindow:
    bridge = EngineBridge(engine.bus)
    window = MainWindow(engine, bridge, settings)
    bridge.setParent(window)
    qtbot.addWidget(window)
    window.set_acs_urls(engine.cwmp_urls())
    window.show()
    return window


async def _session(url: str, serial: str) -> None:
    async with RawCpe(url) as cpe:
        status, _, _ = await cpe.send(inform(serial))
        assert status == 200
        status, _, _ = await cpe.send(None)
        assert status == 204


async def test_window_shows_the_real_acs_url(engine: Engine, window: MainWindow) -> None:
    expected = f"http://127.0.0.1:{engine.cwmp_port}/"
    assert engine.cwmp_port > 0
    assert window.windowTitle() == "FieldACS"
    assert not window.windowIcon().isNull()
    assert window.overview.urls.urls() == [expected]
    assert window.acs_urls() == [expected]
    field = window.overview.urls.fields()[0]
    assert field.isReadOnly()
    assert expected in window.status_text()


async def test_a_cpe_session_updates_counters_and_recent_activity(
    engine: Engine, window: MainWindow
) -> None:
    counters = window.overview.counters
    assert (counters.in_flight.value, counters.completed.value, counters.devices.value) == (0, 0, 0)
    await _session(window.acs_urls()[0], "SNWIN1")
    await wait_until(lambda: counters.completed.value == 1, what="completed counter")
    assert counters.devices.value == 1
    assert counters.in_flight.value == 0
    texts = [(e.device, e.text) for e in window.activity_model.entries()]
    device = "F1E1D0-TestGW-SNWIN1"
    assert any(d == device and t.startswith("Session started") for d, t in texts)
    assert any(d == device and t.startswith("Session ended ok after") for d, t in texts)
    assert "1 completed" in window.status_text() and "1 device" in window.status_text()

    await _session(window.acs_urls()[0], "SNWIN2")
    await wait_until(lambda: counters.completed.value == 2, what="second session")
    assert counters.devices.value == 2


async def test_in_flight_counter_shows_an_open_session(engine: Engine, window: MainWindow) -> None:
    counters = window.overview.counters
    async with RawCpe(window.acs_urls()[0]) as cpe:
        await cpe.send(inform("SNOPEN"))
        await wait_until(lambda: counters.in_flight.value == 1, what="in-flight session")
        await cpe.send(None)
    await wait_until(lambda: counters.in_flight.value == 0, what="session end")


async def test_rejections_and_notices_reach_recent_activity(
    engine: Engine, window: MainWindow
) -> None:
    async with RawCpe(window.acs_urls()[0]) as cpe:
        status, _, _ = await cpe.post_raw(b"<not-soap", {"Content-Type": "text/xml"})
    assert status >= 400
    await wait_until(
        lambda: any(e.level == "warning" for e in window.activity_model.entries()),
        what="rejection line",
    )
    rejected = next(e for e in window.activity_model.entries() if e.level == "warning")
    assert rejected.text.startswith(f"Rejected a request from 127.0.0.1: HTTP {status}")
    engine.bus.publish(EngineNotice(0, "error", "disk is full"))
    await wait_until(
        lambda: window.activity_model.entries()[0].text == "disk is full", what="notice"
    )
    assert window.statusBar().currentMessage() == "disk is full"


async def test_copy_button_and_ctrl_c_copy_the_url(window: MainWindow, qtbot) -> None:
    url = window.acs_urls()[0]
    clipboard = QGuiApplication.clipboard()
    clipboard.clear()
    qtbot.mouseClick(window.overview.urls.copy_button(0), Qt.MouseButton.LeftButton)
    assert clipboard.text() == url
    assert window.statusBar().currentMessage() == f"Copied {url}"

    clipboard.clear()
    field = window.overview.urls.fields()[0]
    field.setFocus()
    field.setSelection(0, len("http://127.0.0.1"))
    qtbot.keyClick(field, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert clipboard.text() == "http://127.0.0.1"
    field.deselect()
    qtbot.keyClick(field, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert clipboard.text() == url


async def test_ctrl_q_closes_the_window(window: MainWindow, qtbot) -> None:
    closed: list[bool] = []
    window.closed.connect(lambda: closed.append(True))
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert closed == [True]
    assert not window.isVisible()


async def test_activity_is_a_dock(window: MainWindow) -> None:
    dock = window.findChild(QDockWidget, "activityDock")
    assert dock is window.activity_dock
    assert window.dockWidgetArea(dock) == Qt.DockWidgetArea.BottomDockWidgetArea
    assert window.activity_model.capacity == 200


async def test_geometry_and_docks_are_remembered(
    engine: Engine, qtbot, settings: QSettings
) -> None:
    first = MainWindow(engine, EngineBridge(engine.bus), settings)
    qtbot.addWidget(first)
    first.show()
    first.resize(777, 555)
    first.activity_dock.hide()
    first.close()
    assert settings.value("mainWindow/geometry") is not None

    second = MainWindow(engine, EngineBridge(engine.bus), settings)
    qtbot.addWidget(second)
    second.show()
    assert (second.width(), second.height()) == (777, 555)
    assert not second.activity_dock.isVisible()
    await settle()
