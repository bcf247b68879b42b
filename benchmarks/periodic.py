"""Periodic sessions of discovered TR-098 CPEs under the seeded presets (nothing due).

The engine runs as `fieldacs-engine serve` in its own process pinned to one core, with the
three seeded presets (bootstrap, default, inform). One simulated TR-098 CPE (~1,000
parameters) is discovered through the engine (a bootstrap with ``refresh`` of the whole tree);
its stored tree is then copied to ``--devices`` devices of the same model. Every device runs
one periodic session first (the inform provision sets its own credentials there), then
``--sessions`` periodic sessions run, ``--concurrency`` at a time, each on a random device,
from this process pinned to the other core: a lean HTTP/1.1 client, with the simulator's
device answering whatever the ACS asks.

Reports sessions/s, p50/p99 latency, server CPU ms per session (/proc/<pid>/stat), the RPCs
the ACS sent after the Inform per session, and the server's peak RSS. ``--server-root`` runs
the server from another checkout (to measure the tree before a change in the same sitting).
Usage::

    python benchmarks/periodic.py [--devices 1000] [--sessions 3000] [--concurrency 10]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
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

from acs_engine.cwmp import codec  # noqa: E402
from acs_engine.cwmp.envelope import Envelope  # noqa: E402
from acs_engine.sim.client import SimCpe  # noqa: E402
from acs_engine.sim.device import SimDevice  # noqa: E402
from acs_engine.sim.model import load_model  # noqa: E402
from acs_engine.store.db import Store  # noqa: E402
from acs_engine.store.deviceid import make_device_id  # noqa: E402
from acs_engine.store.model import DeviceRecord, SessionCommit  # noqa: E402
from acs_engine.store.records import Preset  # noqa: E402
from benchmarks.sessions import (  # noqa: E402
    free_port,
    proc_cpu_ms,
    proc_peak_rss_mb,
    read_response,
    wait_for_port,
)

PREFIX = "PERIOD"


def serial(i: int) -> str:
    return f"{PREFIX}{i:05d}"


async def put_discover(db: Path, add: bool) -> None:
    store = await Store.open(db)
    try:
        if add:
            await store.put_preset(Preset(
                id="discover", channel="bootstrap", weight=-1, events={"0_BOOTSTRAP": True},
                provisions=[["refresh", "InternetGatewayDevice"]],
            ))
        else:
            await store.delete_preset("discover")
    finally:
        await store.close()


async def copy_tree(db: Path, count: int) -> None:
    """Device 0's stored tree, copied to devices 1..count-1 (their own ids and serials)."""
    base = load_model("tr098")
    store = await Store.open(db)
    try:
        first = make_device_id(base.oui, base.product_class, serial(0))
        params = list((await store.load_params(first)).values())
        record = await store.get_device(first)
        assert record is not None
        for i in range(1, count):
            s = serial(i)
            device = DeviceRecord(
                id=make_device_id(base.oui, base.product_class, s),
                manufacturer=record.manufacturer, oui=base.oui, product_class=base.product_class,
                serial_number=s, registered_ms=record.registered_ms, last_inform_ms=record.last_inform_ms,
            )
            await store.commit_session(SessionCommit(device=device, upserts=params))
    finally:
        await store.close()


async def one_session(port: int, device: SimDevice) -> tuple[float, int]:
    """One periodic session over one connection; returns (seconds, RPCs the ACS sent)."""
    device.add_event("2 PERIODIC")
    inform = device.make_inform()
    body = codec.serialize(Envelope(inform, cwmp_id="1"))
    start = time.perf_counter()
    rpcs = 0
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    ok = False
    try:
        writer.write(
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body
        )
        status, headers, _ = await read_response(reader)
        if status != 200:
            raise RuntimeError(f"Inform got HTTP {status}")
        device.inform_accepted()
        cookie = headers.get("set-cookie", "").split(";")[0].encode()
        out = b""
        while True:
            writer.write(
                b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: %s\r\nContent-Type: text/xml\r\n"
                b"Content-Length: %d\r\n\r\n" % (cookie, len(out)) + out
            )
            status, _, answer = await read_response(reader)
            if status == 204:
                break
            if status != 200:
                raise RuntimeError(f"HTTP {status} after the Inform")
            env = codec.parse(answer)
            if env is None or not env.message.ACS_REQUEST:
                raise RuntimeError("unexpected message from the ACS")
            rpcs += 1
            out = codec.serialize(Envelope(device.handle(env.message), cwmp_id=env.cwmp_id))
        ok = True
    finally:
        writer.close()
        device.end_session(ok)
    return time.perf_counter() - start, rpcs


