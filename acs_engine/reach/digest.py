"""HTTP Digest and Basic authentication: header parsing, the Digest hashes, client headers.

The ACS authenticates itself to a CPE's connection-request listener (TR-069 §3.2.2) with
HTTP Digest (RFC 7616, and the older RFC 2069 form without ``qop``) and, only when the
operator allows it, Basic (RFC 7617). This module parses ``WWW-Authenticate`` headers, picks
the strongest challenge we can answer and builds the ``Authorization`` header. It is
sans-IO: no sockets, and the only randomness is the client nonce (which may be passed in).

Supported Digest algorithms: ``MD5``, ``MD5-sess``, ``SHA-256``, ``SHA-256-sess`` (plus
``SHA-512-256`` and its ``-sess`` variant when the platform's hashlib offers it). ``qop=auth``
is preferred; ``qop=auth-int`` is answered for body-less requests (a GET); ``userhash=true``
is honoured.

The same parsing (an ``Authorization`` header has the grammar of a challenge) and hashing
serve the ACS's CWMP endpoint (:mod:`acs_engine.server.auth`) and both ends of the simulator
(:mod:`acs_engine.sim.auth`).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = [
    "AuthChallenge",
    "AuthHeaderError",
    "basic_authorization",
    "choose_challenge",
    "digest_authorization",
    "digest_response",
    "parse_www_authenticate",
    "quoted",
    "supports_algorithm",
]

#: RFC 7616 algorithm token (upper-case, without ``-SESS``) -> hashlib name.
_ALGORITHMS: dict[str, str] = {"MD5": "md5", "SHA-256": "sha256"}
if "sha512_256" in hashlib.algorithms_available:  # pragma: no branch - platform dependent
    _ALGORITHMS["SHA-512-256"] = "sha512_256"

#: Preference when a CPE offers several Digest challenges (higher is stronger).
_STRENGTH: dict[str, int] = {"MD5": 1, "SHA-256": 2, "SHA-512-256": 3}

_TOKEN_STOP = frozenset(' \t,="')


class AuthHeaderError(ValueError):
    """A ``WWW-Authenticate`` header that cannot be parsed, or a challenge we cannot answer."""


@dataclass(frozen=True, slots=True)
class AuthChallenge:
    """One challenge from a ``WWW-Authenticate`` header.

    Attributes:
        scheme: the auth scheme, lower-case (``"digest"``, ``"basic"``, ...).
        params: the auth-params, keys lower-case, quoted values unescaped.
        token68: a token68 value following the scheme (rare in challenges), else ``""``.
    """

    scheme: str
    params: Mapping[str, str] = field(default_factory=dict)
    token68: str = ""

    @property
    def algorithm(self) -> str:
        """The Digest algorithm, upper-case (``MD5`` when absent, as RFC 7616 says)."""
        return self.params.get("algorithm", "MD5").strip().upper()

    @property
    def qops(self) -> tuple[str, ...]:
        """The ``qop`` options offered, lower-case (empty for the RFC 2069 form)."""
        raw = self.params.get("qop", "")
        return tuple(q.strip().lower() for q in raw.split(",") if q.strip())


# --------------------------------------------------------------------------- parsing
def _skip_spaces(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in " \t":
        pos += 1
    return pos


def _token_at(text: str, pos: int) -> tuple[str, int]:
    end = pos
    while end < len(text) and text[end] not in _TOKEN_STOP:
        end += 1
    return text[pos:end], end


def _quoted_at(text: str, pos: int) -> tuple[str, int]:
    """Read the quoted-string whose opening quote is at ``pos``; returns (value, next pos)."""
    chars: list[str] = []
    pos += 1
    while pos < len(text):
        ch = text[pos]
        if ch == '"':
            return "".join(chars), pos + 1
        if ch == "\\" and pos + 1 < len(text):
            pos += 1
            ch = text[pos]
        chars.append(ch)
        pos += 1
    raise AuthHeaderError("unterminated quoted-string in WWW-Authenticate")


def _parse_one(header: str, out: list[tuple[str, dict[str, str], str]]) -> None:
    pos = 0
    size = len(header)
    after_scheme = False  # the last thing read was a scheme (a token68 may follow)
    while True:
        pos = _skip_spaces(header, pos)
        while pos < size and header[pos] == ",":
            after_scheme = False
            pos = _skip_spaces(header, pos + 1)
        if pos >= size:
            return
        word, after_word = _token_at(header, pos)
        if not word:
            raise AuthHeaderError(f"unexpected {header[pos]!r} in WWW-Authenticate")
        look = _skip_spaces(header, after_word)
        is_param = look < size and header[look] == "=" and bool(out)
        if after_scheme and not is_param and (look >= size or header[look] == ","):
            # a token68 without '=' padding (``Basic dXNlcjpwYXNz``)
            scheme, params, _ = out[-1]
            out[-1] = (scheme, params, word)
            after_scheme = False
            pos = look
            continue
        after_scheme = False
        if is_param:
            # name=value, unless this is a token68 ending in '=' padding
            pad_end = look
            while pad_end < size and header[pad_end] == "=":
                pad_end += 1
            value_pos = _skip_spaces(header, pad_end)
            if value_pos >= size or header[value_pos] == ",":
                if not out[-1][1] and not out[-1][2]:
                    scheme, params, _ = out[-1]
                    out[-1] = (scheme, params, word + header[look:pad_end])
                    pos = value_pos
                    continue
                raise AuthHeaderError(f"auth-param {word!r} has no value")
            if pad_end - look > 1:
                raise AuthHeaderError(f"auth-param {word!r} has a malformed value")
            if header[value_pos] == '"':
                value, pos = _quoted_at(header, value_pos)
            else:
                value, pos = _token_at(header, value_pos)
            out[-1][1][word.lower()] = value
            continue
        out.append((word.lower(), {}, ""))
        after_scheme = True
        pos = after_word


def parse_www_authenticate(values: Iterable[str]) -> list[AuthChallenge]:
    """Parse every ``WWW-Authenticate`` header value of a response.

    One header may carry several challenges (``Digest realm="a", nonce="b", Basic realm="c"``)
    and a response may carry several headers; challenges come back in order.

    Args:
        values: the raw header values.

    Returns:
        The challenges found.

    Raises:
        AuthHeaderError: when a header is malformed.
    """
    raw: list[tuple[str, dict[str, str], str]] = []
    for value in values:
        part: list[tuple[str, dict[str, str], str]] = []
        _parse_one(value, part)
        raw.extend(part)
    return [AuthChallenge(scheme, params, token) for scheme, params, token in raw]


# --------------------------------------------------------------------------- digest math
def supports_algorithm(algorithm: str) -> bool:
    """True when ``algorithm`` (e.g. ``"SHA-256"``, ``"md5-sess"``) can be computed here."""
    return algorithm.strip().upper().removesuffix("-SESS") in _ALGORITHMS


def _hex_hash(algorithm: str, data: str) -> str:
    base = algorithm.upper().removesuffix("-SESS")
    name = _ALGORITHMS.get(base)
    if name is None:
        raise AuthHeaderError(f"unsupported Digest algorithm {algorithm!r}")
    return hashlib.new(name, data.encode("utf-8")).hexdigest()


def digest_response(
    *,
    algorithm: str,
    username: str,
    realm: str,
    password: str,
    method: str,
    uri: str,
    nonce: str,
    nc: str = "",
    cnonce: str = "",
    qop: str = "",
    body: bytes = b"",
) -> str:
    """Compute the Digest ``response`` (RFC 7616 §3.4.1; RFC 2069 when ``qop`` is empty).

    Args:
        algorithm: ``MD5``, ``SHA-256`` (or ``SHA-512-256``), optionally with ``-sess``.
        username: the user name.
        realm: the realm of the challenge.
        password: the shared secret.
        method: the request method.
        uri: the request-target exactly as sent (the ``uri`` parameter).
        nonce: the server nonce.
        nc: the nonce count, 8 hex digits (with a ``qop``).
        cnonce: the client nonce (with a ``qop`` or a ``-sess`` algorithm).
        qop: ``"auth"``, ``"auth-int"`` or ``""``.
        body: the request body (used for ``auth-int`` only).

    Returns:
        The lower-case hex response.

    Raises:
        AuthHeaderError: for an unsupported algorithm.
    """
    secret = _hex_hash(algorithm, f"{username}:{realm}:{password}")
    if algorithm.upper().endswith("-SESS"):
        secret = _hex_hash(algorithm, f"{secret}:{nonce}:{cnonce}")
    if qop == "auth-int":
        base = algorithm.upper().removesuffix("-SESS")
        body_hash = hashlib.new(_ALGORITHMS[base], body).hexdigest()
        a2 = _hex_hash(algorithm, f"{method}:{uri}:{body_hash}")
    else:
        a2 = _hex_hash(algorithm, f"{method}:{uri}")
    if qop:
        return _hex_hash(algorithm, f"{secret}:{nonce}:{nc}:{cnonce}:{qop}:{a2}")
    return _hex_hash(algorithm, f"{secret}:{nonce}:{a2}")


def quoted(value: str) -> str:
    """``value`` as an HTTP quoted-string (backslash before ``"`` and ``\\``)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _digest_usable(challenge: AuthChallenge) -> bool:
    if challenge.scheme != "digest" or "nonce" not in challenge.params:
        return False
    if not supports_algorithm(challenge.algorithm):
        return False
    qops = challenge.qops
    return not qops or "auth" in qops or "auth-int" in qops


def choose_challenge(
    challenges: Iterable[AuthChallenge], *, allow_basic: bool
) -> AuthChallenge | None:
    """Pick the challenge to answer: the strongest usable Digest, else Basic if allowed.

    Args:
        challenges: the parsed challenges of a 401 response.
        allow_basic: whether a Basic challenge may be answered (the password then travels
            in clear text).

    Returns:
        The chosen challenge, or None when nothing can be answered.
    """
    best: AuthChallenge | None = None
    best_rank = 0
    basic: AuthChallenge | None = None
    for challenge in challenges:
        if _digest_usable(challenge):
            base = challenge.algorithm.removesuffix("-SESS")
            rank = _STRENGTH.get(base, 0) * 2 + ("auth" in challenge.qops)
            if best is None or rank > best_rank:
                best, best_rank = challenge, rank
        elif challenge.scheme == "basic" and basic is None:
            basic = challenge
    if best is not None:
        return best
    return basic if allow_basic else None


def digest_authorization(
    challenge: AuthChallenge,
    *,
    username: str,
    password: str,
    method: str,
    uri: str,
    nc: int = 1,
    cnonce: str | None = None,
) -> str:
    """Build the ``Authorization: Digest ...`` value answering ``challenge``.

    Args:
        challenge: a Digest challenge (see :func:`choose_challenge`).
        username: the user name.
        password: the password (used only inside the hash).
        method: the request method.
        uri: the request-target as it will be sent (path and query).
        nc: the nonce count for this nonce (1 for the first use).
        cnonce: the client nonce; a random one when None.

    Returns:
        The header value.

    Raises:
        AuthHeaderError: when the challenge cannot be answered.
    """
    if not _digest_usable(challenge):
        raise AuthHeaderError("the Digest challenge cannot be answered (algorithm or qop)")
    params = challenge.params
    algorithm = params.get("algorithm", "MD5").strip()
    realm = params.get("realm", "")
    nonce = params["nonce"]
    qops = challenge.qops
    qop = "auth" if "auth" in qops else ("auth-int" if qops else "")
    client_nonce = cnonce if cnonce is not None else secrets.token_hex(16)
    nc_text = f"{nc:08x}"
    user_field = username
    userhash = params.get("userhash", "").strip().lower() == "true"
    if userhash:
        user_field = _hex_hash(algorithm, f"{username}:{realm}")
    response = digest_response(
        algorithm=algorithm, username=username, realm=realm, password=password,
        method=method, uri=uri, nonce=nonce, nc=nc_text, cnonce=client_nonce, qop=qop,
    )
    parts = [
        f"username={quoted(user_field)}",
        f"realm={quoted(realm)}",
        f"nonce={quoted(nonce)}",
        f"uri={quoted(uri)}",
    ]
    if "algorithm" in params:
        parts.append(f"algorithm={algorithm}")
    parts.append(f"response={quoted(response)}")
    if qop:
        parts += [f"qop={qop}", f"nc={nc_text}", f"cnonce={quoted(client_nonce)}"]
    elif algorithm.upper().endswith("-SESS"):
        parts.append(f"cnonce={quoted(client_nonce)}")
    if "opaque" in params:
        parts.append(f"opaque={quoted(params['opaque'])}")
    if userhash:
        parts.append("userhash=true")
    return "Digest " + ", ".join(parts)


def basic_authorization(username: str, password: str) -> str:
    """Build the ``Authorization: Basic ...`` value (RFC 7617, UTF-8)."""
    raw = f"{username}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")
