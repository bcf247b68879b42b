"""Typed parameter values as the planner compares and sends them (GenieACS's value rules).

GenieACS keeps every value as a JavaScript value next to its ``xsd:`` type: booleans as
booleans, the integer types as numbers, dateTime as epoch milliseconds, everything else as a
string. Two values are equal when these typed forms are equal. This module gives the same
typed form for Python (``sanitize``), the text to put on the wire for it (``wire_text``) and
the JavaScript-style text of a script value (``js_string``).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from typing import Any

from acs_engine.cwmp import values as cwmp_values

#: A value in the planner's typed form.
Typed = bool | int | float | str

_INT_PREFIX = re.compile(r"\s*([+-]?\d+)")
_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?)\s*\Z")
_TRUE = ("true", "TRUE", "True", "1")
_FALSE = ("false", "FALSE", "False", "0")
#: Types :func:`sanitize` converts text to (every other type keeps the text).
_CONVERTED = frozenset(
    {"xsd:boolean", "xsd:int", "xsd:unsignedInt", "xsd:long", "xsd:unsignedLong", "xsd:dateTime"}
)


def js_string(value: Any) -> str:
    """The text JavaScript's ``String(value)`` gives for a script value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "Infinity" if value > 0 else "-Infinity"
        if value.is_integer() and abs(value) < 1e21:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime):
        return iso_ms(epoch_ms(value))
    if value is None:
        return "null"
    return str(value)


def epoch_ms(value: datetime) -> int:
    """Milliseconds since the epoch of an aware (or UTC-naive) datetime."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return round(value.timestamp() * 1000)


def iso_ms(ms: int | float, *, milliseconds: bool = True) -> str:
    """``YYYY-MM-DDThh:mm:ss.fffZ`` (or without the fraction) for epoch milliseconds."""
    ms = int(ms)
    stamp = datetime.fromtimestamp(ms // 1000, UTC)
    base = f"{stamp.year:04d}" + stamp.strftime("-%m-%dT%H:%M:%S")
    if milliseconds:
        return f"{base}.{ms % 1000:03d}Z"
    return base + "Z"


def parse_datetime_ms(text: str) -> int | None:
    """Epoch milliseconds of an xsd:dateTime text or a number, or None when neither."""
    text = text.strip()
    if _NUMBER.match(text):
        number = float(text)
        return int(number) if math.isfinite(number) else None
    parsed = cwmp_values.to_python(text, "xsd:dateTime")
    if isinstance(parsed, datetime):
        return epoch_ms(parsed)
    return None


def _from_number(value: Any) -> Typed | None:
    """An integer type's value from a script's number: a bool stays text, an int is kept, a
    finite float is cut to an int; None for anything else (it is read as text)."""
    if isinstance(value, bool):
        return js_string(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return int(value)
    return None


def sanitize(value: Any, xsd_type: str) -> Typed:
    """The typed form of ``value`` for a parameter of type ``xsd_type``.

    Booleans accept ``true``/``false``/``1``/``0`` (GenieACS's spellings), the integer types
    take the leading integer (``parseInt``), dateTime becomes epoch milliseconds (from a number
    or an xsd:dateTime text); a value that does not convert stays text, as in GenieACS.
    """
    if type(value) is str and xsd_type not in _CONVERTED:
        return value  # js_string(value), without the checks
    if xsd_type == "xsd:boolean":
        if isinstance(value, bool):
            return value
        text = js_string(value)
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        return text
    if xsd_type in ("xsd:int", "xsd:unsignedInt", "xsd:long", "xsd:unsignedLong"):
        number = _from_number(value)
        if number is not None:
            return number
        match = _INT_PREFIX.match(js_string(value))
        return int(match.group(1)) if match else js_string(value)
    if xsd_type == "xsd:dateTime":
        number = _from_number(value)
        if number is not None:
            return number
        if isinstance(value, datetime):
            return epoch_ms(value)
        ms = parse_datetime_ms(js_string(value))
        return js_string(value) if ms is None else ms
    return js_string(value)


def wire_text(
    value: Typed, xsd_type: str, *, boolean_literal: bool = True, datetime_ms: bool = True
) -> str:
    """The text sent in a SetParameterValues for a typed value.

    Args:
        value: the typed value (see :func:`sanitize`).
        xsd_type: its type.
        boolean_literal: ``true``/``false`` (cwmp.booleanLiteral) rather than ``1``/``0``.
        datetime_ms: keep the milliseconds of a dateTime (cwmp.datetimeMilliseconds).
    """
    if xsd_type == "xsd:boolean" and isinstance(value, bool):
        if boolean_literal:
            return "true" if value else "false"
        return "1" if value else "0"
    if xsd_type == "xsd:dateTime" and isinstance(value, int) and not isinstance(value, bool):
        if not datetime_ms:
            value -= value % 1000
        return iso_ms(value, milliseconds=datetime_ms)
    return js_string(value)


def stored_text(value: Typed, xsd_type: str) -> str:
    """The text the tree keeps for a typed value (dateTime as ISO text with milliseconds)."""
    return wire_text(value, xsd_type)
