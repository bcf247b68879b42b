"""declare(), wrappers, paths/aliases, commit replay, clear() and log() on the real V8."""

from __future__ import annotations

from typing import Any

from acs_engine.scripting import Sandbox, ScriptResult
from acs_engine.session.declarations import Clear, Declaration

from .conftest import NOW, make_run


async def run_done(sandbox: Sandbox, source: str, **kw: Any) -> ScriptResult:
    result = await sandbox.run(make_run(source, commits_done=99, **kw))
    assert result.fault is None, result.fault
    assert result.done
    return result


async def test_declaration_defaults_and_values(sandbox: Sandbox) -> None:
    r = await run_done(
        sandbox,
        """
        declare("Device.DeviceInfo.SoftwareVersion", {value: 1});
        declare("Device.WiFi.SSID.1.SSID", {value: Date.now(), path: 5}, {value: "x"});
        declare("Device.WiFi.SSID.2.SSID", null, {value: ["y", "xsd:string"]});
        declare("Device.ManagementServer.PeriodicInformInterval", {value: 0, writable: -3},
                {notification: 2, accessList: ["Subscriber"]});
        declare("Device.WiFi.SSID.*", {path: NOW_PLUS}, {path: [1, 3]});
        declare("Device.WiFi.SSID.[SSID = \\"x\\"]", null, {path: 1});
        """.replace("NOW_PLUS", str(NOW + 10_000)),
    )
    assert r.declarations == [
        Declaration("Device.DeviceInfo.SoftwareVersion", 1, None, {"value": 1}, {}, True),
        Declaration(
            "Device.WiFi.SSID.1.SSID", 5, None, {"value": NOW}, {"value": ("x", None)}, True
        ),
        Declaration(
            "Device.WiFi.SSID.2.SSID", 1, None, {"value": 1}, {"value": ("y", "xsd:string")}, True
        ),
        Declaration(
            "Device.ManagementServer.PeriodicInformInterval",
            1,
            None,
            {"notification": 1, "accessList": 1},
            {"notification": 2, "accessList": ("Subscriber",)},
            True,
        ),
        # timestamps are capped at the session timestamp
        Declaration("Device.WiFi.SSID.*", NOW, (1, 3), {}, {}, True),
        Declaration('Device.WiFi.SSID.[SSID = "x"]', 1, 1, {}, {}, True),
    ]
    assert r.commits == 0


async def test_invalid_instance_count_is_a_script_error(sandbox: Sandbox) -> None:
    r = await sandbox.run(make_run('declare("Device.WiFi.SSID.*", null, {path: [3, 1]});'))
    assert r.fault is not None and r.fault.code == "script.Error"


async def test_wrapper_getters(sandbox: Sandbox) -> None:
    r = await run_done(
        sandbox,
        """
        const p = declare("Device.WiFi.SSID.1.SSID", {value: 1, writable: 1, notification: 1});
        log(JSON.stringify([p.value, p.writable, p.notification, p.path, p.size, p.object]));
        const m = declare("Device.ManagementServer.PeriodicInformInterval", {accessList: 1});
        log(JSON.stringify([m.accessList, m.value]));
        const o = declare("Device.WiFi.SSID.1.", {object: 1});
        log(JSON.stringify([o.object, o.path]));
        const missing = declare("Device.Nope.Param", {value: 1});
        log(JSON.stringify([missing.value, missing.size, missing.path]));
        const v = p.value; v[0] = "mutated";
        log(p.value[0]);
        """,
    )
    assert r.logs == [
        '[["home","xsd:string"],true,2,"Device.WiFi.SSID.1.SSID",1,null]',
        '[["Subscriber"],null]',
        '[true,"Device.WiFi.SSID.1"]',
        "[null,null,null]",
        "home",
    ]


