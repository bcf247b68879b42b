"""Attacks on the event stream's WebSocket: no token, forged tokens, oversized frames,
floods, slow readers, too many sockets. The engine keeps serving CWMP throughout."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from acs_engine.bus import WireMessage
from acs_engine.server import events_ws
from acs_engine.server.controller import Engine
from acs_engine.server.events_codec import PROTOCOL_VERSION
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from tests.helpers.engine import running_engine

TOKEN = "events-ws-attack-token-42"


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    async with running_engine(tmp_path, nbi_token=TOKEN) as engine:
        yield engine


def _url(engine: Engine) -> str:
    return f"http://127.0.0.1:{engine.nbi_port}{events_ws.EVENTS_PATH}"


async def _cwmp_still_serves(engine: Engine, serial: str) -> None:
    device = SimDevice(load_model("tr181"), serial)
    result = await SimCpe(device, engine.cwmp_urls()[-1]).session()
    assert result.ok, result.error


async def _hello(ws: aiohttp.ClientWebSocketResponse) -> dict[str, object]:
    msg = await ws.receive(timeout=5)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    data = json.loads(msg.data)
    assert data["type"] == "hello"
    return dict(data)


async def test_the_header_token_opens_the_stream(engine: Engine) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(
        _url(engine), headers={"Authorization": f"Bearer {TOKEN}"}
    ) as ws:
        hello = await _hello(ws)
        assert hello["protocol"] == PROTOCOL_VERSION and hello["engine"]


async def test_the_first_message_token_opens_the_stream(engine: Engine) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(_url(engine)) as ws:
        await ws.send_str(json.dumps({"type": "auth", "token": TOKEN}))
        await _hello(ws)
        await ws.send_str('{"type":"ping"}')
        assert json.loads((await ws.receive(timeout=5)).data) == {"type": "pong"}


async def test_a_forged_header_token_is_refused_before_the_upgrade(engine: Engine) -> None:
    async with aiohttp.ClientSession() as http:
        for header in (f"Bearer {TOKEN}x", "Bearer ", f"Basic {TOKEN}", f"Bearer {TOKEN[:-1]}"):
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(_url(engine), headers={"Authorization": header})
            assert refused.value.status == 401


@pytest.mark.parametrize("first", [
    json.dumps({"type": "auth", "token": TOKEN + "x"}),
    json.dumps({"type": "auth", "token": ""}),
    json.dumps({"type": "auth", "token": None}),
    json.dumps({"type": "auth", "token": [TOKEN]}),
    json.dumps({"type": "ping"}),
    "not json",
    json.dumps({"type": "auth", "token": TOKEN})[:-1],
])
async def test_a_forged_first_message_closes_with_4401(engine: Engine, first: str) -> None:
    async with aiohttp.ClientSession() as http, http.ws_connect(_url(engine)) as ws:
        await ws.send_str(first)
        msg = await ws.receive(timeout=5)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == events_ws.CLOSE_UNAUTHORIZED


async def test_no_token_at_all_is_closed_after_the_auth_timeout(
    engine: Engine, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(events_ws, "AUTH_TIMEOUT", 0.3)
    async with aiohttp.ClientSession() as http:
        # a token in the URL is not a token (URLs land in logs)
        async with http.ws_connect(_url(engine) + f"?token={TOKEN}") as ws:
            msg = await ws.receive(timeout=5)
            assert msg.type == aiohttp.WSMsgType.CLOSE
            assert msg.data == events_ws.CLOSE_UNAUTHORIZED
        async with http.ws_connect(_url(engine)) as ws:
            await ws.send_bytes(TOKEN.encode())  # binary is not the auth message
            msg = await ws.receive(timeout=5)
            assert msg.data == events_ws.CLOSE_UNAUTHORIZED


async def test_a_cross_origin_page_cannot_open_the_stream(engine: Engine) -> None:
    async with aiohttp.ClientSession() as http:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(_url(engine), headers={"Origin": "http://evil.example"})
        assert refused.value.status == 403


async def test_oversized_frames_close_the_socket(engine: Engine) -> None:
    big = json.dumps({"type": "auth", "token": TOKEN, "pad": "x" * 100_000})
    async with aiohttp.ClientSession() as http:
        async with http.ws_connect(_url(engine)) as ws:  # before authentication
            await ws.send_str(big)
            msg = await ws.receive(timeout=5)
            assert msg.type == aiohttp.WSMsgType.CLOSE
        async with http.ws_connect(
            _url(engine), headers={"Authorization": f"Bearer {TOKEN}"}
        ) as ws:  # after
            await _hello(ws)
            await ws.send_str("x" * (events_ws.MAX_CLIENT_FRAME + 1))
            msg = await ws.receive(timeout=5)
            while msg.type == aiohttp.WSMsgType.TEXT:  # events queued before the close
                msg = await ws.receive(timeout=5)
            assert msg.type == aiohttp.WSMsgType.CLOSE
            assert msg.data == aiohttp.WSCloseCode.MESSAGE_TOO_BIG
    await _cwmp_still_serves(engine, "WSBIG0001")


@pytest.mark.parametrize("frame", ["text", "binary"])
async def test_a_flooding_client_is_disconnected_and_cwmp_goes_on(
    engine: Engine, frame: str
) -> None:
    """Binary frames are ignored, but they count: a flood of them was never cut off."""
    async with aiohttp.ClientSession() as http, http.ws_connect(
        _url(engine), headers={"Authorization": f"Bearer {TOKEN}"}
    ) as ws:
        await _hello(ws)
        for _ in range(events_ws.MAX_CLIENT_MESSAGES_PER_S * 4):
            if frame == "text":
                await ws.send_str('{"type":"noise"}')
            else:
                await ws.send_bytes(b"\x00" * 1000)
        code = None
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.CLOSE:
                code = msg.data
                break
        closed = {ws.close_code, code}
        if frame == "text":
            assert events_ws.CLOSE_FLOOD in closed
        else:  # frames still in flight: the close frame may be lost to the reset it causes
            assert closed & {events_ws.CLOSE_FLOOD, aiohttp.WSCloseCode.ABNORMAL_CLOSURE}
    await _cwmp_still_serves(engine, f"WSFLOOD{frame.upper()}")


async def test_a_slow_reader_is_dropped_with_a_bounded_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(events_ws, "QUEUE_SIZE", 20)
    async with running_engine(tmp_path, nbi_token=TOKEN) as engine:
        assert engine.nbi is not None
        stream = engine.nbi.console.events
        async with aiohttp.ClientSession() as http:
            slow = await http.ws_connect(
                _url(engine), headers={"Authorization": f"Bearer {TOKEN}"},
                max_msg_size=0, autoping=False)
            good = await http.ws_connect(
                _url(engine), headers={"Authorization": f"Bearer {TOKEN}"})
            await _hello(good)
            received = 0

            async def read_good() -> None:
                nonlocal received
                async for msg in good:
                    if msg.type == aiohttp.WSMsgType.TEXT:
                        received += 1

            reader = asyncio.create_task(read_good())
            body = b"x" * 256 * 1024
            started = time.monotonic()
            # the slow client never reads: its socket buffers fill, then its queue
            while stream.client_count == 2 and time.monotonic() - started < 30:
                engine.bus.publish(WireMessage("s", "d", "in", time.time(), "Inform", None,
                                               None, (), body))
                await asyncio.sleep(0.002)
            assert stream.client_count == 1  # the slow one is gone, the reader stays
            await _cwmp_still_serves(engine, "WSSLOW001")
            assert received > 20
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)
            await slow.close()
            await good.close()


async def test_the_number_of_streams_is_capped(
    engine: Engine, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(events_ws, "MAX_CLIENTS", 3)
    async with aiohttp.ClientSession() as http:
        sockets = []
        for _ in range(3):
            ws = await http.ws_connect(
                _url(engine), headers={"Authorization": f"Bearer {TOKEN}"})
            await _hello(ws)
            sockets.append(ws)
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(_url(engine), headers={"Authorization": f"Bearer {TOKEN}"})
        assert refused.value.status == 503
        for ws in sockets:
            await ws.close()
    await _cwmp_still_serves(engine, "WSCAP0001")


async def test_the_status_never_carries_the_proxy_upstreams_password(tmp_path: Path) -> None:
    """``/fieldacs/v1/status`` goes to every console: a password written into the proxy
    upstream URL (``http://user:password@acs``) is masked there."""
    async with running_engine(
        tmp_path, nbi_token=TOKEN, proxy_upstream="http://isp:hunter2@127.0.0.1:9/acs"
    ) as engine, aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{engine.nbi_port}/fieldacs/v1/status",
                            headers={"Authorization": f"Bearer {TOKEN}"}) as reply:
            assert reply.status == 200
            text = await reply.text()
        assert "hunter2" not in text and "isp:" in text
