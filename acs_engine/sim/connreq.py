"""Connection-request listener for simulated CPEs: one aiohttp server, one random path per CPE.

Each registered CPE gets ``http://127.0.0.1:<port>/<random path>`` as its
``ManagementServer.ConnectionRequestURL``. A GET there must authenticate with Digest (MD5 or
SHA-256, ``qop=auth``) against ``ConnectionRequestUsername`` / ``ConnectionRequestPassword``;
Basic is accepted only when the CPE's options allow it. Success answers ``200`` with an empty
body and then starts a session with ``6 CONNECTION REQUEST`` (queued after a running one).
Wrong credentials get ``401`` again and no session; too many requests get ``503``.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from types import TracebackType
from typing import Protocol

from aiohttp import web

from acs_engine.sim.auth import DigestServer
from acs_engine.sim.device import SimDevice

log = logging.getLogger("fieldacs.sim")


class ConnectionRequestTarget(Protocol):
    """What the listener needs from a CPE (:class:`~acs_engine.sim.client.SimCpe` fits)."""

    device: SimDevice

    def connection_request(self) -> None:
        """Start (or queue) a session with ``6 CONNECTION REQUEST``."""


@dataclass(slots=True)
class _Route:
    target: ConnectionRequestTarget
    digest: DigestServer
    accepted: deque[float] = field(default_factory=deque)


@dataclass(slots=True)
class ConnReqStats:
    """Counters of the listener.

    Attributes:
        accepted: authenticated requests that started (or queued) a session.
        unauthorized: requests answered with 401 (challenges and wrong credentials).
        rate_limited: authenticated requests refused with 503.
    """

    accepted: int = 0
    unauthorized: int = 0
    rate_limited: int = 0


class ConnectionRequestServer:
    """One HTTP listener routing connection requests to many simulated CPEs.

    Args:
        host: the address to listen on (keep the default for tests).
        port: the port; 0 picks a free one.
        realm: the Digest realm announced.
        advertised_host: the host written into ConnectionRequestURL (default: ``host``).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        realm: str = "FieldACS-SimCPE",
        advertised_host: str | None = None,
    ) -> None:
        self.host = host
        self.realm = realm
        self.advertised_host = advertised_host or host
        self.stats = ConnReqStats()
        self._requested_port = port
        self._port: int | None = None
        self._routes: dict[str, _Route] = {}
        self._runner: web.AppRunner | None = None

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        if self._port is None:
            raise RuntimeError("the connection-request server is not started")
        return self._port

    async def start(self) -> None:
        """Bind and start serving."""
        app = web.Application()
        app.router.add_route("*", "/{key}", self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port)
        await site.start()
        self._runner = runner
        addresses = runner.addresses
        self._port = int(addresses[0][1]) if addresses else self._requested_port
        log.info("connection-request listener on %s:%s", self.host, self._port)

    async def close(self) -> None:
        """Stop serving (idempotent)."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> ConnectionRequestServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def register(self, target: ConnectionRequestTarget) -> str:
        """Give a CPE its random path; sets and returns its ConnectionRequestURL."""
        key = secrets.token_urlsafe(12)
        algorithms = target.device.options.connreq_algorithms
        self._routes[key] = _Route(target, DigestServer(self.realm, algorithms))
        url = f"http://{self.advertised_host}:{self.port}/{key}"
        target.device.context["cr_url"] = url
        return url

    def unregister(self, target: ConnectionRequestTarget) -> None:
        """Forget a CPE: its URL answers 404 from now on."""
        for key in [k for k, r in self._routes.items() if r.target is target]:
            del self._routes[key]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        route = self._routes.get(request.match_info["key"])
        if route is None:
            return web.Response(status=404)
        if request.method != "GET":
            return web.Response(status=405, headers={"Allow": "GET"})
        device = route.target.device
        opts = device.options
        username, password = device.connreq_credentials
        uris = (request.path_qs, str(request.url))
        if not route.digest.verify(
            request.headers.get("Authorization"), request.method, username, password,
            allow_basic=opts.allow_basic_connreq, request_uris=uris,
        ):
            self.stats.unauthorized += 1
            response = web.Response(status=401)
            for value in route.digest.challenges(allow_basic=opts.allow_basic_connreq):
                response.headers.add("WWW-Authenticate", value)
            return response
        now = time.monotonic()
        while route.accepted and now - route.accepted[0] > opts.connreq_window:
            route.accepted.popleft()
        if len(route.accepted) >= opts.connreq_limit:
            self.stats.rate_limited += 1
            return web.Response(status=503, headers={"Retry-After": str(int(opts.connreq_window))})
        route.accepted.append(now)
        self.stats.accepted += 1
        log.debug("%s: connection request accepted", device.serial)
        route.target.connection_request()
        return web.Response(status=200)
