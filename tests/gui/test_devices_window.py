"""The Devices tab and the toolbar's connection request in the main window (real engine)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QMessageBox, QToolBar

from acs_engine.server.controller import Engine
from app.bridge import EngineBridge
from app.device_view import DeviceView
from app.window import MainWindow
from tests.gui.aio import wait_until
from tests.helpers.engine import RawCpe, inform, running_engine

DEVICE = "F1E1D0-TestGW-TOOL000001"


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    async with running_engine(tmp_path) as engine:
        yield engine


async def test_devices_tab_opens_a_device_and_the_toolbar_wakes_it(
    engine: Engine, qtbot, settings: QSettings
) -> None:
    bridge = EngineBridge(engine.bus)
    window = MainWindow(engine, bridge, settings)
    bridge.setParent(window)
    qtbot.addWidget(window)
    window.set_acs_urls(engine.cwmp_urls())
    window.show()
    workspace = window.devices
    assert workspace.page is not None and workspace.model is not None
    assert window.findChild(QToolBar, "mainToolBar") is workspace.toolbar
    assert window.tabs.tabText(1) == "Devices"
    window.tabs.setCurrentIndex(1)
    assert not workspace.connreq_action.isEnabled()  # nothing selected

    async with RawCpe(window.acs_urls()[0]) as cpe:  # its ConnectionRequestURL refuses
        assert (await cpe.send(inform("TOOL000001")))[0] == 200
        assert (await cpe.send(None))[0] == 204
    model = workspace.model
    await wait_until(lambda: model.row_of(DEVICE) == 0, what="new device row")
    workspace.page.table.selectRow(0)
    assert workspace.selected_device() == DEVICE
    assert workspace.connreq_action.isEnabled()
    assert workspace.connreq_action.shortcut().toString() == "Ctrl+R"

    task = workspace.request_connection()
    assert task is not None
    report = await task
    assert report.outcome == "offline"
    await wait_until(
        lambda: isinstance(QApplication.activeModalWidget(), QMessageBox), what="dialog"
    )
    dialog = window.findChild(QMessageBox, "connReqDialog")
    assert dialog is not None and dialog.text() == f"{DEVICE}: Device offline"
    assert "refused" in dialog.informativeText()
    dialog.close()
    assert window.statusBar().currentMessage().startswith(f"{DEVICE}: Device offline")

    view = workspace.open_device(DEVICE)
    assert isinstance(view, DeviceView) and window.tabs.currentWidget() is view
    await wait_until(lambda: view.tree_model.node_count() > 0, what="device tab")
    assert workspace.selected_device() == DEVICE
    assert workspace.open_device(DEVICE) is view  # raised, not opened twice
    loads: list[bool] = []
    view.loaded.connect(lambda: loads.append(True))
    workspace.refresh_action.trigger()  # F5 reloads the device tab
    await wait_until(lambda: loads, what="reload")
    window.tabs.tabCloseRequested.emit(window.tabs.indexOf(view))
    assert DEVICE not in workspace.views
