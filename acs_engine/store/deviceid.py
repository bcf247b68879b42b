"""Device ids built the way GenieACS builds them (``generateDeviceId`` in its ``lib/util.ts``).

A device id is ``OUI-ProductClass-SerialNumber``, or ``OUI-SerialNumber`` when the product
class is empty. Each part is escaped on its own: every character other than ``A-Z``, ``a-z``,
``0-9`` and ``_`` is replaced by its UTF-8 bytes, each written as ``%`` followed by the byte
in uppercase hexadecimal. So ``-`` inside a part becomes ``%2D`` and the id splits back
unambiguously on ``-``.

Two quirks of the JavaScript original are kept so that ids match GenieACS's byte for byte:

* the hex is not zero-padded, so a byte below 0x10 gives one digit (a tab is ``%9``);
* JavaScript escapes UTF-16 code units, so a character outside the Basic Multilingual Plane
  (an emoji, say) is two lone surrogates, each of which Node encodes as U+FFFD:
  ``%EF%BF%BD%EF%BF%BD``.
"""

from __future__ import annotations

import re

__all__ = ["escape_part", "make_device_id"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
_REPLACEMENT = "%EF%BF%BD"  # U+FFFD in UTF-8, what Node's Buffer.from() makes of a lone surrogate


def _escape_char(match: re.Match[str]) -> str:
    char = match.group(0)
    code = ord(char)
    if code > 0xFFFF:  # a surrogate pair in JavaScript: each half becomes U+FFFD
        return _REPLACEMENT * 2
    if 0xD800 <= code <= 0xDFFF:  # a lone surrogate (only reachable via surrogateescape)
        return _REPLACEMENT
    return "".join(f"%{byte:X}" for byte in char.encode("utf-8"))


def escape_part(part: str) -> str:
    """Escape one part of a device id exactly as GenieACS does.

    Args:
        part: an OUI, product class or serial number as the CPE reported it.

    Returns:
        The part with every character outside ``[A-Za-z0-9_]`` percent-encoded.
    """
    return _UNSAFE.sub(_escape_char, part)


def make_device_id(oui: str, product_class: str, serial_number: str) -> str:
    """Build a device's id from its Inform ``DeviceId`` fields.

    Args:
        oui: ``DeviceId/OUI``.
        product_class: ``DeviceId/ProductClass``; left out of the id when empty.
        serial_number: ``DeviceId/SerialNumber``.

    Returns:
        ``OUI-ProductClass-SerialNumber`` or ``OUI-SerialNumber``, each part escaped.

    Example:
        >>> make_device_id("TestOUI", "", "TestSerialNumberWith _;2912")
        'TestOUI-TestSerialNumberWith%20_%3B2912'
    """
    if product_class:
        return f"{escape_part(oui)}-{escape_part(product_class)}-{escape_part(serial_number)}"
    return f"{escape_part(oui)}-{escape_part(serial_number)}"
