"""Soak: many simulated CPEs informing every few seconds against one engine, for minutes.

The engine runs in its own process (this script with ``--engine-child``: the same Engine as
``fieldacs-engine serve``, default settings, provisioning on), counting the sessions it
commits. The CPEs are :mod:`acs_engine.sim` devices in this process: each bootstraps, then
informs every ``--interval`` seconds (PERIODIC) for ``--duration`` seconds.

Memory evidence: the engine's RSS is sampled from /proc every ``--rss-every`` seconds (the
series is in the JSON, with start / end of warm-up / end / peak and least-squares slopes in
MB/min after warm-up, over the second half and over the last third). Every
``--probe-every`` seconds the engine child also reports what it holds: live sessions and
the server's per-session dicts, the store's device-row cache, the provisioning handler's
runs, asyncio tasks, gc-tracked objects, SQLite's own memory (its page cache), glibc's heap
in use and free, pymalloc's arenas, and V8's heap (mini-racer ``heap_stats``; V8 memory is
outside tracemalloc). ``--tracemalloc`` traces Python allocations in the engine child (only
there, only in this benchmark; it slows the engine several-fold, so use it for diagnosis,
not for throughput): a snapshot when warm-up ends and one at the end, the top growth by
file:line printed in the JSON.

Reported: sessions the CPEs completed (204 received) and failed, sessions refused with 503
(the CPE retries later), sessions the engine committed, the memory figures above, and a
database check (integrity, every device present with its last Inform recent). "No session
lost" means: every session a CPE saw complete was committed by the engine, and no session
failed other than by a 503 refusal. Usage::

    python benchmarks/soak.py [--devices 1000] [--interval 5] [--duration 600]
        [--warmup 180] [--rss-every 10] [--probe-every 60] [--tracemalloc] [--out FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import faulthandler
import gc
import json
import os
import signal
import socket
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from acs_engine.sim.options import SimOptions  # noqa: E402
from acs_engine.sim.runner import run_sim  # noqa: E402
from acs_engine.store.db import Store  # noqa: E402


# --------------------------------------------------------------------------- engine child
class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def _native_memory() -> dict[str, float]:
    """SQLite's own allocations (page cache included) and glibc's heap, in MB (Linux only)."""
    out: dict[str, float] = {}
    with contextlib.suppress(OSError, AttributeError):
        lib = ctypes.CDLL("libsqlite3.so.0")  # the library _sqlite3 loaded: same counters
        cur, high = ctypes.c_int64(), ctypes.c_int64()
        if lib.sqlite3_status64(0, ctypes.byref(cur), ctypes.byref(high), 0) == 0:
            out["sqlite_mb"] = round(cur.value / 2**20, 1)
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        info = libc.mallinfo2()
        out["malloc_used_mb"] = round((info.uordblks + info.hblkhd) / 2**20, 1)
        out["malloc_free_mb"] = round(info.fordblks / 2**20, 1)  # held by glibc, not in use
    return out


def _pymalloc() -> dict[str, float]:
    """pymalloc's arenas (mmap'd, so outside glibc's figures): total and in use, in MB."""
    out: dict[str, float] = {}
    with tempfile.TemporaryFile() as tmp:
        sys.stderr.flush()
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)  # _debugmallocstats writes to the C stderr
        try:
            sys._debugmallocstats()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        text = tmp.read().decode("ascii", "replace")
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if not sep:
            continue
        name = name.strip()
        number = value.strip().replace(",", "")
        if name.endswith("bytes/arena") and number.isdigit():
            out["pymalloc_arenas_mb"] = round(int(number) / 2**20, 1)
        elif name == "# bytes in allocated blocks" and number.isdigit():
            out["pymalloc_used_mb"] = round(int(number) / 2**20, 1)
    return out


async def _v8_heap(engine: Any) -> dict[str, Any]:
    """mini-racer's heap_stats() of the sandbox's isolate (V8 memory is outside tracemalloc)."""
    sandbox = engine.sandbox
    if sandbox is None:
        return {}

    async def stats() -> dict[str, float]:
        async with sandbox._guarded_lock():
            v8 = sandbox._engine
            if v8 is None:
                return {}
            raw = v8._mr.heap_stats()
            return {
                "v8_used_mb": round(raw["used_heap_size"] / 2**20, 1),
                "v8_total_mb": round(raw["total_physical_size"] / 2**20, 1),
                "v8_compiled_scripts": len(v8._compiled),
            }

    try:
        return await asyncio.wait_for(sandbox._submit(stats()), 5)
    except Exception as exc:  # a probe must never disturb the soak
        return {"v8_error": repr(exc)}


