"""Virtual parameters read their inputs in the same RPCs as the provisions (issue 14, item 9).

GenieACS runs the scripts of the virtual parameters a pass must read and plans their
declarations together with the provisions', so one GetParameterValues carries all of them. Here
each virtual parameter's read used to go out alone, before the provision's own reads.
"""

from __future__ import annotations

from pathlib import Path

from acs_engine.bus import WireMessage
from acs_engine.cwmp import codec, rpc
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.store.deviceid import make_device_id
from acs_engine.store.records import Preset, Provision, VirtualParameter
from tests.helpers.engine import running_engine

_UPTIME = """
const up = declare("Device.DeviceInfo.UpTime", {value: Date.now()});
return {writable: false, value: [Math.floor(up.value[0] / 60), "xsd:int"]};
"""
_VERSION = """
const sw = declare("Device.DeviceInfo.ModelName", {value: Date.now()});
return {writable: false, value: ["v" + sw.value[0], "xsd:string"]};
"""
_PROVISION = """
declare("VirtualParameters.uptime_minutes", {value: Date.now()});
declare("VirtualParameters.version_label", {value: Date.now()});
declare("Device.WiFi.SSID.*.SSID", {path: Date.now(), value: Date.now()});
"""


def _sent(wire: list[WireMessage]) -> list[rpc.Message]:
    out = []
    for w in wire:
        if w.direction == "out" and w.body:
            env = codec.parse(w.body)
            if env is not None:
                out.append(env.message)
    return out


async def test_virtual_parameter_reads_share_the_provisions_rpcs(tmp_path: Path) -> None:
    async with running_engine(tmp_path, provisioning=True) as engine:
        store = engine.store
        assert store is not None
        for preset in await store.list_presets():
            await store.delete_preset(preset.id)
        await store.put_virtual_parameter(VirtualParameter("uptime_minutes", _UPTIME))
        await store.put_virtual_parameter(VirtualParameter("version_label", _VERSION))
        await store.put_provision(Provision("readings", _PROVISION))
        await store.put_preset(Preset(id="readings", provisions=[["readings"]]))
        wire: list[WireMessage] = []
        engine.bus.subscribe(wire.append, WireMessage)
        base = load_model("tr181")
        device = SimDevice(base, "VPB000001")
        dev_id = make_device_id(base.oui, base.product_class, "VPB000001")
        cpe = SimCpe(device, engine.cwmp_urls()[-1])
        for step in range(2):  # the first session, then one with the tree known
            wire.clear()
            if step:
                device.add_event("2 PERIODIC")
            result = await cpe.session()
            assert result.ok, result.error
            sent = _sent(wire)
            gpvs = [m for m in sent if isinstance(m, rpc.GetParameterValues)]
            reading = [g for g in gpvs if "Device.DeviceInfo.UpTime" in g.names]
            assert len(reading) == 1  # both virtual parameters' inputs, in one request ...
            assert "Device.DeviceInfo.ModelName" in reading[0].names
            assert any(n.startswith("Device.WiFi.SSID.") for n in reading[0].names)  # ... and the provision's
            assert len(gpvs) == 1
        assert await store.list_faults(dev_id) == []
        params = await store.load_params(dev_id)
        assert params["VirtualParameters.version_label"].value == (
            "v" + str(device.value("Device.DeviceInfo.ModelName"))
        )
        assert params["VirtualParameters.uptime_minutes"].type == "xsd:int"
