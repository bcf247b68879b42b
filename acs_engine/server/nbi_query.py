"""GenieACS NBI queries (MongoDB-style JSON) translated into parameterized SQLite conditions.

``mongo_to_sql(query)`` turns a device query into ``(where_sql, params)``: a condition over
``devices AS d`` (parameters are looked up in ``params`` with correlated ``EXISTS``
subqueries). ``collection_to_sql(name, query)`` does the same for the other NBI collections,
over the columns of their tables. Sorting and the other query-string parameters are in
:mod:`acs_engine.server.nbi_sort`. Every value, parameter path and JSON path travels as a
``?`` parameter; the SQL text is built only from this module's constants, so nothing a
client sends reaches it.

Translation rules (what GenieACS's ``lib/query.ts`` + MongoDB do, written down):

- ``{field: value}`` is ``$eq``; several keys are ANDed; ``{field: {"$op": v, ...}}`` ANDs
  its operators. Operators: ``$eq $ne $gt $gte $lt $lte $in $nin $exists $regex``
  (+ ``$options``: ``i m s x``), ``$all`` (arrays), field-level ``$not``; logical
  ``$and $or $nor`` (non-empty lists) and, as an extension, top-level ``$not``.
- Device fields: ``_id``, ``_deviceId._Manufacturer|_OUI|_ProductClass|_SerialNumber``,
  the dates ``_lastInform _lastBoot _lastBootstrap _registered``, ``_tags`` (an array: a
  value matches when any tag matches; ``$exists`` means "has tags"). Any other key is a
  parameter path, compared on its stored value; ``<path>._value`` is the same thing, and
  ``._type ._writable ._object ._timestamp ._notification`` reach those attributes.
- Typed comparison, as in MongoDB: a value only compares with stored values of its own
  kind (string, number, boolean, date). The stored kind comes from the parameter's xsd
  type. A query string is coerced the GenieACS way: it also stands for the number and the
  date (ISO 8601) it spells, so ``"5"`` matches an ``xsd:unsignedInt`` 5 and
  ``"2026-01-01T00:00:00Z"`` an ``xsd:dateTime`` (``"true"`` stays a string: GenieACS
  makes no boolean of it). In a device query an equality string (direct, ``$eq``, ``$ne``,
  ``$in``, ``$nin``) also stands for a pattern, as GenieACS's query normalisation does:
  ``"/re/flags"`` is that regular expression, and a string with ``*`` is a wildcard
  (``*`` any text; anchored at an end without ``*``). On date fields a number is epoch
  milliseconds; ``{"$date": ...}`` is a date.
- Missing fields: ``$ne``, ``$nin``, ``$not`` and ``{f: null}`` match devices without the
  field (MongoDB semantics); an unknown ``_field`` is simply a field nobody has.
- ``$regex`` is an unanchored search (like MongoDB) run by the store's SQL function
  ``nbi_regexp`` on RE2, a linear-time engine (:mod:`acs_engine.regex`: no backreferences
  or lookaround, options ``i m s``), applied to the stored text of the value of any type
  (MongoDB would skip non-strings; we are lenient). The pattern is compiled here first, so
  a bad or unsupported one is a 400, and is limited to :data:`MAX_REGEX_LENGTH` characters.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from acs_engine.expression.values import FLOAT_TYPES, INT_TYPES
from acs_engine.regex import FLAGS as REGEX_FLAGS
from acs_engine.regex import RegexError, compile_pattern
from acs_engine.server.nbi_patterns import string_patterns

__all__ = [
    "COLLECTION_FIELDS",
    "DEVICE_COLUMNS",
    "MAX_REGEX_LENGTH",
    "PARAM_SORT_VALUE",
    "QueryError",
    "collection_to_sql",
    "mongo_to_sql",
    "parse_date",
    "split_param_key",
]

#: Longest accepted ``$regex`` pattern.
MAX_REGEX_LENGTH = 512
#: Deepest nesting of ``$and``/``$or``/``$nor``/``$not`` accepted.
MAX_DEPTH = 32


class QueryError(ValueError):
    """A query, sort or projection the NBI cannot run; the message says why (HTTP 400)."""


# --------------------------------------------------------------------------- values

@dataclass(frozen=True, slots=True)
class _Cand:
    """One typed alternative of a query value: kind is string, number, boolean or date."""

    kind: str
    value: Any


_NUMBER_RE = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$")


def parse_date(text: str) -> int | None:
    """Epoch milliseconds of an ISO 8601 date (``2026-01-01``, ``...T10:00:00Z``,
    ``...+02:00``; naive times are UTC), or None when ``text`` is not one."""
    text = text.strip()
    if not _DATE_RE.match(text):
        return None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return round(when.timestamp() * 1000)


def _number(text: str) -> int | float | None:
    if not _NUMBER_RE.match(text.strip()):
        return None
    number = float(text)
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


def _ms(value: float) -> int:
    """Epoch milliseconds as an SQLite INTEGER (out-of-range values clamped: the order of
    comparisons is kept, and no stored date is that far out)."""
    return int(max(_INT64_MIN, min(_INT64_MAX, value)))


def _candidates(value: Any) -> list[_Cand]:
    """The typed alternatives a query value stands for (GenieACS's string coercion)."""
    if isinstance(value, bool):
        return [_Cand("boolean", int(value))]
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise QueryError(f"not a finite number: {value!r}")
        if isinstance(value, int) and not _INT64_MIN <= value <= _INT64_MAX:
            value = float(value)  # beyond SQLite's INTEGER; compared as a REAL
        return [_Cand("number", value)]
    if isinstance(value, str):
        out = [_Cand("string", value)]
        number = _number(value)
        if number is not None:
            out.append(_Cand("number", number))
        when = parse_date(value)
        if when is not None:
            out.append(_Cand("date", when))
        return out
    if isinstance(value, Mapping) and set(value) == {"$date"}:
        raw = value["$date"]
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            if not math.isfinite(raw):
                raise QueryError(f"invalid $date {raw!r}")
            return [_Cand("date", _ms(raw))]
        when = parse_date(raw) if isinstance(raw, str) else None
        if when is None:
            raise QueryError(f"invalid $date {raw!r}")
        return [_Cand("date", when)]
    raise QueryError(f"unsupported value {json.dumps(value)[:80]} (use an operator such as $in)")


# --------------------------------------------------------------------------- targets

@dataclass(frozen=True, slots=True)
class _Target:
    """Where one field's values live and how each kind of value is read.

    A scalar target is an SQL expression over the row (``source`` empty). Otherwise values
    are the rows of ``FROM source WHERE link`` (a parameter row, JSON array elements) and a
    condition holds when any row satisfies it.

    Attributes:
        views: kind -> (guard, value): the value SQL when the guard says the stored value
            is of that kind.
        present: SQL true when the field has a value (``$exists``).
        text: SQL of the value as text, for ``$regex`` ("" when regexes never match).
    """

    views: Mapping[str, tuple[str, str]]
    present: str
    text: str = ""
    source: str = ""
    link: str = ""
    params: tuple[Any, ...] = ()


_NO_FIELD = _Target(views={}, present="0")


def _scalar(column: str, kind: str) -> _Target:
    guard = f"{column} IS NOT NULL"
    return _Target(
        views={kind: (guard, column)}, present=guard, text=column if kind == "string" else ""
    )


_JSON_VIEWS = {
    "string": ("j.type = 'text'", "j.value"),
    "number": ("j.type IN ('integer', 'real')", "j.value"),
    "boolean": ("j.type IN ('true', 'false')", "j.value"),
}


def _json(column: str, path: str | None) -> _Target:
    """Elements of a JSON column (an array's elements, or the scalar at ``path``)."""
    source = f"json_each({column}, ?) AS j" if path is not None else f"json_each({column}) AS j"
    return _Target(
        views=_JSON_VIEWS, present="1", text="CASE WHEN j.type = 'text' THEN j.value END",
        source=source, link="1", params=(path,) if path is not None else (),
    )


def _types(types: Sequence[str]) -> str:
    # code constants (xsd type names), never client text
    return ", ".join(f"'{t}'" for t in types)


_NUMERIC = _types((*INT_TYPES, *FLOAT_TYPES))
_SPECIAL_TYPES = f"{_NUMERIC}, 'xsd:boolean', 'xsd:dateTime'"
_HAS_VALUE = "p.value IS NOT NULL"
_PARAM_VALUE_VIEWS = {
    "string": (f"{_HAS_VALUE} AND (p.type IS NULL OR p.type NOT IN ({_SPECIAL_TYPES}))", "p.value"),
    "number": (f"{_HAS_VALUE} AND p.type IN ({_NUMERIC})", "CAST(trim(p.value) AS NUMERIC)"),
    "boolean": (
        f"{_HAS_VALUE} AND p.type = 'xsd:boolean'",
        "(CASE WHEN lower(trim(p.value)) IN ('true', '1') THEN 1 ELSE 0 END)",
    ),
    "date": (
        f"{_HAS_VALUE} AND p.type = 'xsd:dateTime' AND julianday(p.value) IS NOT NULL",
        "CAST(round((julianday(p.value) - 2440587.5) * 86400000.0) AS INTEGER)",
    ),
}
#: The typed value of ``p`` for sorting (numbers sort before text in SQLite).
PARAM_SORT_VALUE = (
    f"CASE WHEN p.type IN ({_NUMERIC}) THEN CAST(trim(p.value) AS NUMERIC) "
    f"WHEN p.type = 'xsd:boolean' THEN {_PARAM_VALUE_VIEWS['boolean'][1]} "
    f"WHEN p.type = 'xsd:dateTime' THEN {_PARAM_VALUE_VIEWS['date'][1]} ELSE p.value END"
)
#: GenieACS's ``_timestamp``: a leaf's value refresh, an object's children listing (a node
#: known only from GetParameterNames has none).
PARAM_TIMESTAMP = "p.value_ts"

_PARAM_ATTRS: dict[str, tuple[str, str]] = {
    "_type": ("p.type", "string"),
    "_writable": ("p.writable", "boolean"),
    "_object": ("p.object", "boolean"),
    "_timestamp": (PARAM_TIMESTAMP, "date"),
    "_notification": ("p.notification", "number"),
}

DEVICE_COLUMNS: dict[str, tuple[str, str]] = {
    "_id": ("d.id", "string"),
    "_deviceId._Manufacturer": ("d.manufacturer", "string"),
    "_deviceId._OUI": ("d.oui", "string"),
    "_deviceId._ProductClass": ("d.product_class", "string"),
    "_deviceId._SerialNumber": ("d.serial_number", "string"),
    "_lastInform": ("d.last_inform", "date"),
    "_lastBoot": ("d.last_boot", "date"),
    "_lastBootstrap": ("d.last_bootstrap", "date"),
    "_registered": ("d.registered", "date"),
}


def split_param_key(key: str) -> tuple[str, str]:
    """``(path, attribute)`` of a parameter key; a bare path means ``_value``."""
    path, dot, last = key.rpartition(".")
    if dot and last.startswith("_"):
        attr = last
    else:
        path, attr = key, "_value"
    if not path or any(not seg for seg in path.split(".")):
        raise QueryError(f"invalid parameter path {key!r}")
    return path, attr


def _device_target(key: str) -> _Target:
    if key in DEVICE_COLUMNS:
        column, kind = DEVICE_COLUMNS[key]
        return _scalar(column, kind)
    if key == "_tags":
        target = _json("d.tags", None)
        return _Target(
            views={"string": _JSON_VIEWS["string"]}, present=target.present, text=target.text,
            source=target.source, link=target.link,
        )
    if key.startswith("_"):
        return _NO_FIELD  # a field no device document has
    path, attr = split_param_key(key)
    if attr == "_value":
        return _Target(
            views=_PARAM_VALUE_VIEWS, present=_HAS_VALUE, text="p.value",
            source="params AS p", link="p.device_id = d.id AND p.path = ?", params=(path,),
        )
    if attr not in _PARAM_ATTRS:
        return _NO_FIELD
    column, kind = _PARAM_ATTRS[attr]
    guard = f"{column} IS NOT NULL"
    return _Target(
        views={kind: (guard, column)}, present=guard,
        text=column if kind == "string" else "", source="params AS p",
        link="p.device_id = d.id AND p.path IN (?, ?)", params=(path, path + "."),
    )


#: NBI collection -> field -> (column, kind); kind "json" is a JSON column read with
#: ``json_each``. Fields not listed are looked up in the collection's ``_extra`` JSON
#: column when it has one (a task's own fields), else are missing.
COLLECTION_FIELDS: dict[str, dict[str, tuple[str, str]]] = {
    "tasks": {
        "_id": ("id", "string"), "device": ("device_id", "string"),
        "name": ("name", "string"), "timestamp": ("timestamp", "date"),
        "expiry": ("expiry", "date"), "_extra": ("args", "json"),
    },
    "faults": {
        "_id": ("id", "string"), "device": ("device_id", "string"),
        "channel": ("channel", "string"), "timestamp": ("timestamp", "date"),
        "code": ("code", "string"), "message": ("message", "string"),
        "retries": ("retries", "number"), "expiry": ("expiry", "date"),
        "precondition": ("precondition", "boolean"), "detail": ("detail", "json"),
    },
    "presets": {
        "_id": ("id", "string"), "weight": ("weight", "number"),
        "channel": ("channel", "string"), "schedule": ("schedule", "string"),
        "precondition": ("precondition", "string"),
    },
    "provisions": {"_id": ("id", "string"), "script": ("script", "string")},
    "virtual_parameters": {"_id": ("id", "string"), "script": ("script", "string")},
    "objects": {"_id": ("id", "string"), "_extra": ("doc", "json")},
    "files": {
        "_id": ("name", "string"), "filename": ("name", "string"),
        "length": ("size", "number"), "md5": ("md5", "string"),
        "uploadDate": ("uploaded", "date"), "metadata.fileType": ("file_type", "string"),
        "metadata.oui": ("oui", "string"), "metadata.productClass": ("product_class", "string"),
        "metadata.version": ("version", "string"),
    },
}

_JSON_KEY_RE = re.compile(r"^[A-Za-z0-9_$@-]+$")


def _collection_target(fields: Mapping[str, tuple[str, str]], key: str) -> _Target:
    if key in fields and key != "_extra":
        column, kind = fields[key]
        return _json(column, "$") if kind == "json" else _scalar(column, kind)
    extra = fields.get("_extra")
    if extra is None or key.startswith("_"):
        return _NO_FIELD
    parts = key.split(".")
    if not all(_JSON_KEY_RE.match(part) for part in parts):
        return _NO_FIELD
    return _json(extra[0], "$." + ".".join(f'"{part}"' for part in parts))


# --------------------------------------------------------------------------- compiler

@dataclass(slots=True)
class _Out:
    params: list[Any] = field(default_factory=list)


_OPS = {"$eq": "=", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_FIELD_OPS = frozenset({*_OPS, "$ne", "$in", "$nin", "$exists", "$regex", "$options",
                        "$not", "$all"})


class _Compiler:
    def __init__(self, resolve: Any, *, patterns: bool = False) -> None:
        self.resolve = resolve
        self.params: list[Any] = []
        #: Equality strings also stand for their patterns (device queries, as GenieACS).
        self.patterns = patterns

    # -- a condition that holds when some value of the target satisfies ``pred``
    def _any(self, target: _Target, pred: str, pred_params: Sequence[Any]) -> str:
        if not target.source:
            self.params.extend(pred_params)
            return f"coalesce(({pred}), 0)"
        self.params.extend(target.params)
        self.params.extend(pred_params)
        return f"EXISTS (SELECT 1 FROM {target.source} WHERE {target.link} AND ({pred}))"

    def _compare(self, target: _Target, op: str, value: Any) -> str:
        if value is None:
            if op in ("=", ">=", "<="):
                return f"NOT {self._exists(target)}"
            return "0"
        parts: list[str] = []
        params: list[Any] = []
        for cand in _candidates(value):
            kind, val = cand.kind, cand.value
            if kind == "number" and "number" not in target.views and "date" in target.views:
                kind, val = "date", _ms(val)
            if kind not in target.views:
                continue
            guard, sql = target.views[kind]
            parts.append(f"({guard} AND {sql} {op} ?)")
            params.append(val)
        regexes = (
            string_patterns(value, MAX_REGEX_LENGTH)
            if self.patterns and op == "=" and isinstance(value, str) else []
        )
        alternatives = [self._any(target, " OR ".join(parts), params)] if parts else []
        alternatives.extend(self._regex(target, pattern, flags) for pattern, flags in regexes)
        if not alternatives:
            return "0"
        return alternatives[0] if len(alternatives) == 1 else f"({' OR '.join(alternatives)})"

    def _exists(self, target: _Target) -> str:
        return self._any(target, target.present, ())

    def _in(self, target: _Target, values: Any, name: str) -> str:
        if not isinstance(values, list):
            raise QueryError(f"{name} needs an array")
        if not values:
            return "0"
        return "(" + " OR ".join(self._compare(target, "=", v) for v in values) + ")"

    def _regex(self, target: _Target, pattern: Any, options: Any) -> str:
        if isinstance(pattern, Mapping) and set(pattern) <= {"$regex", "$options"}:
            pattern, options = pattern.get("$regex"), pattern.get("$options", options)
        if not isinstance(pattern, str):
            raise QueryError("$regex needs a string pattern")
        if not isinstance(options, str) or any(ch not in REGEX_FLAGS for ch in options):
            raise QueryError(f"$options may only contain {''.join(sorted(REGEX_FLAGS))}")
        if len(pattern) > MAX_REGEX_LENGTH:
            raise QueryError(f"$regex is longer than {MAX_REGEX_LENGTH} characters")
        try:
            compile_pattern(pattern, "".join(sorted(set(options))))
        except RegexError as exc:
            raise QueryError(f"invalid $regex {pattern!r}: {exc}") from exc
        if not target.text:
            return "0"
        return self._any(
            target, f"nbi_regexp(?, ?, {target.text}) = 1", (pattern, "".join(sorted(set(options))))
        )

    def field(self, key: str, spec: Any, depth: int) -> str:
        target: _Target = self.resolve(key)
        if isinstance(spec, Mapping) and spec and all(str(k).startswith("$") for k in spec):
            if set(spec) == {"$date"}:
                return self._compare(target, "=", spec)
            return self._operators(target, spec, depth)
        if isinstance(spec, Mapping) and any(str(k).startswith("$") for k in spec):
            raise QueryError(f"{key}: cannot mix operators and fields")
        if isinstance(spec, list):
            raise QueryError(f"{key}: matching a whole array is not supported (use $in or $all)")
        return self._compare(target, "=", spec)

    def _operators(self, target: _Target, spec: Mapping[str, Any], depth: int) -> str:
        if depth > MAX_DEPTH:
            raise QueryError("the query is nested too deeply")
        conds: list[str] = []
        for op, value in spec.items():
            if op not in _FIELD_OPS:
                raise QueryError(f"unknown operator {op}")
            if op in _OPS:
                conds.append(self._compare(target, _OPS[op], value))
            elif op == "$ne":
                conds.append(f"NOT {self._compare(target, '=', value)}")
            elif op == "$in":
                conds.append(self._in(target, value, op))
            elif op == "$nin":
                conds.append(f"NOT {self._in(target, value, op)}")
            elif op == "$all":
                if not isinstance(value, list) or not value:
                    raise QueryError("$all needs a non-empty array")
                conds.append("(" + " AND ".join(self._compare(target, "=", v) for v in value) + ")")
            elif op == "$exists":
                present = self._exists(target)
                conds.append(present if _truthy(value) else f"NOT {present}")
            elif op == "$regex":
                conds.append(self._regex(target, value, spec.get("$options", "")))
            elif op == "$options":
                if "$regex" not in spec:
                    raise QueryError("$options needs $regex")
            elif op == "$not":
                if isinstance(value, Mapping) and value:
                    conds.append(f"NOT {self._operators(target, value, depth + 1)}")
                else:
                    raise QueryError("$not needs an object of operators")
        return "(" + " AND ".join(conds) + ")" if conds else "1"

    def query(self, query: Any, depth: int = 0) -> str:
        if not isinstance(query, Mapping):
            raise QueryError("a query must be a JSON object")
        if depth > MAX_DEPTH:
            raise QueryError("the query is nested too deeply")
        conds: list[str] = []
        for key, spec in query.items():
            if not isinstance(key, str) or not key:
                raise QueryError("empty field name")
            if key in ("$and", "$or", "$nor"):
                if not isinstance(spec, list) or not spec:
                    raise QueryError(f"{key} needs a non-empty array of queries")
                inner = [self.query(q, depth + 1) for q in spec]
                if key == "$and":
                    conds.append("(" + " AND ".join(inner) + ")")
                elif key == "$or":
                    conds.append("(" + " OR ".join(inner) + ")")
                else:
                    conds.append("NOT (" + " OR ".join(inner) + ")")
            elif key == "$not":
                conds.append(f"NOT {self.query(spec, depth + 1)}")
            elif key.startswith("$"):
                raise QueryError(f"unknown operator {key}")
            else:
                conds.append(self.field(key, spec, depth + 1))
        return "(" + " AND ".join(conds) + ")" if conds else "1"


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false")
    return bool(value)


def mongo_to_sql(query: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
    """A device query as a condition over ``devices AS d`` (see the module docstring).

    Args:
        query: the decoded ``?query=`` JSON object (None or ``{}``: every device).

    Returns:
        ``(where_sql, params)``; the SQL holds only ``?`` placeholders for values.

    Raises:
        QueryError: malformed query, unknown operator, bad regex, unsupported value.
    """
    compiler = _Compiler(_device_target, patterns=True)
    sql = compiler.query(query or {})
    return sql, compiler.params


def collection_to_sql(name: str, query: Mapping[str, Any] | None) -> tuple[str, list[Any]]:
    """A query on a non-device collection as a condition over its table's columns.

    Raises:
        QueryError: as :func:`mongo_to_sql`, or an unknown collection.
    """
    fields = COLLECTION_FIELDS.get(name)
    if fields is None:
        raise QueryError(f"unknown collection {name!r}")
    compiler = _Compiler(lambda key: _collection_target(fields, key))
    sql = compiler.query(query or {})
    return sql, compiler.params
