"""Connection requests, the ACS side: wake a CPE so that it opens a session now.

Two transports, as GenieACS does them:

* **HTTP** (TR-069 §3.2.2): a plain-HTTP ``GET`` to ``ManagementServer.ConnectionRequestURL``.
  ``200``/``204`` means the CPE accepted and will open a session carrying
  ``6 CONNECTION REQUEST``; ``401`` is answered with Digest (Basic only when explicitly
  allowed); ``503`` and a refused or reset connection mean the device is offline (or busy).
  Each credential pair is tried in turn; failing them all means wrong credentials. ``https``
  URLs are refused: the standard requires plain HTTP.
* **UDP** (TR-111 Part 2 / TR-069 Annex G): for a CPE behind NAT that learned its public
  address through STUN. One signed text datagram (an HTTP request line) is sent several
  times to ``ManagementServer.UDPConnectionRequestAddress``; the CPE never replies.

When a target has a UDP address and ``STUNEnable`` is true, :func:`send_connection_request`
sends UDP in parallel with HTTP (three datagrams per credential pair) and **a UDP success
takes precedence over an HTTP failure** (GenieACS behaviour): a CPE behind NAT is normally
unreachable over HTTP, so the UDP send is reported. When HTTP also succeeded its result is
returned instead, since only HTTP is confirmed by the device.

* **XMPP** (TR-069 Annex K, :mod:`acs_engine.reach.xmpp`): when the CPE reports a
  ``ConnReqJabberID`` and the ACS has an XMPP account configured, the request goes as an
  XMPP IQ to that JID *instead of* HTTP (GenieACS's choice: such a CPE is normally not
  reachable over HTTP). UDP still runs beside it as above.

Results are :class:`ConnReqResult` values with a message a technician can act on. Passwords
are never logged.
"""

from __future__ import annotations

import asyncio
import enum
import errno
import logging
import secrets
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import aiohttp
from yarl import URL

from acs_engine.reach.digest import (
    AuthChallenge,
    AuthHeaderError,
    basic_authorization,
    choose_challenge,
    digest_authorization,
    parse_www_authenticate,
)
from acs_engine.reach.udpmessage import build_udp_request, split_host_port, verify_udp_request
from acs_engine.reach.xmpp import XmppConnReq

__all__ = [
    "ConnReqResult",
    "ConnReqTarget",
    "build_udp_request",
    "send_connection_request",
    "send_udp_connection_request",
    "target_from_params",
    "verify_udp_request",
]

log = logging.getLogger("fieldacs.connreq")

_ROOTS = ("InternetGatewayDevice.ManagementServer.", "Device.ManagementServer.")
_TRUE = frozenset({"true", "1"})


@dataclass(frozen=True)
class ConnReqTarget:
    """Where and how to send a connection request to one CPE.

    Attributes:
        url: ``ManagementServer.ConnectionRequestURL``.
        username: ``ManagementServer.ConnectionRequestUsername``.
        password: ``ManagementServer.ConnectionRequestPassword``.
        udp_address: ``ManagementServer.UDPConnectionRequestAddress`` (``host:port``) or None.
        stun_enabled: ``ManagementServer.STUNEnable``.
        jabber_id: ``ManagementServer.ConnReqJabberID`` (XMPP, Annex K) or None.
    """

    url: str
    username: str
    password: str
    udp_address: str | None = None
    stun_enabled: bool = False
    jabber_id: str | None = None

    def __repr__(self) -> str:
        # never show the password (dataclass repr would)
        return (
            f"ConnReqTarget(url={self.url!r}, username={self.username!r}, password='***', "
            f"udp_address={self.udp_address!r}, stun_enabled={self.stun_enabled!r}, "
            f"jabber_id={self.jabber_id!r})"
        )


class ConnReqOutcome(enum.StrEnum):
    """What a connection request came to (each member is its old string)."""

    SENT = "sent"
    OFFLINE = "offline"
    WRONG_CREDENTIALS = "wrong_credentials"
    UNREACHABLE = "unreachable"
    TIMEOUT = "timeout"
    BASIC_NOT_ALLOWED = "basic_not_allowed"
    BAD_URL = "bad_url"
    #: The ACS cannot log in to its XMPP server.
    XMPP_UNAVAILABLE = "xmpp_unavailable"
    ERROR = "error"


