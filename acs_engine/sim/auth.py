"""HTTP Basic and Digest authentication (RFC 7617, RFC 7616) for both ends of the simulator.

The CPE uses the client half when the ACS challenges its Inform; the connection-request
listener uses the server half to check the ACS. Digest supports MD5 and SHA-256 (and their
``-sess`` variants) with ``qop=auth``, ``nc``, ``cnonce`` and ``opaque``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field

#: Digest algorithms we compute, by their RFC 7616 token (upper-case).
_HASHES = {"MD5": "md5", "SHA-256": "sha256"}


class AuthError(ValueError):
    """A challenge or Authorization header that cannot be used."""


@dataclass(frozen=True, slots=True)
class Challenge:
    """One challenge (or credentials) parsed from a WWW-Authenticate / Authorization header.

    Attributes:
        scheme: the scheme, lower-case (``"digest"``, ``"basic"``).
        params: the auth-params with lower-case keys (quotes removed).
        token: a token68 value (Basic credentials), or ``""``.
    """

    scheme: str
    params: dict[str, str] = field(default_factory=dict)
    token: str = ""


# --------------------------------------------------------------------------- header parsing
def _skip_ws(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t":
        i += 1
    return i


def _read_token(text: str, i: int) -> tuple[str, int]:
    start = i
    while i < len(text) and text[i] not in " \t,=\"":
        i += 1
    return text[start:i], i


def _read_quoted(text: str, i: int) -> tuple[str, int]:
    # text[i] is the opening quote
    out: list[str] = []
    i += 1
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        if ch == '"':
            return "".join(out), i + 1
        out.append(ch)
        i += 1
    raise AuthError("unterminated quoted string")


def parse_challenges(header: str) -> list[Challenge]:
    """Parse one WWW-Authenticate or Authorization header value into its challenges.

    Several challenges may share one header (``Digest realm="a", nonce="b", Basic realm="c"``).

    Args:
        header: the raw header value.

    Returns:
        The challenges in header order.

    Raises:
        AuthError: when the header is malformed.
    """
    result: list[Challenge] = []
    i = 0
    n = len(header)
    while i < n:
        i = _skip_ws(header, i)
        if i >= n:
            break
        if header[i] == ",":
            i += 1
            continue
        word, j = _read_token(header, i)
        if not word:
            raise AuthError(f"unexpected character {header[i]!r} in auth header")
        k = _skip_ws(header, j)
        if k < n and header[k] == "=" and result:
            # name=value auth-param of the current challenge
            v = _skip_ws(header, k + 1)
            if v < n and header[v] == '"':
                value, i = _read_quoted(header, v)
            else:
                value, i = _read_token(header, v)
            result[-1].params[word.lower()] = value
            continue
        scheme = word.lower()
        i = k
        # token68 right after the scheme: a token, optional '=' padding, then end or ','
        tok, t_end = _read_token(header, i)
        pad = t_end
        while pad < n and header[pad] == "=":
            pad += 1
        after = _skip_ws(header, pad)
        if tok and (after >= n or header[after] == ","):
            result.append(Challenge(scheme=scheme, token=tok + header[t_end:pad]))
            i = after
            continue
        result.append(Challenge(scheme=scheme))
    return result


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --------------------------------------------------------------------------- digest math
def _hash(algorithm: str, data: str) -> str:
    base = algorithm.upper().removesuffix("-SESS")
    name = _HASHES.get(base)
    if name is None:
        raise AuthError(f"unsupported digest algorithm {algorithm!r}")
    return hashlib.new(name, data.encode("utf-8")).hexdigest()


def supported_algorithm(algorithm: str) -> bool:
    """True when ``algorithm`` (e.g. ``"SHA-256"``, ``"md5-sess"``) can be computed here."""
    return algorithm.upper().removesuffix("-SESS") in _HASHES


def digest_response(
    *,
    algorithm: str,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    nc: str,
    cnonce: str,
    qop: str,
) -> str:
    """Compute the Digest ``response`` value (RFC 7616 section 3.4.1).

    Args:
        algorithm: ``MD5``, ``SHA-256`` or a ``-sess`` variant.
        username: the user name.
        realm: the realm from the challenge.
        password: the shared secret.
        method: the HTTP method (``GET``, ``POST``).
        uri: the request-target as sent in the ``uri`` parameter.
        nonce: the server nonce.
        nc: the nonce count, 8 hex digits.
        cnonce: the client nonce.
        qop: ``"auth"``, or ``""`` for the legacy RFC 2069 form.

    Returns:
        The lower-case hex digest.
    """
    ha1 = _hash(algorithm, f"{username}:{realm}:{password}")
    if algorithm.upper().endswith("-SESS"):
        ha1 = _hash(algorithm, f"{ha1}:{nonce}:{cnonce}")
    ha2 = _hash(algorithm, f"{method}:{uri}")
    if qop:
        return _hash(algorithm, f"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}")
    return _hash(algorithm, f"{ha1}:{nonce}:{ha2}")


def basic_authorization(username: str, password: str) -> str:
    """The ``Authorization`` header value for Basic credentials."""
    raw = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


# --------------------------------------------------------------------------- client side
class ClientAuth:
    """Answers an HTTP 401 challenge and keeps signing later requests of the same session.

    Args:
        username: the user name to present.
        password: the password.
        allow_basic: whether a Basic-only challenge may be answered.
    """

    def __init__(self, username: str, password: str, *, allow_basic: bool = True) -> None:
        self.username = username
        self.password = password
        self.allow_basic = allow_basic
        self._challenge: Challenge | None = None
        self._nc = 0

    @property
    def active(self) -> bool:
        """True once a challenge has been accepted."""
        return self._challenge is not None

    def accept(self, headers: list[str]) -> bool:
        """Pick the strongest usable challenge from the WWW-Authenticate headers.

        Digest SHA-256 is preferred over Digest MD5 over Basic.

        Args:
            headers: every WWW-Authenticate header value of the 401 response.

        Returns:
            False when none of the challenges can be answered.
        """
        challenges: list[Challenge] = []
        for value in headers:
            try:
                challenges.extend(parse_challenges(value))
            except AuthError:
                continue

        def rank(ch: Challenge) -> int:
            if ch.scheme == "digest":
                alg = ch.params.get("algorithm", "MD5")
                qops = [q.strip() for q in ch.params.get("qop", "").split(",") if q.strip()]
                if not supported_algorithm(alg) or (qops and "auth" not in qops):
                    return -1
                if "nonce" not in ch.params:
                    return -1
                return 3 if alg.upper().startswith("SHA-256") else 2
            if ch.scheme == "basic" and self.allow_basic:
                return 1
            return -1

        usable = [c for c in challenges if rank(c) >= 0]
        if not usable:
            return False
        best = max(usable, key=rank)
        self._challenge = best
        self._nc = 0
        return True

    def authorization(self, method: str, uri: str) -> str | None:
        """The ``Authorization`` header value for the next request, or None before a challenge.

        Args:
            method: the HTTP method.
            uri: the request-target (path and query) of the request.
        """
        ch = self._challenge
        if ch is None:
            return None
        if ch.scheme == "basic":
            return basic_authorization(self.username, self.password)
        self._nc += 1
        nc = f"{self._nc:08x}"
        cnonce = secrets.token_hex(8)
        algorithm = ch.params.get("algorithm", "MD5")
        realm = ch.params.get("realm", "")
        nonce = ch.params["nonce"]
        qops = [q.strip() for q in ch.params.get("qop", "").split(",") if q.strip()]
        qop = "auth" if "auth" in qops else ""
        response = digest_response(
            algorithm=algorithm, username=self.username, realm=realm, password=self.password,
            method=method, uri=uri, nonce=nonce, nc=nc, cnonce=cnonce, qop=qop,
        )
        parts = [
            f"username={_quote(self.username)}",
            f"realm={_quote(realm)}",
            f"nonce={_quote(nonce)}",
            f"uri={_quote(uri)}",
            f"algorithm={algorithm}",
            f"response={_quote(response)}",
        ]
        if qop:
            parts += [f"qop={qop}", f"nc={nc}", f"cnonce={_quote(cnonce)}"]
        if "opaque" in ch.params:
            parts.append(f"opaque={_quote(ch.params['opaque'])}")
        return "Digest " + ", ".join(parts)


# --------------------------------------------------------------------------- server side
class DigestServer:
    """Issues Digest challenges and verifies Authorization headers (the connection-request side).

    Nonces are random, expire after ``nonce_lifetime`` seconds and must be used with a strictly
    increasing ``nc`` (replays are refused).

    Args:
        realm: the protection realm announced in challenges.
        algorithms: the algorithms offered, strongest first.
        nonce_lifetime: seconds a nonce stays valid.
    """

    def __init__(
        self,
        realm: str,
        algorithms: tuple[str, ...] = ("SHA-256", "MD5"),
        nonce_lifetime: float = 300.0,
    ) -> None:
        self.realm = realm
        self.algorithms = algorithms
        self.nonce_lifetime = nonce_lifetime
        self.opaque = secrets.token_hex(16)
        self._nonces: dict[str, tuple[float, int]] = {}

    def challenges(self, *, allow_basic: bool = False) -> list[str]:
        """Fresh WWW-Authenticate header values, one per offered algorithm (plus Basic)."""
        now = time.monotonic()
        self._expire(now)
        out: list[str] = []
        for alg in self.algorithms:
            nonce = secrets.token_hex(16)
            self._nonces[nonce] = (now, 0)
            out.append(
                f"Digest realm={_quote(self.realm)}, qop=\"auth\", algorithm={alg}, "
                f"nonce={_quote(nonce)}, opaque={_quote(self.opaque)}"
            )
        if allow_basic:
            out.append(f"Basic realm={_quote(self.realm)}")
        return out

    def _expire(self, now: float) -> None:
        if len(self._nonces) > 64:
            stale = [k for k, (t, _) in self._nonces.items() if now - t > self.nonce_lifetime]
            for key in stale:
                del self._nonces[key]

    def verify(
        self,
        header: str | None,
        method: str,
        username: str,
        password: str,
        *,
        allow_basic: bool = False,
        request_uris: tuple[str, ...] | None = None,
    ) -> bool:
        """Check an ``Authorization`` header against the expected credentials.

        Args:
            header: the Authorization header value (None when absent).
            method: the request's HTTP method.
            username: the expected user name.
            password: the expected password.
            allow_basic: accept Basic credentials too.
            request_uris: acceptable request-targets; when given, the Digest ``uri`` must be one.

        Returns:
            True when the credentials are right and the nonce is fresh.
        """
        if not header:
            return False
        try:
            parsed = parse_challenges(header)
        except AuthError:
            return False
        if len(parsed) != 1:
            return False
        cred = parsed[0]
        if cred.scheme == "basic":
            if not allow_basic:
                return False
            try:
                raw = base64.b64decode(cred.token, validate=True).decode("utf-8")
            except (binascii.Error, UnicodeDecodeError):
                return False
            user, _, pw = raw.partition(":")
            return hmac.compare_digest(user, username) and hmac.compare_digest(pw, password)
        if cred.scheme != "digest":
            return False
        p = cred.params
        algorithm = p.get("algorithm", "MD5")
        if algorithm.upper() not in {a.upper() for a in self.algorithms}:
            return False
        nonce = p.get("nonce", "")
        entry = self._nonces.get(nonce)
        now = time.monotonic()
        if entry is None or now - entry[0] > self.nonce_lifetime:
            return False
        if p.get("username") != username or p.get("realm") != self.realm:
            return False
        if p.get("opaque", self.opaque) != self.opaque:
            return False
        if request_uris is not None and p.get("uri") not in request_uris:
            return False
        qop = p.get("qop", "")
        if qop != "auth":
            return False
        try:
            nc = int(p.get("nc", ""), 16)
        except ValueError:
            return False
        if nc <= entry[1]:
            return False
        expected = digest_response(
            algorithm=algorithm, username=username, realm=self.realm, password=password,
            method=method, uri=p.get("uri", ""), nonce=nonce, nc=p.get("nc", ""),
            cnonce=p.get("cnonce", ""), qop=qop,
        )
        if not hmac.compare_digest(expected, p.get("response", "")):
            return False
        self._nonces[nonce] = (entry[0], nc)
        return True
