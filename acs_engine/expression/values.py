"""Value rules shared by the evaluator and the SQL compiler.

The device search compiles expressions to SQLite, and its results must equal evaluating the
expression per device, so every rule here is one SQLite can express exactly:

- **NULL** (None) propagates through comparisons, arithmetic, ``||``, LIKE and the string
  functions.
- **Booleans** act as the numbers 1 and 0; **datetimes** act as epoch milliseconds.
- **Comparisons**: numbers compare numerically and strings by code point. A number against
  a *numeric string* (optional sign, digits, optional ``.digits``, at most 15 digits, no
  spaces) compares numerically (``"5" = 5`` is true). Any other number against a string:
  the number is the smaller (GenieACS and SQLite both order numbers before strings), so
  ``=`` is false and ``<``/``>`` are decided by kind.
- **Arithmetic** (``+ - *``, unary ``-``) turns strings into numbers by their longest numeric
  prefix, SQLite style (``"12abc"`` -> 12, ``"abc"`` -> 0). Integers stay integers (a result
  beyond 64 bits becomes a float); ``/`` always divides as floats; ``%`` truncates both
  sides to integers first (a string by its leading integer) and keeps the dividend's sign (a
  float operand makes a float result); dividing by zero gives NULL.
- **Text** (``||``, LIKE, UPPER, LOWER): booleans become ``1``/``0``, datetimes their epoch
  milliseconds, floats are written as SQLite writes them (15 significant digits, ``.0``
  kept: ``2.0``, ``1.0e+20``).
- **Truth** (AND, OR, NOT, CASE WHEN, the final verdict): NULL is unknown, the empty string
  and zero are false, everything else is true (JavaScript-like, so ``"0"`` is true).
- **LIKE** is anchored and case-sensitive: ``%`` any run, ``_`` one character; no ESCAPE.
- **UPPER/LOWER** change ASCII letters only (as SQLite does).
"""

from __future__ import annotations

import functools
import math
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from ..regex import Pattern, RegexError, compile_pattern, escape

__all__ = [
    "FLOAT_TYPES",
    "INT_TYPES",
    "arith",
    "ascii_lower",
    "ascii_upper",
    "compare",
    "datetime_to_ms",
    "float_text",
    "like_regex",
    "like_to_glob",
    "modulo",
    "ms_to_datetime",
    "negate",
    "numeric_string",
    "param_value",
    "round_value",
    "to_number",
    "to_text",
    "truth",
]

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)

#: Stored xsd types whose values are integers (when their text is an integer of <= 18 digits).
INT_TYPES = (
    "xsd:int", "xsd:unsignedInt", "xsd:long", "xsd:unsignedLong", "xsd:short",
    "xsd:unsignedShort", "xsd:byte", "xsd:unsignedByte", "xsd:integer",
    "xsd:nonNegativeInteger", "xsd:positiveInteger",
)  # fmt: skip
#: Stored xsd types whose values are floats (when their text is a plain decimal number).
FLOAT_TYPES = ("xsd:float", "xsd:double", "xsd:decimal")

_NUMERIC_RE = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
_INTEGER_RE = re.compile(r"[+-]?[0-9]{1,18}")
_PREFIX_RE = re.compile(r"[ \t\n\v\f\r]*([+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)")
_INT_PREFIX_RE = re.compile(r"[ \t\n\v\f\r]*([+-]?[0-9]+)")
_DATETIME_RE = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(\.[0-9]{1,3})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})?"
)
_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

Number = int | float


def datetime_to_ms(value: datetime) -> int:
    """Epoch milliseconds of ``value`` (naive datetimes are UTC), rounded down."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - EPOCH) // _MS


def ms_to_datetime(ms: int) -> datetime:
    """The aware UTC datetime of epoch milliseconds ``ms``."""
    return EPOCH + timedelta(milliseconds=ms)


def ascii_upper(text: str) -> str:
    """``text`` with ASCII letters upper-cased (others untouched, as in SQLite)."""
    return text.translate(_UPPER)


def ascii_lower(text: str) -> str:
    """``text`` with ASCII letters lower-cased (others untouched, as in SQLite)."""
    return text.translate(_LOWER)


def _scalar(value: Any) -> Any:
    """Booleans to 1/0, datetimes to epoch ms; other values unchanged."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return datetime_to_ms(value)
    return value