@dataclass(frozen=True)
class ConnReqResult:
    """The outcome of one connection request.

    Attributes:
        ok: True when the request was delivered (HTTP 200/204, or UDP datagrams sent).
        outcome: what it came to (:class:`ConnReqOutcome`).
        message: plain words for a technician, including what to check.
        status: the last HTTP status received, or None.
        via: ``"http"``, ``"udp"`` or ``"xmpp"``.
        elapsed_ms: wall time the request took.
    """

    ok: bool
    outcome: ConnReqOutcome
    message: str
    status: int | None
    via: str
    elapsed_ms: float


def target_from_params(params: Mapping[str, str]) -> ConnReqTarget | None:
    """Build the target from a device's parameter values.

    ``InternetGatewayDevice.ManagementServer.*`` is used when its ConnectionRequestURL exists,
    otherwise ``Device.ManagementServer.*`` (GenieACS's choice).

    Args:
        params: parameter path -> value (as strings).

    Returns:
        The target, or None when neither tree has a ConnectionRequestURL.
    """
    for root in _ROOTS:
        url = params.get(root + "ConnectionRequestURL")
        if url is None:
            continue
        udp = (params.get(root + "UDPConnectionRequestAddress") or "").strip()
        stun = (params.get(root + "STUNEnable") or "").strip().lower() in _TRUE
        jabber = (params.get(root + "ConnReqJabberID") or "").strip()
        return ConnReqTarget(
            url=url.strip(),
            username=params.get(root + "ConnectionRequestUsername") or "",
            password=params.get(root + "ConnectionRequestPassword") or "",
            udp_address=udp or None,
            stun_enabled=stun,
            jabber_id=jabber or None,
        )
    return None


# --------------------------------------------------------------------------- HTTP
def _elapsed(start: float) -> float:
    return (time.perf_counter() - start) * 1000.0


def _result(ok: bool, outcome: str, message: str, status: int | None, via: str,
            start: float) -> ConnReqResult:
    return ConnReqResult(ok, ConnReqOutcome(outcome), message, status, via, _elapsed(start))


def _where(url: URL) -> str:
    return f"{url.host}:{url.port}"


def _classify_oserror(exc: BaseException | None) -> str:
    """Map a socket error to ``offline`` (refused/reset), ``unreachable`` or ``error``."""
    while exc is not None:
        if isinstance(exc, ConnectionRefusedError | ConnectionResetError | BrokenPipeError):
            return "offline"
        if isinstance(exc, socket.gaierror):
            return "unreachable"
        if isinstance(exc, OSError) and exc.errno in {
            errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN,
            errno.EADDRNOTAVAIL,
        }:
            return "unreachable"
        if isinstance(exc, OSError) and exc.errno in {errno.ECONNREFUSED, errno.ECONNRESET}:
            return "offline"
        exc = exc.__cause__ or exc.__context__
    return "error"


def _validate_url(raw: str) -> tuple[URL | None, str]:
    """Parse the ConnectionRequestURL; returns (url, "") or (None, reason)."""
    text = raw.strip()
    if not text:
        return None, ("The device has no ConnectionRequestURL yet. Wait for its next Inform, "
                      "or check that it reports ManagementServer.ConnectionRequestURL.")
    try:
        url = URL(text)
    except (ValueError, TypeError):
        return None, f"ConnectionRequestURL {text!r} is not a valid URL."
    if url.scheme == "https":
        return None, ("ConnectionRequestURL uses https, but connection requests must use plain "
                      "HTTP (TR-069 §3.2.2). Check the CPE's ConnectionRequestURL setting.")
    if url.scheme != "http" or not url.host:
        return None, (f"ConnectionRequestURL {text!r} is not an http://host:port/path URL. "
                      "Check the CPE's ConnectionRequestURL.")
    try:
        _ = url.port
    except ValueError:
        return None, f"ConnectionRequestURL {text!r} has an invalid port."
    # credentials in the URL would make the client send them as Basic: drop them
    return url.with_user(None), ""


def _display_url(raw: str) -> str:
    """The URL for logs: without any user:password part."""
    try:
        return str(URL(raw.strip()).with_user(None))
    except (ValueError, TypeError):
        return "<invalid URL>"


