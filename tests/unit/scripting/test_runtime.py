"""ext(), Date, Math.random, virtual parameters, faults, limits and isolation on the real V8."""

from __future__ import annotations

import asyncio
from pathlib import Path

from acs_engine.scripting import (
    ExtCall,
    Sandbox,
    ScriptFault,
    ScriptResult,
    cron_previous,
    device_hash,
    ext_key,
)

from .conftest import NOW, make_run

# ---- ext() -----------------------------------------------------------------------------------


async def test_ext_cache_miss_then_hit(sandbox: Sandbox) -> None:
    source = """
        declare("Device.DeviceInfo.SoftwareVersion", {value: 1});
        const r = ext("billing", "plan", "abc", 5);
        log(JSON.stringify(r));
    """
    r = await sandbox.run(make_run(source))
    assert (r.done, r.fault) == (False, None)
    assert r.ext_needed == [ExtCall("billing", "plan", ("abc", "5"))]
    assert len(r.declarations) == 1
    call = r.ext_needed[0]
    r = await sandbox.run(make_run(source, ext_cache={ext_key(call): {"speed": 100}}))
    assert (r.done, r.fault, r.ext_needed) == (True, None, [])
    assert r.logs == ['{"speed":100}']


async def test_ext_key_round_trips_unusual_strings(sandbox: Sandbox) -> None:
    source = 'log(ext("f", "g", "é\\u2028\\"x\\"\\n", null, {}));'
    r = await sandbox.run(make_run(source))
    (call,) = r.ext_needed
    assert call.args == ('é\u2028"x"\n', "null", "[object Object]")
    r = await sandbox.run(make_run(source, ext_cache={ext_key(call): "ok"}))
    assert r.logs == ["ok"]


async def test_real_extension_subprocess(sandbox: Sandbox) -> None:
    assert sandbox.ext_dir is not None
    (sandbox.ext_dir / "tools.py").write_text(
        "import time\n"
        "def add(a, b):\n"
        "    print('noise on stdout')\n"
        "    return {'sum': int(a) + int(b)}\n"
        "def boom(msg):\n"
        "    raise ValueError(msg)\n"
        "def slow():\n"
        "    time.sleep(10)\n"
        "async def later(x):\n"
        "    return [x, x]\n"
    )
    assert await sandbox.run_ext(ExtCall("tools", "add", ("2", "3"))) == {"sum": 5}
    assert await sandbox.run_ext(ExtCall("tools", "later", ("q",))) == ["q", "q"]
    fault = await sandbox.run_ext(ExtCall("tools", "boom", ("bad input",)))
    assert fault == ScriptFault(
        "ext.ValueError", "bad input", {"name": "ValueError", "message": "bad input"}
    )
    fault = await sandbox.run_ext(ExtCall("tools", "missing", ()))
    assert isinstance(fault, ScriptFault) and fault.code == "ext.AttributeError"
    fault = await sandbox.run_ext(ExtCall("nofile", "f", ()))
    assert isinstance(fault, ScriptFault) and fault.code == "ext.FileNotFoundError"
    fault = await sandbox.run_ext(ExtCall("../etc/passwd", "f", ()))
    assert isinstance(fault, ScriptFault) and fault.code == "ext.Error"


async def test_extension_timeout(tmp_path: Path) -> None:
    (tmp_path / "slow.py").write_text("import time\ndef wait():\n    time.sleep(10)\n")
    sb = Sandbox(ext_dir=tmp_path, ext_timeout_ms=400)
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        fault = await sb.run_ext(ExtCall("slow", "wait", ()))
        assert loop.time() - started < 5
        assert isinstance(fault, ScriptFault)
        assert (fault.code, fault.message) == ("timeout", "Extension timed out")
    finally:
        await sb.close()


async def test_ext_full_cycle_through_the_sandbox(sandbox: Sandbox) -> None:
    assert sandbox.ext_dir is not None
    (sandbox.ext_dir / "calc.py").write_text("def double(x):\n    return int(x) * 2\n")
    source = 'log("result " + ext("calc", "double", 21));'
    cache: dict[str, object] = {}
    for _ in range(3):
        r = await sandbox.run(make_run(source, ext_cache=cache))
        if r.done:
            break
        for call in r.ext_needed:
            cache[ext_key(call)] = await sandbox.run_ext(call)
    assert r.done
    assert r.logs == ["result 42"]


