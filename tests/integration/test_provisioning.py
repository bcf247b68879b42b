"""Presets, provisions, virtual parameters and tasks end to end: the simulator as the CPE."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from acs_engine.bus import WireMessage
from acs_engine.session.handler import RpcQueue
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.store.deviceid import make_device_id
from acs_engine.store.records import Preset, Provision, VirtualParameter
from tests.helpers.engine import running_engine

SSID = "Device.WiFi.SSID.1.SSID"


def make_cpe(url: str, serial: str = "PROV00001") -> tuple[SimCpe, SimDevice, str]:
    base = load_model("tr181")
    device = SimDevice(base, serial)
    return SimCpe(device, url), device, make_device_id(base.oui, base.product_class, serial)


def rpcs_sent(wire: list[WireMessage]) -> list[str]:
    return [w.rpc for w in wire if w.direction == "out" and w.rpc and not w.rpc.endswith("Response")]


async def test_seeded_presets_run_on_a_new_device(tmp_path: Path) -> None:
    async with running_engine(tmp_path, provisioning=True) as engine:
        wire: list[WireMessage] = []
        engine.bus.subscribe(wire.append, WireMessage)
        cpe, device, dev_id = make_cpe(engine.cwmp_urls()[-1])
        result = await cpe.session()
        assert result.ok, result.error
        sent = rpcs_sent(wire)
        assert "SetParameterValues" in sent  # the seeded inform provision
        assert device.value("Device.ManagementServer.PeriodicInformInterval") == "300"
        assert device.value("Device.ManagementServer.ConnectionRequestUsername") == dev_id
        store = engine.store
        assert store is not None
        assert await store.list_faults(dev_id) == []
        # The next session has nothing left to do: the values are already right.
        wire.clear()
        result = await cpe.session()
        assert result.ok, result.error
        assert "SetParameterValues" not in rpcs_sent(wire)


async def test_user_preset_with_a_provision_script_and_arguments(tmp_path: Path) -> None:
    async with running_engine(tmp_path, provisioning=True) as engine:
        store = engine.store
        assert store is not None
        for p in await store.list_presets():
            await store.delete_preset(p.id)
        await store.put_provision(Provision("ssid", """
            const ssid = declare("Device.WiFi.SSID.*.SSID", {value: 1});
            for (const s of ssid) {
              if (s.value[0] !== args[0]) log("changing " + s.path);
            }
            declare("Device.WiFi.SSID.1.SSID", null, {value: args[0]});
        """))
        await store.put_preset(Preset(
            id="wifi", weight=1, precondition='DeviceID.ProductClass = "SimGW-181"',
            provisions=[["ssid", ["||", "field-", ["PARAM", "DeviceID.SerialNumber"]]]],
        ))
        wire: list[WireMessage] = []
        engine.bus.subscribe(wire.append, WireMessage)
        cpe, device, dev_id = make_cpe(engine.cwmp_urls()[-1])
        result = await cpe.session()
        assert result.ok, result.error
        assert device.value(SSID) == "field-PROV00001"
        sent = rpcs_sent(wire)
        assert sent.index("GetParameterNames") < sent.index("SetParameterValues")
        params = await store.load_params(dev_id)
        assert params[SSID].value == "field-PROV00001"
        stored = await store.last_verdicts(dev_id)
        assert stored is not None
        assert [(v.preset, v.matched) for v in stored.verdicts] == [("wifi", True)]


async def test_a_failing_script_records_a_fault_and_the_engine_serves_on(tmp_path: Path) -> None:
    async with running_engine(tmp_path, provisioning=True) as engine:
        store = engine.store
        assert store is not None
        for p in await store.list_presets():
            await store.delete_preset(p.id)
        await store.put_provision(Provision("broken", "declare(undefinedThing.x, {value: 1});"))
        await store.put_provision(Provision("loop", "while (true) {}"))
        await store.put_preset(Preset(id="broken", channel="c1", provisions=[["broken"]]))
        await store.put_preset(Preset(id="loop", channel="c2", weight=1, provisions=[["loop"]]))
        cpe, _, dev_id = make_cpe(engine.cwmp_urls()[-1])
        result = await cpe.session()
        assert result.ok, result.error
        faults = {f.channel: f for f in await store.list_faults(dev_id)}
        assert faults["c1"].code == "script.ReferenceError"
        assert "undefinedThing" in faults["c1"].message
        assert faults["c1"].retries == 0
        assert faults["c1"].provisions == [["broken"]]
        # Another device is served normally meanwhile.
        other, _, _ = make_cpe(engine.cwmp_urls()[-1], "PROV00002")
        assert (await other.session()).ok


async def test_tasks_run_first_and_are_deleted_when_done(tmp_path: Path) -> None:
    async with running_engine(tmp_path, provisioning=True) as engine:
        store = engine.store
        assert store is not None
        cpe, device, dev_id = make_cpe(engine.cwmp_urls()[-1])
        assert (await cpe.session()).ok  # registers the device
        task = await store.add_task(
            dev_id, "setParameterValues",
            {"name": "setParameterValues", "parameterValues": [[SSID, "from-task", "xsd:string"]]},
        )
        device.add_event("6 CONNECTION REQUEST")
        assert (await cpe.session()).ok
        assert device.value(SSID) == "from-task"
        assert await store.list_tasks(dev_id) == []
        assert task.id not in {f.channel for f in await store.list_faults(dev_id)}


async def test_a_faulting_task_stays_with_its_fault(tmp_path: Path) -> None:
    from acs_engine.sim.options import SimOptions

    async with running_engine(tmp_path, provisioning=True) as engine:
        store = engine.store
        assert store is not None
        base = load_model("tr181")
        device = SimDevice(
            base, "FAULTY001", options=SimOptions(fault_methods={"SetParameterValues": 9002})
        )
        cpe = SimCpe(device, engine.cwmp_urls()[-1])
        dev_id = make_device_id(base.oui, base.product_class, "FAULTY001")
        assert (await cpe.session()).ok
        bad = await store.add_task(
            dev_id, "setParameterValues",
            {"name": "setParameterValues", "parameterValues": [[SSID, "never"]]},
        )
        device.add_event("6 CONNECTION REQUEST")
        assert (await cpe.session()).ok
        assert [t.id for t in await store.list_tasks(dev_id)] == [bad.id]
        faults = {f.channel: f for f in await store.list_faults(dev_id)}
        fault = faults[f"task_{bad.id}"]
        assert fault.code == "cwmp.9002"
        assert fault.retries == 0
        # A faulted task is not retried by itself in the next session.
        device.add_event("6 CONNECTION REQUEST")
        assert (await cpe.session()).ok
        assert (await store.get_fault(fault.id)) == fault


async def test_virtual_parameter_read_through_a_preset(tmp_path: Path) -> None:
    async with running_engine(tmp_path, provisioning=True) as engine:
        store = engine.store
        assert store is not None
        for p in await store.list_presets():
            await store.delete_preset(p.id)
        await store.put_virtual_parameter(VirtualParameter("uptime_minutes", """
            const up = declare("Device.DeviceInfo.UpTime", {value: Date.now()});
            return {writable: false, value: [Math.floor(up.value[0] / 60), "xsd:int"]};
        """))
        await store.put_provision(Provision("read_vp", """
            declare("VirtualParameters.uptime_minutes", {value: Date.now()});
        """))
        await store.put_preset(Preset(id="vp", provisions=[["read_vp"]]))
        cpe, _, dev_id = make_cpe(engine.cwmp_urls()[-1])
        result = await cpe.session()
        assert result.ok, result.error
        params = await store.load_params(dev_id)
        vp: Any = params.get("VirtualParameters.uptime_minutes")
        assert vp is not None and vp.type == "xsd:int"
        assert await store.list_faults(dev_id) == []


async def test_manual_rpcs_and_provisioning_share_a_session(tmp_path: Path) -> None:
    from acs_engine.cwmp import rpc

    async with running_engine(tmp_path, provisioning=True) as engine:
        assert isinstance(engine.manual, RpcQueue)
        cpe, _, dev_id = make_cpe(engine.cwmp_urls()[-1])
        engine.manual.put(dev_id, rpc.GetParameterValues(names=("Device.DeviceInfo.UpTime",)))
        result = await cpe.session()
        assert result.ok, result.error
        (_, response), = engine.manual.results[dev_id]
        assert isinstance(response, rpc.GetParameterValuesResponse)
        await asyncio.sleep(0)


async def test_preset_verdicts_survive_a_restart_and_go_with_the_device(tmp_path: Path) -> None:
    async with running_engine(tmp_path, provisioning=True) as engine:
        store = engine.store
        assert store is not None
        await store.put_preset(Preset(id="no-boot", weight=9, events={"1 BOOT": False}))
        cpe, _, dev_id = make_cpe(engine.cwmp_urls()[-1])
        assert (await cpe.session()).ok
        first = await store.last_verdicts(dev_id)
        assert first is not None
        assert first.session_id == (await store.list_sessions(dev_id, limit=1))[0].id
        by_name = {v.preset: v for v in first.verdicts}
        assert by_name["bootstrap"].matched
        assert not by_name["no-boot"].matched and "1 BOOT" in by_name["no-boot"].reason
        assert not hasattr(engine.provisioning, "last_verdicts")  # nothing kept in memory
    # A new engine on the same file: the verdicts are read from the database.
    async with running_engine(tmp_path, provisioning=True) as engine:
        store = engine.store
        assert store is not None
        assert await store.last_verdicts(dev_id) == first
        # The next session replaces them.
        cpe, device, _ = make_cpe(engine.cwmp_urls()[-1])
        device.events.clear()
        device.add_event("2 PERIODIC")
        assert (await cpe.session()).ok
        second = await store.last_verdicts(dev_id)
        assert second is not None and second.session_id != first.session_id
        by_name = {v.preset: v for v in second.verdicts}
        assert not by_name["bootstrap"].matched and by_name["no-boot"].matched
        assert await store.delete_device(dev_id)
        assert await store.last_verdicts(dev_id) is None
        assert await store.integrity_check() == "ok"
