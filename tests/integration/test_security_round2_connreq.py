"""Issue 11, finding 6: the seeded connection-request password, against live engines.

The attack: GenieACS's seeded ``inform`` provision derives a device's connection-request
password from ``Math.random`` seeded with the device id, so anyone who knows a device id can
compute it. Here the simulator runs real sessions against engines on their own databases and
the password the ACS gives it is compared with what that old script computes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from acs_engine.reach.device_secret import (
    SECRET_KEY,
    UPGRADED_KEY,
    connection_request_password,
)
from acs_engine.scripting import Sandbox, ScriptRun
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.sim.options import SimOptions
from acs_engine.store.db import Store
from acs_engine.store.deviceid import make_device_id
from acs_engine.store.records import Preset, Provision
from acs_engine.store.seeds import (
    DEFAULT_PROVISIONS,
    INFORM_CALLS,
    LEGACY_INFORM_CALLS,
    LEGACY_INFORM_SCRIPT,
)
from tests.helpers.engine import running_engine

SERIAL = "CRPW0001"
MODEL = "tr098"
PASSWORD_PATH = "InternetGatewayDevice.ManagementServer.ConnectionRequestPassword"


def _device_id() -> str:
    base = load_model(MODEL)
    return make_device_id(base.oui, base.product_class, SERIAL)


async def _legacy_password(device_id: str) -> str:
    """What the old seeded script gives this device id: computable by anyone, offline."""
    data = {"DeviceID.ID": {"value": [device_id, "xsd:string"]},
            "InternetGatewayDevice.": {"object": True, "writable": False}}
    sandbox = Sandbox(timeout_ms=5000)
    try:
        run = ScriptRun("inform", LEGACY_INFORM_SCRIPT, [], data,
                        session_timestamp=1_800_000_000_000, device_id=device_id)
        for _ in range(4):
            result = await sandbox.run(run)
            assert result.fault is None
            if result.done:
                break
            run.commits_done = result.commits
    finally:
        await sandbox.close()
    [declared] = [d for d in result.declarations if d.path == PASSWORD_PATH and d.attr_set]
    assert declared.attr_set is not None
    return str(declared.attr_set["value"][0])


async def _password_given(db_dir: Path) -> tuple[str, str]:
    """Run a new CPE's first session against an engine on ``db_dir``'s database.

    Returns:
        The connection-request password the ACS set on the CPE, and the one it stored.
    """
    async with running_engine(db_dir, provisioning=True) as engine:
        device = SimDevice(load_model(MODEL), SERIAL, options=SimOptions(),
                           context={"acs_url": "x"})
        result = await SimCpe(device, engine.cwmp_urls()[-1]).session()
        assert result.ok, result
        given = device.value(PASSWORD_PATH)
        assert engine.store is not None
        stored = await engine.store.load_param_values(_device_id(), [PASSWORD_PATH])
        assert given is not None
        return given, stored[PASSWORD_PATH].value


async def test_attack_connection_request_password_cannot_be_computed_from_the_device_id(
    tmp_path: Path
) -> None:
    legacy = await _legacy_password(_device_id())  # the attacker's offline computation
    first, stored = await _password_given(tmp_path / "a")
    assert stored == first  # the ACS uses what it set when it wakes the device
    again, _ = await _password_given(tmp_path / "a")  # same database, engine restarted
    other, _ = await _password_given(tmp_path / "b")  # another database, same device id
    assert first == again
    assert other != first
    assert legacy not in (first, other)
    assert len(first) == 24 and first.isalnum()
    async with await Store.open(tmp_path / "a" / "fieldacs.db") as store:
        secret = await store.get_setting(SECRET_KEY)
        assert secret is not None and len(bytes.fromhex(secret)) == 32
        assert connection_request_password(bytes.fromhex(secret), _device_id()) == first


@pytest.mark.parametrize("edited", [False, True], ids=["as-seeded", "edited-by-the-user"])
async def test_an_existing_database_is_upgraded_once_and_an_edited_script_is_kept(
    tmp_path: Path, edited: bool
) -> None:
    mine = (
        'const pw = "technician-chose-this";\n'
        f'declare("{PASSWORD_PATH}", {{value: Date.now(86400000)}}, {{value: pw}});\n'
    )
    db = tmp_path / "fieldacs.db"
    async with await Store.open(db) as store:  # a database made by an earlier FieldACS
        await store.put_provision(Provision("inform", mine if edited else LEGACY_INFORM_SCRIPT))
        await store.put_preset(Preset(id="inform", channel="inform",
                                      provisions=[list(c) for c in LEGACY_INFORM_CALLS]))
        assert await store.get_setting(UPGRADED_KEY) is None
    given, _ = await _password_given(tmp_path)
    async with await Store.open(db) as store:
        preset = await store.get_preset("inform")
        script = await store.get_provision("inform")
        assert await store.get_setting(UPGRADED_KEY) == "1"
    assert preset is not None and preset.provisions == INFORM_CALLS
    assert script is not None
    if edited:
        assert script.script == mine and given == "technician-chose-this"
    else:
        seeded = next(p for p in DEFAULT_PROVISIONS if p.id == "inform")
        assert script == seeded
        assert given != await _legacy_password(_device_id())
        assert len(given) == 24
