"""One full flow in the main window: a simulated CPE bootstraps, appears, its tree opens, a
value is edited and committed, the CPE's value changes, and the session shows in the live
panel with every message. Then the window closes as on Quit: nothing of it keeps running."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from pytestqt.qtbot import QtBot

from acs_engine.cwmp import rpc
from acs_engine.sim.client import SimCpe
from acs_engine.sim.connreq import ConnectionRequestServer
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.store.deviceid import make_device_id
from app.bridge import EngineBridge
from app.params_model import ParamTreeModel
from app.staging import DONE
from app.window import MainWindow
from tests.gui.aio import settle, wait_until
from tests.helpers.engine import running_engine

CODE = "Device.DeviceInfo.ProvisioningCode"


async def test_bootstrap_edit_commit_and_watch_it_live(
    tmp_path: Path, qtbot: QtBot, settings: QSettings
) -> None:
    async with running_engine(
        tmp_path, provisioning=True, device_online_threshold_ms=3000, script_timeout_ms=2000
    ) as engine:
        bridge = EngineBridge(engine.bus)
        window = MainWindow(engine, bridge, settings)
        bridge.setParent(window)
        qtbot.addWidget(window)
        window.set_acs_urls(engine.cwmp_urls())
        window.show()
        async with ConnectionRequestServer() as server:
            model = load_model("tr181")
            device = SimDevice(model, "FLOW00001")
            cpe = SimCpe(device, engine.cwmp_urls()[-1])
            server.register(cpe)
            device_id = make_device_id(model.oui, model.product_class, "FLOW00001")

            # The simulator bootstraps; the engine reads its whole tree.
            engine.manual.put(
                device_id, rpc.GetParameterNames(parameter_path="Device.", next_level=False)
            )
            engine.manual.put(device_id, rpc.GetParameterValues(names=("Device.",)))
            assert (await cpe.session()).ok

            # It appears in the Devices table; its tree opens.
            devices = window.devices
            table = devices.model
            assert table is not None
            await wait_until(lambda: table.row_of(device_id) >= 0, what="device row")
            view = devices.open_device(device_id)
            await view.reload()
            assert view.tree_model.node_count() > 800

            # A value is edited, staged and committed (a task plus a connection request).
            assert view.edit_value(CODE, "flow-1") is None
            runner = asyncio.ensure_future(cpe.run())  # answers connection requests
            try:
                assert view.commit() == 1
                await wait_until(lambda: not view.changes.has_pending(), timeout=15, what="done")
            finally:
                runner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await runner
            assert [e.state for e in view.changes.entries()] == [DONE]
            assert device.value(CODE) == "flow-1"
            await wait_until(
                lambda: view.index_of(CODE, ParamTreeModel.VALUE).data() == "flow-1",
                what="tree shows the new value",
            )

            # The session that carried it shows in the live panel with every message.
            assert window.live is not None
            panel = window.live.panel
            store = engine.store
            assert store is not None
            sessions = await store.list_sessions(device_id)
            carried = next(s for s in sessions if "6 CONNECTION REQUEST" in s.events)
            window.live.open_session(device_id, carried.id)
            trace = await store.load_trace(carried.id)
            await wait_until(
                lambda: panel.timeline.rowCount() == len(trace), what="timeline filled"
            )
            rpcs = [panel.timeline.index(r, 2).data() for r in range(panel.timeline.rowCount())]
            assert rpcs[0] == "Inform" and "SetParameterValues" in rpcs

            # Quit, as the console does before it stops the engine: no timer of the window
            # keeps running and no store read is left in flight.
            window.close()
            await settle()
            running = [
                f"{type(t.parent()).__name__}: {t.interval()} ms"
                for t in window.findChildren(QTimer) if t.isActive()
            ]
            assert running == [], running
            assert panel.pending_tasks() == 0
            assert not view.changes.has_pending()