def _int_or_float(value: int) -> Number:
    return value if INT64_MIN <= value <= INT64_MAX else float(value)


def float_text(value: float) -> str:
    """A float written the way SQLite converts a REAL to TEXT (``%!.15g``)."""
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0.0"
    text = f"{value:.15g}"
    if "e" in text:
        mantissa, exponent = text.split("e")
        if "." not in mantissa:
            mantissa += ".0"
        return f"{mantissa}e{exponent}"
    return text if "." in text else text + ".0"


def to_text(value: Any) -> str | None:
    """The text form of a value (None stays None)."""
    value = _scalar(value)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, float):
        return float_text(value)
    return str(value)


def to_number(value: Any) -> Number | None:
    """The number a value stands for in arithmetic (None stays None).

    Strings use their longest numeric prefix after leading whitespace, like SQLite:
    ``"12abc"`` -> 12, ``"1.5x"`` -> 1.5, ``"1e3"`` -> 1000.0, ``"abc"`` -> 0.
    """
    value = _scalar(value)
    if value is None or isinstance(value, int | float):
        return value
    match = _PREFIX_RE.match(str(value))
    if match is None:
        return 0
    text = match.group(1)
    if "." in text or "e" in text or "E" in text:
        return float(text)
    return _int_or_float(int(text))


def numeric_string(text: str) -> Number | None:
    """The number a strictly numeric string stands for in comparisons, else None."""
    if not _NUMERIC_RE.fullmatch(text) or sum(c.isdigit() for c in text) > 15:
        return None
    return float(text) if "." in text else int(text)


def compare(left: Any, right: Any) -> int | None:
    """Three-way comparison under the module's rules; None when either side is NULL."""
    a, b = _scalar(left), _scalar(right)
    if a is None or b is None:
        return None
    if isinstance(a, str) and not isinstance(b, str):
        number = numeric_string(a)
        if number is None:
            return 1
        a = number
    elif isinstance(b, str) and not isinstance(a, str):
        number = numeric_string(b)
        if number is None:
            return -1
        b = number
    return (a > b) - (a < b)


def truth(value: Any) -> bool | None:
    """The truth of a value: None unknown; "" and 0 false; anything else true."""
    value = _scalar(value)
    if value is None:
        return None
    if isinstance(value, str):
        return value != ""
    return bool(value != 0)


def _checked(value: Number) -> Number | None:
    if isinstance(value, float) and math.isnan(value):
        return None  # SQLite stores NaN as NULL
    return value


def arith(op: str, left: Any, right: Any) -> Number | None:
    """``left op right`` for ``+ - * /`` (``%`` goes to :func:`modulo`)."""
    if op == "%":
        return modulo(left, right)
    a, b = to_number(left), to_number(right)
    if a is None or b is None:
        return None
    if op == "/":
        if b == 0:
            return None
        return _checked(float(a) / float(b))
    if isinstance(a, int) and isinstance(b, int):
        exact = a + b if op == "+" else a - b if op == "-" else a * b
        if INT64_MIN <= exact <= INT64_MAX:
            return exact
    fa, fb = float(a), float(b)
    return _checked(fa + fb if op == "+" else fa - fb if op == "-" else fa * fb)


def _c_remainder(a: int, b: int) -> int:
    r = abs(a) % abs(b)
    return -r if a < 0 else r