def _network_failure(kind: str, url: URL, timeout_ms: int, detail: str) -> str:
    where = _where(url)
    if kind == "timeout":
        return (f"No answer from {where} within {timeout_ms} ms. A firewall or NAT is probably "
                f"dropping the request: check that port {url.port} is open and forwarded to the "
                "device, or use UDP/STUN connection requests for devices behind NAT.")
    if kind == "offline":
        return (f"Device is offline: {where} refused or reset the connection ({detail}). Check "
                f"the device is powered and online and that port {url.port} in "
                "ConnectionRequestURL is the one it listens on.")
    if kind == "unreachable":
        return (f"Cannot reach {where} ({detail}): the address does not resolve or there is no "
                "route to it. The device is probably behind NAT or on another network; check "
                "the ConnectionRequestURL address, routing and firewall/NAT.")
    return f"Connection request to {where} failed: {detail}."


class _Answer:
    """The parts of an HTTP answer we use (the body is ignored, as the spec says)."""

    __slots__ = ("challenges", "status")

    def __init__(self, status: int, challenges: list[str]) -> None:
        self.status = status
        self.challenges = challenges


_BASIC_REFUSED = (
    "basic_not_allowed",
    "The device only offers Basic authentication, which sends the password in clear text and "
    "is not allowed. Configure Digest on the device, or allow Basic for connection requests "
    "(cwmp.connectionRequestAllowBasicAuth): in the console, Settings → Connection requests → "
    "Allow Basic auth for connection requests; headless, fieldacs-engine serve "
    "--connreq-allow-basic.",
)
_UNANSWERABLE = (
    "error",
    "The device answered 401 with an authentication challenge FieldACS cannot answer (unknown "
    "scheme or Digest algorithm). Check the device's connection-request authentication settings.",
)


def _pick_challenge(values: list[str], allow_basic: bool,
                    tried: int) -> tuple[AuthChallenge | None, tuple[str, str]]:
    """Choose the challenge to answer, or say why none can be: (None, (outcome, message))."""
    if not values:
        if tried:
            return None, _wrong_credentials(tried)
        return None, ("error", "The device answered 401 without an authentication challenge. "
                               "Check its connection-request settings.")
    try:
        challenges = parse_www_authenticate(values)
    except AuthHeaderError:
        return None, _UNANSWERABLE
    chosen = choose_challenge(challenges, allow_basic=allow_basic)
    if chosen is not None:
        return chosen, ("", "")
    if not allow_basic and any(c.scheme == "basic" for c in challenges):
        return None, _BASIC_REFUSED
    return None, _UNANSWERABLE


def _wrong_credentials(tried: int) -> tuple[str, str]:
    if tried == 0:
        return ("wrong_credentials", "The device requires credentials but none are configured. "
                                     "Check ConnectionRequestUsername/Password.")
    return ("wrong_credentials",
            "The device rejected the connection request credentials. Check "
            "ConnectionRequestUsername/Password: what the device reported (or what the ACS set) "
            f"must match what the device checks ({tried} credential pair(s) tried).")


async def _get(http: aiohttp.ClientSession, url: URL, authorization: str | None,
               timeout: aiohttp.ClientTimeout) -> _Answer:
    headers = {"Authorization": authorization} if authorization else {}
    async with http.get(url, headers=headers, allow_redirects=False, timeout=timeout) as resp:
        challenges = resp.headers.getall("WWW-Authenticate", [])
        return _Answer(resp.status, list(challenges))


