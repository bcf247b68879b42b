"""Counts and state that must follow the database, not only the events (issue 18, bug 7).

A real engine on 127.0.0.1 with its SQLite file in tmp_path; CPEs speak CWMP over HTTP.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtCore import QSettings

from acs_engine.store.records import Fault, fault_id
from app.bridge import EngineBridge
from app.device_tabs import FaultsTab
from app.window import MainWindow
from tests.gui.aio import wait_until
from tests.helpers.engine import RawCpe, inform, running_engine


async def _session(url: str, serial: str) -> None:
    async with RawCpe(url) as cpe:
        status, _, _ = await cpe.send(inform(serial))
        assert status == 200
        status, _, _ = await cpe.send(None)
        assert status == 204


def _window(engine, qtbot, settings: QSettings) -> MainWindow:  # type: ignore[no-untyped-def]
    bridge = EngineBridge(engine.bus)
    window = MainWindow(engine, bridge, settings)
    bridge.setParent(window)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    window.set_acs_urls(engine.cwmp_urls())
    window.show()
    return window


async def test_counts_after_a_restart_and_device_state_that_follows(
    tmp_path: Path, qtbot, settings: QSettings
) -> None:
    # A first run registers four devices, then stops.
    async with running_engine(tmp_path) as engine:
        for n in range(4):
            await _session(engine.cwmp_urls()[0], f"SNSTATE{n}")
    # After the restart, nothing has informed yet: the counts come from the database.
    async with running_engine(tmp_path) as engine:
        window = _window(engine, qtbot, settings)
        assert window.overview.counters.devices.value == 4
        assert "4 devices" in window.status_text()

        # The Live session's device list is not "No device yet" while it lists devices.
        assert window.live is not None
        combo = window.live.panel.device_combo
        await wait_until(lambda: combo.count() == 4, what="devices listed")
        if combo.currentIndex() < 0:
            assert combo.placeholderText() != "No device yet"

        # A device tab: its Faults (n) follows a delete in the Faults dock.
        device_id = "F1E1D0-TestGW-SNSTATE1"
        store = engine.store
        assert store is not None
        await store.put_fault(Fault(
            id=fault_id(device_id, "default"), device_id=device_id, channel="default",
            timestamp_ms=1_000, code="cwmp.9002", message="Internal error",
        ))
        view = window.devices.open_device(device_id)
        await view.reload()
        faults_index = view.side.indexOf(view.faults_tab)
        assert view.side.tabText(faults_index) == FaultsTab.title(1)
        assert window.admin is not None
        panel = window.admin.faults
        panel.refresh()
        await wait_until(lambda: panel.select_fault(fault_id(device_id, "default")),
                         what="fault listed")
        panel.delete_selected()
        assert panel.confirm_box is not None
        panel.confirm_box.accept()  # "Delete the fault of …?" Yes
        await wait_until(lambda: view.side.tabText(faults_index) == "Faults",
                         what="device tab's fault count after the delete")

        # The header's "Last inform" follows the device's next session, from its Inform on.
        before = view.facts["Last inform"].toolTip()
        await asyncio.sleep(1.1)  # the tooltip shows whole seconds
        async with RawCpe(engine.cwmp_urls()[0]) as cpe:
            status, _, _ = await cpe.send(inform("SNSTATE1"))
            assert status == 200
            await wait_until(lambda: view.facts["Online"].text() == "● in session now",
                             what="header shows the session")
            assert view.facts["Last inform"].toolTip() != before
            assert view.facts["Last inform"].text() == "just now"
            status, _, _ = await cpe.send(None)
            assert status == 204
        await wait_until(lambda: view.facts["Online"].text() == "● online",
                         what="header after the session")
        # "Change the preset…" in a device tab opens that preset's editor in the Presets dock.
        window.devices.presetRequested.emit("inform")
        presets = window.admin.presets
        await wait_until(lambda: presets.editor is not None, what="the preset editor")
        assert presets.editor is not None and presets.editor.id_edit.text() == "inform"
        assert window.admin.presets_dock.isVisible()
        presets.editor.reject()
        window.close()
