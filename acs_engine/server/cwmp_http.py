"""The CWMP endpoint: HTTP POSTs from CPEs in, sessions found and driven, replies out.

Leniency (DESIGN.md): any Content-Type, cookies with attributes or comma separators, no cookie
at all (the TCP connection finds the session), a stale cookie on a new Inform (a new Inform
always starts a new session), gzip/deflate bodies. Strictness: bodies over the limit get 413,
malformed XML 400 with the reason (and the connection's session ends cleanly), a device already
in session 503 with Retry-After. New sessions pass :class:`~acs_engine.server.admission.Admission`:
a boot storm waits briefly in a queue; only past ``admission_wait_ms`` (or over the caps on live
sessions and on queued bytes) does a CPE get 503 with ``Connection: close`` and a Retry-After
that grows with the load (:class:`RetryPacer`), so a burst spreads out.

Before authentication every step is linear in the body (see :mod:`acs_engine.server.body`);
large bodies are decoded and parsed off the event loop. A CPE's cwmp:SessionTimeout is clamped
to ``session_timeout_min_ms``..``session_timeout_max_ms``; a session that times out is forgotten and
its connection closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from aiohttp import web

from acs_engine import __version__, clock
from acs_engine.bus import EventBus, RequestRejected
from acs_engine.config import EngineConfig
from acs_engine.cwmp import codec, faults, rpc
from acs_engine.cwmp.envelope import Envelope
from acs_engine.kinds import Direction, SessionOutcome
from acs_engine.server.admission import Admission, Refused, RetryPacer
from acs_engine.server.auth import CpeAuthenticator
from acs_engine.server.body import OFFLOAD_BYTES, BodyError, decode_body
from acs_engine.session.driver import SessionDriver
from acs_engine.session.handler import Handler
from acs_engine.session.machine import RemoteProtocolError, State
from acs_engine.session.session import Reply, Session
from acs_engine.store.db import Store
from acs_engine.store.deviceid import make_device_id
from acs_engine.store.model import DeviceRecord

log = logging.getLogger("fieldacs.server")
_T = TypeVar("_T")

XML_CONTENT_TYPE = 'text/xml; charset="utf-8"'
SERVER_HEADER = f"FieldACS/{__version__}"
_COOKIE_RE = re.compile(r'(?:^|[;,]\s*)session\s*=\s*"?([0-9A-Za-z]+)"?')
#: How long a session that told its CPE to hold requests stays open after the ACS's 204.
LINGER_SECONDS = 3.0
_DIGEST_RESPONSE_RE = re.compile(r'(response\s*=\s*"?)[0-9A-Fa-f]*')


def session_cookie(request: web.Request) -> str | None:
    """The ``session`` cookie's value, however the CPE formatted its Cookie header(s)."""
    for header in request.headers.getall("Cookie", []):
        match = _COOKIE_RE.search(header)
        if match:
            return match.group(1)
    return None


def _trace_headers(request: web.Request) -> tuple[tuple[str, str], ...]:
    """The request's headers for the wire trace, credentials masked."""
    out: list[tuple[str, str]] = []
    for name, value in request.headers.items():
        if name.lower() in ("authorization", "proxy-authorization"):
            scheme = value.strip().split(" ", 1)[0]
            if scheme.lower() == "digest":
                value = _DIGEST_RESPONSE_RE.sub(r"\1********", value)
            else:
                value = f"{scheme} ********"
        out.append((name, value))
    return tuple(out)


def _local_host(request: web.Request) -> str:
    """Our address on the CPE's connection (what a URL we give it should use)."""
    transport = request.transport
    sockname = transport.get_extra_info("sockname") if transport is not None else None
    if isinstance(sockname, tuple) and sockname:
        return str(sockname[0])
    return (request.host or "").rsplit(":", 1)[0]