# ---- Date and Math.random --------------------------------------------------------------------


async def test_date_now_plain_and_new_date(sandbox: Sandbox) -> None:
    r = await sandbox.run(
        make_run(
            "log(Date.now()); log(new Date().getTime()); log(new Date(5).getTime());"
            "log(typeof Date()); log(new Date() instanceof Date);"
        )
    )
    assert r.logs == [str(NOW), str(NOW), "5", "string", "true"]


async def test_date_now_interval_with_device_offset(sandbox: Sandbox) -> None:
    source = "log(Date.now(3600000)); log(Date.now(3600000, 0)); log(Date.now(60000, 1000));"
    device = "202BC1-BM632w-000001"
    r = await sandbox.run(make_run(source, device_id=device))
    h = device_hash(device)

    def interval(t: int, i: int, offset: int) -> int:
        return (t + offset) // i * i - offset

    assert r.logs == [
        str(interval(NOW, 3600000, h % 3600000)),
        str(interval(NOW, 3600000, 0)),
        str(interval(NOW, 60000, h % 1000)),
    ]
    again = await sandbox.run(make_run(source, device_id=device))
    assert again.logs == r.logs
    other = await sandbox.run(make_run(source, device_id="other-device"))
    assert other.logs[0] != r.logs[0]
    assert other.logs[1] == r.logs[1]
    assert all(int(v) <= NOW for v in r.logs)


async def test_date_now_cron_through_cron_needed(sandbox: Sandbox) -> None:
    source = 'log(Date.now("0 3 * * *")); log(Date.now("0 0 * * * *", 600000));'
    r = await sandbox.run(make_run(source))
    assert (r.done, r.cron_needed) == (False, ["0 3 * * *"])
    cache = {r.cron_needed[0]: cron_previous(r.cron_needed[0], NOW)}
    r = await sandbox.run(make_run(source, cron_cache=cache))
    (key,) = r.cron_needed
    offset = device_hash("202BC1-BM632w-000001") % 600000
    assert key == f"0 0 * * * *|{offset}"
    cache[key] = cron_previous(key, NOW)
    r = await sandbox.run(make_run(source, cron_cache=cache))
    assert r.done
    assert r.logs == [str(cache["0 3 * * *"]), str(cache[key])]


async def test_invalid_cron_faults(sandbox: Sandbox) -> None:
    r = await sandbox.run(make_run('Date.now("not a cron");'))
    assert r.fault is not None
    assert r.fault.code == "script.Error"
    assert "Invalid cron expression" in r.fault.message


async def test_math_random_is_deterministic_per_device(sandbox: Sandbox) -> None:
    source = "log([Math.random(), Math.random(), Math.random()].join(','));"
    a1 = await sandbox.run(make_run(source, device_id="A"))
    a2 = await sandbox.run(make_run(source, device_id="A"))
    b = await sandbox.run(make_run(source, device_id="B"))
    assert a1.logs == a2.logs
    assert a1.logs != b.logs
    values = [float(v) for v in a1.logs[0].split(",")]
    assert all(0 <= v < 1 for v in values) and len(set(values)) == 3


async def test_math_random_seed(sandbox: Sandbox) -> None:
    source = "Math.random.seed('s1'); const a = Math.random(); Math.random.seed('s1'); log(a === Math.random()); log(a);"
    r1 = await sandbox.run(make_run(source, device_id="A"))
    r2 = await sandbox.run(make_run(source, device_id="B"))
    assert r1.logs[0] == "true"
    assert r1.logs == r2.logs


# ---- virtual parameters ----------------------------------------------------------------------


async def vparam(sandbox: Sandbox, source: str, args: list[object] | None = None) -> ScriptResult:
    vp_args = args if args is not None else [{"value": 1}, {}, {}, {}]
    return await sandbox.run(
        make_run(source, args=vp_args, is_virtual_parameter=True, commits_done=9, name="MyVP")
    )


