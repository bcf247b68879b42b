"""HTTP Basic and Digest authentication (RFC 7617, RFC 7616) for both ends of the simulator.

The CPE uses the client half when the ACS challenges its Inform; the connection-request
listener uses the server half to check the ACS. Digest supports MD5 and SHA-256 (and their
``-sess`` variants) with ``qop=auth``, ``nc``, ``cnonce`` and ``opaque``. Header parsing, the
Digest hashes and the ``Authorization`` header are :mod:`acs_engine.reach.digest`'s;
the choice of challenge and the server's nonces are the simulator's own.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import time

from acs_engine.reach.digest import (
    AuthChallenge,
    AuthHeaderError,
    basic_authorization,
    digest_authorization,
    digest_response,
    parse_www_authenticate,
    quoted,
)

#: Digest algorithms the simulator answers (RFC 7616 tokens, without ``-sess``).
_ALGORITHMS = frozenset({"MD5", "SHA-256"})


def parse_challenges(header: str) -> list[AuthChallenge]:
    """Parse one WWW-Authenticate or Authorization header value into its challenges.

    Raises:
        AuthHeaderError: when the header is malformed.
    """
    return parse_www_authenticate([header])


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
        self._challenge: AuthChallenge | None = None
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
        challenges: list[AuthChallenge] = []
        for value in headers:
            try:
                challenges.extend(parse_challenges(value))
            except AuthHeaderError:
                continue

        def rank(ch: AuthChallenge) -> int:
            if ch.scheme == "digest":
                alg = ch.algorithm
                qops = ch.qops
                if alg.removesuffix("-SESS") not in _ALGORITHMS or (qops and "auth" not in qops):
                    return -1
                if "nonce" not in ch.params:
                    return -1
                return 3 if alg.startswith("SHA-256") else 2
            if ch.scheme == "basic" and self.allow_basic:
                return 1
            return -1

        usable = [c for c in challenges if rank(c) >= 0]
        if not usable:
            return False
        best = max(usable, key=rank)
        if best.scheme == "digest":  # the simulator names the algorithm even when implied
            best = AuthChallenge(best.scheme, {"algorithm": "MD5", **best.params})
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
        return digest_authorization(
            ch, username=self.username, password=self.password, method=method, uri=uri,
            nc=self._nc, cnonce=secrets.token_hex(8),
        )


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
                f"Digest realm={quoted(self.realm)}, qop=\"auth\", algorithm={alg}, "
                f"nonce={quoted(nonce)}, opaque={quoted(self.opaque)}"
            )
        if allow_basic:
            out.append(f"Basic realm={quoted(self.realm)}")
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
        except AuthHeaderError:
            return False
        if len(parsed) != 1:
            return False
        cred = parsed[0]
        if cred.scheme == "basic":
            if not allow_basic:
                return False
            try:
                raw = base64.b64decode(cred.token68, validate=True).decode("utf-8")
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
