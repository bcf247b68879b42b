"""Dry runs against a copy of a device stored by a real session: exact RPCs, no writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from acs_engine.cwmp import rpc
from acs_engine.policy.dryrun import DRY_RUN_CHANNEL, DryRunError, dry_run
from acs_engine.server.controller import Engine
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.store.deviceid import make_device_id
from acs_engine.store.records import Preset, Provision
from tests.helpers.engine import running_engine

SSID = "Device.WiFi.SSID.1.SSID"


async def _stored_device(engine: Engine) -> tuple[SimDevice, str]:
    """A simulated CPE whose Wi-Fi objects a real session (with a discovery preset) stored."""
    assert engine.store is not None
    await engine.store.put_preset(Preset("discover", provisions=[["refresh", "Device.WiFi"]]))
    base = load_model("tr181")
    device = SimDevice(base, "DRY00001")
    assert (await SimCpe(device, engine.cwmp_urls()[-1]).session()).ok
    await engine.store.delete_preset("discover")
    return device, make_device_id(base.oui, base.product_class, "DRY00001")


async def _state(engine: Engine, device_id: str) -> tuple[object, ...]:
    store = engine.store
    assert store is not None
    return (
        await store.load_params(device_id), await store.list_faults(device_id),
        await store.list_sessions(device_id), await store.list_tasks(device_id),
        await store.get_device(device_id), await store.list_presets(),
    )


async def test_a_value_provision_lists_its_exact_rpcs_and_writes_nothing(tmp_path: Path) -> None:
    async with running_engine(tmp_path, provisioning=True) as engine:
        store, sandbox = engine.store, engine.sandbox
        assert store is not None and sandbox is not None
        cpe, dev_id = await _stored_device(engine)
        await store.put_provision(Provision("ssid", f'declare("{SSID}", null, {{value: args[0]}});'))
        before = await _state(engine, dev_id)

        result = await dry_run(
            store, engine.config, sandbox, dev_id, provisions=[["ssid", "dry-ssid"]]
        )

        assert result.methods == ["SetParameterValues"]
        spv = result.rpcs[0]
        assert isinstance(spv, rpc.SetParameterValues)
        assert [(p.name, p.value, p.type) for p in spv.parameters] == [
            (SSID, "dry-ssid", "xsd:string")
        ]
        assert isinstance(result.responses[0], rpc.SetParameterValuesResponse)
        assert result.faults == []
        assert [(v.preset, v.channel, v.matched) for v in result.verdicts] == [
            ("(dry run)", DRY_RUN_CHANNEL, True)
        ]
        assert SSID in {p.path for p in result.upserts}
        # Neither the store nor the real CPE saw anything.
        assert await _state(engine, dev_id) == before
        assert cpe.value(SSID) != "dry-ssid"


async def test_scripts_override_logs_and_faults(tmp_path: Path) -> None:
    async with running_engine(tmp_path, provisioning=True) as engine:
        store, sandbox = engine.store, engine.sandbox
        assert store is not None and sandbox is not None
        _, dev_id = await _stored_device(engine)
        before = await _state(engine, dev_id)
        ok = await dry_run(
            store, engine.config, sandbox, dev_id, provisions=[["draft"]],
            scripts_override={"draft": (
                'log("hello " + args.length); '
                f'declare("{SSID}", {{value: Date.now()}});'
            )},
        )
        assert ok.methods == ["GetParameterValues"]
        assert ok.log_lines == ["draft: hello 0"]
        bad = await dry_run(
            store, engine.config, sandbox, dev_id, provisions=[["draft"]],
            scripts_override={"draft": "nothing.here = 1;"},
        )
        assert bad.rpcs == []
        assert [(f.channel, f.code) for f in bad.faults] == [(DRY_RUN_CHANNEL, "script.ReferenceError")]
        assert await _state(engine, dev_id) == before


async def test_presets_are_matched_with_reasons(tmp_path: Path) -> None:
    async with running_engine(tmp_path, provisioning=True) as engine:
        store, sandbox = engine.store, engine.sandbox
        assert store is not None and sandbox is not None
        _, dev_id = await _stored_device(engine)
        presets = [
            Preset("boot-only", events={"1 BOOT": True}, provisions=[["reboot"]]),
            Preset("periodic", weight=1, precondition='DeviceID.SerialNumber = "DRY00001"',
                   provisions=[["value", SSID, "from-preset"]]),
        ]
        result = await dry_run(store, engine.config, sandbox, dev_id, presets=presets)
        assert result.methods == ["SetParameterValues"]
        verdicts = {v.preset: v for v in result.verdicts}
        assert not verdicts["boot-only"].matched
        assert "1 BOOT" in verdicts["boot-only"].reason
        assert verdicts["periodic"].matched
        # The next session as stored: the seeded presets have nothing left to do.
        nxt = await dry_run(store, engine.config, sandbox, dev_id)
        assert "SetParameterValues" not in nxt.methods


async def test_unknown_device(tmp_path: Path) -> None:
    async with running_engine(tmp_path, provisioning=True) as engine:
        assert engine.store is not None and engine.sandbox is not None
        with pytest.raises(DryRunError):
            await dry_run(engine.store, engine.config, engine.sandbox, "nope")
