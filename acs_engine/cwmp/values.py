"""Parameter values on the wire: ``xsd:`` type names, text <-> Python, and validity checks.

A CWMP ``ParameterValueStruct`` carries its value as text plus an ``xsi:type``. The codec keeps
that text untouched (:class:`acs_engine.cwmp.rpc.ParameterValue`); this module is where text
becomes a Python value and back, and where text is checked against its XML Schema type.

Type names are normalised to ``xsd:<local>`` whatever prefix the sender used (``xs:int``,
``cwmp:string``, ``unsignedInt``), with the local name's case corrected for the types CWMP uses.
"""

from __future__ import annotations

import binascii
import math
import re
from datetime import UTC, datetime, timedelta, timezone

#: Canonical local names of the XML Schema types, keyed by their lower-case spelling.
_CANONICAL: dict[str, str] = {
    name.lower(): name
    for name in (
        "string", "boolean", "int", "unsignedInt", "long", "unsignedLong", "short",
        "unsignedShort", "byte", "unsignedByte", "integer", "nonNegativeInteger",
        "positiveInteger", "decimal", "float", "double", "dateTime", "date", "time",
        "base64Binary", "hexBinary", "anyURI", "anySimpleType", "token", "normalizedString",
    )
}
#: SOAP-encoding aliases some stacks put in ``xsi:type``.
_CANONICAL["base64"] = "base64Binary"

#: Integer types and their inclusive ranges (None = unbounded).
INT_RANGES: dict[str, tuple[int | None, int | None]] = {
    "xsd:int": (-(2**31), 2**31 - 1),
    "xsd:unsignedInt": (0, 2**32 - 1),
    "xsd:long": (-(2**63), 2**63 - 1),
    "xsd:unsignedLong": (0, 2**64 - 1),
    "xsd:short": (-(2**15), 2**15 - 1),
    "xsd:unsignedShort": (0, 2**16 - 1),
    "xsd:byte": (-128, 127),
    "xsd:unsignedByte": (0, 255),
    "xsd:integer": (None, None),
    "xsd:nonNegativeInteger": (0, None),
    "xsd:positiveInteger": (1, None),
}

_FLOAT_TYPES = frozenset({"xsd:float", "xsd:double", "xsd:decimal"})
_TRUE = frozenset({"1", "true"})
_FALSE = frozenset({"0", "false"})

_INT_RE = re.compile(r"[+-]?[0-9]+\Z")
_DECIMAL_RE = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)\Z")
_FLOAT_RE = re.compile(r"([+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?INF|NaN)\Z")
_DATETIME_RE = re.compile(
    r"(?P<neg>-)?(?P<year>[0-9]{4,})-(?P<month>[0-9]{2})-(?P<day>[0-9]{2})"
    r"T(?P<hour>[0-9]{2}):(?P<minute>[0-9]{2}):(?P<second>[0-9]{2})(?:\.(?P<frac>[0-9]+))?"
    r"(?P<tz>Z|(?P<tzsign>[+-])(?P<tzh>[0-9]{2}):(?P<tzm>[0-9]{2}))?\Z"
)
_HEX_RE = re.compile(r"(?:[0-9A-Fa-f]{2})*\Z")
_WS_RE = re.compile(r"\s+")

PyValue = str | int | bool | float | datetime


