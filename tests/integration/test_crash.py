"""Crash safety: SIGKILL the engine process mid-sessions, again and again, then check the DB.

``fieldacs-engine serve`` runs as a subprocess on one database; simulated CPEs run sessions
against it without pause; the process is killed (SIGKILL, no cleanup) at random moments and
restarted on the same file. Afterwards SQLite's integrity check passes and every session the
simulator saw complete (the ACS answered 204, which it does only after the commit) is stored
with its outcome, its trace and its device's parameters.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import socket
import sys
import time
from collections import Counter
from pathlib import Path

from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.sim.options import SimOptions
from acs_engine.store.db import Store
from acs_engine.store.deviceid import make_device_id

ROOT = Path(__file__).resolve().parents[2]
DEVICES = 16
KILLS = 4
#: Sessions per device at most: the store keeps 20 per device (trace_sessions_per_device).
MAX_SESSIONS = 18


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _start_server(db: Path, port: int) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "acs_engine.cli", "serve", "--db", str(db), "--host", "127.0.0.1",
        "--cwmp-port", str(port), "--fs-port", "0",
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        line = await asyncio.wait_for(proc.stdout.readline(), deadline - time.monotonic())
        if not line:
            raise AssertionError(f"the engine exited with {await proc.wait()}")
        if b"ACS URL:" in line:
            # keep draining stdout so the child never blocks on a full pipe
            asyncio.get_running_loop().create_task(_drain(proc.stdout))
            return proc
    raise AssertionError("the engine did not start in 20 s")


async def _drain(stream: asyncio.StreamReader) -> None:
    with contextlib.suppress(Exception):
        while await stream.read(65536):
            pass


async def _device_loop(cpe: SimCpe, stop: asyncio.Event, errors: Counter[str]) -> None:
    while not stop.is_set() and cpe.sessions_ok < MAX_SESSIONS:
        result = await cpe.session()
        if result.error:
            errors[result.error.split(":")[0]] += 1
        await asyncio.sleep(0.15 if result.ok else 0.05)


async def test_sigkill_mid_sessions_loses_no_committed_session(tmp_path: Path) -> None:
    started = time.monotonic()
    db = tmp_path / "crash.db"
    port = _free_port()
    url = f"http://127.0.0.1:{port}/"
    base = load_model("tr181")
    options = SimOptions(http_timeout=5.0)
    cpes = [
        SimCpe(SimDevice(base, f"CRASH{i:04d}", index=i, options=options,
                         context={"acs_url": url}), url)
        for i in range(DEVICES)
    ]
    rng = random.Random(7)
    stop = asyncio.Event()
    proc = await _start_server(db, port)
    errors: Counter[str] = Counter()
    loops = [asyncio.create_task(_device_loop(cpe, stop, errors)) for cpe in cpes]
    kills = 0
    try:
        for _ in range(KILLS):
            # Kill once some sessions have completed on this run (or after a while), so
            # every run commits something and is cut short in the middle of others.
            target = sum(c.sessions_ok for c in cpes) + rng.randint(3, 20)
            deadline = time.monotonic() + 4.0
            while sum(c.sessions_ok for c in cpes) < target and time.monotonic() < deadline:
                await asyncio.sleep(0.02)
            await asyncio.sleep(rng.uniform(0.0, 0.2))
            proc.send_signal(signal.SIGKILL)
            assert await proc.wait() == -signal.SIGKILL
            kills += 1
            proc = await _start_server(db, port)
        await asyncio.sleep(1.0)
    finally:
        stop.set()
        await asyncio.gather(*loops)
        proc.send_signal(signal.SIGKILL)
        await proc.wait()

    completed = {cpe.device.serial: cpe.sessions_ok for cpe in cpes}
    failed = sum(cpe.sessions_failed for cpe in cpes)
    assert kills == KILLS
    assert sum(completed.values()) >= KILLS * 3, (completed, errors)
    assert failed > 0  # the kills really hit sessions

    store = await Store.open(db)
    try:
        assert await store.integrity_check() == "ok"
        for cpe in cpes:
            dev = cpe.device
            ident = dev.device_id
            device_id = make_device_id(ident.oui, ident.product_class, ident.serial_number)
            sessions = await store.list_sessions(device_id, limit=100)
            ok = [s for s in sessions if s.outcome == "ok"]
            assert len(ok) >= completed[dev.serial], (dev.serial, len(ok), completed[dev.serial])
            if completed[dev.serial]:
                trace = await store.load_trace(ok[0].id)
                assert trace[0].rpc == "Inform" and trace[-1].status == 204
                params = await store.load_params(device_id)
                assert params, dev.serial
                assert (await store.get_device(device_id)) is not None
    finally:
        await store.close()
    print(f"\ncrash: {KILLS} SIGKILLs, {sum(completed.values())} sessions completed, "
          f"{failed} failed (cut by a kill or refused while down), {time.monotonic() - started:.1f} s")
