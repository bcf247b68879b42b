"""HTTP/1.1 messages out of a reassembled TCP byte stream (one direction of a connection).

Keeps each header as sent (name case and order), reads bodies by ``Content-Length``,
``Transfer-Encoding: chunked`` (trailers skipped) or, for a response, to the end of the
connection; undoes ``Content-Encoding: gzip`` / ``deflate`` / ``x-gzip``. Several messages
follow one another on a kept-alive connection. Lines may end in CRLF or a bare LF.

Every length is bounded: the start line, the header block, the number of headers, a body and
a decompressed body (:data:`MAX_BODY`, a gzip bomb stops there). A message that the stream
ends in the middle of is returned with ``complete=False``; nothing here raises on what the
capture holds.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass

#: The longest start line and header block read.
MAX_HEAD = 64 * 1024
MAX_HEADERS = 200
#: The largest body kept, before and after decompression.
MAX_BODY = 16 * 1024 * 1024
#: Messages read per direction of a connection at most.
MAX_MESSAGES = 10_000

_HEAD_END = re.compile(rb"\r?\n\r?\n")
_REQUEST = re.compile(rb"^([A-Z]{3,10}) (\S+) HTTP/(\d\.\d)$")
_RESPONSE = re.compile(rb"^HTTP/(\d\.\d) (\d{3})(?: (.*))?$")


@dataclass(frozen=True, slots=True)
class HttpMessage:
    """One HTTP message read from a stream.

    Attributes:
        start: its offset in the stream; end: the offset after it.
        method, target: a request's; status: a response's (else None).
        headers: as sent.
        body: the body, de-chunked and decompressed.
        complete: False when the stream ended inside it.
        notes: what was done or went wrong (``gzip``, ``chunked``, ``truncated``...).
    """

    start: int
    end: int
    method: str
    target: str
    status: int | None
    headers: tuple[tuple[str, str], ...]
    body: bytes
    complete: bool = True
    notes: tuple[str, ...] = ()

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (any case), or None."""
        wanted = name.lower()
        return next((v for k, v in self.headers if k.lower() == wanted), None)


