"""Issue 18: a provision's value of the wrong type (``xsd:unsignedInt "abc"``) went to the
device unchecked; the dry run now says so before anything is sent."""

from __future__ import annotations

from pathlib import Path

from acs_engine.cwmp import rpc
from acs_engine.policy.dryrun import dry_run, type_warnings
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.store.deviceid import make_device_id
from acs_engine.store.records import Preset, Provision
from tests.helpers.engine import running_engine

INTERVAL = "Device.ManagementServer.PeriodicInformInterval"


async def test_the_dry_run_warns_of_a_value_of_the_wrong_type(tmp_path: Path) -> None:
    async with running_engine(tmp_path, provisioning=True) as engine:
        store, sandbox = engine.store, engine.sandbox
        assert store is not None and sandbox is not None
        await store.put_preset(
            Preset("discover", provisions=[["refresh", "Device.ManagementServer"]])
        )
        base = load_model("tr181")
        assert (await SimCpe(SimDevice(base, "TYPE00001"), engine.cwmp_urls()[-1]).session()).ok
        await store.delete_preset("discover")
        device_id = make_device_id(base.oui, base.product_class, "TYPE00001")
        await store.put_provision(
            Provision("interval", f'declare("{INTERVAL}", null, {{value: args[0]}});')
        )

        wrong = await dry_run(
            store, engine.config, sandbox, device_id, provisions=[["interval", "abc"]]
        )
        spv = next(m for m in wrong.rpcs if isinstance(m, rpc.SetParameterValues))
        assert [(p.name, p.value, p.type) for p in spv.parameters] == [
            (INTERVAL, "abc", "xsd:unsignedInt")
        ]
        assert wrong.type_warnings == [
            f"{INTERVAL}: not an integer: 'abc' (sent as xsd:unsignedInt; the CPE will "
            "likely refuse it with fault 9007)"
        ]

        right = await dry_run(
            store, engine.config, sandbox, device_id, provisions=[["interval", 600]]
        )
        assert "SetParameterValues" in right.methods and right.type_warnings == []


def test_type_warnings_only_look_at_set_values() -> None:
    messages = [
        rpc.GetParameterValues(names=("Device.X",)),
        rpc.SetParameterValues(parameters=(
            rpc.ParameterValue("Device.A", "true", "xsd:boolean"),
            rpc.ParameterValue("Device.B", "yes", "xsd:boolean"),
            rpc.ParameterValue("Device.C", "-1", "xsd:unsignedInt"),
            rpc.ParameterValue("Device.D", "anything", "xsd:string"),
        )),
    ]
    assert [line.split(":")[0] for line in type_warnings(messages)] == ["Device.B", "Device.C"]
