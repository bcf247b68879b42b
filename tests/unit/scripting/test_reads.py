"""What a run reports it looked up in the device data (used to skip replays that cannot differ)."""

from __future__ import annotations

from acs_engine.scripting import Sandbox

from .conftest import DATA, make_run


async def test_a_run_that_reads_nothing_reports_no_keys(sandbox: Sandbox) -> None:
    r = await sandbox.run(make_run('declare("Device.DeviceInfo.SoftwareVersion", {value: 1});'))
    assert r.done and r.reads == frozenset()


async def test_literal_reads_are_reported_key_by_key(sandbox: Sandbox) -> None:
    source = """
        const v = declare("Device.DeviceInfo.SoftwareVersion", {value: 1});
        log(v.value[0]);
    """
    r = await sandbox.run(make_run(source, commits_done=2))
    assert r.done and r.logs == ["1.2.3"]
    assert r.reads is not None
    assert "Device.DeviceInfo.SoftwareVersion" in r.reads
    assert {"Device", "Device.", "Device.DeviceInfo", "Device.DeviceInfo."} <= r.reads
    # A run stopped at the commit before any read (reading a wrapper commits first).
    r = await sandbox.run(make_run(source))
    assert not r.done and r.reads == frozenset()


async def test_wildcards_and_absent_paths_depend_on_every_key(sandbox: Sandbox) -> None:
    source = 'for (const s of declare("Device.WiFi.SSID.*.SSID", {value: 1})) log(s.path);'
    r = await sandbox.run(make_run(source, commits_done=1))
    assert r.done and r.reads is None
    r = await sandbox.run(make_run('declare("Device.Missing.X", {value: 1}).value;', commits_done=1))
    assert r.done and r.reads is None


async def test_same_inputs_and_same_entries_under_the_read_keys_give_the_same_result(
    sandbox: Sandbox,
) -> None:
    source = """
        const v = declare("Device.DeviceInfo.UpTime", {value: 1}).value[0];
        commit();
        declare("Device.DeviceInfo.SoftwareVersion", null, {value: "v" + v});
    """
    first = await sandbox.run(make_run(source, commits_done=2))
    assert first.done and first.reads is not None
    changed = dict(DATA)
    changed["Device.WiFi.SSID.1.SSID"] = {"value": ["other", "xsd:string"], "writable": True}
    del changed["Device.WiFi.SSID.2.Enable"]
    again = await sandbox.run(make_run(source, commits_done=2, data=changed))
    assert again == first  # no read key changed: the result is the same
    changed["Device.DeviceInfo.UpTime"] = {"value": [7, "xsd:unsignedInt"]}
    other = await sandbox.run(make_run(source, commits_done=2, data=changed))
    assert other.declarations != first.declarations
