"""The CPE side of CWMP sessions over real HTTP: :class:`SimCpe` drives one :class:`SimDevice`.

A session is: POST Inform (answering 401 challenges and following 3xx redirects), the CPE's own
requests (TransferComplete) unless the ACS holds them, an empty POST, then each ACS request
answered in the next POST until the ACS replies with an empty body. Cookies set by the ACS are
sent back for the rest of that session only; the whole session uses one TCP connection.

An ACS that answers the Inform with 503 is busy, not broken: like a real CPE the simulator
then waits for its Retry-After (capped at ``SimOptions.busy_retry_cap``, with jitter) and
tries again. Such a session is *refused*, counted apart from failed ones.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Literal
from urllib.parse import urljoin, urlsplit

import aiohttp

from acs_engine.cwmp import rpc
from acs_engine.cwmp.codec import CwmpParseError, UnknownMethodError, parse, serialize
from acs_engine.cwmp.envelope import NS_CWMP_1_0, NS_CWMP_1_2, Envelope
from acs_engine.cwmp.faults import make_fault
from acs_engine.sim import events as ev
from acs_engine.sim.auth import ClientAuth
from acs_engine.sim.device import PendingTransfer, SimDevice
from acs_engine.sim.transfer import perform_transfer

log = logging.getLogger("fieldacs.sim")

Direction = Literal["cpe->acs", "acs->cpe"]
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class SimMessage:
    """One HTTP message of a session.

    Attributes:
        direction: ``"cpe->acs"`` (a POST) or ``"acs->cpe"`` (its response).
        status: the HTTP status of a response; None for a POST.
        rpc: the CWMP method in the body (``"Inform"``, ``"Fault"``), ``""`` for an empty body.
    """

    direction: Direction
    status: int | None
    rpc: str


@dataclass(slots=True)
class SessionResult:
    """The outcome of one session.

    Attributes:
        ok: the session ended normally (the ACS sent an empty response).
        events: the event codes the Inform carried.
        trace: every HTTP message, in order.
        rpcs_answered: ACS requests answered (responses and faults).
        error: why the session failed.
        vanished: the CPE dropped the session on purpose (``vanish_after``).
        duration: seconds from the first POST to the end.
        cwmp_version: the version the ACS chose (``UseCWMPVersion``), if any.
        refused: the ACS answered the Inform with 503 (busy); the session never started.
        retry_after: the ACS's Retry-After on that 503, seconds (None: none given).
        inform_seconds: from sending the Inform to its answer (the ACS's queue included).
    """

    ok: bool = False
    events: tuple[str, ...] = ()
    trace: list[SimMessage] = field(default_factory=list)
    rpcs_answered: int = 0
    error: str | None = None
    vanished: bool = False
    duration: float = 0.0
    cwmp_version: str | None = None
    refused: bool = False
    retry_after: float | None = None
    inform_seconds: float = 0.0


class SessionError(Exception):
    """A session that cannot go on (HTTP error, bad reply, authentication failure)."""


class AcsBusy(SessionError):
    """The ACS answered the Inform with 503; ``retry_after`` is its Retry-After (seconds)."""

    def __init__(self, retry_after: float | None) -> None:
        after = f"; Retry-After {retry_after:g} s" if retry_after is not None else ""
        super().__init__(f"HTTP 503 from the ACS{after}")
        self.retry_after = retry_after


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None if unusable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class _Vanish(Exception):
    """Internal: the configured vanish point was reached."""


def retry_wait(n: int, m: float = 5.0, k: float = 2.0, rng: random.Random | None = None) -> float:
    """The TR-069 session-retry wait before the ``n``-th retry (n >= 1).

    A random time in ``[m * k**(n-1), m * k**n]``; the range stops growing from the 10th retry.
    """
    n = min(max(n, 1), 10)
    low, high = m * k ** (n - 1), m * k**n
    return (rng or random).uniform(low, high)


def _inform_headers(version: str) -> tuple[str, tuple[str, ...], int | None]:
    if version == "1.4":
        return NS_CWMP_1_2, ("1.0", "1.1", "1.2", "1.3", "1.4"), 30
    if version == "1.2":
        return NS_CWMP_1_2, (), None
    return NS_CWMP_1_0, (), None


class SimCpe:
    """Runs the sessions of one simulated CPE against an ACS.

    Args:
        device: the CPE's state.
        acs_url: the ACS URL (the ``{acs_url}`` of the device's ``ManagementServer.URL``);
            None keeps the device's own.
        retry_delay: ``f(n) -> seconds`` before the n-th retry (tests); default TR-069 backoff.
        rng: random source for the backoff.
        history: how many session results to keep in :attr:`results`.
    """

    def __init__(
        self,
        device: SimDevice,
        acs_url: str | None = None,
        *,
        retry_delay: Callable[[int], float] | None = None,
        rng: random.Random | None = None,
        history: int = 20,
    ) -> None:
        self.device = device
        if acs_url:
            device.context["acs_url"] = acs_url
        self._retry_delay = retry_delay
        self._rng = rng or random.Random()
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self.retry_count = 0
        self.results: deque[SessionResult] = deque(maxlen=history)
        self.sessions_ok = 0
        self.sessions_failed = 0
        #: Sessions the ACS refused with 503 at the Inform (it was busy).
        self.sessions_refused = 0
        self.rpcs_answered = 0

    # ------------------------------------------------------------------ triggers
    @property
    def acs_url(self) -> str:
        """Where sessions go: ``ManagementServer.URL`` (the ACS may change it)."""
        return self.device.acs_url

    @acs_url.setter
    def acs_url(self, url: str) -> None:
        self.device.context["acs_url"] = url

    @property
    def busy(self) -> bool:
        """True while a session runs."""
        return self._lock.locked()

    def connection_request(self) -> None:
        """A connection request was accepted: a session with ``6 CONNECTION REQUEST`` follows
        (after the running one, if any)."""
        self.device.add_event(ev.CONNECTION_REQUEST)
        self._wake.set()

    def wake(self) -> None:
        """Make :meth:`run` look at the device again (after a change made from outside)."""
        self._wake.set()

    def next_retry_delay(self) -> float:
        """Seconds to wait before the next retry, for the current :attr:`retry_count`."""
        if self._retry_delay is not None:
            return self._retry_delay(self.retry_count)
        m, k = self.device.retry_parameters
        return retry_wait(self.retry_count, m, k, self._rng)

    def busy_wait(self, retry_after: float | None) -> float:
        """Seconds to wait after a 503: the ACS's Retry-After, at most
        ``busy_retry_cap``, plus up to a quarter more of jitter (so refused CPEs do not
        come back together); the TR-069 backoff when the ACS gave none."""
        if retry_after is None:
            return min(self.device.options.busy_retry_cap, self.next_retry_delay())
        base = min(self.device.options.busy_retry_cap, max(0.0, retry_after))
        return base * self._rng.uniform(1.0, 1.25)

    async def session_until_admitted(
        self, gate: asyncio.Semaphore | None = None
    ) -> SessionResult:
        """Run one session; while the ACS refuses it with 503, wait (:meth:`busy_wait`) and
        try again, at most ``busy_retries`` times. Returns the last attempt's result.

        Args:
            gate: held while each attempt runs (not while waiting), to bound how many
                sessions of a fleet run at once.
        """
        result = await self._attempt(gate)
        tries = 0
        while result.refused and tries < self.device.options.busy_retries:
            tries += 1
            await asyncio.sleep(self.busy_wait(result.retry_after))
            result = await self._attempt(gate)
        return result

    async def _attempt(self, gate: asyncio.Semaphore | None) -> SessionResult:
        if gate is None:
            return await self.session()
        async with gate:
            return await self.session()

    # ------------------------------------------------------------------ the loop
    async def run(self) -> None:
        """Run sessions until cancelled: when events are due, periodically, with retry backoff.

        A fresh device starts with its bootstrap session right away. If the last session
        (e.g. one run by :meth:`session` before) failed, the TR-069 backoff applies first.
        """
        dev = self.device
        interval = dev.periodic_interval
        next_periodic = time.monotonic() + interval if interval else None
        retry_at: float | None = None
        if self.results and not self.results[-1].ok:
            retry_at = time.monotonic() + self.next_retry_delay()
        while True:
            for transfer in dev.run_timers():
                await self._transfer(transfer)
            now = time.monotonic()
            interval = dev.periodic_interval
            if interval is None:
                next_periodic = None
            elif next_periodic is None or next_periodic > now + interval:
                next_periodic = now + interval
            if next_periodic is not None and now >= next_periodic:
                dev.add_event(ev.PERIODIC)
                next_periodic = now + (interval or 0)
            if dev.session_due() and (retry_at is None or now >= retry_at):
                result = await self.session()
                if result.ok:
                    retry_at = None
                elif result.refused:  # busy, not broken: come back when it says
                    retry_at = time.monotonic() + self.busy_wait(result.retry_after)
                else:
                    retry_at = time.monotonic() + self.next_retry_delay()
                continue
            deadlines = [t for t in (next_periodic, retry_at) if t is not None]
            timer = dev.next_timer()
            if timer is not None:
                deadlines.append(now + max(0.0, timer - dev.clock()))
            timeout = max(0.0, min(deadlines) - now) if deadlines else None
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout)
                retry_at = None  # a new event: retry right away
            except TimeoutError:
                pass

    async def _transfer(self, transfer: PendingTransfer) -> None:
        fault: rpc.FaultStruct | None = None
        if self.device.options.real_transfers:
            fault = await perform_transfer(self.device, transfer)
        self.device.complete_transfer(transfer, fault)

    # ------------------------------------------------------------------ one session
    async def session(self) -> SessionResult:
        """Run one session now with the device's pending events; never raises."""
        async with self._lock:
            result = SessionResult()
            start = time.monotonic()
            dev = self.device
            inform = dev.make_inform(self.retry_count)
            result.events = tuple(e.code for e in inform.events)
            try:
                await self._session(inform, result)
                result.ok = True
            except _Vanish:
                result.vanished = True
                result.error = "vanished on purpose"
            except AcsBusy as exc:
                result.refused = True
                result.retry_after = exc.retry_after
                result.error = str(exc)
            except SessionError as exc:
                result.error = str(exc)
            except (aiohttp.ClientError, TimeoutError, OSError) as exc:
                result.error = f"{type(exc).__name__}: {exc}".rstrip(": ")
            result.duration = time.monotonic() - start
            dev.end_session(result.ok)
            if result.ok:
                self.retry_count = 0
                self.sessions_ok += 1
            elif result.refused:
                self.retry_count += 1
                self.sessions_refused += 1
                log.info("%s: the ACS is busy: %s", dev.serial, result.error)
            else:
                self.retry_count += 1
                self.sessions_failed += 1
                log.info("%s: session failed: %s", dev.serial, result.error)
            self.rpcs_answered += result.rpcs_answered
            self.results.append(result)
            return result

    async def _session(self, inform: rpc.Inform, result: SessionResult) -> None:
        dev = self.device
        opts = dev.options
        namespace, supported, session_timeout = _inform_headers(opts.cwmp_version)
        url = self.acs_url
        if not url:
            raise SessionError("no ACS URL")
        user, password = dev.acs_credentials
        auth = ClientAuth(user, password)
        timeout = aiohttp.ClientTimeout(total=opts.http_timeout)
        connector = aiohttp.TCPConnector(limit=1, limit_per_host=1, ssl=opts.ssl_context())
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(
            connector=connector, cookie_jar=jar, timeout=timeout,
            headers={"User-Agent": "FieldACS-SimCPE/1.0"},
        ) as http:
            poster = _Poster(http, url, auth, result, opts.vanish_after)
            inform_env = Envelope(inform, cwmp_id=str(next(_ids)), namespace=namespace,
                                  supported_versions=supported, session_timeout=session_timeout)
            env: Envelope | None = None
            began = time.monotonic()
            for _attempt in range(6):  # 8005 "retry request" on the Inform
                env = await poster.post(inform_env, first=True, max_redirects=opts.max_redirects)
                if not (isinstance(env, Envelope) and isinstance(env.message, rpc.Fault)
                        and env.message.code == 8005):
                    break
            if env is None or not isinstance(env.message, rpc.InformResponse):
                got = "empty body" if env is None else env.message.METHOD
                if env is not None and isinstance(env.message, rpc.Fault):
                    got = f"Fault {env.message.code} {env.message.string}".strip()
                raise SessionError(f"Inform not accepted: {got}")
            namespace = env.namespace
            result.cwmp_version = env.use_cwmp_version
            result.inform_seconds = time.monotonic() - began
            dev.inform_accepted()
            await self._exchange(poster, namespace, bool(env.hold_requests), result)

    async def _exchange(
        self, poster: _Poster, namespace: str, hold: bool, result: SessionResult
    ) -> None:
        dev = self.device
        latency = dev.options.latency
        reply: Envelope | None = None
        given_up = False
        request_retries = 0
        while True:
            request = None if (hold or given_up) else dev.next_request()
            if reply is not None:
                out: Envelope | None = reply
                reply = None
            elif request is not None:
                out = Envelope(request, cwmp_id=str(next(_ids)), namespace=namespace)
            else:
                out = None
                request = None
            if latency > 0:
                await asyncio.sleep(latency)
            sent_request = out is not None and out.message is request
            env = await poster.post(out)
            if env is None:
                if sent_request:
                    raise SessionError(f"ACS ended the session without answering {request}")
                hold = False
                if not given_up and dev.next_request() is not None:
                    continue  # the held requests go now
                return
            hold = bool(env.hold_requests)
            msg = env.message
            if sent_request and request is not None:
                if rpc.RESPONSE_FOR.get(request.METHOD) == msg.METHOD:
                    dev.request_done()
                    request_retries = 0
                    continue
                if isinstance(msg, rpc.Fault):
                    request_retries += 1
                    if msg.code != 8005 or request_retries > 5:
                        given_up = True
                    continue
            if isinstance(msg, _UnknownRequest):
                reply = Envelope(make_fault(9000, f"Method not supported: {msg.method}"),
                                 cwmp_id=env.cwmp_id, namespace=namespace)
                result.rpcs_answered += 1
            elif msg.ACS_REQUEST:
                reply = Envelope(dev.handle(msg), cwmp_id=env.cwmp_id, namespace=namespace)
                result.rpcs_answered += 1
            else:
                log.warning("%s: unexpected %s from the ACS", dev.serial, msg.METHOD)


@dataclass(frozen=True, slots=True)
class _UnknownRequest(rpc.Message):
    """Stands for an ACS request whose method the codec does not know."""

    METHOD = "Unknown"
    method: str = ""


class _Poster:
    """Sends the POSTs of one session: authentication, redirects, cookies, the trace."""

    def __init__(
        self,
        http: aiohttp.ClientSession,
        url: str,
        auth: ClientAuth,
        result: SessionResult,
        vanish_after: int | None,
    ) -> None:
        self.http = http
        self.url = url
        self.auth = auth
        self.result = result
        self.vanish_after = vanish_after
        self.sent = 0

    async def post(
        self, env: Envelope | None, *, first: bool = False, max_redirects: int = 10
    ) -> Envelope | None:
        """POST one envelope (None: an empty POST) and parse the ACS's reply.

        Raises:
            SessionError: an HTTP error status, a failed authentication or an unreadable body.
            _Vanish: the vanish point was reached (the connection is closed).
        """
        if self.vanish_after is not None and self.sent >= self.vanish_after:
            await self.http.close()
            raise _Vanish
        body = serialize(env) if env is not None else b""
        name = env.message.METHOD if env is not None else ""
        redirects = 0
        challenged = False
        while True:
            path = urlsplit(self.url)
            target = path.path or "/"
            if path.query:
                target += "?" + path.query
            # TR-069 §3.4.1: an empty POST carries neither SOAPAction nor Content-Type.
            headers: dict[str, str] = {}
            if body:
                headers["SOAPAction"] = ""
                headers["Content-Type"] = 'text/xml; charset="utf-8"'
            authorization = self.auth.authorization("POST", target)
            if authorization:
                headers["Authorization"] = authorization
            self.result.trace.append(SimMessage("cpe->acs", None, name))
            self.sent += 1
            async with self.http.post(
                self.url, data=body, headers=headers, allow_redirects=False,
                skip_auto_headers=() if body else ("Content-Type",),
            ) as resp:
                status = resp.status
                data = await resp.read()
                location = resp.headers.get("Location")
                retry_after = resp.headers.get("Retry-After")
                challenges = resp.headers.getall("WWW-Authenticate", [])
            reply = self._parse(data) if status == 200 else None
            self.result.trace.append(
                SimMessage("acs->cpe", status, reply.message.METHOD if reply else ""))
            if status == 401:
                if challenged or not self.auth.accept(challenges):
                    raise SessionError("authentication failed (HTTP 401)")
                challenged = True
                continue
            if status in _REDIRECTS and first and location:
                redirects += 1
                if redirects > max_redirects:
                    raise SessionError("too many redirects")
                self.url = urljoin(self.url, location)
                continue
            if status in (200, 204):
                return reply
            if status == 503 and first:
                raise AcsBusy(parse_retry_after(retry_after))
            raise SessionError(f"HTTP {status} from the ACS")

    @staticmethod
    def _parse(data: bytes) -> Envelope | None:
        try:
            return parse(data)
        except UnknownMethodError as exc:
            return Envelope(_UnknownRequest(method=exc.method or ""), cwmp_id=exc.cwmp_id,
                            namespace=exc.namespace or NS_CWMP_1_0)
        except CwmpParseError as exc:
            raise SessionError(f"unreadable reply from the ACS: {exc}") from exc