async def test_wildcards_and_iteration(sandbox: Sandbox) -> None:
    r = await run_done(
        sandbox,
        """
        const all = declare("Device.WiFi.SSID.*.SSID", {value: 1});
        log(all.size + " " + all.path + " " + all.value[0]);
        for (const s of all) log(s.path + "=" + s.value[0] + " size=" + s.size);
        const inst = declare("Device.WiFi.SSID.*", {path: 1});
        log([...inst].map((i) => i.path).join(","));
        log(String(declare("Device.*.SSID.*.Stats.Channel", {value: 1}).size));
        log(String(declare("Device.WiFi.SSID.*.Nothing", {value: 1}).size));
        """,
    )
    assert r.logs == [
        "3 Device.WiFi.SSID.1.SSID home",
        "Device.WiFi.SSID.1.SSID=home size=1",
        "Device.WiFi.SSID.2.SSID=guest size=1",
        "Device.WiFi.SSID.10.SSID=iot:net size=1",
        "Device.WiFi.SSID.1,Device.WiFi.SSID.2,Device.WiFi.SSID.10",
        "2",
        "undefined",
    ]


async def test_aliases_new_and_legacy_syntax(sandbox: Sandbox) -> None:
    r = await run_done(
        sandbox,
        """
        const q = (p) => [...declare(p, {path: 1})].map((w) => w.path.split(".")[3]).join(",");
        log(q('Device.WiFi.SSID.[SSID = "guest"]'));
        log(q('Device.WiFi.SSID.[Enable = true]'));
        log(q('Device.WiFi.SSID.[Enable = false AND SSID = "guest"]'));
        log(q('Device.WiFi.SSID.[Enable = true AND SSID = "guest"]'));
        log(q('Device.WiFi.SSID.[Stats.Channel = 11]'));
        log(q('Device.WiFi.SSID.[Stats.Channel = "6"]'));
        log(q('Device.WiFi.SSID.[SSID:guest]'));
        log(q('Device.WiFi.SSID.[ SSID : iot:net ]'));
        log(q('Device.WiFi.SSID.[SSID:home,Enable:true]'));
        log(q('Device.WiFi.SSID.[Stats.Channel:11]'));
        log(q('Device.WiFi.SSID.[]'));
        log(declare('Device.WiFi.SSID.[SSID:guest].Stats.Channel', {value: 1}).value[0]);
        """,
    )
    assert r.logs == ["2", "1,10", "2", "", "2", "1", "2", "10", "1", "2", "1,2,10", "11"]


async def test_invalid_alias_faults(sandbox: Sandbox) -> None:
    r = await sandbox.run(make_run('declare("Device.WiFi.SSID.[nonsense]", {path: 1});'))
    assert r.fault is not None
    assert r.fault.code == "script.Error"
    assert "Invalid alias" in r.fault.message


async def test_commit_replay(sandbox: Sandbox) -> None:
    source = """
        declare("Device.DeviceInfo.SoftwareVersion", {value: 1});
        commit();
        declare("Device.WiFi.SSID.1.SSID", null, {value: "a"});
        commit();
        declare("Device.WiFi.SSID.2.SSID", null, {value: "b"});
    """
    r0 = await sandbox.run(make_run(source, commits_done=0))
    assert (r0.done, r0.commits, r0.fault) == (False, 1, None)
    assert [d.path for d in r0.declarations] == ["Device.DeviceInfo.SoftwareVersion"]
    assert all(not d.defer for d in r0.declarations)

    r1 = await sandbox.run(make_run(source, commits_done=1))
    assert (r1.done, r1.commits) == (False, 2)
    assert [d.path for d in r1.declarations] == [
        "Device.DeviceInfo.SoftwareVersion",
        "Device.WiFi.SSID.1.SSID",
    ]

    r2 = await sandbox.run(make_run(source, commits_done=2))
    assert (r2.done, r2.commits, r2.fault) == (True, 2, None)
    assert [d.path for d in r2.declarations] == [
        "Device.DeviceInfo.SoftwareVersion",
        "Device.WiFi.SSID.1.SSID",
        "Device.WiFi.SSID.2.SSID",
    ]
    assert all(d.defer for d in r2.declarations)


