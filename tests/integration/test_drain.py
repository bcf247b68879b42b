"""Graceful shutdown in process: while the engine drains, a session in flight goes on (on a
new connection too, found by its cookie) and commits; a new Inform gets 503."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp

from acs_engine.bus import SessionEnded
from acs_engine.cwmp import codec, rpc
from acs_engine.cwmp.envelope import NS_CWMP_1_0, Envelope
from tests.helpers.engine import RawCpe, inform, running_engine


async def test_drain_finishes_a_session_that_continues_on_a_new_connection(
    tmp_path: Path,
) -> None:
    async with running_engine(tmp_path) as engine:
        url = f"http://127.0.0.1:{engine.cwmp_port}/"
        ended: list[SessionEnded] = []
        engine.bus.subscribe(ended.append, SessionEnded)
        async with RawCpe(url) as cpe:
            status, reply, headers = await cpe.send(inform("DRAINA"))
            assert status == 200 and isinstance(reply.message, rpc.InformResponse)
            cookie = headers["Set-Cookie"].split(";")[0]

            drain = asyncio.ensure_future(engine.drain(60))
            while not engine.draining:
                await asyncio.sleep(0)

            # A new session is refused, its connection closed, with a time to come back.
            async with RawCpe(url) as newcomer:
                status, _, headers = await newcomer.send(inform("DRAINB"))
                assert status == 503
                assert headers["Retry-After"] == "30" and headers["Connection"] == "close"
            assert not drain.done()

        # The session in flight goes on over a new TCP connection, by its cookie.
        async with aiohttp.ClientSession() as http, http.post(
            url, data=b"", headers={"Cookie": cookie}
        ) as resp:
            assert resp.status == 204
        assert await asyncio.wait_for(drain, 30) is True
        assert [(e.device_id.endswith("DRAINA"), e.outcome) for e in ended] == [(True, "ok")]
        assert not engine.running
    assert engine.metrics.rejected == {503: 1}


async def test_garbage_while_draining_is_refused_not_parsed(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        url = f"http://127.0.0.1:{engine.cwmp_port}/"
        engine.draining = True  # as drain() sets it, without stopping
        body = codec.serialize(Envelope(inform("X"), cwmp_id="1", namespace=NS_CWMP_1_0))
        async with aiohttp.ClientSession() as http:
            for data in (b"<not xml", body, b""):
                async with http.post(url, data=data, headers={"Cookie": "session=forged"}) as r:
                    assert r.status == 503
        assert engine.active_session_count() == 0
        engine.draining = False
