"""What a preset will set: a staged edit that a preset sets back is found before it is sent
(issue 18, bug 3). The simulator is the CPE; the seeded ``inform`` preset sets
PeriodicInformInterval to 300."""

from __future__ import annotations

from pathlib import Path

from acs_engine.policy.dryrun import presets_that_set
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.store.deviceid import make_device_id
from tests.helpers.engine import running_engine

INTERVAL = "Device.ManagementServer.PeriodicInformInterval"
CODE = "Device.DeviceInfo.ProvisioningCode"


async def test_the_inform_preset_would_set_the_interval_back(tmp_path: Path) -> None:
    async with running_engine(tmp_path, provisioning=True) as engine:
        store, sandbox = engine.store, engine.sandbox
        assert store is not None and sandbox is not None
        base = load_model("tr181")
        device = SimDevice(base, "MANAGED01")
        dev_id = make_device_id(base.oui, base.product_class, "MANAGED01")
        assert (await SimCpe(device, engine.cwmp_urls()[-1]).session()).ok
        assert device.value(INTERVAL) == "300"
        before = await store.load_params(dev_id)

        found = await presets_that_set(
            store, engine.config, sandbox, dev_id,
            {INTERVAL: ("600", "xsd:unsignedInt"), CODE: ("lab-1", "xsd:string")},
        )
        assert [(s.preset, s.provision, s.path, s.value) for s in found] == [
            ("inform", "inform", INTERVAL, "300")
        ]
        assert found[0].words == (
            "preset inform (provision inform) manages this parameter and will set it back to 300"
        )
        # The value the preset wants anyway is not reported.
        same = await presets_that_set(
            store, engine.config, sandbox, dev_id, {INTERVAL: ("300", "xsd:unsignedInt")}
        )
        assert same == []
        # Nothing was written: it was a dry run.
        assert await store.load_params(dev_id) == before
        assert device.value(INTERVAL) == "300"