async def _probe(engine: Any) -> dict[str, Any]:
    """Sizes of every per-device and per-session structure the engine keeps in memory."""
    cwmp, prov = engine.cwmp, engine.provisioning
    pid = os.getpid()
    out: dict[str, Any] = {
        "rss_mb": round(_rss_kb(pid) / 1024, 1),
        "rss_anon_mb": round(_rss_kb(pid, "RssAnon") / 1024, 1),
        "rss_file_mb": round(_rss_kb(pid, "RssFile") / 1024, 1),
    }
    if cwmp is not None:
        out.update(
            sessions=len(cwmp.sessions),
            by_device=len(cwmp._by_device),
            by_transport=len(cwmp._by_transport),
            locks=len(cwmp._locks),
            finishing=len(cwmp._finishing),
        )
    if engine.store is not None:
        out["device_cache"] = len(engine.store._devices)
        out["commit_queue"] = len(engine.store._pending)
    if prov is not None:
        out["handler_runs"] = len(prov._runs)
        if isinstance(getattr(prov, "last_verdicts", None), dict):  # older builds kept these
            out["last_verdicts"] = len(prov.last_verdicts)
    out["bus_subscribers"] = len(engine.bus._subs)
    out["asyncio_tasks"] = len(asyncio.all_tasks())
    out["gc_objects"] = len(gc.get_objects())
    if tracemalloc.is_tracing():
        out["tracemalloc_mb"] = round(tracemalloc.get_traced_memory()[0] / 2**20, 1)
    out.update(_native_memory())
    out.update(_pymalloc())
    out.update(await _v8_heap(engine))
    return out


def _top_growth(
    before: tracemalloc.Snapshot, after: tracemalloc.Snapshot, n: int = 25
) -> list[dict[str, Any]]:
    ignore = [
        tracemalloc.Filter(False, tracemalloc.__file__),
        tracemalloc.Filter(False, "<frozen importlib._bootstrap*>"),
    ]
    stats = after.filter_traces(ignore).compare_to(before.filter_traces(ignore), "lineno")
    stats.sort(key=lambda s: s.size_diff, reverse=True)
    return [
        {
            "where": f"{s.traceback[0].filename.replace(str(ROOT) + '/', '')}:"
            f"{s.traceback[0].lineno}",
            "growth_kb": round(s.size_diff / 1024, 1),
            "size_kb": round(s.size / 1024, 1),
            "count_diff": s.count_diff,
        }
        for s in stats[:n]
    ]


async def _engine_child(db: Path, port: int, probe_every: float, trace: bool) -> None:
    from acs_engine.bus import RequestRejected, SessionEnded
    from acs_engine.config import EngineConfig
    from acs_engine.server.controller import Engine

    faulthandler.register(signal.SIGUSR2)  # kill -USR2 <pid>: the child's stacks on stderr
    if trace:
        tracemalloc.start(1)
    engine = Engine(
        EngineConfig(db_path=db, cwmp_host="127.0.0.1", cwmp_port=port, fs_enabled=False)
    )
    outcomes: dict[str, int] = {}

    def count(event: SessionEnded) -> None:
        outcomes[event.outcome] = outcomes.get(event.outcome, 0) + 1

    def rejected(event: RequestRejected) -> None:
        key = f"rejected {event.status}"
        outcomes[key] = outcomes.get(key, 0) + 1

    engine.bus.subscribe(count, SessionEnded)
    engine.bus.subscribe(rejected, RequestRejected)
    await engine.start()
    stop = asyncio.Event()
    warm = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, warm.set)  # the driver: warm-up is over
    started = time.monotonic()
    baseline: list[tracemalloc.Snapshot] = []

    async def probes() -> None:
        while not stop.is_set():
            if warm.is_set() and trace and not baseline:
                gc.collect()
                baseline.append(tracemalloc.take_snapshot())
                print("SNAPSHOT warm " + json.dumps(round(time.monotonic() - started)), flush=True)
            data = await _probe(engine)
            data["t"] = round(time.monotonic() - started)
            print("PROBE " + json.dumps(data), flush=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    warm.wait() if not warm.is_set() else stop.wait(),
                    probe_every if probe_every > 0 else 3600,
                )

    print("READY", flush=True)
    prober = loop.create_task(probes()) if probe_every > 0 or trace else None
    await stop.wait()
    if prober is not None:
        prober.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await prober
    final = await _probe(engine)
    final["t"] = round(time.monotonic() - started)
    print("PROBE " + json.dumps(final), flush=True)
    if trace and baseline:
        gc.collect()
        growth = _top_growth(baseline[0], tracemalloc.take_snapshot())
        print("TRACEMALLOC " + json.dumps(growth), flush=True)
    await engine.stop()
    print("OUTCOMES " + json.dumps(outcomes), flush=True)


