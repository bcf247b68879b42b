"""Turning a CWMP request body into bytes the codec parses: decompression and charsets.

Every step here is linear in the body's size (no pre-authentication work may grow faster
than the body): gzip/deflate with a bomb limit, and re-encoding only from the charsets CWMP
bodies use (UTF-8, US-ASCII, ISO-8859-1, UTF-16, UTF-32). Any other charset, in Content-Type
or in the XML declaration, is refused with 415 before anything decodes it: Python's codecs
include quadratic ones (``punycode``), and libxml2's iconv knows many more.
"""

from __future__ import annotations

import re
import zlib

#: Charsets a CWMP body may be in (lower case, ``_`` read as ``-``).
ALLOWED_CHARSETS = frozenset({
    "utf-8", "utf8", "us-ascii", "ascii", "iso-8859-1", "iso8859-1", "latin-1", "latin1",
    "utf-16", "utf16", "utf-16le", "utf-16be", "utf-32", "utf32", "utf-32le", "utf-32be",
})
#: Bodies larger than this are decoded and parsed off the event loop (bytes).
OFFLOAD_BYTES = 64 * 1024

_CHARSET_RE = re.compile(r'charset\s*=\s*"?([^";,\s]*)"?', re.IGNORECASE)
_DECL_ENCODING_RE = re.compile(rb"""^\s*<\?xml[^>]{0,200}?encoding\s*=\s*["']([^"']{0,64})["']""")
_NO_TRANSCODE = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})


class BodyError(Exception):
    """A request body we refuse before parsing it."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def _normal(charset: str) -> str:
    return charset.strip().lower().replace("_", "-")


def check_charsets(data: bytes, content_type: str) -> str | None:
    """The Content-Type charset (normalized; None when there is none).

    Raises:
        BodyError: 415 when Content-Type or the XML declaration names a charset CWMP
            bodies do not use.
    """
    charset = None
    match = _CHARSET_RE.search(content_type)
    if match and match.group(1).strip():
        charset = _normal(match.group(1))
        if charset not in ALLOWED_CHARSETS:
            raise BodyError(
                415, f"charset {match.group(1)[:40]!r} is not accepted "
                     "(use UTF-8, US-ASCII, ISO-8859-1, UTF-16 or UTF-32)"
            )
    declared = _DECL_ENCODING_RE.match(data[:300])
    if declared:
        name = declared.group(1).decode("ascii", "replace")
        if _normal(name) not in ALLOWED_CHARSETS:
            raise BodyError(
                415, f"XML encoding {name[:40]!r} is not accepted "
                     "(use UTF-8, US-ASCII, ISO-8859-1, UTF-16 or UTF-32)"
            )
    return charset


def _decompress(data: bytes, encoding: str, limit: int) -> bytes:
    if encoding in ("gzip", "x-gzip"):
        decoder = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    elif encoding == "deflate":
        # RFC 9110 says zlib-wrapped; some clients send raw deflate.
        raw = data[:1] and (data[0] & 0x0F) != 8
        decoder = zlib.decompressobj(wbits=-zlib.MAX_WBITS if raw else zlib.MAX_WBITS)
    else:
        raise BodyError(415, f"unsupported Content-Encoding {encoding!r} (use gzip or deflate)")
    try:
        out = decoder.decompress(data, limit + 1)
    except zlib.error as exc:
        raise BodyError(400, f"body is not valid {encoding} data: {exc}") from None
    if len(out) > limit or decoder.unconsumed_tail:
        raise BodyError(413, f"decompressed body is larger than {limit} bytes")
    return out


def decode_body(data: bytes, content_encoding: str, content_type: str, limit: int) -> bytes:
    """The body as the codec reads it: decompressed, re-encoded to UTF-8 when Content-Type
    alone names its charset (an XML declaration is left to the parser).

    Raises:
        BodyError: 415 for an unknown Content-Encoding or a charset CWMP does not use, 413
            for a decompression bomb, 400 for bytes that are not what they claim to be.
    """
    encoding = content_encoding.strip().lower()
    if data and encoding not in ("", "identity"):
        data = _decompress(data, encoding, limit)
    charset = check_charsets(data, content_type)
    if charset is None or charset in _NO_TRANSCODE or data.lstrip()[:5] == b"<?xml":
        return data
    try:
        return data.decode(charset).encode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyError(400, f"cannot decode body as {charset}: {exc}") from None
