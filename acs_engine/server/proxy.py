"""Proxy mode: FieldACS between a CPE and another ACS, watching without taking part.

With ``EngineConfig.proxy_upstream`` set, the CWMP listeners hand every request to
:class:`ProxyServer` instead of FieldACS's own ACS. Each CPE request goes to the upstream ACS
and each answer back unchanged — method, path, query, body bytes (compressed or not), every
end-to-end header including Cookie, Set-Cookie, Authorization and WWW-Authenticate, and the
status (401 challenges included). Only hop-by-hop headers (Connection, Keep-Alive,
Transfer-Encoding, ...) are the proxy's own, and Host names the upstream. Each CPE TCP
connection gets its own upstream connection, so an ACS that keys sessions by connection sees
the same grouping as without the proxy. Redirects are passed back, not followed.

Meanwhile every message is published on the event bus like the engine's own sessions
(:class:`~acs_engine.bus.WireMessage`, ``SessionStarted``, ``SessionStateChanged`` derived from
the messages, ``SessionEnded``), grouped into sessions the way the server groups them (a new
Inform starts one, the Inform repeated after a 401 stays in it; then the cookie, else the TCP
connection). The console's live panel, Lint tab and session files work on them unchanged.
Credentials are masked in what is published; what is forwarded is untouched.

Connection requests from the upstream ACS go straight to the CPE, as without the proxy.
"""

from __future__ import annotations

import itertools
import logging
import ssl
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from acs_engine.bus import (
    EngineNotice,
    EventBus,
    SessionEnded,
    SessionStarted,
    SessionStateChanged,
    WireMessage,
)
from acs_engine.clock import now_ms, to_ms
from acs_engine.config import EngineConfig
from acs_engine.cwmp import rpc
from acs_engine.inspect.capture import sniff
from acs_engine.inspect.httpstream import cookie_pairs, set_cookie_pairs
from acs_engine.inspect.sessionfile import Message, mask_headers
from acs_engine.inspect.sources import StateTracker
from acs_engine.kinds import Direction, NoticeLevel, SessionOutcome
from acs_engine.session.step import StepGate
from acs_engine.store.deviceid import make_device_id

log = logging.getLogger("fieldacs.server.proxy")

#: Hop-by-hop headers (RFC 9110 §7.6.1): the proxy's own on each side, never forwarded.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "proxy-connection",
})
#: Set by aiohttp for the body it sends.
_LENGTH = frozenset({"content-length"})
UNKNOWN_DEVICE = "(unknown CPE)"


class ProxyConfigError(ValueError):
    """An upstream URL or CA file that cannot be used."""


def upstream_ssl(config: EngineConfig) -> ssl.SSLContext | None:
    """The TLS context for an https upstream: the system's trust, or ``proxy_upstream_ca``."""
    if not config.proxy_upstream.lower().startswith("https:"):
        return None
    context = ssl.create_default_context()
    if config.proxy_upstream_ca:
        try:
            context.load_verify_locations(cafile=str(config.proxy_upstream_ca))
        except (OSError, ssl.SSLError) as exc:
            raise ProxyConfigError(
                f"cannot read the upstream CA file {config.proxy_upstream_ca}: {exc}") from exc
    return context


