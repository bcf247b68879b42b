"""Graceful shutdown: refuse new CWMP sessions, let the ones in flight finish, then stop.

While the engine drains, a request that belongs to no live session (a new Inform, in
practice) gets ``503 Service Unavailable`` with ``Retry-After`` and ``Connection: close``,
as when the ACS is overloaded: a CPE comes back later, to this engine once it runs again
(or to whatever took its place). A session in flight goes on, on its own connection or a
new one (found by its cookie), until it commits; :func:`wait_for_sessions` waits for that,
at most a bounded time, after which :meth:`Engine.stop` ends what is left (kept as
"aborted").
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from acs_engine.bus import RequestRejected
from acs_engine.clock import now_ms

if TYPE_CHECKING:
    from acs_engine.server.controller import Engine

#: Retry-After told to CPEs refused while the engine shuts down (seconds).
DRAIN_RETRY_AFTER = 30

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def draining_middleware(engine: Engine) -> Callable[..., Awaitable[web.StreamResponse]]:
    """A CWMP middleware refusing requests outside the live sessions while ``engine`` drains."""

    @web.middleware
    async def refuse_new(request: web.Request, handler: _Handler) -> web.StreamResponse:
        cwmp = engine.cwmp
        if engine.draining and cwmp is not None and cwmp._find(request) is None:
            reason = "the ACS is shutting down; retry later"
            engine.bus.publish(RequestRejected(now_ms(), request.remote or "", 503, reason))
            response = web.Response(
                status=503, text=reason + "\n",
                headers={"Retry-After": str(DRAIN_RETRY_AFTER), "Connection": "close"},
            )
            response.force_close()
            return response
        return await handler(request)

    return refuse_new


async def wait_for_sessions(
    engine: Engine, timeout: float, *, abandon: asyncio.Event | None = None,
    poll: float = 0.1,
) -> bool:
    """Wait until ``engine`` has no session in flight, at most ``timeout`` seconds, or
    until ``abandon`` is set (a second Ctrl+C).

    Returns:
        True when every session finished in time.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max(0.0, timeout)
    while engine.active_session_count() > 0:
        if loop.time() >= deadline or (abandon is not None and abandon.is_set()):
            return False
        await asyncio.sleep(poll)
    return True
