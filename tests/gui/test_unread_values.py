"""Values never read, and a value column that stays readable (issue 18, bug 5).

A real engine on 127.0.0.1 with its SQLite file in tmp_path; the device is stored as a
first session that read only part of the tree leaves it: ProvisioningCode came in the Inform
(writability unknown), PeriodicInformInterval's name is known but its value never read.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QSettings, Qt

from acs_engine.admin.commands import RefreshSubtree
from acs_engine.store.model import DeviceRecord, Param, SessionCommit
from app.bridge import EngineBridge
from app.device_view import DeviceView
from app.params_model import NOT_READ, ParamTreeModel
from app.window import MainWindow
from tests.gui.aio import wait_until
from tests.helpers.engine import running_engine

DEVICE = "F1E1D0-SimGW-181-UNREAD001"
CODE = "Device.DeviceInfo.ProvisioningCode"
KEY = "Device.ManagementServer.ParameterKey"
INTERVAL = "Device.ManagementServer.PeriodicInformInterval"


def _first_session(now: int) -> SessionCommit:
    device = DeviceRecord(DEVICE, "FieldACS", "F1E1D0", "SimGW-181", "UNREAD001",
                          registered_ms=now, last_inform_ms=now)
    return SessionCommit(device=device, upserts=[
        Param("Device.", object=True, writable=False, writable_ts_ms=now, exist_ts_ms=now),
        Param("Device.DeviceInfo.", object=True, writable=False, writable_ts_ms=now, exist_ts_ms=now),
        Param("Device.ManagementServer.", object=True, writable=False, writable_ts_ms=now,
              exist_ts_ms=now),
        # from the Inform: a value, writability never reported
        Param(CODE, "", "xsd:string", now, object=False, exist_ts_ms=now),
        Param(KEY, "", "xsd:string", now, object=False, exist_ts_ms=now),
        # from GetParameterNames only: writable, value never read
        Param(INTERVAL, object=False, writable=True, writable_ts_ms=now, exist_ts_ms=now),
    ])


async def test_never_read_values_say_so_and_inform_values_can_be_edited(
    tmp_path: Path, qtbot, settings: QSettings
) -> None:
    async with running_engine(tmp_path) as engine:
        assert engine.store is not None
        await engine.store.commit_session(_first_session(int(time.time() * 1000)))
        bridge = EngineBridge(engine.bus)
        window = MainWindow(engine, bridge, settings)
        bridge.setParent(window)
        qtbot.addWidget(window)
        window.resize(1280, 800)
        window.set_acs_urls(engine.cwmp_urls())
        window.show()
        view = window.devices.open_device(DEVICE)
        await view.reload()
        view.tree.expandAll()
        model = view.tree_model

        # A value never read says so (muted, italic, with what to do), and can be read.
        unread = view.index_of(INTERVAL, ParamTreeModel.VALUE)
        assert unread.data() == NOT_READ
        assert "never read" in unread.data(Qt.ItemDataRole.ToolTipRole)
        assert "1 never read" in view.tree_status.text()
        assert view.read_all_button.isVisible()
        menu = view.context_menu(INTERVAL, view.index_of(INTERVAL))
        assert "Read value" in [a.text() for a in menu.actions()]
        qtbot.mouseClick(view.read_all_button, Qt.MouseButton.LeftButton)
        assert [e.command for e in view.changes.entries()] == [RefreshSubtree("Device.")]
        view.changes.discard()

        # ProvisioningCode (writability never reported; writable in the data model) can be
        # edited: double-click edits it and the menu's "Edit value…" is enabled.
        code = view.index_of(CODE, ParamTreeModel.VALUE)
        assert code.flags() & Qt.ItemFlag.ItemIsEditable
        menu = view.context_menu(CODE, view.index_of(CODE))
        edit = next(a for a in menu.actions() if a.text().startswith("Edit value"))
        assert edit.isEnabled() and edit.text() == "Edit value…"
        assert view.edit_value(CODE, "lab-3") is None
        assert view.changes.rowCount() == 1
        # ParameterKey is read-only in the data model: the menu says why it cannot be edited.
        assert model.edit_problem(KEY) == "is read-only in the Broadband Forum data model"
        menu = view.context_menu(KEY, view.index_of(KEY))
        edit = next(a for a in menu.actions() if a.text().startswith("Edit value"))
        assert not edit.isEnabled()
        assert edit.text() == "Edit value: is read-only in the Broadband Forum data model"

        # At 1280 px with the Live session dock beside it, a device tab is ~570 px wide: the
        # side tabs go below the tree and the Value column keeps a readable width.
        solo = DeviceView(engine, bridge, window.devices.requester, DEVICE)
        qtbot.addWidget(solo)
        solo.resize(570, 700)
        solo.show()
        await solo.reload()
        await wait_until(lambda: solo.splitter.orientation() == Qt.Orientation.Vertical,
                         what="side tabs below the tree")
        header = solo.tree.header()
        await wait_until(lambda: header.sectionSize(ParamTreeModel.VALUE) >= 180,
                         what="a readable Value column")
        assert header.sectionSize(ParamTreeModel.NAME) >= 140
        # ...and the tree keeps most of the height: it is what a technician reads (the side
        # tabs' pages once held it to three rows, their size hints winning in the splitter).
        await wait_until(lambda: solo.tree.height() >= 0.5 * solo.splitter.height(),
                         what=f"the tree taller than the side tabs ({solo.splitter.sizes()})")
        # Wide again: side by side, the Name column back to its width.
        solo.resize(1400, 700)
        await wait_until(lambda: solo.splitter.orientation() == Qt.Orientation.Horizontal)
        solo.close()
        window.close()