def check_upstream(url: str) -> str:
    """``url`` if it is an http(s) URL with a host, else raises :class:`ProxyConfigError`."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ProxyConfigError(f"upstream ACS URL must be http:// or https:// with a host: {url!r}")
    return url


@dataclass(slots=True)
class _Session:
    session_id: str
    device_id: str
    connection: int
    remote: str
    started_s: float  # time.time() seconds, like the session file's messages
    tracker: StateTracker = field(default_factory=StateTracker)
    count: int = 0
    rpc_count: int = 0
    last_status: int | None = None
    last_activity_ms: int = 0
    ended: bool = False


@dataclass(slots=True)
class _Downstream:
    client: aiohttp.ClientSession
    session: _Session | None = None


class ProxyServer:
    """Forwards CPE requests to the upstream ACS and publishes what passes.

    Attributes:
        upstream: the upstream ACS URL.
        forwarded: requests forwarded so far.
    """

    def __init__(self, config: EngineConfig, bus: EventBus,
                 handler: Callable[[], object] | None = None) -> None:
        """Check the upstream settings (raises :class:`ProxyConfigError`).

        Args:
            config: the engine's settings (``proxy_upstream``, ``proxy_upstream_ca``).
            bus: where the proxied messages are published.
            handler: returns the engine's handler now; when it is a
                :class:`~acs_engine.session.step.StepGate`, devices in step mode have each
                ACS->CPE request (and the session's end) held until the technician sends it.
        """
        self.config = config
        self.bus = bus
        self._handler = handler
        self.upstream = check_upstream(config.proxy_upstream)
        self._ssl = upstream_ssl(config)
        base = urlsplit(self.upstream)
        self._base = f"{base.scheme}://{base.netloc}"
        self._base_path = base.path.rstrip("/")
        self._downstream: dict[int, _Downstream] = {}
        self._transports: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()
        self._by_cookie: dict[str, _Session] = {}
        self._open: dict[str, _Session] = {}
        self._ids = itertools.count(1)
        self._connections = itertools.count(1)
        self._connection_ids: dict[int, int] = {}
        self.forwarded = 0

    # ------------------------------------------------------------------ lifecycle
    async def stop(self) -> None:
        """Close the upstream connections; sessions in flight end as "aborted"."""
        for session in list(self._open.values()):
            self._end(session, SessionOutcome.ABORTED, "the proxy stopped")
        for down in self._downstream.values():
            await down.client.close()
        self._downstream.clear()

    def _client(self) -> aiohttp.ClientSession:
        connector = aiohttp.TCPConnector(limit=1, ssl=self._ssl if self._ssl else True)
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10,
                                        sock_read=max(30.0, self.config.session_timeout_ms / 1000))
        return aiohttp.ClientSession(
            connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar(),
            auto_decompress=False, skip_auto_headers=("User-Agent", "Accept",
                                                      "Accept-Encoding", "Content-Type"))

    async def _sweep(self) -> None:
        """Close upstream connections of CPE connections that are gone; time out sessions."""
        for key in [k for k in self._downstream if k not in self._transports]:
            down = self._downstream.pop(key)
            self._connection_ids.pop(key, None)
            await down.client.close()
        now = now_ms()
        for session in list(self._open.values()):
            if now - session.last_activity_ms > self.config.session_timeout_ms:
                self._end(session, SessionOutcome.TIMEOUT, "no message within the session timeout")

    # ------------------------------------------------------------------ sessions
    def _session_for(self, connection: int, remote: str, cookies: set[str],
                     decoded: rpc.Message | None, down: _Downstream, at: float) -> _Session:
        found = next((self._by_cookie[c] for c in cookies if c in self._by_cookie), None)
        if found is None:
            found = down.session
        current: _Session
        if isinstance(decoded, rpc.Inform):
            retry = (found is not None and not found.ended and found.last_status == 401
                     and found.connection == connection)
            if found is not None and retry:
                current = found
            else:
                if found is not None and not found.ended:
                    self._end(found, SessionOutcome.ABORTED, "a new Inform started another session")
                d = decoded.device_id
                current = self._new(make_device_id(d.oui, d.product_class, d.serial_number),
                                    connection, remote, at)
                self.bus.publish(SessionStarted(current.session_id, current.device_id, to_ms(at),
                                                remote, tuple(e.code for e in decoded.events),
                                                ""))
        elif found is None or found.ended:
            current = self._new(UNKNOWN_DEVICE, connection, remote, at)
        else:
            current = found
        down.session = current
        for cookie in cookies:
            self._by_cookie[cookie] = current
        return current

    def _new(self, device_id: str, connection: int, remote: str, at: float) -> _Session:
        session = _Session(f"proxy-{int(at * 1000):x}-{next(self._ids)}", device_id,
                           connection, remote, at)
        self._open[session.session_id] = session
        return session

    def _publish(self, session: _Session, message: Message) -> None:
        session.last_activity_ms = now_ms()
        self.bus.publish(WireMessage(
            session.session_id, session.device_id, Direction(message.direction), to_ms(message.at),
            message.rpc,
            message.cwmp_id, message.status, mask_headers(message.headers), message.body,
            session.remote))
        if message.direction == "out" and message.rpc and rpc.BY_METHOD.get(message.rpc) \
                is not None and rpc.BY_METHOD[message.rpc].ACS_REQUEST:
            session.rpc_count += 1
        for step in session.tracker.feed(session.count, message):
            self.bus.publish(SessionStateChanged(session.session_id, session.device_id,
                                                 step.old, step.new, to_ms(message.at),
                                                 step.reason))
            if step.new == "END":
                self._end(session, SessionOutcome.OK, "")
            elif step.new == "FAULTED":
                self._end(session, SessionOutcome.FAULT, step.reason)
        session.count += 1

    def _end(self, session: _Session, outcome: SessionOutcome, detail: str) -> None:
        if session.ended:
            return
        session.ended = True
        self._open.pop(session.session_id, None)
        self._by_cookie = {k: v for k, v in self._by_cookie.items() if v is not session}
        self.bus.publish(SessionEnded(session.session_id, session.device_id, now_ms(),
                                      outcome, detail, session.rpc_count))

    # ------------------------------------------------------------------ forwarding
    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Forward one CPE request and its answer (the aiohttp handler of the CWMP port)."""
        await self._sweep()
        transport = request.transport
        key = id(transport)
        if transport is not None:
            self._transports[key] = transport
        connection = self._connection_ids.setdefault(key, next(self._connections))
        down = self._downstream.get(key)
        if down is None:
            down = self._downstream[key] = _Downstream(self._client())
        body = await request.read()
        at = time.time()
        peer = transport.get_extra_info("peername") if transport is not None else None
        remote = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else ""
        method, cwmp_id, decoded, _ = sniff(body)
        cookies = cookie_pairs(request.headers.getall("Cookie", []))
        session = self._session_for(connection, remote, cookies, decoded, down, at)
        self._publish(session, Message(at, "in", method, cwmp_id, None,
                                       tuple(request.headers.items()), body))
        headers = CIMultiDict((k, v) for k, v in request.headers.items()
                              if k.lower() not in HOP_BY_HOP | _LENGTH | {"host"})
        target = self._base + self._base_path + request.rel_url.raw_path_qs
        try:
            async with down.client.request(request.method, target, data=body, headers=headers,
                                           allow_redirects=False) as upstream:
                answer = await upstream.read()
                status, reason = upstream.status, upstream.reason
                back = [(k, v) for k, v in upstream.headers.items()
                        if k.lower() not in HOP_BY_HOP | _LENGTH]
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            text = f"upstream ACS {self.upstream} unreachable: {exc or type(exc).__name__}"
            log.warning("%s", text)
            self.bus.publish(EngineNotice(now_ms(), NoticeLevel.WARNING, text))
            self._end(session, SessionOutcome.ERROR, text)
            self._publish(session, Message(time.time(), "out", "", None, 502,
                                           (("Content-Type", "text/plain"),), text.encode()))
            return web.Response(status=502, text=text)
        self.forwarded += 1
        out_method, out_id, _, _ = sniff(answer)
        session.last_status = status
        if status >= 500 or (status >= 400 and status != 401):
            self._end(session, SessionOutcome.ERROR, f"the upstream ACS answered HTTP {status}")
        for cookie in set_cookie_pairs(back):
            self._by_cookie[cookie] = session
        await self._hold(session, status, out_method, answer)
        self._publish(session, Message(time.time(), "out", out_method, out_id, status,
                                       tuple(back), answer))
        response = web.Response(status=status, reason=reason, body=answer,
                                headers=CIMultiDict(back))
        return response


    async def _hold(self, session: _Session, status: int, method: str, answer: bytes) -> None:
        """In step mode, hold an ACS request (or the session's end) for the technician."""
        gate = self._handler() if self._handler is not None else None
        if not isinstance(gate, StepGate) or not gate.is_enabled(session.device_id):
            return
        cls = rpc.BY_METHOD.get(method)
        ending = status in (200, 204) and not answer.strip()
        if not ending and (status != 200 or cls is None or not cls.ACS_REQUEST):
            return
        held: rpc.Message | None = None
        if not ending:
            _, _, held, _ = sniff(answer)
        timeout_ms = self.config.session_timeout_ms
        margin_ms = to_ms(gate.margin_for(timeout_ms / 1000))
        deadline_ms = now_ms() + max(0, timeout_ms - margin_ms)
        await gate.hold_external(session.session_id, session.device_id, held, deadline_ms)
