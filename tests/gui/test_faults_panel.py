"""The faults panel over a real fault: a failing provision script in a real simulated session."""

from __future__ import annotations

import asyncio
from pathlib import Path

from acs_engine.cwmp import rpc
from acs_engine.sim.client import SimCpe
from acs_engine.sim.connreq import ConnectionRequestServer
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.sim.options import SimOptions
from acs_engine.store.deviceid import make_device_id
from acs_engine.store.model import DeviceRecord, SessionCommit
from acs_engine.store.records import Fault, Preset, Provision
from app.bridge import EngineBridge
from app.faults_panel import FaultsPanel, FaultTableModel
from tests.gui.aio import wait_until
from tests.helpers.engine import running_engine


async def test_a_real_fault_is_listed_then_retried(tmp_path: Path, qtbot, qtmodeltester) -> None:
    async with running_engine(
        tmp_path, provisioning=True, device_online_threshold_ms=3000
    ) as engine, ConnectionRequestServer() as server:
        store = engine.store
        assert store is not None
        for seeded in await store.list_presets():  # keep the CPE's own credentials
            await store.delete_preset(seeded.id)
        await store.put_provision(Provision("broken", "declare(undefinedThing.x, {value: 1});"))
        await store.put_preset(Preset(id="broken", channel="lab", provisions=[["broken"]]))
        bridge = EngineBridge(engine.bus)
        panel = FaultsPanel(engine, bridge)
        qtbot.addWidget(panel)
        panel.show()  # a hidden panel re-reads only when shown
        reloads: list[None] = []
        panel.reloaded.connect(lambda: reloads.append(None))

        model = load_model("tr181")
        cpe = SimCpe(SimDevice(model, "FLT00001", options=SimOptions(hide_passwords=False)), engine.cwmp_urls()[-1])
        server.register(cpe)
        dev_id = make_device_id(model.oui, model.product_class, "FLT00001")
        # Let the ACS learn the connection-request credentials in this first session.
        engine.manual.put(dev_id, rpc.GetParameterValues(names=("Device.ManagementServer.",)))
        assert (await cpe.session()).ok
        # The session end (via the bridge) re-reads the faults, debounced.
        await wait_until(lambda: panel.model.rowCount() == 1, what="the fault listed")
        qtmodeltester.check(panel.model)
        row = {panel.model.headerData(c, _H): panel.model.index(0, c).data()
               for c in range(panel.model.columnCount())}
        assert row["Device"] == dev_id
        assert row["Channel"] == "lab"
        assert row["Code"] == "script.ReferenceError"
        assert "undefinedThing" in row["Message"]
        assert row["Retries"] == "0"
        assert row["Next retry"].startswith("in ")
        assert panel.select_fault(f"{dev_id}:lab")
        assert '"provisions": [\n    [\n      "broken"' in panel.detail.toPlainText()

        # Retry now: the fault goes, the device is woken and runs the channel again.
        await store.put_provision(Provision("broken", 'log("fixed");'))
        retried: list[tuple[str, str]] = []
        panel.retried.connect(lambda fid, text: retried.append((fid, text)))
        runner = asyncio.ensure_future(cpe.run())
        try:
            panel.retry_selected()
            await wait_until(lambda: retried, timeout=10, what="the retry")
            assert retried[0][0] == f"{dev_id}:lab"
            assert await store.list_faults(dev_id) == []
            assert "not woken" not in retried[0][1], retried
            for _ in range(200):  # the connection request's session
                if len(await store.list_sessions(dev_id)) >= 2:
                    break
                await asyncio.sleep(0.05)
            assert len(await store.list_sessions(dev_id)) >= 2
        finally:
            runner.cancel()
        assert await store.list_faults(dev_id) == []  # the fixed script ran clean
        panel.shutdown()
        bridge.detach()


async def test_hidden_panel_reads_when_shown(tmp_path: Path, qtbot) -> None:
    async with running_engine(tmp_path) as engine:
        assert engine.store is not None
        device = DeviceRecord("d", "M", "000000", "P", "S", registered_ms=1)
        await engine.store.commit_session(SessionCommit(device=device))
        await engine.store.put_fault(Fault("d:default", "d", "default", 1, "timeout", "late"))
        panel = FaultsPanel(engine)
        qtbot.addWidget(panel)
        panel._schedule_refresh()  # a session ended while hidden
        assert panel.pending() == 0
        panel.show()
        await wait_until(lambda: panel.model.rowCount() == 1 and panel.pending() == 0)
        panel.shutdown()


async def test_one_failure_on_three_channels_is_one_row(tmp_path: Path, qtbot) -> None:
    """Issue 18, bug 7: a new device's refused SetParameterValues is stored on the bootstrap,
    default and inform channels (GenieACS's model); the panel shows it once."""
    async with running_engine(tmp_path, provisioning=True) as engine:
        store = engine.store
        assert store is not None
        base = load_model("tr181")
        device = SimDevice(
            base, "TRIPLE001", options=SimOptions(fault_methods={"SetParameterValues": 9002})
        )
        dev_id = make_device_id(base.oui, base.product_class, "TRIPLE001")
        assert (await SimCpe(device, engine.cwmp_urls()[-1]).session()).ok
        stored = await store.list_faults(dev_id)
        assert sorted(f.channel for f in stored) == ["bootstrap", "default", "inform"]
        panel = FaultsPanel(engine, EngineBridge(engine.bus))
        qtbot.addWidget(panel)
        panel.show()
        panel.refresh()
        await wait_until(lambda: panel.model.rowCount() == 1 and panel.pending() == 0)
        assert panel.model.index(0, 1).data() == "bootstrap, default, inform"
        assert panel.model.index(0, 2).data() == "cwmp.9002"
        assert panel.count_label.text() == "1 fault"
        assert "GenieACS" in panel.model.index(0, 1).data(Qt.ItemDataRole.ToolTipRole)
        assert panel.select_fault(f"{dev_id}:inform")
        assert panel.detail.toPlainText().count('"channel"') == 3
        deleted: list[str] = []
        panel.deleted.connect(deleted.append)
        panel.delete_selected()
        assert panel.confirm_box is not None
        assert "(bootstrap, default, inform)" in panel.confirm_box.text()
        panel.confirm_box.accept()  # "Delete the fault of …?" Yes
        await wait_until(lambda: panel.model.rowCount() == 0 and panel.pending() == 0)
        assert sorted(deleted) == sorted(f.id for f in stored)
        assert await store.list_faults(dev_id) == []
        panel.shutdown()


def test_model_next_retry_and_delete_button_state(qapp, qtmodeltester) -> None:
    model = FaultTableModel(retry_delay_ms=60_000)
    now = 1_800_000_000_000
    faults = [
        Fault("d1:default", "d1", "default", now - 30_000, "cwmp.9002", "Internal", retries=1),
        Fault("d2:task_ab", "d2", "task_ab", now - 5_000, "timeout", "Timed out"),
    ]
    model.set_faults(faults, now_ms=now)
    qtmodeltester.check(model)
    assert model.index(0, 0).data() == "d2"  # newest first
    assert model.index(0, 5).data() == "when retried"
    assert model.index(1, 5).data() == "in 1 min"  # 30 s ago + 60 s * 2**1
    assert model.index(1, 4).data() == "1"
    assert model.row_of("d1:default") == 1


from PySide6.QtCore import Qt  # noqa: E402

_H = Qt.Orientation.Horizontal
