"""Soak: many simulated CPEs informing every few seconds against one engine, for minutes.

The engine runs in its own process (this script with ``--engine-child``: the same Engine as
``fieldacs-engine serve``, default settings, provisioning on), counting the sessions it
commits. The CPEs are :mod:`acs_engine.sim` devices in this process: each bootstraps, then
informs every ``--interval`` seconds (PERIODIC) for ``--duration`` seconds. The engine's RSS
is sampled every 10 s from /proc.

Reported: sessions the CPEs completed (204 received) and failed, sessions the engine
committed, the engine's RSS at the start of the steady state and at the end (and its peak),
and a database check (integrity, every device present with its last Inform recent). "No
session lost" means: every session a CPE saw complete was committed by the engine, and none
failed. Usage::

    python benchmarks/soak.py [--devices 1000] [--interval 5] [--duration 600]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from acs_engine.sim.options import SimOptions  # noqa: E402
from acs_engine.sim.runner import run_sim  # noqa: E402
from acs_engine.store.db import Store  # noqa: E402


# --------------------------------------------------------------------------- engine child
async def _engine_child(db: Path, port: int) -> None:
    from acs_engine.bus import RequestRejected, SessionEnded
    from acs_engine.config import EngineConfig
    from acs_engine.server.controller import Engine

    engine = Engine(EngineConfig(db_path=db, cwmp_host="127.0.0.1", cwmp_port=port,
                                 fs_enabled=False))
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
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print("READY", flush=True)
    await stop.wait()
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


async def soak(devices: int, interval: float, duration: float, workdir: Path) -> dict[str, object]:
    db = workdir / "soak.db"
    port = _free_port()
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--engine-child", "--db", str(db), "--port", str(port),
        stdout=asyncio.subprocess.PIPE, cwd=ROOT,
    )
    assert child.stdout is not None
    line = await asyncio.wait_for(child.stdout.readline(), 60)
    if line.strip() != b"READY":
        raise RuntimeError(f"the engine did not start: {line!r}")
    samples: list[tuple[float, int]] = []
    started = time.monotonic()

    async def sample() -> None:
        while True:
            samples.append((time.monotonic() - started, _rss_kb(child.pid)))
            await asyncio.sleep(10)

    sampler = asyncio.create_task(sample())
    try:
        summary = await run_sim(
            f"http://127.0.0.1:{port}/", devices, "tr181", periodic_interval=interval,
            duration=duration, connection_requests=False, concurrency=50,
            serial_prefix="SOAK", options=SimOptions(http_timeout=30.0),
        )
    finally:
        sampler.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sampler
    peak_kb = _rss_kb(child.pid, "VmHWM")
    end_kb = _rss_kb(child.pid)
    child.send_signal(signal.SIGTERM)
    out, _ = await child.communicate()
    outcomes: dict[str, int] = {}
    for text in out.decode().splitlines():
        if text.startswith("OUTCOMES "):
            outcomes = json.loads(text[len("OUTCOMES "):])
    store = await Store.open(db)
    try:
        integrity = await store.integrity_check()
        stored = await store.count_devices()
        rows = await store.list_devices(limit=devices + 10, offset=0)
        now_ms = time.time() * 1000
        stale = [d.id for d in rows if d.last_inform is None
                 or now_ms - d.last_inform > (interval * 3 + 30) * 1000]
    finally:
        await store.close()
    # steady state: the first sample after every device has bootstrapped (~1 min in)
    steady = next((kb for t, kb in samples if t >= 60), samples[-1][1] if samples else 0)
    return {
        "devices": devices,
        "interval_s": interval,
        "duration_s": round(summary.duration, 1),
        "sessions_completed": summary.sessions_ok,
        "sessions_failed": summary.sessions_failed,
        "failures": summary.failures[:10],
        "engine_outcomes": outcomes,
        "sessions_per_s": round(summary.sessions_ok / max(summary.duration, 1e-9), 1),
        "rss_start_mb": round(samples[0][1] / 1024, 1) if samples else None,
        "rss_steady_mb": round(steady / 1024, 1),
        "rss_end_mb": round(end_kb / 1024, 1),
        "rss_peak_mb": round(peak_kb / 1024, 1),
        "rss_samples_mb": [(round(t), round(kb / 1024, 1)) for t, kb in samples],
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
    parser.add_argument("--keep", action="store_true", help="keep the database folder")
    parser.add_argument("--engine-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.engine_child:
        asyncio.run(_engine_child(Path(args.db), args.port))
        return 0
    workdir = Path(tempfile.mkdtemp(prefix="fieldacs-soak-"))
    result = asyncio.run(soak(args.devices, args.interval, args.duration, workdir))
    print(json.dumps(result, indent=1))
    if not args.keep:
        for path in sorted(workdir.rglob("*"), reverse=True):
            path.unlink() if path.is_file() else path.rmdir()
        workdir.rmdir()
    ok = (result["sessions_failed"] == 0
          and result["engine_outcomes"].get("ok", 0) >= result["sessions_completed"]  # type: ignore[union-attr]
          and result["db_integrity"] == "ok")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
