"""The TR-111 (TR-069 Annex G) UDP connection-request message: building and checking it.

Sans-IO: the datagram text, its HMAC-SHA1 signature, and the checks a CPE applies before it
starts a session. Sending lives in :mod:`acs_engine.reach.connreq`.

The message is one text datagram, an HTTP request line plus a ``Host`` header::

    GET http://host:port?ts=<unix s>&id=<u32>&un=<user>&cn=<cnonce>&sig=<hex> HTTP/1.1

where ``sig`` is the hex HMAC-SHA1 keyed with ConnectionRequestPassword over
``ts + id + un + cn`` (no separators). Repeats keep the same ``id``.
"""

from __future__ import annotations

import hashlib
import hmac
from urllib.parse import parse_qs, quote, urlsplit

__all__ = ["build_udp_request", "split_host_port", "verify_udp_request"]

#: Characters left as they are in the ``un`` query value (RFC 3986 query chars minus & = + #).
_UN_SAFE = "-._~!$'()*,;:@/?"


def split_host_port(address: str) -> tuple[str, int]:
    """Split ``host:port`` / ``[v6]:port``; raises ValueError when there is no valid port."""
    text = address.strip()
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise ValueError("missing port")
        port_text = rest[1:]
    else:
        host, sep, port_text = text.rpartition(":")
        if not sep or ":" in host:
            raise ValueError("missing port")
    port = int(port_text)
    if not host or not 0 < port < 65536:
        raise ValueError("bad host or port")
    return host, port


def _udp_signature(password: str, ts: str, msg_id: str, username: str, cnonce: str) -> str:
    message = f"{ts}{msg_id}{username}{cnonce}".encode()
    return hmac.new(password.encode("utf-8"), message, hashlib.sha1).hexdigest()


def build_udp_request(address: str, username: str, password: str, *, ts: int, msg_id: int,
                      cnonce: str) -> bytes:
    """Build the TR-111 UDP connection-request datagram.

    The text is ``GET http://host:port?ts=..&id=..&un=..&cn=..&sig=.. HTTP/1.1`` followed by
    a ``Host`` header and an empty line. ``sig`` is the hex HMAC-SHA1 keyed with the password
    over ``ts + id + un + cn``. Characters of the user name that would break the query
    (``&``, ``=``, ``+``, ``#``, ``%``, spaces, non-ASCII) are percent-encoded in ``un``; the
    signature is computed over the raw user name.

    Args:
        address: ``host:port`` exactly as found in UDPConnectionRequestAddress.
        username: ConnectionRequestUsername.
        password: ConnectionRequestPassword (the HMAC key).
        ts: Unix time in seconds.
        msg_id: message id, 0..2**32-1, the same for every repeat.
        cnonce: the client nonce.

    Returns:
        The datagram bytes.
    """
    host = address.strip()
    sig = _udp_signature(password, str(ts), str(msg_id), username, cnonce)
    query = f"ts={ts}&id={msg_id}&un={quote(username, safe=_UN_SAFE)}&cn={cnonce}&sig={sig}"
    return f"GET http://{host}?{query} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode()


def verify_udp_request(
    datagram: bytes,
    username: str,
    password: str,
    *,
    now: float,
    max_age_s: int = 60,
    seen_ids: set[int],
) -> bool:
    """Check a UDP connection-request datagram as a CPE does (TR-111 Annex G).

    Accepted only when it is a well-formed ``GET`` request line whose query carries exactly
    one each of ``ts``, ``id``, ``un``, ``cn`` and ``sig``, the user name matches, ``ts`` is
    within ``max_age_s`` of ``now`` (either way), the id was not seen before and the
    signature is right. An accepted id is added to ``seen_ids``.

    Args:
        datagram: the received bytes.
        username: the expected ConnectionRequestUsername.
        password: ConnectionRequestPassword (the HMAC key).
        now: the current Unix time in seconds.
        max_age_s: how far ``ts`` may be from ``now``.
        seen_ids: ids already accepted (updated in place).

    Returns:
        True when the CPE should start a session.
    """
    try:
        text = datagram.decode("ascii")
    except UnicodeDecodeError:
        return False
    request_line = text.split("\r\n", 1)[0]
    parts = request_line.split(" ")
    if len(parts) != 3 or parts[0] != "GET" or not parts[2].startswith("HTTP/1."):
        return False
    query = urlsplit(parts[1]).query
    try:
        fields = parse_qs(query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        return False
    wanted = ("ts", "id", "un", "cn", "sig")
    if any(len(fields.get(key, ())) != 1 for key in wanted):
        return False
    ts_text, id_text, un, cn, sig = (fields[key][0] for key in wanted)
    # parse_qs already percent-decoded the values; "+" would have become a space
    if not (ts_text.isdigit() and id_text.isdigit()):
        return False
    msg_id = int(id_text)
    if msg_id >= 2**32 or abs(now - int(ts_text)) > max_age_s:
        return False
    if not hmac.compare_digest(un.encode(), username.encode()) or msg_id in seen_ids:
        return False
    expected = _udp_signature(password, ts_text, id_text, un, cn)
    if not hmac.compare_digest(expected, sig.lower()):
        return False
    seen_ids.add(msg_id)
    return True
