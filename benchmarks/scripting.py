"""Runs/s of a small provision script in the V8 sandbox over ~1,000 injected data entries.

Three cases: the same data with a ``data_key`` (the engine's normal replay), the same data
without one (serialised and compared each run), and data that changes every run.
Usage: python benchmarks/scripting.py
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from acs_engine.scripting import Sandbox, ScriptRun

ROOT = "InternetGatewayDevice."
DATA: dict[str, dict[str, Any]] = {}
for i in range(1, 101):
    DATA[f"{ROOT}LANDevice.1.Hosts.Host.{i}."] = {"object": True, "writable": True}
    for j in range(9):
        DATA[f"{ROOT}LANDevice.1.Hosts.Host.{i}.P{j}"] = {
            "value": [f"v{i}-{j}", "xsd:string"], "writable": False,
        }
DATA[f"{ROOT}DeviceInfo.SoftwareVersion"] = {"value": ["1.0", "xsd:string"], "writable": False}
DATA[f"{ROOT}ManagementServer.PeriodicInformInterval"] = {
    "value": [300, "xsd:unsignedInt"], "writable": True,
}
DATA[f"{ROOT}LANDevice.1.WLANConfiguration.1.SSID"] = {"value": ["x", "xsd:string"], "writable": True}

SOURCE = f"""
const now = Date.now();
const sw = declare("{ROOT}DeviceInfo.SoftwareVersion", {{value: 1}});
declare("{ROOT}ManagementServer.PeriodicInformInterval", {{value: now}});
declare("{ROOT}LANDevice.1.WLANConfiguration.1.SSID", {{value: 1}});
if (sw.value[0] === "1.0")
  declare("{ROOT}LANDevice.1.WLANConfiguration.1.SSID", null, {{value: "field-" + args[0]}});
"""


async def runs_per_second(sandbox: Sandbox, n: int, *, change: bool = False, **kw: Any) -> float:
    start = time.perf_counter()
    for i in range(n):
        data = DATA
        if change:
            data = dict(DATA)
            data[f"{ROOT}DeviceInfo.UpTime"] = {"value": [i, "xsd:unsignedInt"]}
        result = await sandbox.run(
            ScriptRun("bench", SOURCE, ["x"], data, 1_700_000_000_000, f"dev-{i}",
                      commits_done=1, **kw)
        )
        assert result.done and result.fault is None, result
    return n / (time.perf_counter() - start)


async def main() -> None:
    sandbox = Sandbox()
    try:
        await runs_per_second(sandbox, 50)
        print(f"entries injected: {len(DATA)}")
        print(f"same data, data_key:      {await runs_per_second(sandbox, 2000, data_key=1):.0f} runs/s")
        print(f"same data, no data_key:   {await runs_per_second(sandbox, 1000):.0f} runs/s")
        print(f"data changes every run:   {await runs_per_second(sandbox, 300, change=True):.0f} runs/s")
    finally:
        await sandbox.close()


if __name__ == "__main__":
    asyncio.run(main())
