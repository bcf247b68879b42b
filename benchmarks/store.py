"""Store throughput: inform-style session commits and the inform fast-path reads.

Fills a temporary database with N devices x M parameters (default 10,000 x 50), then times:

* 2,000 inform-only ``commit_session`` calls (1 device row, 10 parameter upserts, 1 session,
  4 trace rows each), awaited one after another, then with 64 sessions in flight at once,
  both with group commit on and (for comparison) off;
* 2,000 ``get_device`` + ``load_param_values`` pairs (10 paths), serial and concurrent;
* ``list_devices`` (a page of 100) and ``count_devices``.

Run: ``.venv/bin/python benchmarks/store.py [--devices N] [--params M] [--ops K]``.
Results are recorded in benchmarks/store.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from acs_engine.store import (
    DeviceRecord,
    Param,
    SessionCommit,
    SessionRecord,
    Store,
    TraceEntry,
)

ROOT = "InternetGatewayDevice."
INFORM_PATHS = [
    f"{ROOT}DeviceInfo.HardwareVersion",
    f"{ROOT}DeviceInfo.SoftwareVersion",
    f"{ROOT}DeviceInfo.ProvisioningCode",
    f"{ROOT}DeviceInfo.SpecVersion",
    f"{ROOT}DeviceInfo.UpTime",
    f"{ROOT}ManagementServer.ConnectionRequestURL",
    f"{ROOT}ManagementServer.ParameterKey",
    f"{ROOT}WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.ExternalIPAddress",
    f"{ROOT}LANDevice.1.LANHostConfigManagement.IPInterface.1.IPInterfaceIPAddress",
    f"{ROOT}Time.CurrentLocalTime",
]
BODY = b"<soap-env:Envelope>" + b"x" * 1500 + b"</soap-env:Envelope>"


def device(i: int, now: int) -> DeviceRecord:
    serial = f"SN{i:08d}"
    return DeviceRecord(
        id=f"00259E-HG8245-{serial}",
        manufacturer="Huawei",
        oui="00259E",
        product_class="HG8245",
        serial_number=serial,
        registered_ms=now,
        last_inform_ms=now,
        remote_address="192.0.2.10",
        cwmp_version="1.0",
    )


def all_params(count: int, now: int) -> list[Param]:
    params = [Param(p, "v", "xsd:string", now, False, False, now) for p in INFORM_PATHS]
    n = 0
    while len(params) < count:
        n += 1
        params.append(
            Param(f"{ROOT}X.Obj.{n}.Value", str(n), "xsd:unsignedInt", now, False, True, now)
        )
    return params[:count]


def inform_commit(i: int, k: int, now: int) -> SessionCommit:
    dev = device(i, now)
    sid = f"s-{i}-{k}-{now}"
    upserts = [Param(p, f"{k}", "xsd:string", now, False, False, now) for p in INFORM_PATHS]
    trace = [
        TraceEntry(n, now + n, "in" if n % 2 == 0 else "out", rpc, str(k), 200, (), BODY)
        for n, rpc in enumerate(("Inform", "InformResponse", "empty", "end"))
    ]
    session = SessionRecord(sid, dev.id, now, now + 5, "ok", "", "192.0.2.10", ("2 PERIODIC",), 1)
    return SessionCommit(device=dev, upserts=upserts, session=session, trace=trace)


async def timed(label: str, count: int, run: Callable[[], Awaitable[None]]) -> float:
    start = time.perf_counter()
    await run()
    elapsed = time.perf_counter() - start
    rate = count / elapsed
    print(f"{label:<58} {count:>6} in {elapsed:7.3f} s = {rate:9.0f} ops/s")
    return rate


async def run_concurrently(jobs: list[Callable[[], Awaitable[object]]], width: int) -> None:
    queue = list(reversed(jobs))

    async def worker() -> None:
        while queue:
            await queue.pop()()

    await asyncio.gather(*(worker() for _ in range(width)))


async def bench(devices: int, params: int, ops: int, width: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        now = int(time.time() * 1000)
        store = await Store.open(path)
        tree = all_params(params, now)

        def fill_job(i: int) -> Callable[[], Awaitable[None]]:
            def job() -> Awaitable[None]:
                return store.commit_session(SessionCommit(device=device(i, now), upserts=tree))

            return job

        await timed(
            f"fill {devices} devices x {params} params (group commit)",
            devices,
            lambda: run_concurrently([fill_job(i) for i in range(devices)], 256),
        )
        size = os.path.getsize(path) + os.path.getsize(f"{path}-wal")
        print(f"database size {size / 1e6:.0f} MB")

        async def serial_commits(label: str, s: Store, k: int) -> None:
            commits = [inform_commit((i * 7919) % devices, k, now + k) for i in range(ops)]

            async def run() -> None:
                for c in commits:
                    await s.commit_session(c)

            await timed(label, ops, run)

        async def concurrent_commits(label: str, s: Store, k: int) -> None:
            commits = [inform_commit((i * 7919) % devices, k, now + k) for i in range(ops)]
            jobs: list[Callable[[], Awaitable[object]]] = [
                partial(s.commit_session, c) for c in commits
            ]
            await timed(label, ops, lambda: run_concurrently(jobs, width))

        await serial_commits("inform commits, one at a time (group commit on)", store, 1)
        await concurrent_commits(f"inform commits, {width} in flight (group commit on)", store, 2)
        await store.close()

        plain = await Store.open(path, group_commit=False)
        await serial_commits("inform commits, one at a time (group commit off)", plain, 3)
        await concurrent_commits(f"inform commits, {width} in flight (group commit off)", plain, 4)
        await plain.close()

        store = await Store.open(path)
        ids = [device((i * 7919) % devices, now).id for i in range(ops)]

        async def reads() -> None:
            for device_id in ids:
                await store.get_device(device_id)
                await store.load_param_values(device_id, INFORM_PATHS)

        await timed("get_device + load_param_values(10), one at a time", ops, reads)

        async def read_pair(device_id: str) -> None:
            await store.get_device(device_id)
            await store.load_param_values(device_id, INFORM_PATHS)

        read_jobs: list[Callable[[], Awaitable[object]]] = [partial(read_pair, d) for d in ids]
        await timed(
            f"get_device + load_param_values(10), {width} in flight",
            ops,
            lambda: run_concurrently(read_jobs, width),
        )

        async def full_tree() -> None:
            for device_id in ids[:200]:
                await store.load_params(device_id)

        await timed(f"load_params (whole tree of {params})", 200, full_tree)

        async def listing() -> None:
            for page in range(20):
                await store.list_devices(limit=100, offset=page * 500)
            await store.count_devices()

        await timed("list_devices(limit=100) x20 + count_devices", 21, listing)
        print("integrity:", await store.integrity_check())
        await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--params", type=int, default=50)
    parser.add_argument("--ops", type=int, default=2_000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    asyncio.run(bench(args.devices, args.params, args.ops, args.concurrency))


if __name__ == "__main__":
    main()