def normalize_type(raw: str | None) -> str:
    """Return the canonical ``xsd:<local>`` spelling of an ``xsi:type`` value.

    Args:
        raw: the attribute text as sent (any prefix, or none), or None when absent.

    Returns:
        ``"xsd:string"`` for a missing or empty type; otherwise ``"xsd:"`` plus the local name,
        with the case of well-known type names corrected (``"xs:UNSIGNEDINT"`` ->
        ``"xsd:unsignedInt"``).
    """
    if not raw:
        return "xsd:string"
    local = raw.rpartition(":")[2].strip()
    if not local:
        return "xsd:string"
    return "xsd:" + _CANONICAL.get(local.lower(), local)


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _check_datetime(text: str) -> str | None:
    m = _DATETIME_RE.match(text)
    if m is None:
        return f"not an xsd:dateTime (YYYY-MM-DDThh:mm:ss[.fff][Z|+hh:mm]): {text!r}"
    year, month, day = int(m["year"]), int(m["month"]), int(m["day"])
    if year == 0 or (len(m["year"]) > 4 and m["year"][0] == "0"):
        return f"invalid year in dateTime: {text!r}"
    if not 1 <= month <= 12:
        return f"invalid month in dateTime: {text!r}"
    last = 29 if month == 2 and _leap(year) else _MONTH_DAYS[month - 1]
    if not 1 <= day <= last:
        return f"invalid day in dateTime: {text!r}"
    hour, minute, second = int(m["hour"]), int(m["minute"]), int(m["second"])
    end_of_day = hour == 24 and minute == 0 and second == 0 and not (m["frac"] or "").strip("0")
    if (hour > 23 and not end_of_day) or minute > 59 or second > 59:
        return f"invalid time of day in dateTime: {text!r}"
    if m["tzsign"] and (int(m["tzh"]) * 60 + int(m["tzm"]) > 14 * 60 or int(m["tzm"]) > 59):
        return f"invalid time zone offset in dateTime: {text!r}"
    return None


def _parse_datetime(text: str) -> datetime | None:
    """Parse an xsd:dateTime into an aware datetime (no zone = UTC), or None."""
    text = text.strip()
    if _check_datetime(text) is not None:
        return None
    m = _DATETIME_RE.match(text)
    assert m is not None
    if m["neg"] or len(m["year"]) > 4:
        return None
    tz = UTC
    if m["tzsign"]:
        offset = timedelta(hours=int(m["tzh"]), minutes=int(m["tzm"]))
        tz = timezone(-offset if m["tzsign"] == "-" else offset)
    micro = int((m["frac"] or "0")[:6].ljust(6, "0"))
    hour = int(m["hour"])
    try:
        value = datetime(
            int(m["year"]), int(m["month"]), int(m["day"]), 0 if hour == 24 else hour,
            int(m["minute"]), int(m["second"]), micro, tzinfo=tz,
        )
        if hour == 24:
            value += timedelta(days=1)
    except (ValueError, OverflowError):
        return None
    return value


def to_python(text: str, xsd_type: str) -> PyValue:
    """Convert a value's wire text into a Python value.

    Args:
        text: the Value element's text.
        xsd_type: its type, in any spelling :func:`normalize_type` accepts.

    Returns:
        ``bool`` for xsd:boolean (``0``/``1``/``true``/``false`` in any case), ``int`` for the
        integer types, ``float`` for float/double/decimal, an aware ``datetime`` for
        xsd:dateTime (a value without a zone is taken as UTC), and the text itself for every
        other type or whenever the text is not valid for its type.
    """
    kind = normalize_type(xsd_type)
    if kind == "xsd:string":
        return text
    if kind == "xsd:boolean":
        word = text.strip().lower()
        if word in _TRUE:
            return True
        if word in _FALSE:
            return False
        return text
    if kind in INT_RANGES:
        digits = text.strip()
        return int(digits) if _INT_RE.match(digits) else text
    if kind in _FLOAT_TYPES:
        number = text.strip()
        if (_DECIMAL_RE if kind == "xsd:decimal" else _FLOAT_RE).match(number):
            return float(number)
        return text
    if kind == "xsd:dateTime":
        parsed = _parse_datetime(text)
        return text if parsed is None else parsed
    return text


