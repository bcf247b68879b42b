"""Full discovery of a TR-098 device through the default presets plus ``refresh`` of the tree.

The engine runs as `fieldacs-engine serve` in its own process pinned to one core, with the
seeded presets (bootstrap, default, inform) and one more: on ``0 BOOTSTRAP``, the built-in
``refresh`` of ``InternetGatewayDevice`` (``--seeded-only``: the seeded presets alone). Simulated TR-098 CPEs (about 1,000 parameters each)
run one bootstrap session each from this process, one at a time, so the wall time is the
session's own. Reports server CPU ms per session (from /proc/<pid>/stat), wall time per
session, RPCs per session, and checks that every parameter was discovered. Usage::

    python benchmarks/bootstrap.py [--devices 20] [--model tr098]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from acs_engine.sim.client import SimCpe  # noqa: E402
from acs_engine.sim.device import SimDevice  # noqa: E402
from acs_engine.sim.model import load_model  # noqa: E402
from acs_engine.sim.options import SimOptions  # noqa: E402
from acs_engine.store.db import Store  # noqa: E402
from acs_engine.store.deviceid import make_device_id  # noqa: E402
from acs_engine.store.records import Preset  # noqa: E402
from benchmarks.sessions import free_port, proc_cpu_ms, proc_peak_rss_mb, wait_for_port  # noqa: E402

ROOTS = {"tr098": "InternetGatewayDevice", "tr181": "Device"}


async def prepare(db: Path, model: str, discover: bool = True) -> None:
    store = await Store.open(db)
    try:
        if not discover:  # the seeded presets alone (their bootstrap provision reads the roots)
            return
        await store.put_preset(Preset(
            id="discover", channel="bootstrap", weight=-1, events={"0_BOOTSTRAP": True},
            provisions=[["refresh", ROOTS[model]]],
        ))
    finally:
        await store.close()


async def run_devices(
    url: str, model: str, count: int, prefix: str = "BOOTB", latency: float = 0.0
) -> tuple[list[float], list[int]]:
    base = load_model(model)
    walls: list[float] = []
    rpcs: list[int] = []
    for i in range(count):
        device = SimDevice(base, f"{prefix}{i:05d}", options=SimOptions(latency=latency))
        start = time.perf_counter()
        result = await SimCpe(device, url).session()
        walls.append(time.perf_counter() - start)
        if not result.ok:
            raise RuntimeError(f"session failed: {result.error}")
        rpcs.append(result.rpcs_answered)
    return walls, rpcs


async def check(db: Path, model: str, count: int) -> tuple[int, int, int]:
    base = load_model(model)
    leaves = {n[0] for n in json.loads(
        (ROOT / "resources" / "models" / f"{model}.json").read_text())["nodes"]
        if not n[0].endswith(".")}
    store = await Store.open(db)
    try:
        complete = 0
        faults = len(await store.list_faults())
        for i in range(count):
            params = await store.load_params(make_device_id(base.oui, base.product_class, f"BOOTB{i:05d}"))
            complete += leaves <= set(params)
        return complete, len(leaves), faults
    finally:
        await store.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--model", choices=sorted(ROOTS), default="tr098")
    parser.add_argument("--profile", metavar="FILE", help="run the server under cProfile into FILE")
    parser.add_argument("--gpv-batch-size", type=int, default=32, help="the server's batch size")
    parser.add_argument("--no-gpv-partial-path", action="store_true",
                        help="the server reads full names only (as GenieACS)")
    parser.add_argument("--latency", type=float, default=0.0,
                        help="seconds the CPE waits before each POST after the Inform")
    parser.add_argument("--seeded-only", action="store_true",
                        help="no extra discover preset: the seeded presets alone")
    parser.add_argument("--server-root", type=Path, default=ROOT,
                        help="the checkout whose acs_engine the server runs")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="fieldacs-bootstrap-"))
    db = workdir / "bench.db"
    try:
        asyncio.run(prepare(db, args.model, not args.seeded_only))
        port = free_port()
        profile = ["-m", "cProfile", "-o", args.profile] if args.profile else []
        server = subprocess.Popen(
            [sys.executable, *profile, "-m", "acs_engine.cli", "serve", "--db", str(db), "--host",
             "127.0.0.1", "--cwmp-port", str(port), "--fs-port", "0", "--nbi-port", "0",
             *(["--gpv-batch-size", str(args.gpv_batch_size)] if args.gpv_batch_size != 32 else []),
             *(["--no-gpv-partial-path"] if args.no_gpv_partial_path else [])],
            cwd=args.server_root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            cpus = sorted(os.sched_getaffinity(0))
            if len(cpus) >= 2:
                os.sched_setaffinity(server.pid, {cpus[0]})
                os.sched_setaffinity(0, {cpus[1]})
            wait_for_port(port)
            url = f"http://127.0.0.1:{port}/"
            asyncio.run(run_devices(url, args.model, 1, "WARMUP"))  # not counted
            cpu_before = proc_cpu_ms(server.pid)
            walls, rpcs = asyncio.run(
                run_devices(url, args.model, args.devices, latency=args.latency)
            )
            cpu = (proc_cpu_ms(server.pid) - cpu_before) / args.devices
            peak = proc_peak_rss_mb(server.pid)
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        complete, leaves, faults = asyncio.run(check(db, args.model, args.devices))
        print(f"model {args.model}: {leaves} parameters per device, {args.devices} devices")
        print(f"RPCs per session: {statistics.mean(rpcs):.0f}")
        print(f"server CPU per session: {cpu:.1f} ms")
        print(f"wall time per session: p50 {statistics.median(walls) * 1000:.0f} ms, "
              f"max {max(walls) * 1000:.0f} ms")
        print(f"server peak RSS: {peak:.0f} MB")
        print(f"devices fully discovered: {complete}/{args.devices}; faults: {faults}")
        return 0 if complete == args.devices and faults == 0 else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
