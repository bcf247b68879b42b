"""Test helpers for the NBI: an HTTP client on the engine's NBI port and a simulated fleet."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from acs_engine.server.controller import Engine
from acs_engine.sim.model import load_model
from acs_engine.sim.options import SimOptions
from acs_engine.sim.runner import run_sim, serial_for
from acs_engine.store.deviceid import make_device_id


@dataclass
class Reply:
    """One NBI answer."""

    status: int
    reason: str
    headers: dict[str, str]
    body: Any  # decoded JSON, else the text

    @property
    def error(self) -> str:
        return str(self.body.get("error", "")) if isinstance(self.body, dict) else ""


class Nbi:
    """A client of a running engine's NBI."""

    def __init__(self, engine: Engine, token: str | None = None) -> None:
        assert engine.nbi_port, "the NBI is not running"
        self.base = f"http://127.0.0.1:{engine.nbi_port}"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = aiohttp.ClientSession(headers=headers)

    async def __aenter__(self) -> Nbi:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.close()

    async def call(
        self, method: str, path: str, *, params: dict[str, str] | None = None,
        body: Any = None, data: bytes | str | None = None, headers: dict[str, str] | None = None,
    ) -> Reply:
        if body is not None:
            data = json.dumps(body)
        async with self.http.request(
            method, self.base + path, params=params, data=data, headers=headers
        ) as resp:
            text = await resp.text()
            try:
                decoded: Any = json.loads(text) if text else None
            except ValueError:
                decoded = text
            return Reply(resp.status, resp.reason or "", dict(resp.headers), decoded)

    async def query(self, collection: str, query: Any = None, **params: str) -> Reply:
        if query is not None:
            params["query"] = json.dumps(query)
        return await self.call("GET", f"/{collection}/", params=params)


def enc(segment: str) -> str:
    """A URL path segment, encoded as GenieACS clients do (``encodeURIComponent``)."""
    return quote(segment, safe="")


def sim_device_id(serial: str) -> str:
    base = load_model("tr181")
    return make_device_id(base.oui, base.product_class, serial)


async def until(predicate: Any, timeout: float = 10.0) -> None:
    """Wait for ``predicate()`` (sync or async) to be true."""
    for _ in range(int(timeout / 0.05)):
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("condition not reached in time")


@asynccontextmanager
async def sim_fleet(
    engine: Engine, count: int, prefix: str, options: SimOptions | None = None,
    **sim: Any,
) -> AsyncIterator[list[str]]:
    """``count`` simulated TR-181 CPEs with connection-request listeners, registered and idle
    (their bootstrap sessions, with the seeded presets, are over). ``sim`` goes to
    :func:`run_sim` (e.g. ``xmpp=``)."""
    stop = asyncio.Event()
    runner = asyncio.create_task(run_sim(
        engine.cwmp_urls()[-1], count, "tr181", periodic_interval=3600, stop=stop,
        serial_prefix=prefix, options=options, **sim,
    ))
    ids = [sim_device_id(serial_for(prefix, i)) for i in range(1, count + 1)]
    store = engine.store
    assert store is not None

    async def ready() -> bool:
        for device_id in ids:
            device = await store.get_device(device_id)
            if device is None or device.last_inform_ms is None:
                return False
        return engine.active_session_count() == 0

    try:
        await until(ready, 20.0)
        yield ids
    finally:
        stop.set()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
