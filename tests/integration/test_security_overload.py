"""Overload control (queue off: ``admission_wait_ms=0``): too many sessions starting at once get
503 + Retry-After (load-driven, 5-120 s) and a closed connection; running ones finish."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from acs_engine.config import EngineConfig
from acs_engine.cwmp import codec, rpc
from acs_engine.cwmp.envelope import Envelope
from acs_engine.store.model import DeviceRecord
from tests.helpers.engine import RawCpe, inform, running_engine


def test_the_default_limit_is_genieacs_s() -> None:
    assert EngineConfig().max_concurrent_new_sessions == 20


async def test_informs_over_the_limit_get_503_and_running_sessions_finish(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit, flood = 3, 12
    async with running_engine(
        tmp_path, max_concurrent_new_sessions=limit, admission_wait_ms=0
    ) as engine:
        assert engine.store is not None and engine.cwmp is not None
        url = engine.cwmp_urls()[-1]
        running_id = "F1E1D0-TestGW-RUNNING"
        engine.manual.put(running_id, rpc.GetRPCMethods())
        async with RawCpe(url) as running:
            status, _, _ = await running.send(inform("RUNNING"))
            assert status == 200

            # Hold every new FLOOD session inside its Inform, as a slow database would.
            gate = asyncio.Event()
            real_get_device = engine.store.get_device

            async def slow_get_device(device_id: str) -> DeviceRecord | None:
                if "FLOOD" in device_id:
                    await gate.wait()
                return await real_get_device(device_id)

            monkeypatch.setattr(engine.store, "get_device", slow_get_device)

            async def one_inform(i: int) -> tuple[int, dict[str, Any], RawCpe]:
                cpe = RawCpe(url)
                status, _, headers = await cpe.send(inform(f"FLOOD{i:03d}"))
                return status, dict(headers), cpe

            tasks = [asyncio.create_task(one_inform(i)) for i in range(flood)]
            for _ in range(200):
                done = sum(t.done() for t in tasks)
                if done == flood - limit:
                    break
                await asyncio.sleep(0.01)
            rejected = [t.result() for t in tasks if t.done()]
            assert len(rejected) == flood - limit
            for status, headers, _ in rejected:
                assert status == 503
                assert 5 <= int(headers["Retry-After"]) <= 120
                assert headers["Connection"] == "close"  # a refused CPE holds no socket
            assert engine.cwmp.new_in_flight == limit

            # The session that was already running is not held back by the flood.
            status, reply, _ = await running.send(None)
            assert status == 200 and reply is not None
            assert isinstance(reply.message, rpc.GetRPCMethods)
            status, _, _ = await running.send(
                rpc.GetRPCMethodsResponse(methods=("Inform",)), cwmp_id=reply.cwmp_id
            )
            assert status == 204

            # The sessions that got in finish once the database answers again.
            gate.set()
            admitted = [t for t in tasks if t not in {t for t in tasks if t.done()}]
            results = await asyncio.gather(*tasks)
            accepted = [cpe for status, _, cpe in results if status == 200]
            assert len(accepted) == limit and len(admitted) == limit
            for cpe in accepted:
                status, _, _ = await cpe.send(None)
                assert status == 204
            for _, _, cpe in results:
                await cpe.close()
        assert engine.cwmp.new_in_flight == 0
        assert engine.active_session_count() == 0
        sessions = await engine.store.list_sessions(running_id)
        assert [s.outcome for s in sessions] == ["ok"]
        assert await engine.store.count_devices() == 1 + limit

        # Once the burst is over, the refused CPEs get in.
        async with aiohttp.ClientSession() as http:
            body = codec.serialize(Envelope(inform("FLOOD999"), cwmp_id="1"))
            async with http.post(url, data=body) as resp:
                assert resp.status == 200
