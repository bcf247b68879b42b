"""Schema v2: migrating a v1 file, the seeded presets, presets/provisions/virtual parameters/
config CRUD and the provisioning revision."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import aiosqlite
import pytest

from acs_engine.scripting import Sandbox, ScriptRun
from acs_engine.store import Preset, Provision, Store, VirtualParameter
from acs_engine.store.schema import MIGRATIONS, migrate
from acs_engine.store.seeds import DEFAULT_PRESETS, DEFAULT_PROVISIONS

from .factories import commit, device, param

DEV = "0011AA-Box-SN1"
V2_TABLES = {
    "presets",
    "provisions",
    "virtual_parameters",
    "config",
    "tasks",
    "faults",
    "operations",
    "files",
}


async def _make_v1(path: Path) -> None:
    """A database exactly as the v1 code made it, with one device in it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        assert await migrate(conn, path, MIGRATIONS[:1]) == 1
        await conn.execute(
            "INSERT INTO devices (id, oui, product_class, serial_number, registered, tags) "
            "VALUES (?, '0011AA', 'Box', 'SN1', 5, '[\"lab\"]')",
            (DEV,),
        )
        await conn.execute(
            "INSERT INTO params (device_id, path, value, type) VALUES (?, 'A.B', '1', 'xsd:int')",
            (DEV,),
        )
        await conn.execute("INSERT INTO settings (key, value) VALUES ('ui.theme', 'dark')")
    finally:
        await conn.close()


def _tables(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


async def test_v1_file_is_migrated_and_keeps_its_data(db_path: Path) -> None:
    await _make_v1(db_path)
    assert not V2_TABLES & _tables(db_path)
    async with await Store.open(db_path) as store:
        got = await store.get_device(DEV)
        assert got is not None and got.tags == {"lab"} and got.registered_ms == 5
        assert (await store.load_params(DEV))["A.B"].value == "1"
        assert await store.get_setting("ui.theme") == "dark"
        assert [p.id for p in await store.list_presets()] == ["bootstrap", "default", "inform"]
        assert await store.integrity_check() == "ok"
        # The new tables work with the old device (foreign keys).
        task = await store.add_task(DEV, "reboot", {"name": "reboot"}, timestamp_ms=1)
        assert [t.id for t in await store.list_tasks(DEV)] == [task.id]
    assert _tables(db_path) >= V2_TABLES
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) >= 2
    finally:
        conn.close()


async def test_seeds_are_inserted_once(db_path: Path) -> None:
    async with await Store.open(db_path) as store:
        presets = await store.list_presets()
        assert presets == list(DEFAULT_PRESETS)
        assert await store.list_provisions() == list(DEFAULT_PROVISIONS)
        bootstrap = await store.get_preset("bootstrap")
        assert bootstrap is not None
        assert bootstrap.channel == "bootstrap"
        assert bootstrap.events == {"0_BOOTSTRAP": True}
        assert bootstrap.provisions == [
            ["bootstrap"], ["refresh", "InternetGatewayDevice"], ["refresh", "Device"]
        ]
        for preset in presets[1:]:
            assert preset.events == {} and preset.precondition == ""
            assert preset.provisions[0][0] == preset.id and preset.channel == preset.id
        assert presets[1].provisions == [["default"]]
        assert presets[2].provisions == [["inform", ["FUNC", "CONNECTION_REQUEST_PASSWORD"]]]
        assert not await store.seed_defaults()  # presets exist: nothing to do
    async with await Store.open(db_path) as store:  # reopening does not seed again
        assert len(await store.list_presets()) == 3
        for preset in DEFAULT_PRESETS:
            assert await store.delete_preset(preset.id)
    async with await Store.open(db_path) as store:  # deleted by the user: stays deleted
        assert await store.list_presets() == []
        await store.put_provision(Provision("inform", "// mine"))
        assert await store.seed_defaults()
        assert [p.id for p in await store.list_presets()] == ["bootstrap", "default", "inform"]
        kept = await store.get_provision("inform")
        assert kept == Provision("inform", "// mine")  # an existing provision is kept


async def test_seed_scripts_run_in_the_sandbox() -> None:
    scripts = {p.id: p.script for p in DEFAULT_PROVISIONS}
    now = 1_700_000_000_000
    data = {
        "DeviceID.ID": {"value": [DEV, "xsd:string"]},
        "InternetGatewayDevice.": {"object": True, "writable": False},
    }
    sandbox = Sandbox(timeout_ms=5000)
    try:
        results = {}
        for name, source in scripts.items():
            args = ["derived-pw-7q"] if name == "inform" else []  # the preset's argument
            run = ScriptRun(name, source, args, data, session_timestamp=now, device_id=DEV)
            for _ in range(4):  # the replay model: re-run past each commit (inform reads)
                result = await sandbox.run(run)
                assert result.fault is None, result.fault
                if result.done:
                    break
                run.commits_done = result.commits
            assert result.done
            results[name] = result
    finally:
        await sandbox.close()
    clears = results["bootstrap"].clears
    assert sorted(c.path for c in clears) == ["Device", "InternetGatewayDevice"]
    assert {c.timestamp for c in clears} == {now}
    # ...and its preset then reads the whole tree (names, writability, values) of either
    # data model with the built-in refresh.
    bootstrap = next(p for p in DEFAULT_PRESETS if p.id == "bootstrap")
    assert bootstrap.provisions == [
        ["bootstrap"], ["refresh", "InternetGatewayDevice"], ["refresh", "Device"]
    ]
    default = {d.path: d for d in results["default"].declarations}
    version = default["InternetGatewayDevice.DeviceInfo.SoftwareVersion"]
    hour_start = version.path_get
    assert hour_start is not None and now - 3_600_000 < hour_start <= now
    assert version.attr_get == {"value": hour_start}
    assert default["InternetGatewayDevice.LANDevice.*.WLANConfiguration.*.KeyPassphrase"].attr_get == {
        "value": 1
    }
    inform = {d.path: d for d in results["inform"].declarations if d.attr_set}
    for root in ("InternetGatewayDevice", "Device"):
        ms = f"{root}.ManagementServer."
        assert inform[ms + "ConnectionRequestUsername"].attr_set["value"][0] == DEV
        assert inform[ms + "PeriodicInformEnable"].attr_set["value"][0] is True
        assert inform[ms + "PeriodicInformInterval"].attr_set["value"][0] == 300
        password = inform[ms + "ConnectionRequestPassword"].attr_set["value"][0]
        assert password == "derived-pw-7q"  # the argument, not Math.random's