async def test_vparam_return_forms(sandbox: Sandbox) -> None:
    cases = [
        ("return {value: 5};", {"value": [5, "xsd:int"]}),
        ("return {value: true, writable: 1};", {"value": [True, "xsd:boolean"], "writable": True}),
        ('return {value: "x"};', {"value": ["x", "xsd:string"]}),
        ('return {value: ["12", "xsd:unsignedInt"]};', {"value": [12, "xsd:unsignedInt"]}),
        ('return {value: ["1", "xsd:boolean"]};', {"value": [True, "xsd:boolean"]}),
        ("return {value: new Date(1000)};", {"value": [1000, "xsd:dateTime"]}),
        (
            'const v = declare("Device.DeviceInfo.UpTime", {value: 1}).value[0]; return {writable: false, value: [v, "xsd:unsignedInt"]};',
            {"writable": False, "value": [3600, "xsd:unsignedInt"]},
        ),
    ]
    for source, expected in cases:
        r = await vparam(sandbox, source)
        assert r.fault is None, (source, r.fault)
        assert r.done
        assert r.return_value == expected, source


async def test_vparam_set_receives_the_wanted_value(sandbox: Sandbox) -> None:
    source = "return {writable: true, value: args[1].value ? args[1].value[0] : 'none'};"
    r = await vparam(
        sandbox, source, [{"value": 1, "writable": 1}, {"value": ["wanted", "xsd:string"]}, {}, {}]
    )
    assert r.return_value == {"writable": True, "value": ["wanted", "xsd:string"]}


async def test_vparam_faults(sandbox: Sandbox) -> None:
    cases = [
        ("let x = 1;", "Invalid virtual parameter return value"),
        ("return {};", "Virtual parameter 'MyVP' must provide 'value' attribute"),
        ("return {value: null};", "Virtual parameter 'MyVP' must provide 'value' attribute"),
        ('return {value: ["x", "xsd:float"]};', "Invalid virtual parameter value attribute"),
        ('return {value: ["abc", "xsd:int"]};', "Invalid virtual parameter value attribute"),
    ]
    for source, message in cases:
        r = await vparam(sandbox, source)
        assert r.fault == ScriptFault("script", message, {}), source
        assert not r.done
    r = await vparam(sandbox, "return {value: 1};", [{"writable": 1}, {}, {}, {}])
    assert (
        r.fault is not None
        and r.fault.message == "Virtual parameter 'MyVP' must provide 'writable' attribute"
    )


async def test_vparam_replays_like_a_provision(sandbox: Sandbox) -> None:
    source = 'const v = declare("Device.DeviceInfo.UpTime", {value: Date.now()}); return {value: v.value[0]};'
    r = await sandbox.run(
        make_run(source, args=[{"value": 1}, {}, {}, {}], is_virtual_parameter=True)
    )
    assert (r.done, r.commits, r.return_value) == (False, 1, None)


# ---- faults, limits, isolation ---------------------------------------------------------------


async def test_exception_becomes_script_fault_with_stack(sandbox: Sandbox) -> None:
    r = await sandbox.run(make_run("const a = 1;\nfunction f() { null.x; }\nf();", name="my-prov"))
    assert r.fault is not None
    assert r.fault.code == "script.TypeError"
    assert r.fault.message == "Cannot read properties of null (reading 'x')"
    stack = r.fault.detail["stack"]
    assert r.fault.detail["name"] == "TypeError"
    assert stack.startswith("TypeError: Cannot read properties of null")
    assert "my-prov:2:" in stack and "my-prov:3:" in stack
    assert "prelude" not in stack
    r = await sandbox.run(make_run('throw new RangeError("too big");'))
    assert r.fault is not None and (r.fault.code, r.fault.message) == (
        "script.RangeError",
        "too big",
    )


async def test_throwing_a_non_error(sandbox: Sandbox) -> None:
    r = await sandbox.run(make_run('throw "plain string";'))
    assert r.fault == ScriptFault("script", "plain string", {})


async def test_infinite_loop_times_out_and_sandbox_recovers() -> None:
    sb = Sandbox(timeout_ms=100)
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        r = await sb.run(make_run('declare("A.B", {value: 1}); while (true) {}'))
        assert loop.time() - started < 3
        assert r.fault is not None
        assert r.fault.code == "script.TimeoutError"
        assert "timed out after 100 ms" in r.fault.message
        ok = await sb.run(
            make_run(
                'log(declare("Device.DeviceInfo.UpTime", {value: 1}).value[0]);', commits_done=1
            )
        )
        assert (ok.fault, ok.done, ok.logs) == (None, True, ["3600"])
    finally:
        await sb.close()


