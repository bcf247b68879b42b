"""Parameter history: its write cost per session, the fleet query, its size under retention.

Three parts, each on a fresh database in a temporary folder:

* ``write``: 2,000-device database (50 parameters each); then ``--ops`` periodic-session
  commits (10 Inform parameters, 1 session record, 4 trace rows), one after another and 64 in
  flight, with the history triggers in place and (for comparison) dropped, for a session where
  nothing changed and one where 2 values changed (UpTime and the local time, as real Informs).
* ``fleet``: 10,000 devices (60 parameters each, 0-3 software versions each over the last
  week and a Wi-Fi channel changed now and then); ``Store.fleet_view`` for the software
  version and for the channel, median of 5.
* ``size``: 1,000 devices committing rounds of sessions that change ``--changes`` values
  each, the retention pass (``HistoryPruner.run_once``) after each round, under the default
  retention with ``--max-mb`` (default 256, the default) as the size cap: file size by round.

Run: ``.venv/bin/python benchmarks/history.py [write] [fleet] [size] [--rounds N] ...``.
Results are in docs/performance.md ("Parameter history").
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from acs_engine.admin.history import HistoryPruner
from acs_engine.store import DeviceRecord, Param, SessionCommit, SessionRecord, Store, TraceEntry
from acs_engine.store.history import HistoryRetention

ROOT = "InternetGatewayDevice."
SV = f"{ROOT}DeviceInfo.SoftwareVersion"
CHANNEL = f"{ROOT}LANDevice.1.WLANConfiguration.1.Channel"
INFORM = [
    f"{ROOT}DeviceInfo.HardwareVersion", SV, f"{ROOT}DeviceInfo.ProvisioningCode",
    f"{ROOT}DeviceInfo.SpecVersion", f"{ROOT}DeviceInfo.UpTime",
    f"{ROOT}ManagementServer.ConnectionRequestURL", f"{ROOT}ManagementServer.ParameterKey",
    f"{ROOT}WANDevice.1.WANConnectionDevice.1.WANIPConnection.1.ExternalIPAddress",
    f"{ROOT}LANDevice.1.LANHostConfigManagement.IPInterface.1.IPInterfaceIPAddress",
    f"{ROOT}Time.CurrentLocalTime",
]
EXTRA = [f"{ROOT}X.Param{i}" for i in range(60)]
BODY = b"<soap-env:Envelope>" + b"x" * 1500 + b"</soap-env:Envelope>"
HISTORY_TRIGGERS = ("params_history_update", "params_history_insert", "params_history_delete")


def dev(i: int) -> DeviceRecord:
    return DeviceRecord(f"00259E-HG8245-SN{i:08d}", "Huawei", "00259E", "HG8245",
                        f"SN{i:08d}", registered_ms=1)


def values(i: int, tick: int, changing: int) -> dict[str, str]:
    """Inform values of device ``i`` at session ``tick``; the first ``changing`` vary."""
    out = {p: f"{p.rsplit('.', 1)[-1]}-{i}" for p in INFORM}
    out[SV] = "V1.0.0"
    varying = [f"{ROOT}DeviceInfo.UpTime", f"{ROOT}Time.CurrentLocalTime", *EXTRA][:changing]
    for path in varying:
        out[path] = str(tick)
    return out


def commit(i: int, tick: int, vals: dict[str, str], now: int) -> SessionCommit:
    session = SessionRecord(f"s{i}-{tick}", dev(i).id, now, now + 5, "ok", events=("2 PERIODIC",))
    trace = [TraceEntry(k, now, "in" if k % 2 == 0 else "out", "Inform", "1", 200, (), BODY)
             for k in range(4)]
    return SessionCommit(
        device=dev(i), session=session, trace=trace,
        upserts=[Param(p, v, "xsd:string", now, False, True, now) for p, v in vals.items()],
    )


async def fill(store: Store, devices: int, params: int) -> None:
    now = int(time.time() * 1000)
    for start in range(0, devices, 256):
        batch = []
        for i in range(start, min(devices, start + 256)):
            c = commit(i, 0, values(i, 0, 0), now)
            c.upserts += [Param(p, f"v{k}", "xsd:string", now, False, True, now)
                          for k, p in enumerate(EXTRA[:params])]
            batch.append(store.commit_session(c))
        await asyncio.gather(*batch)


async def timed(store: Store, ops: int, devices: int, changing: int, inflight: int) -> float:
    """CPU µs per commit (all threads: the loop's and aiosqlite's)."""
    tick = random.randrange(1, 10**9)
    jobs = [commit(k % devices, tick + k, values(k % devices, tick + k, changing),
                   int(time.time() * 1000)) for k in range(ops)]
    began = time.process_time()  # CPU time of every thread: the machine's load does not count
    if inflight == 1:
        for job in jobs:
            await store.commit_session(job)
    else:
        sem = asyncio.Semaphore(inflight)

        async def one(job: SessionCommit) -> None:
            async with sem:
                await store.commit_session(job)

        await asyncio.gather(*(one(j) for j in jobs))
    return (time.process_time() - began) / ops * 1e6


async def part_write(folder: Path, ops: int, repeats: int = 5) -> None:
    stores: dict[bool, Store] = {}
    for history in (False, True):
        path = folder / f"write-{history}.db"
        stores[history] = store = await Store.open(path)
        await fill(store, 2000, 50)
        if not history:
            with sqlite3.connect(path) as raw:
                for name in HISTORY_TRIGGERS:
                    raw.execute(f"DROP TRIGGER {name}")
        await timed(store, 200, 2000, 2, 1)  # warm up
    # Interleaved (off, on, off, on, ...) so that the machine's load hits both alike.
    results: dict[tuple[bool, int, int], list[float]] = {}
    for _ in range(repeats):
        for changing in (0, 2):
            for inflight in (1, 64):
                for history in (False, True):
                    us = await timed(stores[history], ops, 2000, changing, inflight)
                    results.setdefault((history, changing, inflight), []).append(us)
    print(f"## write cost per periodic session (CPU µs per commit; median / best of {repeats})")
    print("| history | changed values | serial | 64 in flight | history rows written |")
    print("|---|---|---|---|---|")
    for history in (False, True):
        for changing in (0, 2):
            cells = []
            for inflight in (1, 64):
                runs = results[(history, changing, inflight)]
                cells.append(f"{statistics.median(runs):.0f} / {min(runs):.0f}")
            rows = changing * ops * repeats * 2 if history else 0
            print(f"| {'on' if history else 'off'} | {changing} | {cells[0]} | {cells[1]} | "
                  f"{rows:,} |")
    for store in stores.values():
        await store.close()


async def part_fleet(folder: Path, devices: int) -> None:
    path = folder / "fleet.db"
    rng = random.Random(7)
    now = int(time.time() * 1000)
    week = 7 * 86_400_000
    async with await Store.open(path) as store:
        began = time.perf_counter()
        await fill(store, devices, 60)
        # History as sessions would have written it (straight in: filling by sessions would
        # take minutes); the current values agree with the last change of each device.
        with sqlite3.connect(path) as raw:
            rows, sv_now, ch_now = [], [], []
            for i in range(devices):
                d = dev(i).id
                version, at = "V1.0.0", now - week - 1000
                for step in range(rng.randrange(4)):
                    at = rng.randrange(at + 1, now)
                    new = f"V{1 + step + 1}.0.0"
                    rows.append((d, at, SV, 0, version, new))
                    version = new
                sv_now.append((version, d, SV))
                channel = "1"
                for _ in range(rng.randrange(6)):
                    new = str(rng.choice((1, 6, 11, 36, 44)))
                    rows.append((d, rng.randrange(now - week, now), CHANNEL, 0, channel, new))
                    channel = new
                ch_now.append((d, CHANNEL, channel))
            rows.sort(key=lambda r: r[1])
            raw.executemany(
                "INSERT INTO history (device_id, at, path, kind, old_value, new_value, "
                "old_type, new_type) VALUES (?, ?, ?, ?, ?, ?, 'xsd:string', 'xsd:string')",
                rows,
            )
            raw.executemany("UPDATE params SET value = ? WHERE device_id = ? AND path = ?",
                            sv_now)
            raw.executemany(
                "INSERT INTO params (device_id, path, value, type, object) "
                "VALUES (?, ?, ?, 'xsd:unsignedInt', 0)", ch_now,
            )
        print(f"\n## fleet view over {devices:,} devices "
              f"({len(rows):,} history rows; filled in {time.perf_counter() - began:.0f} s)")
        print("| parameter | wall ms (median of 5) | store-thread wall ms | store-thread CPU ms "
              "| distinct values now |")
        print("|---|---|---|---|---|")
        for label, paths in (("software version", None), ("Wi-Fi channel", (CHANNEL,))):
            walls, inner, cpu = [], [], []
            view = None
            for _ in range(5):
                t = time.perf_counter()
                view = (await store.fleet_view() if paths is None
                        else await store.fleet_view(paths))
                walls.append((time.perf_counter() - t) * 1000)
                inner.append(view.elapsed_ms)
                cpu.append(view.cpu_ms)
            assert view is not None and view.devices == devices
            print(f"| {label} | {statistics.median(walls):.0f} | "
                  f"{statistics.median(inner):.0f} | {statistics.median(cpu):.0f} | "
                  f"{len(view.now)} |")


def db_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


async def part_size(folder: Path, devices: int, rounds: int, changes: int, max_mb: int) -> None:
    path = folder / "size.db"
    retention = HistoryRetention(max_bytes=max_mb * 1024 * 1024)
    print(f"\n## size under retention: {devices:,} devices, {changes + 2} changed values per "
          f"session, retention {retention}")
    print("| round | sessions | history rows | estimated MiB | file MiB | pruned | commits s "
          "| retention pass s | longest chunk ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    async with await Store.open(path) as store:
        await fill(store, devices, 20)
        chunk_ms: list[float] = []

        class Timed:  # the pruner's store, timing each chunk (one transaction)
            async def prune_history(self, *args: object, **kwargs: object) -> int:
                t = time.perf_counter()
                done = await store.prune_history(*args, **kwargs)  # type: ignore[arg-type]
                chunk_ms.append((time.perf_counter() - t) * 1000)
                return done

        pruner = HistoryPruner(Timed(), lambda: retention)  # type: ignore[arg-type]
        pruned = 0
        for r in range(1, rounds + 1):
            began = time.perf_counter()
            await timed(store, devices, devices, changes + 2, 64)
            committed = time.perf_counter()
            pruned += await pruner.run_once()
            took, pass_s = committed - began, time.perf_counter() - committed
            if r % max(1, rounds // 20) == 0 or r == rounds:
                rows, size = await store.history_stats()
                print(f"| {r} | {r * devices:,} | {rows:,} | {size / 2**20:.0f} | "
                      f"{db_bytes(path) / 2**20:.0f} | {pruned:,} | {took:.2f} | {pass_s:.2f} | "
                      f"{max(chunk_ms, default=0):.0f} |", flush=True)
                chunk_ms.clear()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("parts", nargs="*", default=["write", "fleet", "size"])
    parser.add_argument("--ops", type=int, default=2000)
    parser.add_argument("--fleet-devices", type=int, default=10_000)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--changes", type=int, default=8,
                        help="values changed per session besides UpTime and the local time")
    parser.add_argument("--max-mb", type=int, default=256)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if "write" in args.parts:
            await part_write(folder, args.ops)
        if "fleet" in args.parts:
            await part_fleet(folder, args.fleet_devices)
        if "size" in args.parts:
            await part_size(folder, args.devices, args.rounds, args.changes, args.max_mb)


if __name__ == "__main__":
    asyncio.run(main())