async def test_presets_crud_and_order(store: Store) -> None:
    for preset in await store.list_presets():
        await store.delete_preset(preset.id)
    heavy = Preset("heavy", weight=10, provisions=[["reboot"]])
    full = Preset(
        id="wifi",
        weight=-1,
        channel="wifi",
        events={"1_BOOT": True, "2_PERIODIC": False},
        schedule="3600 0 3 * * *",
        precondition="Tags.lab IS NOT NULL AND DeviceID.ProductClass = 'Box'",
        provisions=[["value", "Device.WiFi.SSID.1.SSID", "'lab-' || DeviceID.SerialNumber"]],
        configurations=[{"type": "value", "name": "x", "value": "1"}],
    )
    await store.put_preset(heavy)
    await store.put_preset(full)
    await store.put_preset(Preset("alpha", weight=10))
    assert [p.id for p in await store.list_presets()] == ["wifi", "alpha", "heavy"]
    assert await store.get_preset("wifi") == full
    assert await store.get_preset("nope") is None
    changed = Preset("heavy", weight=0, channel="c", precondition='{"_tags": "lab"}')
    await store.put_preset(changed)
    got = await store.get_preset("heavy")
    assert got == changed and got.legacy_precondition
    assert not full.legacy_precondition
    assert await store.delete_preset("heavy")
    assert not await store.delete_preset("heavy")
    assert [p.id for p in await store.list_presets()] == ["wifi", "alpha"]


async def test_provisions_and_virtual_parameters_crud(store: Store) -> None:
    await store.put_provision(Provision("zz", "log('a');"))
    await store.put_provision(Provision("aa", "log('b');"))
    await store.put_provision(Provision("zz", "log('c');"))
    ids = [p.id for p in await store.list_provisions()]
    assert ids == sorted(ids) and {"aa", "zz"} <= set(ids)
    assert await store.get_provision("zz") == Provision("zz", "log('c');")
    assert await store.delete_provision("zz")
    assert await store.get_provision("zz") is None
    assert not await store.delete_provision("zz")

    assert await store.list_virtual_parameters() == []
    vp = VirtualParameter("wan_ip", "return {value: ['1.2.3.4', 'xsd:string']};")
    await store.put_virtual_parameter(vp)
    await store.put_virtual_parameter(VirtualParameter("a", "return {};"))
    assert [v.id for v in await store.list_virtual_parameters()] == ["a", "wan_ip"]
    assert await store.get_virtual_parameter("wan_ip") == vp
    assert await store.get_virtual_parameter("x") is None
    with pytest.raises(ValueError, match="invalid virtual parameter name"):
        await store.put_virtual_parameter(VirtualParameter("a.b", ""))
    assert await store.delete_virtual_parameter("a")
    assert not await store.delete_virtual_parameter("a")


async def test_config_crud(store: Store) -> None:
    assert await store.get_config() == {}
    await store.set_config("cwmp.retryDelay", "60")
    await store.set_config("cwmp.auth", "AUTH('acs', 'secret')")
    await store.set_config("cwmp.retryDelay", "120")
    assert await store.get_config() == {
        "cwmp.auth": "AUTH('acs', 'secret')",
        "cwmp.retryDelay": "120",
    }
    assert list(await store.get_config()) == ["cwmp.auth", "cwmp.retryDelay"]
    assert await store.delete_config("cwmp.auth")
    assert not await store.delete_config("cwmp.auth")
    assert await store.get_config() == {"cwmp.retryDelay": "120"}


async def test_revision_bumps_on_every_change_and_persists(db_path: Path) -> None:
    async with await Store.open(db_path) as store:
        start = await store.provisioning_revision()
        assert start >= 1
        seen = [start]

        async def bumped() -> None:
            value = await store.provisioning_revision()
            assert value > seen[-1]
            seen.append(value)

        async def unchanged() -> None:
            assert await store.provisioning_revision() == seen[-1]

        await store.put_preset(Preset("p"))
        await bumped()
        await store.delete_preset("p")
        await bumped()
        await store.delete_preset("p")
        await unchanged()
        await store.put_provision(Provision("x", ""))
        await bumped()
        await store.delete_provision("x")
        await bumped()
        await store.put_virtual_parameter(VirtualParameter("v", ""))
        await bumped()
        await store.delete_virtual_parameter("v")
        await bumped()
        await store.set_config("cwmp.debug", "true")
        await bumped()
        await store.delete_config("cwmp.debug")
        await bumped()
        await store.delete_config("cwmp.debug")
        await unchanged()
        # Devices, tasks and settings are not provisioning data.
        await store.commit_session(commit(device(), upserts=[param("A.B")]))
        await store.add_task(DEV, "reboot", {"name": "reboot"})
        await store.set_setting("x", "y")
        await unchanged()
        last = seen[-1]
    async with await Store.open(db_path) as store:
        assert await store.provisioning_revision() == last
        await store.set_config("cwmp.debug", "false")
        assert await store.provisioning_revision() == last + 1
