"""Skipping script replays whose result is known changes nothing a CPE or the store can see."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from acs_engine.bus import WireMessage
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.store.deviceid import make_device_id
from acs_engine.store.records import Preset, Provision
from tests.helpers.engine import running_engine

# Literal reads (skippable while those entries are unchanged), a wildcard read (depends on
# every key), commits, and writes that depend on what was read.
_LITERAL = """
const sw = declare("Device.DeviceInfo.SoftwareVersion", {value: 1}).value[0];
commit();
declare("Device.WiFi.SSID.1.SSID", null, {value: "field-" + sw});
// Set by the seeded inform provision during the session: this run must not be skipped then.
const user = declare("Device.ManagementServer.ConnectionRequestUsername", {value: 1}).value[0];
declare("Device.WiFi.SSID.2.SSID", null, {value: "cr-" + user});
"""
_WILDCARD = """
let n = 0;
for (const s of declare("Device.WiFi.SSID.*.SSID", {value: 1})) n++;
declare("Device.DeviceInfo.ProvisioningCode", {value: 1}, {value: "ssids-" + n});
"""


async def _bootstrap(tmp_path: Path, skip: bool) -> tuple[list[str], dict[str, Any], int, int]:
    async with running_engine(tmp_path, provisioning=True) as engine:
        store = engine.store
        assert store is not None and engine.provisioning is not None
        engine.provisioning.skip_replays = skip
        # Both databases derive the same connection-request password (it is per database).
        engine.provisioning.device_secret = bytes(range(32))
        await store.put_provision(Provision("literal", _LITERAL))
        await store.put_provision(Provision("wildcard", _WILDCARD))
        await store.put_preset(Preset(
            id="discover", channel="bootstrap", weight=-1, events={"0_BOOTSTRAP": True},
            provisions=[["refresh", "Device"]],
        ))
        await store.put_preset(Preset(id="user", weight=5, provisions=[["literal"], ["wildcard"]]))
        wire: list[WireMessage] = []
        engine.bus.subscribe(wire.append, WireMessage)
        base = load_model("tr181")
        device = SimDevice(base, "SKIP00001")
        dev_id = make_device_id(base.oui, base.product_class, "SKIP00001")
        for _ in range(2):  # the bootstrap, then an ordinary session
            result = await SimCpe(device, engine.cwmp_urls()[-1]).session()
            assert result.ok, result.error
        assert await store.list_faults(dev_id) == []
        sent = [w.body for w in wire if w.direction == "out"]
        params = {  # but the clock and the engine's own port
            name: (p.value if p.type != "xsd:dateTime" else None, p.type, p.writable, p.object)
            for name, p in (await store.load_params(dev_id)).items()
            if name != "Device.ManagementServer.URL"
        }
        return (
            [_strip_ids(b) for b in sent], params,
            engine.provisioning.script_runs, engine.provisioning.replays_skipped,
        )


def _strip_ids(body: Any) -> str:
    """A message without what differs from one run to the next (ids, times)."""
    text = body.decode() if isinstance(body, bytes) else str(body)
    text = re.sub(r"<cwmp:ID[^>]*>[^<]*</cwmp:ID>", "", text)
    text = re.sub(r"<CommandKey>[^<]*</CommandKey>", "", text)
    return re.sub(r"\d{4}-\d\d-\d\dT[0-9:.]+Z?", "T", text)


async def test_skipped_replays_send_the_same_rpcs_and_store_the_same_data(tmp_path: Path) -> None:
    (tmp_path / "on").mkdir()
    (tmp_path / "off").mkdir()
    sent_on, params_on, runs_on, skipped_on = await _bootstrap(tmp_path / "on", True)
    sent_off, params_off, runs_off, skipped_off = await _bootstrap(tmp_path / "off", False)
    assert skipped_off == 0
    assert skipped_on > 0 and runs_on < runs_off
    assert sent_on == sent_off
    assert params_on == params_off
    assert params_on["Device.WiFi.SSID.1.SSID"][0].startswith("field-")
    assert params_on["Device.WiFi.SSID.2.SSID"][0] == "cr-" + make_device_id(
        load_model("tr181").oui, load_model("tr181").product_class, "SKIP00001"
    )
    assert params_on["Device.DeviceInfo.ProvisioningCode"][0].startswith("ssids-")