def _format_datetime(value: datetime) -> str:
    if value.tzinfo is None or value.utcoffset() is None:
        value = value.replace(tzinfo=UTC)
    offset = value.utcoffset() or timedelta(0)
    base = value.strftime("%Y-%m-%dT%H:%M:%S")
    if len(base) < 19:  # years below 1000 are not zero-padded on every platform
        base = f"{value.year:04d}" + base[base.index("-"):]
    if value.microsecond:
        base += f".{value.microsecond:06d}".rstrip("0")
    if not offset:
        return base + "Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return f"{base}{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _format_float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    return repr(value)


def to_wire(value: object, xsd_type: str) -> str:
    """Convert a Python value into wire text for a value of type ``xsd_type``.

    Text is passed through as given (``"true"`` stays ``"true"``); Python booleans become
    ``1``/``0`` for xsd:boolean and numeric types and ``true``/``false`` elsewhere; datetimes
    become xsd:dateTime (naive ones are taken as UTC); bytes become base64 or hex as the type
    asks; None becomes the empty string.

    Args:
        value: the Python value.
        xsd_type: the target type, in any spelling :func:`normalize_type` accepts.

    Returns:
        The text to put in the Value element.
    """
    kind = normalize_type(xsd_type)
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        if kind == "xsd:boolean" or kind in INT_RANGES:
            return "1" if value else "0"
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if kind in INT_RANGES and value.is_integer():
            return str(int(value))
        return _format_float(value)
    if isinstance(value, datetime):
        return _format_datetime(value)
    if isinstance(value, bytes | bytearray | memoryview):
        data = bytes(value)
        if kind == "xsd:hexBinary":
            return data.hex().upper()
        if kind == "xsd:base64Binary":
            return binascii.b2a_base64(data, newline=False).decode("ascii")
        return data.decode("utf-8", errors="replace")
    return str(value)


def check(text: str, xsd_type: str) -> str | None:
    """Check that ``text`` is a valid lexical value of ``xsd_type``.

    Covers the types CWMP data models use: the integer types with their ranges
    (int, unsignedInt, long, unsignedLong and the short/byte variants), boolean, dateTime,
    base64Binary, hexBinary, float/double/decimal. Leading and trailing whitespace is allowed
    for all of them (XML Schema collapses it). Strings and unknown types always pass.

    Args:
        text: the value's text.
        xsd_type: its type, in any spelling :func:`normalize_type` accepts.

    Returns:
        None when valid, otherwise a short human-readable reason.
    """
    kind = normalize_type(xsd_type)
    if kind in ("xsd:string", "xsd:anySimpleType"):
        return None
    value = text.strip()
    if kind == "xsd:boolean":
        if value.lower() in _TRUE or value.lower() in _FALSE:
            return None
        return f"not a boolean (expected 0, 1, true or false): {text!r}"
    if kind in INT_RANGES:
        if not _INT_RE.match(value):
            return f"not an integer: {text!r}"
        number = int(value)
        low, high = INT_RANGES[kind]
        if (low is not None and number < low) or (high is not None and number > high):
            lo = "" if low is None else str(low)
            hi = "" if high is None else str(high)
            return f"{number} is out of range for {kind} [{lo}..{hi}]"
        return None
    if kind == "xsd:decimal":
        return None if _DECIMAL_RE.match(value) else f"not a decimal number: {text!r}"
    if kind in _FLOAT_TYPES:
        return None if _FLOAT_RE.match(value) else f"not a floating-point number: {text!r}"
    if kind == "xsd:dateTime":
        return _check_datetime(value)
    if kind == "xsd:base64Binary":
        compact = _WS_RE.sub("", value)
        if len(compact) % 4:
            return f"not base64 (length {len(compact)} is not a multiple of 4)"
        try:
            binascii.a2b_base64(compact.encode("ascii"), strict_mode=True)
        except (binascii.Error, UnicodeEncodeError):
            return "not valid base64"
        return None
    if kind == "xsd:hexBinary":
        return None if _HEX_RE.match(value) else f"not hexBinary (pairs of hex digits): {text!r}"
    return None
