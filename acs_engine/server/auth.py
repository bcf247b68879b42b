"""CPE authentication on the CWMP endpoint (TR-069 §3.4.4; GenieACS's ``cwmp.auth``).

Modes, from :class:`~acs_engine.config.EngineConfig`:

- off (the default): every CPE is accepted;
- one username/password for every CPE (``cwmp_username`` / ``cwmp_password``);
- an expression (``cwmp_auth``), GenieACS style: ``AUTH(user, pass)`` is TRUE when the
  request's credentials are ``user``/``pass``, so ``AUTH(DeviceID.SerialNumber, "secret")``
  gives each device its own user name and ``AUTH("acs", "pw") OR AUTH(...)`` tries several.
  ``REMOTE_ADDRESS()`` is the CPE's address.

What the expression reads (here we differ from GenieACS on purpose): only what the ACS
already knows. Parameter paths are read from the **stored** device, never from the Inform
being authenticated -- its ParameterList is the client's claim, not evidence, and laying it
over the stored values let any client log in as any device with a password of its own
choosing. ``DeviceID.*`` names the device being claimed (the stored record when there is one),
``Tags.*`` are the stored tags. ``AUTH(user, "")`` never matches (a CPE reads its passwords
back as empty strings, so an empty stored value is no credential). When the expression fails
and a path it reads has no stored value (a device never seen before, or one whose credentials
were never set by the ACS), the login is refused with the reason "no stored credentials for
this device yet": admit new devices with an alternative such as ``AUTH(...stored...) OR
AUTH("bootstrap-user", "bootstrap-secret")`` and let a provision set per-device credentials.
A refused login never reaches the session, so nothing of its Inform is written to the store.

Schemes: Digest (RFC 7616; MD5 and SHA-256, their ``-sess`` forms, ``qop`` auth or auth-int)
always -- the RFC 2069 form (no ``qop``, so no nonce count) only when ``cwmp_digest_rfc2069``
is on, for old CPEs, and then each such nonce is accepted once; Basic only on a TLS connection (plain-HTTP Basic credentials
are refused, and not offered). The flow is TR-069's: an Inform without valid credentials gets
401 with the challenges; the CPE resends on the same connection; a second failure on that
connection gets 401 with ``Connection: close``. A connection that authenticated stays
authenticated for its device; a session continued on another connection authenticates again.

Nonces carry their issue time and an HMAC over it and the client's address (a nonce from
another address or older than :data:`NONCE_LIFETIME` is refused; an old one with ``stale=true``
so the CPE retries without asking its user); a nonce count that does not increase is a replay,
and so is a second RFC 2069 response to one nonce.

Every failure with credentials is logged with the source address and the user name (never
the password) and published as :class:`~acs_engine.bus.RequestRejected` (status 401); the
latest failures per device are kept in :attr:`CpeAuthenticator.failures` for the console,
until the device logs in successfully.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import struct
import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from acs_engine import clock
from acs_engine.bus import EventBus, RequestRejected
from acs_engine.config import EngineConfig
from acs_engine.expression import Expr as _Expr
from acs_engine.expression import ExpressionError, evaluate, make_resolver, parameters, parse
from acs_engine.reach.digest import AuthHeaderError, digest_response, parse_www_authenticate
from acs_engine.secrets import register_secret
from acs_engine.store.model import DeviceRecord, Param

log = logging.getLogger("fieldacs.auth")

REALM = "FieldACS"
#: Seconds a nonce is accepted.
NONCE_LIFETIME = 300.0
#: Nonces whose last nonce count is remembered (replay protection), oldest dropped first.
_NC_MEMORY = 20_000
#: Devices whose latest authentication failure is kept for the console.
_FAILURE_MEMORY = 500
_ALGORITHMS = ("SHA-256", "MD5")
_ACCEPTED = frozenset({"MD5", "MD5-SESS", "SHA-256", "SHA-256-SESS"})
#: Why a login whose expression reads parameters the ACS has no value for is refused.
NO_STORED_CREDENTIALS = "no stored credentials for this device yet"
#: Why an RFC 2069 Digest response (no qop) is refused while cwmp_digest_rfc2069 is off.
NO_QOP_REFUSED = (
    "Digest without qop (RFC 2069) is refused: it can be replayed "
    "(allow it for old CPEs with cwmp_digest_rfc2069)"
)

ParamsLoader = Callable[[], Awaitable[Mapping[str, Param]]]


class AuthConfigError(ValueError):
    """The authentication settings cannot work (an expression that does not parse, ...)."""


@dataclass(slots=True)
class AuthFailure:
    """The latest failed authentication of one device, for the console.

    Attributes:
        device_id: the device (or ``""`` when unknown).
        remote: the source address of the last failure.
        username: the user name it presented (``""`` when none).
        reason: why it failed, in plain words.
        count: failures so far.
        first_at_ms: epoch milliseconds of the first failure.
        last_at_ms: epoch milliseconds of the last failure.
    """

    device_id: str
    remote: str
    username: str
    reason: str
    count: int = 1
    first_at_ms: int = field(default_factory=clock.now_ms)
    last_at_ms: int = field(default_factory=clock.now_ms)


@dataclass(slots=True)
class _Connection:
    failures: int = 0
    device_id: str | None = None


@dataclass(slots=True)
class _Verdict:
    ok: bool
    reason: str = ""
    username: str = ""
    stale: bool = False


class _Credentials:
    """A parsed Authorization header, able to check a candidate user name and password."""

    def __init__(self, owner: CpeAuthenticator, header: str, request: web.Request, body: bytes):
        self.owner = owner
        self.request = request
        self.body = body
        self.scheme = ""
        self.params: Mapping[str, str] = {}
        self.basic_user = ""
        self.basic_password = ""
        self.error = ""
        self.username = ""
        self.tried_user = False
        self.stale = False
        #: Set by the expression check: which stored values it found missing.
        self.missing = ""
        try:
            parsed = parse_www_authenticate([header])
        except AuthHeaderError as exc:
            self.error = f"malformed Authorization header ({exc})"
            return
        if len(parsed) != 1:
            self.error = "malformed Authorization header"
            return
        cred = parsed[0]
        self.scheme = cred.scheme
        if cred.scheme == "basic":
            try:
                raw = base64.b64decode(cred.token68, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError, ValueError):
                self.error = "malformed Basic credentials"
                return
            self.basic_user, _, self.basic_password = raw.partition(":")
            self.username = self.basic_user
            if not request.secure:
                self.error = "Basic authentication refused over plain HTTP (use Digest or HTTPS)"
        elif cred.scheme == "digest":
            self.params = cred.params
            self.username = self.params.get("username", "")
            self.error = self._check_digest_envelope()
        else:
            self.error = f"unsupported authentication scheme {cred.scheme!r}"

    def _check_digest_envelope(self) -> str:
        p = self.params
        for key in ("username", "nonce", "uri", "response"):
            if key not in p:
                return f"Digest credentials without {key}"
        if p.get("userhash", "").lower() == "true":
            return "Digest userhash is not supported"
        if p.get("realm", "") != self.owner.realm:
            return f"Digest realm {p.get('realm', '')!r} is not {self.owner.realm!r}"
        algorithm = p.get("algorithm", "MD5").upper()
        if algorithm not in _ACCEPTED:
            return f"Digest algorithm {algorithm} is not supported"
        uri = p["uri"]
        target = self.request.raw_path
        if uri != target and not uri.endswith(target) and uri.split("?")[0] != target.split("?")[0]:
            return f"Digest uri {uri!r} does not match the request {target!r}"
        qop = p.get("qop", "").lower()
        if qop not in ("", "auth", "auth-int"):
            return f"Digest qop {qop!r} is not supported"
        if not qop and not self.owner.allow_rfc2069:
            return NO_QOP_REFUSED
        status = self.owner.check_nonce(p["nonce"], self.request.remote or "")
        if status == "stale":
            self.stale = True
            return "the Digest nonce has expired"
        if status != "ok":
            return "the Digest nonce was not issued to this client"
        return ""

    def matches(self, user: Any, password: Any) -> bool:
        """AUTH(user, password): do the credentials prove this user name and password?"""
        if self.error or user is None or password is None:
            return False
        if password == "":
            return False  # an empty password is no secret (see the module doc)
        user, password = str(user), str(password)
        if self.username != user:
            return False
        self.tried_user = True
        if self.scheme == "basic":
            return hmac.compare_digest(self.basic_password.encode(), password.encode())
        p = self.params
        qop = p.get("qop", "").lower()
        try:
            expected = digest_response(
                algorithm=p.get("algorithm", "MD5"), username=user, realm=self.owner.realm,
                password=password, method=self.request.method, uri=p["uri"],
                nonce=p["nonce"], nc=p.get("nc", ""), cnonce=p.get("cnonce", ""), qop=qop,
                body=self.body,
            )
        except AuthHeaderError:
            return False
        return hmac.compare_digest(expected.encode(), p["response"].lower().encode())


class CpeAuthenticator:
    """Checks CPE credentials on the CWMP endpoint and answers failures with challenges.

    Args:
        config: the engine settings (``cwmp_username``/``cwmp_password`` or ``cwmp_auth``).
        bus: where failures are published.
        realm: the protection realm of the challenges.

    Raises:
        AuthConfigError: ``cwmp_auth`` does not parse, or a password was given without a
            user name.
    """

    def __init__(self, config: EngineConfig, bus: EventBus, *, realm: str = REALM) -> None:
        self.realm = realm
        self.bus = bus
        #: Accept RFC 2069 Digest (no qop), each nonce once.
        self.allow_rfc2069 = config.cwmp_digest_rfc2069
        self._key = os.urandom(32)
        self._expr: _Expr | None = None
        self._paths: set[str] = set()
        self._user: str | None = None
        self._password: str = ""
        if config.cwmp_auth:
            try:
                self._expr = parse(config.cwmp_auth)
            except ExpressionError as exc:
                raise AuthConfigError(f"cwmp_auth does not parse: {exc}") from exc
            self._paths = {
                path for path in parameters(self._expr)
                if path.split(".", 1)[0] not in ("DeviceID", "Events", "Tags")
            }
        elif config.cwmp_username is not None:
            self._user = config.cwmp_username
            self._password = config.cwmp_password or ""
            register_secret(self._password)  # never in a log line
        elif config.cwmp_password:
            raise AuthConfigError("cwmp_password is set but cwmp_username is not")
        self._connections: weakref.WeakKeyDictionary[Any, _Connection] = (
            weakref.WeakKeyDictionary()
        )
        self._nc: OrderedDict[str, int] = OrderedDict()
        self.failures: OrderedDict[str, AuthFailure] = OrderedDict()
        self.failure_count = 0

    @property
    def enabled(self) -> bool:
        """True when CPEs must authenticate."""
        return self._expr is not None or self._user is not None

    def carry_over(
        self, previous: CpeAuthenticator, connections: Iterable[tuple[Any, str]] = ()
    ) -> None:
        """Take over from ``previous`` when the settings change while the ACS runs.

        The nonces it issued stay valid (a CPE answering a challenge is not refused), its
        replay memory and its failures (shown by the console) are kept, and each
        ``(transport, device_id)`` in ``connections`` (sessions in flight) stays accepted
        for its device, so those sessions end under the rules they started with.
        """
        self._key = previous._key
        self._nc = previous._nc
        self.failures = previous.failures
        self.failure_count = previous.failure_count
        for transport, device_id in connections:
            if transport is not None:
                self._connections[transport] = _Connection(0, device_id)

    # ------------------------------------------------------------------ nonces
    def _nonce_mac(self, stamp: bytes, remote: str) -> bytes:
        return hmac.new(self._key, stamp + remote.encode(), hashlib.sha256).digest()[:16]

    def new_nonce(self, remote: str, *, now: float | None = None) -> str:
        """A nonce for a client at ``remote``: its issue time and an HMAC, in hex."""
        stamp = struct.pack(">d", time.time() if now is None else now) + os.urandom(4)
        return (stamp + self._nonce_mac(stamp, remote)).hex()

    def check_nonce(self, nonce: str, remote: str, *, now: float | None = None) -> str:
        """``"ok"``, ``"stale"`` (ours, expired) or ``"bad"`` (not ours, or another client's)."""
        try:
            raw = bytes.fromhex(nonce)
        except ValueError:
            return "bad"
        if len(raw) != 28:
            return "bad"
        stamp, mac = raw[:12], raw[12:]
        if not hmac.compare_digest(mac, self._nonce_mac(stamp, remote)):
            return "bad"
        issued = struct.unpack(">d", stamp[:8])[0]
        age = (time.time() if now is None else now) - issued
        if age > NONCE_LIFETIME or age < -5:
            return "stale"
        return "ok"

    def _check_nc(self, params: Mapping[str, str]) -> bool:
        """Record the nonce count of an accepted Digest response; False on a replay.

        With ``qop`` the count must grow for each use of a nonce; an RFC 2069 response has
        no count, so its nonce is single-use (counted as 1).
        """
        nonce = params.get("nonce", "")
        if params.get("qop"):
            try:
                nc = int(params.get("nc", ""), 16)
            except ValueError:
                return False
        else:
            nc = 1
        last = self._nc.get(nonce, 0)
        if nc <= last:
            return False
        self._nc[nonce] = nc
        self._nc.move_to_end(nonce)
        while len(self._nc) > _NC_MEMORY:
            self._nc.popitem(last=False)
        return True

    def challenges(self, request: web.Request, *, stale: bool = False) -> list[str]:
        """``WWW-Authenticate`` values: Digest SHA-256 and MD5, plus Basic on TLS."""
        nonce = self.new_nonce(request.remote or "")
        extra = ", stale=true" if stale else ""
        out = [
            f'Digest realm="{self.realm}", qop="auth,auth-int", algorithm={alg}, '
            f'nonce="{nonce}"{extra}'
            for alg in _ALGORITHMS
        ]
        if request.secure:
            out.append(f'Basic realm="{self.realm}", charset="UTF-8"')
        return out

    # ------------------------------------------------------------------ the checks
    def connection_device(self, request: web.Request) -> str | None:
        """The device this request's connection has authenticated as, if any."""
        state = self._connections.get(request.transport)
        return state.device_id if state is not None else None

    async def check(
        self,
        request: web.Request,
        body: bytes,
        *,
        device: DeviceRecord,
        load_params: ParamsLoader | None = None,
    ) -> web.Response | None:
        """Authenticate a request for ``device``; None when it may go on, else the 401 to send.

        Args:
            request: the HTTP request (its Authorization header, address, connection).
            body: its body (for Digest ``auth-int``).
            device: the device it claims to be (its DeviceID fields are read): the stored
                record, or one made from the Inform's DeviceId for a device never seen.
            load_params: fetches the device's stored parameters, when ``cwmp_auth`` reads
                parameter paths (the Inform's own parameters are never read).
        """
        if not self.enabled:
            return None
        transport = request.transport
        state = self._connections.get(transport) if transport is not None else None
        if state is not None and state.device_id == device.id:
            return None
        header = request.headers.get("Authorization")
        if header is None:
            verdict = _Verdict(False, "no credentials sent after the challenge")
        else:
            verdict = await self._verify(header, request, body, device, load_params)
        if verdict.ok:
            if transport is not None:
                self._connections[transport] = _Connection(0, device.id)
            if self.failures.pop(device.id, None) is not None:
                log.info("%s logged in from %s after failed attempts", device.id, request.remote)
            log.debug("%s authenticated as %r from %s", device.id, verdict.username,
                      request.remote)
            return None
        if state is None:
            state = _Connection()
            if transport is not None:
                self._connections[transport] = state
        state.failures += 1
        state.device_id = None
        final = state.failures >= 2
        if header is not None or final:
            self._record_failure(request, device.id, verdict, final)
        response = web.Response(
            status=401,
            text="authentication required\n" if header is None else "authentication failed\n",
        )
        for value in self.challenges(request, stale=verdict.stale):
            response.headers.add("WWW-Authenticate", value)
        if final:
            response.headers["Connection"] = "close"
            response.force_close()
        return response

    async def _verify(
        self,
        header: str,
        request: web.Request,
        body: bytes,
        device: DeviceRecord,
        load_params: ParamsLoader | None,
    ) -> _Verdict:
        creds = _Credentials(self, header, request, body)
        if creds.error:
            return _Verdict(False, creds.error, creds.username, creds.stale)
        if self._expr is None:
            ok = creds.matches(self._user, self._password)
        else:
            try:
                ok = await self._evaluate(creds, request, device, load_params)
            except ExpressionError as exc:
                log.error("cwmp_auth failed for %s: %s", device.id, exc)
                return _Verdict(False, f"the cwmp_auth expression failed: {exc}", creds.username)
        if ok and creds.scheme == "digest" and not self._check_nc(creds.params):
            reused = "nonce count reused" if creds.params.get("qop") else "nonce reused"
            return _Verdict(False, f"replayed Digest credentials ({reused})", creds.username)
        if ok:
            return _Verdict(True, username=creds.username)
        if creds.tried_user:
            return _Verdict(False, f"wrong password for user {creds.username!r}", creds.username)
        if creds.missing:
            return _Verdict(False, f"{NO_STORED_CREDENTIALS} ({creds.missing})", creds.username)
        if not creds.username:
            return _Verdict(False, "no credentials: the CPE sent an empty user name", "")
        return _Verdict(False, f"unknown user {creds.username!r}", creds.username)

    async def _evaluate(
        self,
        creds: _Credentials,
        request: web.Request,
        device: DeviceRecord,
        load_params: ParamsLoader | None,
    ) -> bool:
        assert self._expr is not None
        # Only what the ACS knows: the stored parameters, never the Inform's (the claim).
        params: Mapping[str, Param] = {}
        if self._paths and load_params is not None:
            params = await load_params()
        resolve = make_resolver(device, params)
        functions: dict[str, Callable[..., Any]] = {
            "AUTH": creds.matches,
            "REMOTE_ADDRESS": lambda: request.remote or "",
        }
        value = evaluate(self._expr, resolve, now_ms=clock.now_ms(), functions=functions)
        if value is not True:
            unknown = [
                path for path in sorted(self._paths)
                if all(v is None or v == "" for v in resolve(path))
            ]
            if unknown:
                creds.missing = (
                    "the ACS has never seen this device" if not params
                    else "no value stored for " + ", ".join(unknown)
                )
        return value is True

    def _record_failure(
        self, request: web.Request, device_id: str, verdict: _Verdict, final: bool
    ) -> None:
        remote = request.remote or ""
        reason = f"{verdict.reason} from {remote or 'an unknown address'}"
        if final:
            reason += "; connection closed"
        self.failure_count += 1
        entry = self.failures.get(device_id)
        now = clock.now_ms()
        if entry is None:
            entry = AuthFailure(device_id, remote, verdict.username, verdict.reason, 0, now, now)
            self.failures[device_id] = entry
        entry.count += 1
        entry.remote, entry.username, entry.reason, entry.last_at_ms = (
            remote, verdict.username, verdict.reason, now,
        )
        self.failures.move_to_end(device_id)
        while len(self.failures) > _FAILURE_MEMORY:
            self.failures.popitem(last=False)
        log.warning("CPE authentication failed for %s: %s", device_id or "?", reason)
        self.bus.publish(RequestRejected(now, remote, 401, reason, device_id))
