"""Inform-only CWMP sessions per second against a real `fieldacs-engine serve` process.

The server runs in its own process pinned to one core (CPU 0); the load comes from this process
pinned to the other core, over loopback, with a lean hand-written HTTP/1.1 client so the client
is not the bottleneck. Before the run the database is seeded with ``--seed`` devices (10,000 by
default, ~50 parameters each), and each session uses one of those devices (so every session
updates an existing device, as in the field).

Reports sessions/s, p50/p99 session latency (Inform sent → 204 received), server CPU ms per
session (from /proc/<pid>/stat) and the server's peak RSS (VmHWM). Usage::

    python benchmarks/sessions.py [--sessions 5000] [--concurrency 16] [--seed 10000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from acs_engine.cwmp import codec, rpc  # noqa: E402
from acs_engine.cwmp.envelope import Envelope  # noqa: E402
from acs_engine.store.db import Store  # noqa: E402
from acs_engine.store.deviceid import make_device_id  # noqa: E402
from acs_engine.store.model import DeviceRecord, Param, SessionCommit  # noqa: E402

OUI, PRODUCT_CLASS = "F1E1D0", "BenchGW"
INFORM_PARAMS = (
    ("Device.DeviceInfo.HardwareVersion", "HW1", "xsd:string"),
    ("Device.DeviceInfo.SoftwareVersion", "2.4.1", "xsd:string"),
    ("Device.DeviceInfo.ProvisioningCode", "", "xsd:string"),
    ("Device.DeviceInfo.UpTime", "3600", "xsd:unsignedInt"),
    ("Device.ManagementServer.ConnectionRequestURL", "http://127.0.0.1:9/cr", "xsd:string"),
    ("Device.ManagementServer.ParameterKey", "", "xsd:string"),
    ("Device.ManagementServer.AliasBasedAddressing", "false", "xsd:boolean"),
    ("Device.RootDataModelVersion", "2.17", "xsd:string"),
    ("Device.IP.Interface.1.IPv4Address.1.IPAddress", "10.1.2.3", "xsd:string"),
)


def serial(i: int) -> str:
    return f"BENCH{i:06d}"


async def seed(db: Path, count: int, params_per_device: int) -> None:
    store = await Store.open(db)
    now = int(time.time() * 1000)
    try:
        # Inform-only sessions: no presets (a new database has GenieACS's three seeded ones,
        # which would send RPCs in every session).
        for preset in await store.list_presets():
            await store.delete_preset(preset.id)
        for i in range(count):
            s = serial(i)
            device = DeviceRecord(
                id=make_device_id(OUI, PRODUCT_CLASS, s), manufacturer="Bench", oui=OUI,
                product_class=PRODUCT_CLASS, serial_number=s, registered_ms=now, last_inform_ms=now,
            )
            params = [
                Param(path=n, value=v, type=t, value_ts_ms=now, object=False, exist_ts_ms=now)
                for n, v, t in INFORM_PARAMS
            ] + [
                Param(
                    path=f"Device.X_Bench.Item.{k}.Value", value=str(k), type="xsd:string",
                    value_ts_ms=now, object=False, exist_ts_ms=now,
                )
                for k in range(params_per_device - len(INFORM_PARAMS))
            ]
            await store.commit_session(SessionCommit(device=device, upserts=params))
    finally:
        await store.close()


def inform_body(i: int) -> bytes:
    message = rpc.Inform(
        device_id=rpc.DeviceId("Bench", OUI, PRODUCT_CLASS, serial(i)),
        events=(rpc.EventStruct("2 PERIODIC"),),
        current_time="2026-11-27T10:00:00Z",
        parameters=tuple(rpc.ParameterValue(n, v, t) for n, v, t in INFORM_PARAMS),
    )
    return codec.serialize(Envelope(message, cwmp_id=f"b{i}"))


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", "0"))
    body = await reader.readexactly(length) if length else b""
    return status, headers, body


async def one_session(port: int, body: bytes) -> float:
    start = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n"
            b"Content-Length: %d\r\n\r\n" % len(body) + body
        )
        status, headers, _ = await read_response(reader)
        if status != 200:
            raise RuntimeError(f"Inform got HTTP {status}")
        cookie = headers.get("set-cookie", "").split(";")[0]
        writer.write(
            b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: %s\r\nContent-Length: 0\r\n\r\n"
            % cookie.encode()
        )
        status, _, _ = await read_response(reader)
        if status != 204:
            raise RuntimeError(f"empty POST got HTTP {status}")
    finally:
        writer.close()
    return time.perf_counter() - start


async def load(port: int, bodies: list[bytes], sessions: int, concurrency: int) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    failures = 0
    next_index = 0
    lock = asyncio.Lock()
    busy: set[int] = set()

    async def worker() -> None:
        nonlocal next_index, failures
        while True:
            async with lock:
                if next_index >= sessions:
                    return
                next_index += 1
                # A device is never in two sessions at once.
                i = random.randrange(len(bodies))
                while i in busy:
                    i = random.randrange(len(bodies))
                busy.add(i)
            try:
                latencies.append(await one_session(port, bodies[i]))
            except Exception as exc:  # counted and reported, never hidden
                failures += 1
                if failures <= 5:
                    print(f"  session failed: {exc}", file=sys.stderr)
            finally:
                busy.discard(i)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, failures, time.perf_counter() - start


def proc_cpu_ms(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    return ticks * 1000 / os.sysconf("SC_CLK_TCK")


def proc_peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the server did not start")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seed", type=int, default=10000, help="devices already in the database")
    parser.add_argument("--params", type=int, default=50, help="parameters per seeded device")
    parser.add_argument("--profile", metavar="FILE", help="run the server under cProfile into FILE")
    parser.add_argument("--server-root", type=Path, default=ROOT,
                        help="the checkout whose acs_engine the server runs")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="fieldacs-bench-"))
    db = workdir / "bench.db"
    try:
        t0 = time.perf_counter()
        asyncio.run(seed(db, args.seed, args.params))
        print(f"seeded {args.seed} devices × {args.params} params in {time.perf_counter() - t0:.1f} s")
        port = free_port()
        profile = ["-m", "cProfile", "-o", args.profile] if args.profile else []
        server = subprocess.Popen(
            [sys.executable, *profile, "-m", "acs_engine.cli", "serve", "--db", str(db), "--host",
             "127.0.0.1", "--cwmp-port", str(port), "--fs-port", "0"],
            cwd=args.server_root, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        try:
            cpus = sorted(os.sched_getaffinity(0))
            if len(cpus) >= 2:
                os.sched_setaffinity(server.pid, {cpus[0]})
                os.sched_setaffinity(0, {cpus[1]})
            wait_for_port(port)
            bodies = [inform_body(i) for i in range(args.seed or 1)]
            # Warm-up, then the measured run.
            asyncio.run(load(port, bodies, min(500, args.sessions), args.concurrency))
            cpu_before = proc_cpu_ms(server.pid)
            latencies, failures, elapsed = asyncio.run(
                load(port, bodies, args.sessions, args.concurrency)
            )
            cpu_after = proc_cpu_ms(server.pid)
            peak = proc_peak_rss_mb(server.pid)
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
        done = len(latencies)
        latencies.sort()
        p50 = statistics.median(latencies) * 1000 if latencies else float("nan")
        p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000 if latencies else float("nan")
        print(f"sessions: {done} ok, {failures} failed, concurrency {args.concurrency}")
        print(f"throughput: {done / elapsed:.0f} sessions/s")
        print(f"latency: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        print(f"server CPU: {(cpu_after - cpu_before) / max(done, 1):.2f} ms/session")
        print(f"server peak RSS: {peak:.0f} MB")
        return 0 if failures == 0 else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
