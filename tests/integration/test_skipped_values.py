"""A declared value for a read-only parameter is skipped, and the verdicts say so
(issue 18, bug 4). The simulator is the CPE; its Manufacturer is read-only."""

from __future__ import annotations

from pathlib import Path

from acs_engine.bus import WireMessage
from acs_engine.policy.dryrun import dry_run
from acs_engine.policy.presets import NOT_WRITABLE
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.store.deviceid import make_device_id
from acs_engine.store.records import Preset, Provision
from tests.helpers.engine import running_engine

MAKER = "Device.DeviceInfo.Manufacturer"
CODE = "Device.DeviceInfo.ProvisioningCode"
SCRIPT = f"""
declare("{MAKER}", {{value: 1}}, {{value: "Acme"}});
declare("{CODE}", {{value: 1}}, {{value: "lab-7"}});
"""


async def test_read_only_declaration_is_skipped_with_a_reason(tmp_path: Path) -> None:
    async with running_engine(tmp_path, provisioning=True) as engine:
        store, sandbox = engine.store, engine.sandbox
        assert store is not None and sandbox is not None
        await store.put_provision(Provision("brand", SCRIPT))
        await store.put_preset(Preset("brand", channel="lab", provisions=[["brand"]]))
        wire: list[WireMessage] = []
        engine.bus.subscribe(wire.append, WireMessage)
        base = load_model("tr181")
        device = SimDevice(base, "RO0000001")
        dev_id = make_device_id(base.oui, base.product_class, "RO0000001")
        maker = device.value(MAKER)
        assert maker != "Acme"

        assert (await SimCpe(device, engine.cwmp_urls()[-1]).session()).ok
        # The writable one was set; the read-only one was not sent (and no fault)...
        assert device.value(CODE) == "lab-7"
        assert device.value(MAKER) == maker
        assert not any(MAKER.encode() in w.body for w in wire
                       if w.direction == "out" and w.rpc == "SetParameterValues")
        assert await store.list_faults(dev_id) == []
        # ...and the session's stored verdicts say why.
        stored = await store.last_verdicts(dev_id)
        assert stored is not None
        brand = next(v for v in stored.verdicts if v.preset == "brand")
        assert brand.matched
        assert len(brand.notes) == 1
        note = brand.notes[0]
        assert note.startswith(f'{MAKER} = "Acme"') and note.endswith(NOT_WRITABLE)
        assert "provision brand" in note and maker in note
        # A preset that declares nothing read-only has no notes.
        assert all(not v.notes for v in stored.verdicts if v.preset != "brand")

        # The dry run says it too, before any device sees it.
        result = await dry_run(store, engine.config, sandbox, dev_id, provisions=[["brand"]])
        assert "SetParameterValues" not in result.methods  # CODE is already lab-7
        notes = [n for v in result.verdicts for n in v.notes]
        assert notes == [note]
