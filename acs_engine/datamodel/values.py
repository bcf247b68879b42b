"""Value checks for CWMP parameter values against their data-model facts.

Kept apart from :mod:`acs_engine.datamodel.facts` so the rules read as one list: type
(lexical form and the type's own bounds), then enumeration, range, length and pattern; list
parameters are checked as a whole and then item by item.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from acs_engine.datamodel.facts import ParamFacts, Range

INTEGER_BOUNDS: dict[str, tuple[int, int]] = {
    "int": (-(2**31), 2**31 - 1),
    "unsignedInt": (0, 2**32 - 1),
    "long": (-(2**63), 2**63 - 1),
    "unsignedLong": (0, 2**64 - 1),
}

_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})*")
_DATETIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})?"
)
_BOOLEANS = frozenset({"true", "false", "1", "0"})
_MAX_ENUMS_SHOWN = 8


@cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    """Compile an XSD pattern for full matching; None when Python cannot express it."""
    try:
        return re.compile(pattern)
    except re.error:
        return None


def _fmt_number(value: int | float | Decimal | None) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def describe_ranges(ranges: tuple[Range, ...]) -> str:
    """Describe allowed ranges, e.g. ``0–1280 or 2047`` or ``≥ 1``.

    Args:
        ranges: ``(min, max, step)`` triples; None for an open end or no step.

    Returns:
        A short human description.
    """
    parts = []
    for low, high, step in ranges:
        if low is not None and high is not None:
            text = _fmt_number(low) if low == high else f"{_fmt_number(low)}–{_fmt_number(high)}"
        elif low is not None:
            text = f"≥ {_fmt_number(low)}"
        elif high is not None:
            text = f"≤ {_fmt_number(high)}"
        else:
            continue
        if step not in (None, 1):
            text += f" in steps of {_fmt_number(step)}"
        parts.append(text)
    return " or ".join(parts)


def _in_ranges(number: int | Decimal, ranges: tuple[Range, ...]) -> bool:
    for low, high, step in ranges:
        if low is not None and number < Decimal(str(low)):
            continue
        if high is not None and number > Decimal(str(high)):
            continue
        if step not in (None, 0) and low is not None:
            offset = Decimal(str(number)) - Decimal(str(low))
            if offset % Decimal(str(step)) != 0:
                continue
        return True
    return False


def _check_datetime(text: str) -> str | None:
    match = _DATETIME.fullmatch(text)
    if match is None:
        return "must be a dateTime like 2024-01-31T12:00:00Z"
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    try:
        dt.datetime(year, month, day, hour, minute, second)
    except ValueError:
        return "is not a valid date and time"
    return None


def _check_type(facts: ParamFacts, text: str) -> tuple[str | None, int | Decimal | None, int]:
    """Check the lexical form. Returns (reason, numeric value, length for size checks)."""
    kind = facts.type
    if kind in INTEGER_BOUNDS:
        if _INTEGER.fullmatch(text) is None:
            return "must be a whole number", None, 0
        number = int(text)
        low, high = INTEGER_BOUNDS[kind]
        if not low <= number <= high:
            return f"must be {low}–{high}", None, 0
        return None, number, 0
    if kind == "decimal":
        if _DECIMAL.fullmatch(text) is None:
            return "must be a decimal number", None, 0
        try:
            return None, Decimal(text), 0
        except InvalidOperation:
            return "must be a decimal number", None, 0
    if kind == "boolean":
        if text not in _BOOLEANS:
            return "must be true or false (or 1/0)", None, 0
        return None, None, 0
    if kind == "dateTime":
        return _check_datetime(text), None, 0
    if kind == "hexBinary":
        if _HEX.fullmatch(text) is None:
            return "must be hexadecimal byte pairs", None, 0
        return None, None, len(text) // 2
    if kind == "base64":
        try:
            data = base64.b64decode("".join(text.split()), validate=True)
        except (binascii.Error, ValueError):
            return "must be base64", None, 0
        return None, None, len(data)
    return None, None, len(text)


def check_scalar(facts: ParamFacts, text: str, *, for_write: bool = False) -> str | None:
    """Check one scalar value (a whole value, or one item of a list).

    Args:
        facts: The parameter's facts.
        text: The value.
        for_write: Refuse enumeration values only the CPE may set.

    Returns:
        None when acceptable, else a short reason.
    """
    reason, number, length = _check_type(facts, text)
    if reason is not None:
        return reason
    if facts.enumerations:
        allowed = facts.enumerations
        if for_write and facts.readonly_enumerations:
            allowed = tuple(v for v in allowed if v not in facts.readonly_enumerations)
            if text in facts.readonly_enumerations:
                return f"cannot be set to {text} (only the device sets it)"
        if text not in allowed:
            shown = ", ".join(v if v else '""' for v in allowed[:_MAX_ENUMS_SHOWN])
            more = ", …" if len(allowed) > _MAX_ENUMS_SHOWN else ""
            return f"must be one of: {shown}{more}"
    if number is not None and facts.ranges and not _in_ranges(number, facts.ranges):
        return f"must be {describe_ranges(facts.ranges)}"
    unit = "bytes" if facts.type in ("hexBinary", "base64") else "characters"
    if facts.max_length is not None and length > facts.max_length:
        return f"longer than {facts.max_length} {unit}"
    if facts.min_length is not None and length < facts.min_length:
        return f"shorter than {facts.min_length} {unit}"
    if facts.patterns:
        compiled = [_compiled(p) for p in facts.patterns]
        if all(c is not None for c in compiled) and not any(
            c is not None and c.fullmatch(text) for c in compiled
        ):
            what = facts.data_type or "value"
            return f"is not a valid {what}" if facts.data_type else "has the wrong format"
    return None


def check_facts(facts: ParamFacts, text: str, *, for_write: bool = False) -> str | None:
    """Check a value against a parameter's facts (scalar or comma-separated list).

    Args:
        facts: The parameter's facts.
        text: The value as it travels on the wire.
        for_write: Also refuse read-only parameters and values only the CPE may set.

    Returns:
        None when acceptable, else a short human reason.
    """
    if for_write and not facts.writable:
        return "is read-only"
    if facts.list is None:
        return check_scalar(facts, text, for_write=for_write)
    info = facts.list
    if info.max_length is not None and len(text) > info.max_length:
        return f"longer than {info.max_length} characters"
    items = [] if text.strip() == "" else [item.strip() for item in text.split(",")]
    if len(items) < info.min_items:
        return f"needs at least {info.min_items} items"
    if info.max_items is not None and len(items) > info.max_items:
        return f"has more than {info.max_items} items"
    for item in items:
        reason = check_scalar(facts, item, for_write=for_write)
        if reason is not None:
            return f"item {item!r} {reason}"
    return None