# --------------------------------------------------------------------------- driver
def _rss_kb(pid: int, field: str = "VmRSS") -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _slope_mb_per_min(points: Sequence[tuple[float, float]]) -> float | None:
    """Least-squares slope of (seconds, MB) points, in MB per minute."""
    if len(points) < 3:
        return None
    n = len(points)
    mean_t = sum(t for t, _ in points) / n
    mean_m = sum(m for _, m in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    if var == 0:
        return None
    return round(sum((t - mean_t) * (m - mean_m) for t, m in points) / var * 60, 3)


def rss_summary(samples: Sequence[tuple[float, float]], warmup: float) -> dict[str, Any]:
    """Start / warm / end / min and max after warm-up, and slopes, of an RSS series (s, MB)."""
    if not samples:
        return {}
    after = [(t, m) for t, m in samples if t >= warmup] or samples[-1:]
    end_t = samples[-1][0]
    second_half = [(t, m) for t, m in samples if t >= max(warmup, end_t / 2)]
    last_third = [(t, m) for t, m in samples if t >= end_t * 2 / 3]
    return {
        "start_mb": samples[0][1],
        "warm_mb": after[0][1],
        "warm_at_s": round(after[0][0]),
        "end_mb": samples[-1][1],
        "after_warmup_min_mb": min(m for _, m in after),
        "after_warmup_max_mb": max(m for _, m in after),
        "slope_after_warmup_mb_per_min": _slope_mb_per_min(after),
        "slope_second_half_mb_per_min": _slope_mb_per_min(second_half),
        "slope_last_third_mb_per_min": _slope_mb_per_min(last_third),
        "second_half_min_max_mb": (
            [min(m for _, m in second_half), max(m for _, m in second_half)]
            if second_half
            else None
        ),
    }


async def soak(
    devices: int,
    interval: float,
    duration: float,
    workdir: Path,
    *,
    rss_every: float = 10.0,
    probe_every: float = 60.0,
    warmup: float = 180.0,
    trace: bool = False,
) -> dict[str, Any]:
    db = workdir / "soak.db"
    port = _free_port()
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        __file__,
        "--engine-child",
        "--db",
        str(db),
        "--port",
        str(port),
        "--probe-every",
        str(probe_every),
        *(["--tracemalloc"] if trace else []),
        stdout=asyncio.subprocess.PIPE,
        cwd=ROOT,
    )
    assert child.stdout is not None
    line = await asyncio.wait_for(child.stdout.readline(), 60)
    if line.strip() != b"READY":
        raise RuntimeError(f"the engine did not start: {line!r}")
    samples: list[tuple[float, int]] = []
    probes: list[dict[str, Any]] = []
    tail: dict[str, Any] = {}
    started = time.monotonic()

    async def sample() -> None:
        warned = False
        while True:
            elapsed = time.monotonic() - started
            samples.append((elapsed, _rss_kb(child.pid)))
            if not warned and elapsed >= warmup:
                child.send_signal(signal.SIGUSR1)  # the child's tracemalloc baseline
                warned = True
            await asyncio.sleep(rss_every)

    async def read_child() -> None:
        assert child.stdout is not None
        async for raw in child.stdout:
            text = raw.decode().strip()
            kind, _, rest = text.partition(" ")
            if kind == "PROBE":
                probes.append(json.loads(rest))
            elif kind in ("OUTCOMES", "TRACEMALLOC"):
                tail[kind] = json.loads(rest)

    sampler = asyncio.create_task(sample())
    reader = asyncio.create_task(read_child())
    try:
        summary = await run_sim(
            f"http://127.0.0.1:{port}/",
            devices,
            "tr181",
            periodic_interval=interval,
            duration=duration,
            connection_requests=False,
            concurrency=50,
            serial_prefix="SOAK",
            options=SimOptions(http_timeout=30.0),
        )
    except BaseException:
        child.kill()  # never leave an engine running behind a failed or interrupted soak
        raise
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
    peak_kb = _rss_kb(child.pid, "VmHWM")
    end_kb = _rss_kb(child.pid)
    samples.append((time.monotonic() - started, end_kb))
    child.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(child.wait(), 300)
    except TimeoutError:
        child.kill()
        raise
    await reader
    outcomes: dict[str, int] = tail.get("OUTCOMES", {})
    store = await Store.open(db)
    try:
        integrity = await store.integrity_check()
        stored = await store.count_devices()
        rows = await store.list_devices(limit=devices + 10, offset=0)
        now_ms = time.time() * 1000
        stale = [
            d.id
            for d in rows
            if d.last_inform is None or now_ms - d.last_inform > (interval * 3 + 30) * 1000
        ]
    finally:
        await store.close()
    series = [(round(t), round(kb / 1024, 1)) for t, kb in samples]
    return {
        "devices": devices,
        "interval_s": interval,
        "duration_s": round(summary.duration, 1),
        "sessions_completed": summary.sessions_ok,
        "sessions_failed": summary.sessions_failed,
        # a CPE turned away with 503 (overload guard, device busy) retries later: not lost
        "sessions_refused_503": outcomes.get("rejected 503", 0),
        "sessions_failed_other": summary.sessions_failed - outcomes.get("rejected 503", 0),
        "failures": summary.failures[:10],
        "engine_outcomes": outcomes,
        "sessions_per_s": round(summary.sessions_ok / max(summary.duration, 1e-9), 1),
        "rss": {**rss_summary(series, warmup), "peak_mb": round(peak_kb / 1024, 1)},
        "rss_samples_mb": series,
        "probes": probes,
        "tracemalloc_top_growth": tail.get("TRACEMALLOC"),
        "db_integrity": integrity,
        "db_devices": stored,
        "devices_not_recently_informed": len(stale),
        "db_size_mb": round(db.stat().st_size / 2**20, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=5.0, help="periodic inform seconds")
    parser.add_argument("--duration", type=float, default=600.0, help="seconds")
    parser.add_argument(
        "--rss-every", type=float, default=10.0, help="sample the engine's RSS every N seconds"
    )
    parser.add_argument(
        "--probe-every",
        type=float,
        default=60.0,
        help="the engine reports its structure sizes, SQLite, malloc and V8 "
        "memory every N seconds (0: only at the end)",
    )
    parser.add_argument(
        "--warmup",
        type=float,
        default=180.0,
        help="seconds before the steady state (tracemalloc baseline, slopes)",
    )
    parser.add_argument(
        "--tracemalloc",
        action="store_true",
        help="trace Python allocations in the engine; print the top growth "
        "from the end of warm-up to the end (slows the engine)",
    )
    parser.add_argument("--out", help="also write the JSON result to this file")
    parser.add_argument("--keep", action="store_true", help="keep the database folder")
    parser.add_argument("--engine-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine_child:
        asyncio.run(_engine_child(Path(args.db), args.port, args.probe_every, args.tracemalloc))
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="fieldacs-soak-"))
    result = asyncio.run(
        soak(
            args.devices,
            args.interval,
            args.duration,
            workdir,
            rss_every=args.rss_every,
            probe_every=args.probe_every,
            warmup=args.warmup,
            trace=args.tracemalloc,
        )
    )
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    if not args.keep:
        for path in sorted(workdir.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        workdir.rmdir()
    ok = (
        result["sessions_failed_other"] == 0
        and result["engine_outcomes"].get("ok", 0) >= result["sessions_completed"]
        and result["db_integrity"] == "ok"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