class CwmpServer:
    """Owns the live sessions and serves the CWMP endpoint.

    Sessions are found by their cookie first, then by the TCP connection they came on. One
    device has at most one live session.
    """

    def __init__(
        self, config: EngineConfig, store: Store, handler: Handler, bus: EventBus
    ) -> None:
        self.config = config
        self.store = store
        self.handler = handler
        self.bus = bus
        self.sessions: dict[str, Session] = {}
        #: The I/O of each live session (the store, its handler, the bus).
        self._drivers: dict[str, SessionDriver] = {}
        self._by_device: dict[str, Session] = {}
        self._by_transport: dict[Any, Session] = {}
        self._transport_of: dict[str, Any] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._finishing: dict[str, asyncio.Future[None]] = {}
        #: The gate new sessions wait at (boot storm queue, live-session cap).
        self.admission = Admission(config, self.active_session_count)
        #: Sessions ended because their CPE went silent (since start).
        self.timed_out = 0
        self._body_thread: ThreadPoolExecutor | None = None
        #: Retry-After for the CPEs refused while too many sessions are starting.
        self.pacer = RetryPacer(config.max_concurrent_new_sessions)
        #: CPE authentication (off unless configured).
        self.auth = CpeAuthenticator(config, bus)
        self._watchdog: asyncio.Task[None] | None = None
        self.completed = 0

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        """Start the session-timeout watchdog on the running loop."""
        if self._watchdog is None:
            self._watchdog = asyncio.get_running_loop().create_task(self._watch_timeouts())

    async def stop(self) -> None:
        """Stop the watchdog and end every live session (its record and trace are kept)."""
        if self._watchdog is not None:
            self._watchdog.cancel()
            # RuntimeError: a GUI toolkit may have resumed the task outside the loop while
            # it was being torn down (seen with pytest-qt); the watchdog is gone either way.
            with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                await self._watchdog
            self._watchdog = None
        for session in list(self.sessions.values()):
            if session.state is State.COMMIT:
                await self._finish(session)
            else:
                await self._end(session, SessionOutcome.ABORTED, "the ACS was stopped")
        if self._body_thread is not None:
            self._body_thread.shutdown(wait=False, cancel_futures=True)
            self._body_thread = None

    def active_session_count(self) -> int:
        return len(self.sessions)

    @property
    def new_in_flight(self) -> int:
        """Informs admitted and not yet answered."""
        return self.admission.in_flight

    def replace_auth(self, auth: CpeAuthenticator) -> None:
        """Authenticate with ``auth`` from now on (the settings changed while running).

        The sessions in flight finish under the rules they started with: their connections
        stay accepted for their device. Their next sessions meet the new rules.
        """
        in_flight = [
            (transport, self.sessions[sid].device_id)
            for sid, transport in self._transport_of.items() if sid in self.sessions
        ]
        auth.carry_over(self.auth, in_flight)
        self.auth = auth

    def session_of_device(self, device_id: str) -> Session | None:
        return self._by_device.get(device_id)

    async def _watch_timeouts(self) -> None:
        while True:
            await asyncio.sleep(0.25)
            try:
                await self._expire_sessions()
            except Exception:  # one bad session must not stop the watchdog
                log.exception("session watchdog failed; going on")

    async def _expire_sessions(self) -> None:
        """End sessions whose CPE went silent; commit lingering sessions that are due."""
        now = clock.now_ms()
        for session in list(self.sessions.values()):
            if session.linger_until_ms is not None and session.state is State.COMMIT:
                if now >= session.linger_until_ms:
                    await self._finish(session)
            elif now - session.last_activity_ms > session.timeout_ms and not self._busy(session):
                # Only CPE silence counts: a session whose request we are still working
                # on (a slow provision, a busy store) is not timed out under it.
                log.info("session %s of %s timed out", session.id, session.device_id)
                transport = self._transport_of.get(session.id)
                self.timed_out += 1
                await self._end(
                    session, SessionOutcome.TIMEOUT, f"no message from the CPE for {session.timeout_ms / 1000:g} s"
                )
                if transport is not None:  # the silent CPE's socket goes too
                    transport.close()

    def _busy(self, session: Session) -> bool:
        lock = self._locks.get(session.id)
        return lock is not None and lock.locked()

    # ------------------------------------------------------------------ bookkeeping
    def _register(self, session: Session, transport: Any) -> None:
        self.sessions[session.id] = session
        self._by_device[session.device_id] = session
        self._locks[session.id] = asyncio.Lock()
        if transport is not None:
            self._by_transport[transport] = session
            self._transport_of[session.id] = transport

    def _driver(self, session: Session) -> SessionDriver:
        """The driver doing ``session``'s I/O (a session already forgotten gets a new one,
        for the messages still recorded after its end)."""
        driver = self._drivers.get(session.id)
        if driver is None:
            driver = SessionDriver(session, self.store, self.handler, self.bus)
        return driver

    def _forget(self, session: Session) -> None:
        self.sessions.pop(session.id, None)
        self._drivers.pop(session.id, None)
        self._locks.pop(session.id, None)
        if self._by_device.get(session.device_id) is session:
            del self._by_device[session.device_id]
        transport = self._transport_of.pop(session.id, None)
        if transport is not None and self._by_transport.get(transport) is session:
            del self._by_transport[transport]
        self.admission.pump()  # a session slot is free

    async def _end(self, session: Session, outcome: SessionOutcome, detail: str) -> None:
        driver = self._driver(session)
        self._forget(session)
        await driver.abort(outcome, detail)

    async def _finish(self, session: Session) -> None:
        """Commit a session the ACS has ended (answered 204) and let its device go.

        Several callers may finish the same session at once (the watchdog ending a lingering
        session while the device's next Inform arrives): they all wait for one commit.
        """
        session.linger_until_ms = None
        task = self._finishing.get(session.id)
        if task is None:
            if session.finished:
                return
            task = asyncio.ensure_future(self._commit_and_forget(session))
            self._finishing[session.id] = task
            task.add_done_callback(lambda _: self._finishing.pop(session.id, None))
        await asyncio.shield(task)

    async def _commit_and_forget(self, session: Session) -> None:
        await self._driver(session).commit()
        self._forget(session)
        self.completed += 1

    def _find(self, request: web.Request) -> Session | None:
        cookie = session_cookie(request)
        if cookie is not None and cookie in self.sessions:
            return self.sessions[cookie]
        session = self._by_transport.get(request.transport)
        if session is not None:
            return session
        return None

    def _reject(
        self, request: web.Request, status: int, reason: str, *, device_id: str = "",
        headers: dict[str, str] | None = None,
    ) -> web.Response:
        self.bus.publish(RequestRejected(clock.now_ms(), request.remote or "", status, reason, device_id))
        log.info("rejected %s from %s: %s", status, request.remote, reason)
        response = web.Response(
            status=status,
            text=reason + "\n",
            headers={"Server": SERVER_HEADER, **(headers or {})},
        )
        if (status >= 400 and status != 503) or (headers or {}).get("Connection") == "close":
            response.force_close()
        return response

    # ------------------------------------------------------------------ the endpoint
    async def handle(self, request: web.Request) -> web.StreamResponse:
        """aiohttp handler for every request to the CWMP endpoint."""
        if request.method != "POST":
            return self._reject(request, 405, "only POST is accepted", headers={"Allow": "POST"})
        session = self._find(request)
        try:
            raw = await self._read_body(request)
            args = (
                raw, request.headers.get("Content-Encoding", "identity"),
                request.headers.get("Content-Type", ""), self.config.max_body_bytes,
            )
            large = len(raw) > OFFLOAD_BYTES
            body = await self._off_loop(decode_body, *args) if large else decode_body(*args)
        except BodyError as exc:
            if session is not None:
                await self._end(session, SessionOutcome.ERROR, exc.reason)
            return self._reject(request, exc.status, exc.reason)
        try:
            # lxml lets go of the GIL while it parses: a large body does not stall the loop.
            if len(body) > OFFLOAD_BYTES:
                envelope = await self._off_loop(codec.parse, body)
            else:
                envelope = codec.parse(body)
        except codec.UnknownMethodError as exc:
            if session is None:
                return self._reject(request, 400, str(exc))
            return await self._unknown_method(request, session, body, exc)
        except codec.CwmpParseError as exc:
            reason = f"malformed SOAP message: {exc}"
            if session is not None:
                self._driver(session).record(
                    Direction.IN, rpc_name="?", cwmp_id=None, status=None,
                    headers=_trace_headers(request), body=body,
                )
                await self._end(session, SessionOutcome.ERROR, reason)
            return self._reject(
                request, 400, reason, device_id=session.device_id if session else ""
            )
        if envelope is not None and isinstance(envelope.message, rpc.Inform):
            return await self._inform(request, envelope, body, session)
        if session is None:
            return self._reject(
                request, 400, "no session: a CWMP session starts with an Inform"
            )
        if self.auth.enabled:  # a session continued on another connection authenticates again
            denied = await self.auth.check(
                request, body, device=session.device,
                load_params=lambda: self.store.load_params(session.device_id),
            )
            if denied is not None:
                denied.headers["Server"] = SERVER_HEADER
                return denied
        lock = self._locks.get(session.id)
        if lock is None:  # ended while we read the body
            return self._reject(request, 400, "the session has ended")
        async with lock:
            if session.finished:
                return self._reject(request, 400, "the session has ended")
            self._driver(session).record(
                Direction.IN,
                rpc_name=envelope.message.METHOD if envelope else "",
                cwmp_id=envelope.cwmp_id if envelope else None,
                status=None,
                headers=_trace_headers(request),
                body=body,
            )
            try:
                reply = await self._driver(session).handle(envelope)
            except RemoteProtocolError as exc:
                return await self._protocol_violation(request, session, exc)
            except Exception as exc:
                log.exception("session %s failed", session.id)
                await self._end(session, SessionOutcome.ERROR, f"internal error: {exc}")
                return self._reject(request, 500, "internal error; the session was ended")
            return await self._send(session, reply)

    async def _protocol_violation(
        self, request: web.Request, session: Session, exc: RemoteProtocolError
    ) -> web.StreamResponse:
        """The CPE broke the session's rules: a one-line log, the session ended, a 400."""
        reason = f"protocol violation: {exc}"
        await self._end(session, SessionOutcome.ERROR, reason)
        return self._reject(request, 400, reason, device_id=session.device_id)

    async def _off_loop(self, func: Callable[..., _T], *args: Any) -> _T:
        """``func(*args)`` on the body thread: one thread, so large bodies are worked on
        one at a time (bounded CPU and memory) while the loop goes on."""
        if self._body_thread is None:
            self._body_thread = ThreadPoolExecutor(1, thread_name_prefix="fieldacs-body")
        return await asyncio.get_running_loop().run_in_executor(self._body_thread, func, *args)

    async def _read_body(self, request: web.Request) -> bytes:
        limit = self.config.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            raise BodyError(413, f"body of {request.content_length} bytes is over the {limit}-byte limit")
        data = bytearray()
        try:
            async with asyncio.timeout(self.config.body_timeout_ms / 1000):
                async for chunk in request.content.iter_chunked(65536):
                    data += chunk
                    if len(data) > limit:
                        raise BodyError(413, f"body is over the {limit}-byte limit")
        except TimeoutError:
            raise BodyError(
                408, f"body not received within {self.config.body_timeout_ms / 1000:g} s"
            ) from None
        return bytes(data)

    async def _unknown_method(
        self, request: web.Request, session: Session, body: bytes, exc: codec.UnknownMethodError
    ) -> web.StreamResponse:
        self._driver(session).record(
            Direction.IN, rpc_name=exc.method, cwmp_id=exc.cwmp_id, status=None,
            headers=_trace_headers(request), body=body,
        )
        fault = faults.make_fault(8000, f"method {exc.method!r} is not supported")
        return await self._send(session, Reply(200, session.envelope(fault, exc.cwmp_id)))

    async def _inform(
        self, request: web.Request, envelope: Envelope, body: bytes, current: Session | None
    ) -> web.StreamResponse:
        inform = envelope.message
        assert isinstance(inform, rpc.Inform)
        if self.auth.enabled:
            denied = await self._authenticate_inform(request, inform, body)
            if denied is not None:
                return denied
        if current is not None:  # a new Inform always starts a new session
            if current.state is State.COMMIT:
                await self._finish(current)
            else:
                await self._end(current, SessionOutcome.ABORTED, "the CPE started a new session")
        try:
            namespace, use_version = codec.negotiate(envelope)
        except codec.VersionMismatch as exc:
            fault = faults.make_fault(8006, str(exc))
            out = codec.serialize(Envelope(fault, envelope.cwmp_id, envelope.namespace))
            return web.Response(status=200, body=out, headers=self._xml_headers())
        ident = inform.device_id
        device_id = make_device_id(ident.oui, ident.product_class, ident.serial_number)
        busy = self._by_device.get(device_id)
        if busy is not None and busy.state is State.COMMIT:
            await self._finish(busy)  # it was only lingering
            busy = None
        if busy is not None:
            return self._reject(
                request, 503, f"device {device_id} is already in a session",
                device_id=device_id,
                headers={"Retry-After": str(self.config.busy_retry_after_s)},
            )
        try:
            await self.admission.enter(len(body))
        except Refused as exc:
            # Close the connection: a refused CPE must not hold one of our sockets open.
            retry_after = self.pacer.refused(self.config.max_concurrent_new_sessions)
            return self._reject(
                request, 503, f"{exc.reason}; retry in {retry_after} s", device_id=device_id,
                headers={"Retry-After": str(retry_after), "Connection": "close"},
            )
        began = time.monotonic()
        try:
            transport = request.transport
            if transport is None or transport.is_closing():  # the CPE gave up waiting
                return self._reject(request, 400, "the CPE closed the connection")
            device = await self.store.get_device(device_id)
            created = device is None
            if device is None:
                device = DeviceRecord(
                    id=device_id,
                    manufacturer=ident.manufacturer,
                    oui=ident.oui,
                    product_class=ident.product_class,
                    serial_number=ident.serial_number,
                    registered_ms=clock.now_ms(),
                )
            else:
                device.manufacturer = ident.manufacturer or device.manufacturer
            if self._by_device.get(device_id) is not None:  # raced with another Inform
                return self._reject(
                    request, 503, f"device {device_id} is already in a session",
                    device_id=device_id,
                    headers={"Retry-After": str(self.config.busy_retry_after_s)},
                )
            session = Session(
                session_id=secrets.token_hex(8),
                inform_envelope=envelope,
                device=device,
                created=created,
                namespace=namespace,
                cwmp_version=codec.detect_version(envelope),
                use_cwmp_version=use_version,
                load_tree=lambda: self.store.load_params(device_id),
                config=self.config,
                remote=request.remote or "",
                local_host=_local_host(request),
                secure=request.secure,
            )
            if envelope.session_timeout is not None:  # the CPE's own value, within bounds
                session.timeout_ms = min(
                    max(session.timeout_ms, self.config.session_timeout_min_ms),
                    self.config.session_timeout_max_ms,
                )
            self._drivers[session.id] = SessionDriver(session, self.store, self.handler, self.bus)
            self._register(session, request.transport)
            async with self._locks[session.id]:
                self._driver(session).record(
                    Direction.IN, rpc_name="Inform", cwmp_id=envelope.cwmp_id, status=None,
                    headers=_trace_headers(request), body=body,
                )
                try:
                    reply = await self._driver(session).start()
                except RemoteProtocolError as exc:
                    return await self._protocol_violation(request, session, exc)
                except Exception as exc:
                    log.exception("session %s: Inform failed", session.id)
                    await self._end(session, SessionOutcome.ERROR, f"internal error: {exc}")
                    return self._reject(request, 500, "internal error; the session was ended")
                return await self._send(session, reply, cookie=session.id)
        finally:
            self.admission.leave()
            self.pacer.inform_took(time.monotonic() - began)

    async def _authenticate_inform(
        self, request: web.Request, inform: rpc.Inform, body: bytes
    ) -> web.Response | None:
        """None when the Inform's credentials are good (or not needed), else the 401."""
        ident = inform.device_id
        device_id = make_device_id(ident.oui, ident.product_class, ident.serial_number)
        device = await self.store.get_device(device_id)
        if device is None:
            device = DeviceRecord(
                id=device_id, manufacturer=ident.manufacturer, oui=ident.oui,
                product_class=ident.product_class, serial_number=ident.serial_number,
                registered_ms=clock.now_ms(),
            )
        denied = await self.auth.check(
            request, body, device=device,
            load_params=lambda: self.store.load_params(device_id),
        )
        if denied is not None:
            denied.headers["Server"] = SERVER_HEADER
        return denied

    def _xml_headers(self) -> dict[str, str]:
        return {"Content-Type": XML_CONTENT_TYPE, "Server": SERVER_HEADER}

    async def _send(
        self, session: Session, reply: Reply, *, cookie: str | None = None
    ) -> web.StreamResponse:
        session.last_activity_ms = clock.now_ms()  # the CPE's silence is counted from our reply
        headers: dict[str, str] = {"Server": SERVER_HEADER}
        body = b""
        if reply.envelope is not None:
            body = codec.serialize(reply.envelope)
            headers["Content-Type"] = XML_CONTENT_TYPE
        if cookie is not None:
            headers["Set-Cookie"] = f"session={cookie}; Path=/"
        self._driver(session).record(
            Direction.OUT,
            rpc_name=reply.envelope.message.METHOD if reply.envelope else "",
            cwmp_id=reply.envelope.cwmp_id if reply.envelope else None,
            status=reply.status,
            headers=tuple(headers.items()),
            body=body,
        )
        if reply.envelope is None and session.state is State.COMMIT:
            if session.hold_requests_ever and not session.lingered:
                # The CPE may still send the requests it held back: wait a moment.
                session.lingered = True
                session.linger_until_ms = clock.now_ms() + clock.to_ms(LINGER_SECONDS)
            else:
                await self._finish(session)
        response = web.Response(status=reply.status, body=body or None, headers=headers)
        if reply.close:
            response.force_close()
        return response
