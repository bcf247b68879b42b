"""Fixtures' building blocks: a real engine on 127.0.0.1 and a raw CPE speaking CWMP over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from acs_engine.bus import EventBus
from acs_engine.config import EngineConfig
from acs_engine.cwmp import codec, rpc
from acs_engine.cwmp.envelope import NS_CWMP_1_0, Envelope
from acs_engine.server.controller import Engine
from acs_engine.session.handler import Handler


@asynccontextmanager
async def running_engine(
    tmp_path: Path, *, handler: Handler | None = None, **config: Any
) -> AsyncIterator[Engine]:
    """An engine on 127.0.0.1 with a free port and a database in ``tmp_path``."""
    cfg = EngineConfig(
        db_path=tmp_path / "fieldacs.db", cwmp_host="127.0.0.1", cwmp_port=0,
        **{"fs_host": "127.0.0.1", "fs_port": 0, "nbi_host": "127.0.0.1", "nbi_port": 0,
           "provisioning": False, **config},
    )
    engine = Engine(cfg, handler=handler, bus=EventBus())
    await engine.start()
    try:
        yield engine
    finally:
        await engine.stop()


def inform(
    serial: str = "SN0001",
    *,
    events: tuple[str, ...] = ("0 BOOTSTRAP",),
    params: tuple[tuple[str, str, str], ...] = (
        ("Device.DeviceInfo.SoftwareVersion", "1.0.0", "xsd:string"),
        ("Device.ManagementServer.ConnectionRequestURL", "http://127.0.0.1:9/cr", "xsd:string"),
        ("Device.ManagementServer.ParameterKey", "", "xsd:string"),
    ),
    oui: str = "F1E1D0",
    product_class: str = "TestGW",
) -> rpc.Inform:
    """An Inform from a test device."""
    return rpc.Inform(
        device_id=rpc.DeviceId("FieldACS Test", oui, product_class, serial),
        events=tuple(rpc.EventStruct(code) for code in events),
        current_time="2026-11-27T10:00:00Z",
        parameters=tuple(rpc.ParameterValue(n, v, t) for n, v, t in params),
    )


class RawCpe:
    """A CPE that speaks CWMP by hand: one TCP connection, cookies as the test decides."""

    def __init__(self, url: str, *, cookies: bool = True, namespace: str = NS_CWMP_1_0) -> None:
        self.url = url
        self.namespace = namespace
        jar: aiohttp.abc.AbstractCookieJar = (
            aiohttp.CookieJar(unsafe=True) if cookies else aiohttp.DummyCookieJar()
        )
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=1, force_close=False), cookie_jar=jar
        )
        self._ids = 0

    async def __aenter__(self) -> RawCpe:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self.http.close()

    async def post_raw(
        self, body: bytes, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        async with self.http.post(self.url, data=body, headers=headers or {}) as resp:
            return resp.status, dict(resp.headers), await resp.read()

    async def send(
        self, message: rpc.Message | None, *, cwmp_id: str | None = None, **env: Any
    ) -> tuple[int, Envelope | None, dict[str, str]]:
        """POST ``message`` (None = empty POST); returns (status, parsed reply, headers)."""
        if message is None:
            body = b""
        else:
            if cwmp_id is None:
                self._ids += 1
                cwmp_id = f"cpe-{self._ids}"
            body = codec.serialize(
                Envelope(message, cwmp_id=cwmp_id, namespace=self.namespace, **env)
            )
        status, headers, data = await self.post_raw(body)
        reply = codec.parse(data) if status == 200 and data else None
        return status, reply, headers


def console_over_store(store: Any) -> Any:
    """The console's interface (:class:`~acs_engine.console_api.LocalConsoleEngine`) over an
    open store with no listeners: for item-model tests over a pre-filled database."""
    from acs_engine.console_api import LocalConsoleEngine

    engine = Engine(EngineConfig())
    engine.store = store
    return LocalConsoleEngine(engine)