async def test_huge_allocation_hits_memory_limit_and_sandbox_recovers() -> None:
    sb = Sandbox(timeout_ms=20_000, memory_limit_mb=32)
    try:
        r = await sb.run(
            make_run("const a = []; while (true) a.push(new Array(100000).fill(1.5));")
        )
        assert r.fault is not None
        assert r.fault.code == "script.MemoryError"
        assert "memory limit of 32 MB" in r.fault.message
        ok = await sb.run(make_run("log(Date.now()); log([1, 2, 3].length);"))
        assert (ok.fault, ok.done, ok.logs) == (None, True, [str(NOW), "3"])
    finally:
        await sb.close()


async def test_syntax_error_with_line_and_column(sandbox: Sandbox) -> None:
    fault = sandbox.check_syntax("const a = 1;\nconst b = ;\n")
    assert fault is not None
    assert fault.code == "script.SyntaxError"
    assert (fault.detail["line"], fault.detail["column"]) == (2, 11)
    fault = sandbox.check_syntax("let x = (;")
    assert fault is not None and (fault.detail["line"], fault.detail["column"]) == (1, 10)
    assert sandbox.check_syntax("return 1;") is None
    assert sandbox.check_syntax('declare("A", {value: 1});') is None
    # an attempt to close the wrapper early is rejected, not executed
    assert sandbox.check_syntax("}); while (true) {} (function () {") is not None
    r = await sandbox.run(make_run("if (true) {\n  log(1);\n"))
    assert r.fault is not None and r.fault.code == "script.SyntaxError"
    # "Unexpected end of input" is reported at the end of the script, not in the wrapper
    assert (r.fault.detail["line"], r.fault.detail["column"]) == (3, 1)


async def test_strict_mode_and_no_host_access(sandbox: Sandbox) -> None:
    r = await sandbox.run(
        make_run(
            "log([typeof require, typeof process, typeof module, typeof console, typeof setTimeout,"
            " typeof globalThis.__fieldacs__, typeof Atomics].join(','));"
        )
    )
    assert r.logs == ["undefined,undefined,undefined,undefined,undefined,object,undefined"]
    r = await sandbox.run(make_run("undeclaredVar = 1;"))
    assert r.fault is not None and r.fault.code == "script.ReferenceError"
    r = await sandbox.run(make_run('__fieldacs__.run("guess");'))
    assert r.fault is not None and r.fault.message == "Not allowed"


async def test_no_state_leaks_between_runs(sandbox: Sandbox) -> None:
    for source in (
        "globalThis.leak = 1;",
        "Math.random = () => 0;",
        "Array.prototype.evil = 1;",
        "Date.now = () => 1;",
    ):
        r = await sandbox.run(make_run(source))
        assert r.fault is not None and r.fault.code == "script.TypeError", source
    r = await sandbox.run(
        make_run(
            "log(typeof globalThis.leak); log([].evil); log(Date.now() === NOW);".replace(
                "NOW", str(NOW)
            )
        )
    )
    assert r.logs == ["undefined", "undefined", "true"]


async def test_concurrent_runs_are_isolated(sandbox: Sandbox) -> None:
    source = 'log(args[0]); declare("Device.WiFi.SSID." + args[0] + ".SSID", {value: 1}).value; log(Date.now());'
    runs = [
        make_run(source, args=[i], session_timestamp=NOW + i, commits_done=1) for i in range(20)
    ]
    results = await asyncio.gather(*(sandbox.run(r) for r in runs))
    for i, r in enumerate(results):
        assert r.logs == [str(i), str(NOW + i)]


async def test_runaway_promise_job_is_stopped_and_blamed() -> None:
    sb = Sandbox(timeout_ms=100)
    try:
        r = await sb.run(make_run("Promise.resolve().then(() => { while (true) {} });"))
        assert r.fault is not None and r.fault.code == "script.TimeoutError"
        r = await sb.run(make_run("(async () => { await 0; for (;;) {} })(); log(1);"))
        assert r.fault is not None and r.fault.code == "script.TimeoutError"
        ok = await sb.run(make_run("log('fine');"))
        assert (ok.fault, ok.done, ok.logs) == (None, True, ["fine"])
    finally:
        await sb.close()