async def load(
    port: int, devices: list[SimDevice], sessions: int, concurrency: int
) -> tuple[list[float], list[int], int, float]:
    latencies: list[float] = []
    rpcs: list[int] = []
    failures = 0
    issued = 0
    busy: set[int] = set()
    order = iter(range(len(devices))) if sessions == len(devices) else None

    async def worker() -> None:
        nonlocal issued, failures
        while issued < sessions:
            issued += 1
            if order is not None:
                i = next(order)
            else:  # a device is never in two sessions at once
                i = random.randrange(len(devices))
                while i in busy:
                    i = random.randrange(len(devices))
            busy.add(i)
            try:
                took, sent = await one_session(port, devices[i])
                latencies.append(took)
                rpcs.append(sent)
            except Exception as exc:  # counted and reported, never hidden
                failures += 1
                if failures <= 5:
                    print(f"  session failed: {exc}", file=sys.stderr)
            finally:
                busy.discard(i)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, rpcs, failures, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--sessions", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--server-root", type=Path, default=ROOT,
                        help="the checkout whose acs_engine the server runs")
    parser.add_argument("--profile", metavar="FILE", help="run the server under cProfile into FILE")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="fieldacs-periodic-"))
    db = workdir / "bench.db"
    try:
        asyncio.run(put_discover(db, True))
        port = free_port()
        profile = ["-m", "cProfile", "-o", args.profile] if args.profile else []
        server = subprocess.Popen(
            [sys.executable, *profile, "-m", "acs_engine.cli", "serve", "--db", str(db), "--host",
             "127.0.0.1", "--cwmp-port", str(port), "--fs-port", "0", "--nbi-port", "0"],
            cwd=args.server_root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        try:
            cpus = sorted(os.sched_getaffinity(0))
            if len(cpus) >= 2:
                os.sched_setaffinity(server.pid, {cpus[0]})
                os.sched_setaffinity(0, {cpus[1]})
            wait_for_port(port)
            url = f"http://127.0.0.1:{port}/"
            base = load_model("tr098")
            first = SimDevice(base, serial(0))
            result = asyncio.run(SimCpe(first, url).session())
            if not result.ok:
                raise RuntimeError(f"bootstrap failed: {result.error}")
            asyncio.run(put_discover(db, False))  # the seeded presets only from here on
            t0 = time.perf_counter()
            asyncio.run(copy_tree(db, args.devices))
            print(f"copied the discovered tree to {args.devices} devices "
                  f"in {time.perf_counter() - t0:.0f} s")
            devices = [first]
            for i in range(1, args.devices):  # already discovered: no 0 BOOTSTRAP, no 1 BOOT
                device = SimDevice(base, serial(i))
                device.events = type(device.events)()
                devices.append(device)
            _, warm_rpcs, warm_fail, _ = asyncio.run(load(port, devices, len(devices), 4))
            print(f"warm-up: one session per device, {statistics.mean(warm_rpcs):.1f} RPCs "
                  f"per session, {warm_fail} failed")
            cpu_before = proc_cpu_ms(server.pid)
            latencies, rpcs, failures, elapsed = asyncio.run(
                load(port, devices, args.sessions, args.concurrency)
            )
            cpu = (proc_cpu_ms(server.pid) - cpu_before) / max(len(latencies), 1)
            peak = proc_peak_rss_mb(server.pid)
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
        latencies.sort()
        done = len(latencies)
        p50 = statistics.median(latencies) * 1000 if latencies else float("nan")
        p99 = latencies[max(int(done * 0.99) - 1, 0)] * 1000 if latencies else float("nan")
        print(f"sessions: {done} ok, {failures} failed, concurrency {args.concurrency}")
        print(f"throughput: {done / elapsed:.0f} sessions/s")
        print(f"latency: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        print(f"server CPU: {cpu:.2f} ms/session")
        busy = sum(1 for n in rpcs if n)
        print(f"RPCs after the Inform: mean {statistics.mean(rpcs) if rpcs else 0:.2f}, "
              f"max {max(rpcs, default=0)}; sessions with any: {busy} "
              f"(a refresh fell due during the run, or the listing of an absent root)")
        print(f"server peak RSS: {peak:.0f} MB")
        return 0 if failures == 0 else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