def _int_value(value: Any) -> int | None:
    """The integer SQLite's ``%`` takes from a value: floats truncate, strings give their
    leading integer (``"1e3"`` -> 1, ``"3.5"`` -> 3)."""
    value = _scalar(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    match = _INT_PREFIX_RE.match(value)
    if match is None:
        return 0
    return max(INT64_MIN, min(INT64_MAX, int(match.group(1))))


def modulo(left: Any, right: Any) -> Number | None:
    """``left % right`` with integer operands, sign of the dividend. When either side is
    not an integer, both become integers as SQLite does (see :func:`_int_value`) and the
    result is a float."""
    a, b = to_number(left), to_number(right)
    if a is None or b is None:
        return None
    if isinstance(a, int) and isinstance(b, int):
        return None if b == 0 else _c_remainder(a, b)
    ia, ib = _int_value(left), _int_value(right)
    if ia is None or ib is None or ib == 0:
        return None
    return float(_c_remainder(ia, ib))


def negate(value: Any) -> Number | None:
    """Unary minus."""
    a = to_number(value)
    if a is None:
        return None
    if isinstance(a, int):
        return _int_or_float(-a)
    return -a


def round_value(value: Any, digits: Any = 0) -> float | None:
    """ROUND(x, digits): half away from zero, as a float; digits truncated to -15..15."""
    x, d = to_number(value), to_number(digits)
    if x is None or d is None:
        return None
    scale = 10.0 ** max(-15, min(15, math.trunc(d)))
    m = float(x) * scale
    if math.isnan(m):
        return None
    if abs(m) >= 4503599627370496.0:
        return m / scale
    return float(int(m + (-0.5 if m < 0 else 0.5))) / scale


@functools.lru_cache(maxsize=512)
def like_regex(pattern: str) -> Pattern | None:
    """The anchored, case-sensitive regex of a LIKE pattern, or None when the pattern is too
    long to compile (over ``MAX_PATTERN_LENGTH``; LIKE is then NULL, as SQLite errs past its
    own GLOB limit). RE2 is linear-time: ``%a%a%a%a%b`` costs no more than its length."""
    parts = [".*" if c == "%" else "." if c == "_" else escape(c) for c in pattern]
    try:
        return compile_pattern("".join(parts), "s")
    except RegexError:
        return None


def like_to_glob(pattern: str) -> str:
    """The SQLite GLOB pattern equivalent to a LIKE pattern."""
    out = []
    for c in pattern:
        if c in "*?[":
            out.append(f"[{c}]")
        elif c == "%":
            out.append("*")
        elif c == "_":
            out.append("?")
        else:
            out.append(c)
    return "".join(out)


def _parse_datetime(text: str) -> datetime | None:
    m = _DATETIME_RE.fullmatch(text)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    frac, zone = m.group(7), m.group(8)
    if year < 1 or hour > 23 or minute > 59 or second > 59:
        return None
    tz = UTC
    if zone and zone != "Z":
        zh, zm = int(zone[1:3]), int(zone[4:6])
        if zh > 14 or zm > 59:
            return None
        offset = timedelta(hours=zh, minutes=zm)
        tz = timezone(-offset if zone[0] == "-" else offset)
    ms = int(frac[1:].ljust(3, "0")) if frac else 0
    try:
        return datetime(year, month, day, hour, minute, second, ms * 1000, tzinfo=tz)
    except ValueError:
        return None


def param_value(value: str | None, xsd_type: str | None) -> Any:
    """The typed value of a stored parameter (its ``value`` text and ``type``).

    The device search applies exactly the same conversion in SQL, so resolvers feeding
    :func:`acs_engine.expression.evaluate` should use this to get identical results.

    - ``xsd:boolean``: ``true``/``1`` -> True, ``false``/``0`` -> False (ASCII case and
      surrounding spaces ignored);
    - integer types: an integer of at most 18 digits (spaces around allowed) -> int;
    - ``xsd:float``/``double``/``decimal``: a plain decimal of at most 15 digits -> float;
    - ``xsd:dateTime``: ``YYYY-MM-DDThh:mm:ss[.fff][Z|+hh:mm]`` (a valid date, year >= 1,
      no zone = UTC) -> aware datetime;
    - anything else, or text that does not fit its type: the text itself.
    """
    if value is None:
        return None
    kind = xsd_type or ""
    if kind == "xsd:boolean":
        word = ascii_lower(value.strip(" "))
        if word in ("true", "1"):
            return True
        if word in ("false", "0"):
            return False
        return value
    if kind in INT_TYPES:
        text = value.strip(" ")
        return int(text) if _INTEGER_RE.fullmatch(text) else value
    if kind in FLOAT_TYPES:
        text = value.strip(" ")
        return float(text) if numeric_string(text) is not None else value
    if kind == "xsd:dateTime":
        parsed = _parse_datetime(value)
        return value if parsed is None else parsed
    return value