def _dechunk(data: bytes, pos: int) -> tuple[bytes, int, bool, str]:
    """Chunked body from ``pos``: (body, end offset, complete, problem)."""
    out = bytearray()
    while True:
        line_end = data.find(b"\n", pos, pos + 1024)
        if line_end < 0:
            return bytes(out), len(data), False, "truncated chunk size"
        size_text = data[pos:line_end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return bytes(out), len(data), False, "bad chunk size"
        pos = line_end + 1
        if size == 0:
            # Trailers up to an empty line.
            while True:
                line_end = data.find(b"\n", pos, pos + MAX_HEAD)
                if line_end < 0:
                    return bytes(out), len(data), False, "truncated trailer"
                line = data[pos:line_end].strip()
                pos = line_end + 1
                if not line:
                    return bytes(out), pos, True, ""
        if size > MAX_BODY or len(out) + size > MAX_BODY:
            return bytes(out), len(data), False, "chunked body too large"
        if pos + size > len(data):
            out += data[pos:]
            return bytes(out), len(data), False, "truncated chunk"
        out += data[pos:pos + size]
        pos += size
        if data[pos:pos + 2] == b"\r\n":
            pos += 2
        elif data[pos:pos + 1] == b"\n":
            pos += 1


def _decompress(body: bytes, encoding: str) -> tuple[bytes, str]:
    kind = encoding.strip().lower()
    if kind in ("", "identity"):
        return body, ""
    if kind not in ("gzip", "x-gzip", "deflate"):
        return body, f"unknown Content-Encoding {encoding!r} left as is"
    wbits = 16 + zlib.MAX_WBITS if kind != "deflate" else zlib.MAX_WBITS
    for bits in (wbits, -zlib.MAX_WBITS) if kind == "deflate" else (wbits,):
        try:
            inflater = zlib.decompressobj(bits)
            out = inflater.decompress(body, MAX_BODY + 1)
            if len(out) > MAX_BODY:
                return out[:MAX_BODY], f"{kind} body larger than {MAX_BODY:,} bytes: cut"
            return out, kind
        except zlib.error as exc:
            error = str(exc)
    return body, f"{kind} body not decompressed: {error}"


def _headers(block: bytes) -> tuple[tuple[tuple[str, str], ...], str]:
    out: list[tuple[str, str]] = []
    for raw in block.split(b"\n"):
        line = raw.rstrip(b"\r")
        if not line:
            continue
        if line[:1] in (b" ", b"\t") and out:  # an obsolete folded line
            last_name, last_value = out[-1]
            out[-1] = (last_name, last_value + " " + line.strip().decode("latin-1"))
            continue
        key, colon, raw_value = line.partition(b":")
        if not colon or not key.strip():
            return tuple(out), "malformed header line"
        out.append((key.strip().decode("latin-1"), raw_value.strip().decode("latin-1")))
        if len(out) > MAX_HEADERS:
            return tuple(out), "too many headers"
    return tuple(out), ""


def parse_stream(data: bytes, *, responses: bool, closed: bool = True) -> list[HttpMessage]:
    """The HTTP messages of one direction's bytes.

    Args:
        data: the direction's reassembled bytes.
        responses: True for the server's direction (status lines), False for requests.
        closed: the connection ended (a response without length runs to the end).
    """
    out: list[HttpMessage] = []
    pos = 0
    while pos < len(data) and len(out) < MAX_MESSAGES:
        # Stray CRLFs between messages are allowed (RFC 9112 §2.2).
        while data[pos:pos + 2] == b"\r\n" or data[pos:pos + 1] == b"\n":
            pos += 2 if data[pos:pos + 2] == b"\r\n" else 1
        if pos >= len(data):
            break
        match = _HEAD_END.search(data, pos, pos + MAX_HEAD)
        if match is None:
            out.append(HttpMessage(pos, len(data), "", "", None, (), b"", False,
                                   ("truncated or oversized header block",)))
            break
        head = data[pos:match.start()]
        first, _, rest = head.partition(b"\n")
        first = first.rstrip(b"\r")
        headers, problem = _headers(rest)
        notes = [problem] if problem else []
        method = target = ""
        status: int | None = None
        request = _REQUEST.match(first)
        response = _RESPONSE.match(first)
        if responses and response:
            status = int(response.group(2))
        elif not responses and request:
            method, target = request.group(1).decode(), request.group(2).decode("latin-1")
        else:
            out.append(HttpMessage(pos, len(data), "", "", None, headers, b"", False,
                                   (f"not an HTTP {'response' if responses else 'request'}: "
                                    f"{first[:60]!r}",)))
            break
        body_at = match.end()
        lookup = {k.lower(): v for k, v in reversed(headers)}
        complete = True
        if status is not None and (status < 200 or status in (204, 304)):
            body, end = b"", body_at
        elif "chunked" in lookup.get("transfer-encoding", "").lower():
            body, end, complete, problem = _dechunk(data, body_at)
            notes.append("chunked")
            if problem:
                notes.append(problem)
        elif "content-length" in lookup:
            try:
                length = int(lookup["content-length"].split(",")[0])
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY:
                notes.append(f"bad Content-Length {lookup['content-length']!r}")
                out.append(HttpMessage(pos, len(data), method, target, status, headers, b"",
                                       False, tuple(notes)))
                break
            end = body_at + length
            body = data[body_at:end]
            if end > len(data):
                complete = False
                notes.append("truncated body")
                end = len(data)
        elif status is not None:
            body, end = data[body_at:body_at + MAX_BODY], len(data)
            complete = closed
            if not closed:
                notes.append("body runs to the end of the capture")
        else:
            body, end = b"", body_at
        encoding = lookup.get("content-encoding", "")
        if encoding and body:
            body, note = _decompress(body, encoding)
            if note:
                notes.append(note)
        out.append(HttpMessage(pos, end, method, target, status, headers, body, complete,
                               tuple(notes)))
        if not complete:
            break
        pos = end
    return out


#: Cookie attributes, not cookies (RFC 2965's ``$``-names among them).
_COOKIE_ATTRIBUTES = ("path", "domain", "expires", "max-age", "$path", "$version", "$domain")


def cookie_pairs(values: Iterable[str]) -> set[str]:
    """The ``name=value`` cookies in Cookie header values (``;`` or ``,`` between them,
    attributes left out): what ties the requests of one CWMP session together."""
    out: set[str] = set()
    for value in values:
        for part in value.replace(",", ";").split(";"):
            key, eq, val = part.strip().partition("=")
            if eq and key and key.lower() not in _COOKIE_ATTRIBUTES:
                out.add(f"{key}={val.strip()}")
    return out


def set_cookie_pairs(headers: Iterable[tuple[str, str]]) -> set[str]:
    """The ``name=value`` cookie each Set-Cookie header among ``headers`` sets."""
    return cookie_pairs(
        value.split(";", 1)[0] for key, value in headers if key.lower() == "set-cookie"
    )
