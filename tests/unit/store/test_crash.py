"""A process killed mid-write leaves every session it reported as committed intact."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from acs_engine.store import Store

ROOT = Path(__file__).resolve().parents[3]

CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from acs_engine.store import Param, SessionCommit, SessionRecord, Store, TraceEntry
    from acs_engine.store.model import DeviceRecord

    async def writer(store, w):
        k = 0
        while True:
            k += 1
            dev = DeviceRecord(f"W-{w}", "M", "OUI", "", str(w), registered_ms=1, last_inform_ms=k)
            ups = [Param(f"A.{n}", f"{k}", "xsd:string", k) for n in range(20)]
            ups.append(Param(f"Hist.{k}", f"{k}"))
            body = bytes(2000)
            trace = [TraceEntry(i, k, "in", "Inform", None, 200, (), body) for i in range(4)]
            session = SessionRecord(f"{w}-{k}", dev.id, k, k, "ok")
            await store.commit_session(SessionCommit(dev, ups, [], session, trace))
            print(f"{w} {k}", flush=True)

    async def main():
        store = await Store.open(sys.argv[1], trace_sessions_per_device=1_000_000)
        print("ready", flush=True)
        await asyncio.gather(*(writer(store, w) for w in range(8)))

    asyncio.run(main())
    """
)


@pytest.mark.slow
async def test_sigkill_mid_commit_loses_nothing_committed(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, str(script), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    reported: dict[int, int] = {}
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 30
        while sum(reported.values()) < 400 and time.monotonic() < deadline:
            line = child.stdout.readline()
            if not line:
                break
            w, k = map(int, line.split())
            reported[w] = max(reported.get(w, 0), k)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        assert child.stdout is not None and child.stderr is not None
        child.stdout.close()
        stderr = child.stderr.read()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL, stderr
    assert sum(reported.values()) >= 400, stderr

    async with await Store.open(path) as store:
        assert await store.integrity_check() == "ok"
        for w, last in reported.items():
            dev = await store.get_device(f"W-{w}")
            assert dev is not None and dev.last_inform_ms is not None
            assert dev.last_inform_ms >= last  # it may have committed one it never reported
            params = await store.load_params(f"W-{w}")
            assert {params[f"A.{n}"].value for n in range(20)} == {str(dev.last_inform_ms)}
            history = {p for p in params if p.startswith("Hist.")}
            assert history == {f"Hist.{k}" for k in range(1, dev.last_inform_ms + 1)}
            sessions = {s.id for s in await store.list_sessions(f"W-{w}", limit=1_000_000)}
            assert sessions == {f"{w}-{k}" for k in range(1, dev.last_inform_ms + 1)}
            assert len(await store.load_trace(f"{w}-{last}")) == 4
            summary = next(d for d in await store.list_devices() if d.id == f"W-{w}")
            assert summary.param_count == 20 + dev.last_inform_ms