async def test_implicit_commit_on_reading_a_property(sandbox: Sandbox) -> None:
    source = """
        const v = declare("Device.DeviceInfo.SoftwareVersion", {value: 1});
        log("before read");
        if (v.value[0] === "1.2.3") declare("Device.WiFi.SSID.1.SSID", null, {value: "new"});
        v.size; // the second declare is pending: this read commits again
        log("after");
    """
    r0 = await sandbox.run(make_run(source))
    assert (r0.done, r0.commits) == (False, 1)
    assert len(r0.declarations) == 1
    r1 = await sandbox.run(make_run(source, commits_done=1))
    assert (r1.fault, r1.done, r1.commits) == (None, False, 2)
    assert len(r1.declarations) == 2
    r2 = await sandbox.run(make_run(source, commits_done=2))
    assert (r2.done, r2.commits) == (True, 2)
    assert r2.logs == ["before read", "after"]
    assert r2.declarations[1].attr_set == {"value": ("new", None)}


async def test_reading_with_nothing_pending_does_not_commit(sandbox: Sandbox) -> None:
    source = """
        const v = declare("Device.DeviceInfo.SoftwareVersion", {value: 1});
        commit();
        log(v.value[0]);
    """
    r = await sandbox.run(make_run(source, commits_done=1))
    assert (r.done, r.commits, r.logs) == (True, 1, ["1.2.3"])


async def test_swallowed_sentinel_is_detected(sandbox: Sandbox) -> None:
    for source in (
        # caught, then the API is used again
        'try { declare("A.B", {value: 1}).value; } catch (e) {}\ndeclare("A.C", {value: 1});',
        # caught and the script ends normally
        'try { declare("A.B", {value: 1}).value; } catch (e) { log("caught"); }',
        # caught and a different error thrown
        'try { commit(); } catch (e) { throw new Error("mine"); }',
    ):
        r = await sandbox.run(make_run(source))
        assert r.fault is not None, source
        assert r.fault.code == "script.Error"
        assert (
            r.fault.message == "Declare function should not be called from within a try/catch block"
        )
        assert not r.done


async def test_try_finally_does_not_swallow(sandbox: Sandbox) -> None:
    source = 'try { declare("A.B", {value: 1}).value; } finally { }\nlog("end");'
    r = await sandbox.run(make_run(source))
    assert (r.fault, r.done, r.commits) == (None, False, 1)
    r = await sandbox.run(make_run(source, commits_done=1))
    assert (r.fault, r.done, r.logs) == (None, True, ["end"])


async def test_clear_only_in_newest_segment_and_capped(sandbox: Sandbox) -> None:
    source = f"""
        clear("Device.WiFi.SSID.*", {NOW + 5000});
        commit();
        clear("Device.WiFi.SSID.1.SSID", 10, {{value: {NOW + 1}, writable: 0}});
    """
    r0 = await sandbox.run(make_run(source))
    assert r0.clears == [Clear("Device.WiFi.SSID.*", NOW, {})]
    r1 = await sandbox.run(make_run(source, commits_done=1))
    assert r1.done
    assert r1.clears == [Clear("Device.WiFi.SSID.1.SSID", 10, {"value": NOW})]


async def test_log_with_meta(sandbox: Sandbox) -> None:
    r = await run_done(sandbox, 'log("hello", {a: 1}); log(42);')
    assert r.logs == ['hello {"a":1}', "42"]


async def test_args_reach_the_script(sandbox: Sandbox) -> None:
    r = await run_done(sandbox, "log(JSON.stringify(args));", args=["x", 2, {"k": True}])
    assert r.logs == ['["x",2,{"k":true}]']


async def test_data_key_reuses_and_data_change_is_seen(sandbox: Sandbox) -> None:
    src = 'log(declare("Device.DeviceInfo.UpTime", {value: 1}).value[0]);'
    r = await run_done(sandbox, src, data_key=1)
    assert r.logs == ["3600"]
    data = {"Device.DeviceInfo.UpTime": {"value": [7, "xsd:unsignedInt"]}}
    r = await run_done(sandbox, src, data=data, data_key=2)
    assert r.logs == ["7"]
    data2 = {"Device.DeviceInfo.UpTime": {"value": [8, "xsd:unsignedInt"]}}
    r = await run_done(sandbox, src, data=data2)  # no key: compared by content
    assert r.logs == ["8"]
