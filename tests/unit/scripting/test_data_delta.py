"""Keyed runs send V8 only what changed; what a script sees is the same as a full load."""

from __future__ import annotations

import random
from typing import Any

from acs_engine.scripting import Sandbox

from .conftest import DATA, make_run

# Everything a script can see: every path (wildcards), with its attributes.
DUMP = """
const out = [];
for (const p of ["Device.*", "Device.*.*", "Device.*.*.*", "Device.*.*.*.*", "Device.*.*.*.*.*"]) {
  for (const w of declare(p, {value: 1, writable: 1, object: 1, accessList: 1})) {
    out.push([w.path, w.value, w.writable, w.object, w.notification, w.accessList]);
  }
}
log(JSON.stringify(out));
"""


async def _seen(sandbox: Sandbox, data: dict[str, Any], key: Any) -> str:
    r = await sandbox.run(make_run(DUMP, data=data, data_key=key, commits_done=99))
    assert r.done and r.fault is None, r.fault
    return r.logs[0]


async def test_deleted_added_and_changed_entries_reach_v8(sandbox: Sandbox) -> None:
    before = dict(DATA)
    await _seen(sandbox, before, "k1")
    after = dict(before)
    del after["Device.WiFi.SSID.2."]
    del after["Device.WiFi.SSID.2.SSID"]
    del after["Device.WiFi.SSID.2.Enable"]
    del after["Device.WiFi.SSID.2.Stats.Channel"]
    after["Device.WiFi.SSID.1.SSID"] = {"value": ["changed", "xsd:string"], "writable": True}
    after["Device.WiFi.SSID.3."] = {"object": True, "writable": True}
    after["Device.WiFi.SSID.3.SSID"] = {"value": ["new", "xsd:string"], "writable": True}
    after["__proto__"] = {"value": ["odd", "xsd:string"]}
    patched = await _seen(sandbox, after, "k2")
    back = await _seen(sandbox, before, "k3")  # the deleted entries return, the added go
    # What a full load shows (an unkeyed run serialises and loads the whole data).
    assert patched == await _seen(sandbox, after, None)
    assert back == await _seen(sandbox, before, None)
    assert '"Device.WiFi.SSID.2' not in patched and "changed" in patched
    assert "Device.WiFi.SSID.3.SSID" in patched


async def test_random_edits_keep_v8_in_step(sandbox: Sandbox) -> None:
    rng = random.Random(7)
    data: dict[str, Any] = dict(DATA)
    steps: list[tuple[dict[str, Any], str]] = []
    for step in range(12):
        data = dict(data)  # a new mapping per key; changed entries are new objects
        for key in rng.sample(sorted(data), rng.randint(0, 3)):
            del data[key]
        for _ in range(rng.randint(0, 3)):
            n = rng.randint(1, 5)
            data[f"Device.WiFi.SSID.{n}."] = {"object": True, "writable": True}
            data[f"Device.WiFi.SSID.{n}.SSID"] = {
                "value": [f"s{step}-{n}", "xsd:string"], "writable": rng.random() < 0.5,
            }
        steps.append((data, await _seen(sandbox, data, f"r{step}")))  # patched each time
    for step, (data, seen) in enumerate(steps):
        assert seen == await _seen(sandbox, data, None), step


async def test_the_same_key_reuses_the_data_inside_v8(sandbox: Sandbox) -> None:
    first = await _seen(sandbox, dict(DATA), "same")
    # The same key promises the same data: nothing is sent again.
    assert await _seen(sandbox, {}, "same") == first