async def _http_request(
    target: ConnReqTarget,
    *,
    timeout_ms: int,
    allow_basic: bool,
    credentials: Sequence[tuple[str, str]],
    session: aiohttp.ClientSession | None,
) -> ConnReqResult:
    start = time.perf_counter()
    url, reason = _validate_url(target.url)
    if url is None:
        return _result(False, "bad_url", reason, None, "http", start)
    uri = url.raw_path_qs or "/"
    timeout = aiohttp.ClientTimeout(total=max(timeout_ms, 1) / 1000.0)
    own = session is None
    http = session if session is not None else aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(force_close=True), auto_decompress=False,
    )
    status: int | None = None
    try:
        answer = await _get(http, url, None, timeout)
        status = answer.status
        tried = 0
        pairs = list(credentials)
        index = 0
        stale_retry = False
        while True:
            if status in (200, 204):
                return _result(True, "sent",
                               f"The device accepted the connection request (HTTP {status}); "
                               "it should open a session within seconds.", status, "http", start)
            if status == 503:
                return _result(False, "offline",
                               "Device is offline or busy (503): it refused the request, usually "
                               "because of rate limiting or a session already running. Try again "
                               "in a minute.", status, "http", start)
            if status != 401:
                return _result(False, "error",
                               f"Unexpected answer HTTP {status} from {_where(url)}. Check that "
                               "ConnectionRequestURL (including its path) is the device's "
                               "current one; it changes on some devices after a reboot.",
                               status, "http", start)
            chosen, refusal = _pick_challenge(answer.challenges, allow_basic, tried)
            if chosen is None:
                return _result(False, refusal[0], refusal[1], status, "http", start)
            if index >= len(pairs):
                outcome, msg = _wrong_credentials(tried)
                return _result(False, outcome, msg, status, "http", start)
            username, password = pairs[index]
            if chosen.scheme == "basic":
                authorization = basic_authorization(username, password)
            else:
                authorization = digest_authorization(
                    chosen, username=username, password=password, method="GET", uri=uri)
            answer = await _get(http, url, authorization, timeout)
            status = answer.status
            stale = False
            if status == 401 and chosen.scheme == "digest" and not stale_retry:
                try:
                    stale = any(c.scheme == "digest" and c.params.get("stale", "").lower() == "true"
                                for c in parse_www_authenticate(answer.challenges))
                except AuthHeaderError:
                    stale = False
            if stale:
                stale_retry = True  # same credentials once more with the fresh nonce
                continue
            stale_retry = False
            tried += 1
            index += 1
    except TimeoutError:
        return _result(False, "timeout", _network_failure("timeout", url, timeout_ms, ""),
                       status, "http", start)
    except aiohttp.ClientConnectorDNSError as exc:
        return _result(False, "unreachable",
                       _network_failure("unreachable", url, timeout_ms,
                                        f"name lookup failed: {exc.os_error}"),
                       status, "http", start)
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError,
            aiohttp.ClientConnectionResetError) as exc:
        kind = _classify_oserror(exc)
        if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientConnectionResetError):
            kind = "offline"
        detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        return _result(False, kind, _network_failure(kind, url, timeout_ms, detail),
                       status, "http", start)
    except aiohttp.ClientError as exc:
        return _result(False, "error", _network_failure("error", url, timeout_ms,
                                                        type(exc).__name__),
                       status, "http", start)
    finally:
        if own:
            await http.close()


async def send_connection_request(
    target: ConnReqTarget,
    *,
    timeout_ms: int = 2000,
    allow_basic: bool = False,
    credentials: Sequence[tuple[str, str]] | None = None,
    session: aiohttp.ClientSession | None = None,
    udp_source_port: int = 0,
    xmpp: XmppConnReq | None = None,
) -> ConnReqResult:
    """Send a connection request to a CPE (HTTP or XMPP, plus UDP when the CPE uses STUN).

    Args:
        target: where to send it (see :func:`target_from_params`).
        timeout_ms: per HTTP request (``cwmp.connectionRequestTimeout``); the CPE must answer
            each GET within it.
        allow_basic: answer a Basic challenge (``cwmp.connectionRequestAllowBasicAuth``).
        credentials: (username, password) pairs tried in turn
            (``cwmp.connectionRequestAuth``); defaults to the target's own pair.
        session: an aiohttp session to reuse; one is created (and closed) when None.
        udp_source_port: local port for UDP datagrams (``cwmp.udpConnectionRequestPort``,
            0 = any).
        xmpp: the ACS's XMPP client; with it, a target with a ``jabber_id`` is sent the
            request over XMPP instead of HTTP.

    Returns:
        The result. With UDP in play, a UDP success takes precedence over an HTTP failure
        (see the module docstring).
    """
    pairs = list(credentials) if credentials is not None else [(target.username, target.password)]
    started = time.perf_counter()
    log.info("connection request to %s (user %r)", _display_url(target.url), target.username)
    udp_task: asyncio.Task[list[ConnReqResult]] | None = None
    if target.udp_address and target.stun_enabled:
        udp_task = asyncio.create_task(_udp_for_all(target.udp_address, pairs, udp_source_port))
    try:
        if target.jabber_id and xmpp is not None:
            answer = await xmpp.request(target.jabber_id, pairs, timeout_ms)
            http_result = _result(answer.ok, answer.outcome, answer.message, None, "xmpp",
                                  started)
        else:
            http_result = await _http_request(target, timeout_ms=timeout_ms,
                                              allow_basic=allow_basic, credentials=pairs,
                                              session=session)
    except BaseException:
        if udp_task is not None:
            udp_task.cancel()
        raise
    if udp_task is None:
        _log_result(_display_url(target.url), http_result)
        return http_result
    udp_results = await udp_task
    udp_ok = next((r for r in udp_results if r.ok), None)
    if http_result.ok or udp_ok is None:
        final = http_result
        if udp_ok is None and udp_results:
            final = ConnReqResult(http_result.ok, http_result.outcome,
                                  f"{http_result.message} UDP: {udp_results[0].message}",
                                  http_result.status, http_result.via, _elapsed(started))
    else:
        final = ConnReqResult(
            True, ConnReqOutcome.SENT,
            f"{udp_ok.message} HTTP was not confirmed: {http_result.message}",
            http_result.status, "udp", _elapsed(started))
    _log_result(_display_url(target.url), final)
    return final


