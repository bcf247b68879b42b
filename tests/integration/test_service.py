"""The engine as a service: a real ``fieldacs-engine serve`` process on loopback, simulated
CPEs (acs_engine/sim) against it; its metrics, health, graceful shutdown and online backup."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

from acs_engine.cwmp import rpc
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.sim.options import SimOptions
from acs_engine.store.backup import verify_database
from acs_engine.store.db import Store
from acs_engine.store.deviceid import make_device_id
from tests.helpers.engine import RawCpe
from tests.helpers.serve import ROOT, ServeProcess, serve_process


def _cpe(server: ServeProcess, serial: str, index: int = 0, **options: object) -> SimCpe:
    dev = SimDevice(load_model("tr181"), serial, index=index,
                    options=SimOptions(http_timeout=20.0, **options),  # type: ignore[arg-type]
                    context={"acs_url": server.acs_url})
    return SimCpe(dev, server.acs_url)


def _device_id(cpe: SimCpe) -> str:
    ident = cpe.device.device_id
    return make_device_id(ident.oui, ident.product_class, ident.serial_number)


async def _finish(raw: RawCpe, cpe: SimCpe) -> int:
    """Go on with a session ``raw`` opened for ``cpe``'s device: the simulated device answers
    every RPC of the ACS; returns the final HTTP status (204: the ACS ended it)."""
    status, reply, _ = await raw.send(None)
    while status == 200 and reply is not None and reply.message.ACS_REQUEST:
        answer = cpe.device.handle(reply.message)
        status, reply, _ = await raw.send(answer, cwmp_id=reply.cwmp_id)
    return status


async def _wait_for(predicate_coro, what: str, attempts: int = 600) -> None:  # type: ignore[no-untyped-def]
    for _ in range(attempts):
        if await predicate_coro():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def test_health_and_metrics_move_after_simulated_sessions(tmp_path: Path) -> None:
    async with serve_process(tmp_path) as server:
        # Behind the token like the rest of the NBI.
        assert (await server.get("/metrics", token=False))[0] == 401
        assert (await server.get("/health", token=False))[0] == 401
        status, text = await server.get("/health")
        assert status == 200 and json.loads(text)["status"] == "ok"

        before = await server.metrics()
        assert before["fieldacs_sessions_started_total"] == 0
        assert before['fieldacs_cwmp_rejected_total{status="503"}'] == 0
        cpes = [_cpe(server, f"MET{i:03d}", i) for i in range(3)]
        results = await asyncio.gather(*(c.session() for c in cpes))
        assert all(r.ok for r in results), [r.error for r in results]
        # A second session of a device already in one gets 503.
        held = cpes[0].device.make_inform()
        async with RawCpe(server.acs_url) as raw:
            status, reply, _ = await raw.send(held)
            assert status == 200 and isinstance(reply.message, rpc.InformResponse)
            refused = await cpes[0].session()
            assert not refused.ok and "503" in (refused.error or "")
            assert await _finish(raw, cpes[0]) == 204

        after = await server.metrics()
        assert after["fieldacs_sessions_started_total"] == 4
        assert after['fieldacs_sessions_ended_total{outcome="ok"}'] == 4
        assert after["fieldacs_session_duration_seconds_count"] == 4
        assert after['fieldacs_session_duration_seconds_bucket{le="+Inf"}'] == 4
        assert after["fieldacs_session_duration_seconds_sum"] > 0
        assert after['fieldacs_cwmp_rejected_total{status="503"}'] >= 1
        assert after["fieldacs_devices"] == 3
        assert after["fieldacs_sessions_active"] == 0
        assert after["fieldacs_database_bytes"] > before["fieldacs_database_bytes"] > 0
        # The lag monitor samples every 0.5 s (its working is tested in test_metrics.py).
        assert "fieldacs_event_loop_lag_seconds" in after
        assert "fieldacs_event_loop_lag_histogram_seconds_count" in after
        server.proc.send_signal(signal.SIGTERM)
        assert await server.proc.wait() == 0


async def test_sigterm_finishes_the_session_in_flight_and_refuses_new_ones(
    tmp_path: Path,
) -> None:
    async with serve_process(tmp_path, "--drain-timeout", "120") as server:
        old = _cpe(server, "DRAIN001")
        first = await old.session()  # its bootstrap: the tree is known from here on
        assert first.ok, first.error
        async with RawCpe(server.acs_url) as raw:
            inform = old.device.make_inform()
            status, reply, _ = await raw.send(inform)
            assert status == 200 and isinstance(reply.message, rpc.InformResponse)
            assert (await server.metrics())["fieldacs_sessions_active"] == 1

            server.proc.send_signal(signal.SIGTERM)

            async def draining() -> bool:
                status, text = await server.get("/health")
                return status == 503 and json.loads(text)["status"] == "draining"

            await _wait_for(draining, "/health says draining")
            newcomer = await _cpe(server, "DRAIN002", 1).session()
            assert not newcomer.ok and "503" in (newcomer.error or "")
            assert (await server.metrics())["fieldacs_draining"] == 1
            assert server.proc.returncode is None  # still waiting for our session

            assert await _finish(raw, old) == 204  # the session goes on, and ends
        assert await asyncio.wait_for(server.proc.wait(), 60) == 0
    assert any("finishing the sessions in flight" in line for line in server.output)
    assert any(line == "stopped" for line in server.output), server.output

    store = await Store.open(server.db)
    try:
        sessions = await store.list_sessions(_device_id(old), limit=10)
        assert [s.outcome for s in sessions] == ["ok", "ok"]  # both committed
        assert await store.get_device(make_device_id(*_ident("DRAIN002", old))) is None
    finally:
        await store.close()


def _ident(serial: str, like: SimCpe) -> tuple[str, str, str]:
    ident = like.device.device_id
    return ident.oui, ident.product_class, serial


async def test_sigterm_wait_is_bounded(tmp_path: Path) -> None:
    async with serve_process(tmp_path, "--drain-timeout", "1") as server:
        cpe = _cpe(server, "STUCK001")
        async with RawCpe(server.acs_url) as raw:
            status, _, _ = await raw.send(cpe.device.make_inform())
            assert status == 200
            server.proc.send_signal(signal.SIGTERM)  # the CPE never says another word
            assert await asyncio.wait_for(server.proc.wait(), 60) == 0
    assert any("sessions still in flight were ended" in line for line in server.output)
    store = await Store.open(server.db)
    try:
        sessions = await store.list_sessions(_device_id(cpe), limit=10)
        assert [s.outcome for s in sessions] == ["aborted"]
    finally:
        await store.close()


async def test_a_second_sigterm_stops_without_waiting(tmp_path: Path) -> None:
    async with serve_process(tmp_path, "--drain-timeout", "600") as server:
        cpe = _cpe(server, "STUCK002")
        async with RawCpe(server.acs_url) as raw:
            assert (await raw.send(cpe.device.make_inform()))[0] == 200
            server.proc.send_signal(signal.SIGTERM)

            async def draining() -> bool:
                return (await server.get("/health"))[0] == 503

            await _wait_for(draining, "/health says draining")
            server.proc.send_signal(signal.SIGTERM)  # the operator insists
            assert await asyncio.wait_for(server.proc.wait(), 60) == 0
    assert any("sessions still in flight were ended" in line for line in server.output)


async def _backup(db: Path, dest: Path) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "acs_engine.cli", "backup", str(dest), "--db", str(db),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await proc.communicate()
    return proc.returncode or 0, out.decode()


async def test_backup_during_load_is_consistent_and_the_engine_keeps_serving(
    tmp_path: Path,
) -> None:
    async with serve_process(tmp_path) as server:
        cpes = [_cpe(server, f"LOAD{i:03d}", i) for i in range(8)]
        stop = asyncio.Event()

        async def loop(cpe: SimCpe) -> None:
            while not stop.is_set():
                cpe.device.add_event("2 PERIODIC")
                await cpe.session()

        loops = [asyncio.create_task(loop(c)) for c in cpes]
        try:
            await _wait_for(
                lambda: asyncio.sleep(0, result=sum(c.sessions_ok for c in cpes) >= 8),
                "some sessions completed",
            )
            backups = []
            for n in range(2):
                done_before = sum(c.sessions_ok for c in cpes)
                code, out = await _backup(server.db, tmp_path / f"backup{n}.db")
                assert code == 0, out
                assert "integrity check: ok" in out
                backups.append(tmp_path / f"backup{n}.db")
                # No downtime: sessions went on while the copy was made and after it.
                await _wait_for(
                    lambda before=done_before: asyncio.sleep(
                        0, result=sum(c.sessions_ok for c in cpes) > before),
                    "sessions after the backup",
                )
        finally:
            stop.set()
            await asyncio.gather(*loops)
        assert sum(c.sessions_failed for c in cpes) == 0
        server.proc.send_signal(signal.SIGTERM)
        assert await server.proc.wait() == 0

    for path in backups:
        assert not Path(str(path) + "-wal").exists()  # one self-contained file
        devices, sessions = verify_database(path)
        assert devices >= 1 and sessions >= devices
        store = await Store.open(path)  # an engine can run on it
        try:
            assert await store.integrity_check() == "ok"
            for row in await store.list_devices(limit=100, offset=0):
                # A session's changes are one transaction: a device in the copy has the
                # parameters of its first session and a session with its whole trace.
                assert row.param_count > 100, row.id
                latest = (await store.list_sessions(row.id, limit=1))[0]
                trace = await store.load_trace(latest.id)
                assert trace[0].rpc == "Inform" and trace[-1].status == 204
        finally:
            await store.close()