def _log_result(url: str, result: ConnReqResult) -> None:
    level = logging.INFO if result.ok else logging.WARNING
    log.log(level, "connection request to %s: %s via %s (status %s, %.0f ms)", url,
            result.outcome, result.via, result.status, result.elapsed_ms)


async def _udp_for_all(address: str, pairs: Sequence[tuple[str, str]],
                       source_port: int) -> list[ConnReqResult]:
    results: list[ConnReqResult] = []
    for username, password in pairs:
        results.append(await send_udp_connection_request(address, username, password,
                                                         source_port=source_port))
    return results


# --------------------------------------------------------------------------- UDP
class _SendOnly(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.error: Exception | None = None

    def error_received(self, exc: Exception) -> None:
        self.error = exc


async def send_udp_connection_request(
    address: str,
    username: str,
    password: str,
    *,
    repeats: int = 3,
    source_port: int = 0,
) -> ConnReqResult:
    """Send a UDP connection request (TR-111 Annex G) ``repeats`` times with the same id.

    UDP has no reply, so success only means the datagrams left this machine.

    Args:
        address: ``host:port`` (UDPConnectionRequestAddress; ``[v6]:port`` for IPv6).
        username: ConnectionRequestUsername.
        password: ConnectionRequestPassword.
        repeats: copies to send (GenieACS sends 3).
        source_port: local port to send from (match the STUN server's port so the datagram
            passes the CPE's NAT binding); 0 picks any.

    Returns:
        ``sent`` via ``udp``, ``bad_url`` for a malformed address, ``unreachable`` when the
        host does not resolve or has no route, ``error`` otherwise.
    """
    start = time.perf_counter()
    try:
        host, port = split_host_port(address)
    except ValueError:
        return _result(False, "bad_url",
                       f"UDPConnectionRequestAddress {address!r} is not host:port. Check that "
                       "STUN is working on the device (it writes this address).",
                       None, "udp", start)
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except OSError as exc:
        return _result(False, "unreachable",
                       f"UDP connection request: {host} does not resolve ({exc}). Check "
                       "UDPConnectionRequestAddress.", None, "udp", start)
    family, _, _, _, sockaddr = infos[0]
    remote = (str(sockaddr[0]), int(sockaddr[1]))
    msg_id = secrets.randbits(32)
    datagram = build_udp_request(address, username, password, ts=int(time.time()),
                                 msg_id=msg_id, cnonce=secrets.token_hex(8))
    local: tuple[str, int] | None = None
    if source_port:
        local = ("::" if family == socket.AF_INET6 else "0.0.0.0", source_port)
    try:
        transport, protocol = await loop.create_datagram_endpoint(
            _SendOnly, local_addr=local, remote_addr=remote, family=family)
    except OSError as exc:
        kind = _classify_oserror(exc)
        outcome = "unreachable" if kind == "unreachable" else "error"
        hint = (f" Is local port {source_port} free (cwmp.udpConnectionRequestPort)?"
                if source_port else "")
        return _result(False, outcome,
                       f"Cannot send UDP to {host}:{port}: {exc.strerror or exc}.{hint}",
                       None, "udp", start)
    try:
        for _ in range(max(repeats, 1)):
            transport.sendto(datagram)
            await asyncio.sleep(0)
    finally:
        transport.close()
    if protocol.error is not None and _classify_oserror(protocol.error) == "unreachable":
        return _result(False, "unreachable",
                       f"UDP to {host}:{port} failed: {protocol.error}. Check routing/NAT.",
                       None, "udp", start)
    log.debug("UDP connection request id %d sent %d times to %s:%d", msg_id, repeats, host, port)
    return _result(True, "sent",
                   f"UDP connection request sent {max(repeats, 1)} times to {host}:{port}. UDP "
                   "has no reply: the device's next session confirms it. If none comes, check "
                   "that STUN is enabled and the NAT binding is fresh.", None, "udp", start)
