"""Compiling expressions to an SQLite WHERE fragment for the device search.

``compile_sql(expr, now_ms=...)`` returns ``(fragment, args)``: a condition over the
``devices`` table aliased ``d`` that is true exactly for the devices on which
``to_bool(evaluate(expr, make_resolver(device, params), now_ms=...))`` is true. Use it as::

    sql, args = compile_sql(parse(text), now_ms=now)
    rows = conn.execute(f"SELECT d.id FROM devices AS d WHERE {sql} ORDER BY d.id", args)

Every value (strings, numbers, paths, LIKE patterns, ``NOW()``) travels as a ``?``
parameter in text order, so nothing a user types reaches the SQL text. Append your own
parameters after ``args`` when you add ``?`` after the fragment.

How it stays identical to the evaluator (see :mod:`.evaluate` and :mod:`.values`):

- a parameter's typed value is computed from ``params.value``/``params.type`` by the same
  rules as :func:`.values.param_value` (``_TYPED``);
- a predicate with free paths becomes ``max()`` over a LEFT JOIN of one row source per
  path (a missing path gives one NULL row): 1 if any binding is true, else 0 if any is
  false, else NULL;
- operands never carry SQLite column affinity (columns are wrapped in expressions), and
  comparisons go through ``_COMPARE``, which applies the numeric-string rule;
- LIKE becomes a case-sensitive, anchored GLOB; AND/OR/NOT/CASE see ``_TRUTH`` values.

Not compilable (ExpressionError): functions other than COALESCE, UPPER, LOWER, ROUND and
NOW (EXT, AUTH, REMOTE_ADDRESS, ...), ROUND with non-constant digits, and alias (``[...]``)
path segments.
"""

from __future__ import annotations

import itertools
import math
import re
import sqlite3
import threading
from dataclasses import dataclass
from typing import Any

from ..store.queries import prefix_upper_bound
from .ast import Binary, Call, Case, Expr, ExpressionError, Literal, ParamRef, Unary
from .evaluate import BUILTINS, check_arity, free_paths, is_predicate
from .fields import (
    DEVICE_ID_FIELDS,
    EVENT_FIELDS,
    SPECIAL_ROOTS,
    is_wildcard_segment,
    match_path,
    split_path,
)
from .values import FLOAT_TYPES, INT_TYPES, like_to_glob, to_number, to_text

__all__ = ["compile_sql"]


def _unsigned(s: str) -> str:
    return f"substr({s}, 1 + (substr({s}, 1, 1) IN ('+', '-')))"


def _is_integer(s: str) -> str:
    u = _unsigned(s)
    return f"({u} <> '' AND {u} NOT GLOB '*[^0-9]*' AND length({u}) <= 18)"


def _is_numeric(s: str) -> str:
    """SQL for :func:`.values.numeric_string` accepting ``s`` (a text value)."""
    u = _unsigned(s)
    return (
        f"({u} GLOB '[0-9]*' AND {u} GLOB '*[0-9]' AND {u} NOT GLOB '*[^0-9.]*' "
        f"AND {u} NOT GLOB '*.*.*' AND length(replace({u}, '.', '')) <= 15)"
    )


_D = "[0-9]"
_DT_HEAD = f"{_D * 4}-{_D * 2}-{_D * 2}T{_D * 2}:{_D * 2}:{_D * 2}"
_DT_TAILS = [
    frac + zone
    for frac, zone in itertools.product(
        ["", f".{_D}", f".{_D * 2}", f".{_D * 3}"], ["", "Z", f"[+-]{_D * 2}:{_D * 2}"]
    )
]


def _is_datetime(v: str) -> str:
    head, tail = f"substr({v}, 1, 19)", f"substr({v}, 20)"
    tails = " OR ".join(f"{tail} GLOB '{t}'" for t in _DT_TAILS if t) + f" OR {tail} = ''"
    return (
        f"({head} GLOB '{_DT_HEAD}' AND ({tails}) AND substr({v}, 1, 4) <> '0000' "
        f"AND strftime('%Y-%m-%dT%H:%M:%S', julianday({head})) = {head} "
        f"AND julianday({v}) IS NOT NULL)"
    )


def _type_list(types: tuple[str, ...]) -> str:
    return ", ".join(f"'{t}'" for t in types)


_TRIMMED = "trim(p.value, ' ')"

#: The typed value of the params row ``p`` (see :func:`.values.param_value`); one flat CASE
#: keeps SQLite's parser stack shallow.
_TYPED = (
    "CASE WHEN p.value IS NULL THEN NULL "
    f"WHEN p.type = 'xsd:boolean' AND lower({_TRIMMED}) IN ('true', '1') THEN 1 "
    f"WHEN p.type = 'xsd:boolean' AND lower({_TRIMMED}) IN ('false', '0') THEN 0 "
    f"WHEN p.type IN ({_type_list(INT_TYPES)}) AND {_is_integer(_TRIMMED)} "
    f"THEN CAST({_TRIMMED} AS INTEGER) "
    f"WHEN p.type IN ({_type_list(FLOAT_TYPES)}) AND {_is_numeric(_TRIMMED)} "
    f"THEN CAST({_TRIMMED} AS REAL) "
    f"WHEN p.type = 'xsd:dateTime' AND {_is_datetime('p.value')} "
    "THEN CAST(round((julianday(p.value) - 2440587.5) * 86400000.0) AS INTEGER) "
    "ELSE p.value END"
)

_NUMBER_TYPES = "('integer', 'real')"

_TRUTH = "(CASE WHEN typeof({x}) = 'text' THEN {x} <> '' ELSE {x} <> 0 END)"

_DOT_COUNT = "(length({0}) - length(replace({0}, '.', '')))"


def _compare_template(op: str) -> str:
    return (
        "(CASE WHEN {l} IS NULL OR {r} IS NULL THEN NULL "
        f"WHEN typeof({{l}}) IN {_NUMBER_TYPES} AND typeof({{r}}) = 'text' "
        f"AND {_is_numeric('{r}')} THEN {{l}} {op} CAST({{r}} AS NUMERIC) "
        f"WHEN typeof({{r}}) IN {_NUMBER_TYPES} AND typeof({{l}}) = 'text' "
        f"AND {_is_numeric('{l}')} THEN CAST({{l}} AS NUMERIC) {op} {{r}} "
        f"ELSE {{l}} {op} {{r}} END)"
    )


_COMPARE = {op: _compare_template(op) for op in ("=", "<>", "<", "<=", ">", ">=")}

_LIKE_TO_GLOB = (
    "replace(replace(replace(replace(replace(CAST({} AS TEXT), '[', '[[]'), '*', '[*]'), "
    "'?', '[?]'), '%', '*'), '_', '?')"
)

_ROUND = (
    "(CASE WHEN {m} IS NULL THEN NULL WHEN abs({m}) >= 4503599627370496.0 THEN {m} / {s} "
    "ELSE CAST({m} + (CASE WHEN {m} < 0 THEN -0.5 ELSE 0.5 END) AS INTEGER) / {s} END)"
)

_NO_ROWS = "SELECT NULL AS v, NULL AS k WHERE 0"


@dataclass(frozen=True, slots=True)
class _Sql:
    """An SQL snippet with its ``?`` arguments in text order."""

    text: str
    args: tuple[Any, ...] = ()
    boolean: bool = False  # always 1, 0 or NULL
    simple: bool = False  # short and cheap: may be repeated in the text
    chain: str = ""  # "(a OP b)" of this left-associative family: may drop its parentheses


_MARKER = re.compile(r"\{(\w*)\}")


def _join(
    template: str, *parts: _Sql, boolean: bool = False, named: dict[str, _Sql] | None = None
) -> _Sql:
    """Fill ``template``'s markers: each ``{}`` takes the next of ``parts``, ``{name}``
    takes ``named[name]`` (and may repeat); arguments follow in text order."""
    texts: list[str] = []
    args: list[Any] = []
    positional = iter(parts)
    end = 0
    for match in _MARKER.finditer(template):
        part = (named or {})[match.group(1)] if match.group(1) else next(positional)
        texts += [template[end : match.start()], part.text]
        args.extend(part.args)
        end = match.end()
    texts.append(template[end:])
    return _Sql("".join(texts), tuple(args), boolean)


def _arg(value: Any) -> _Sql:
    return _Sql("?", (value,), simple=True)


def _operands(template: str, boolean: bool = False, **parts: _Sql) -> _Sql:
    """Apply a template that repeats its named operands; complex ones are computed once
    in a subquery."""
    if all(p.simple for p in parts.values()):
        return _join(template, boolean=boolean, named=parts)
    columns = {name: _Sql(f"o_{name}", simple=True) for name in parts}
    inner = _join(template, named=columns)
    select = ", ".join(f"{{{name}}} AS o_{name}" for name in parts)
    return _join(f"(SELECT {inner.text} FROM (SELECT {select}))", boolean=boolean, named=parts)


def _glob_literal(segment: str) -> str:
    return "".join(f"[{c}]" if c in "*?[" else c for c in segment)


def _path_match(column: str, path: str, segments: list[str]) -> _Sql:
    """Condition: stored leaf path ``column`` matches the wildcard ``path``."""
    glob = ".".join("*" if is_wildcard_segment(s) else _glob_literal(s) for s in segments)
    parts = [f"{column} GLOB ?", f"{_DOT_COUNT.format(column)} = ?", f"substr({column}, -1) <> '.'"]
    args: list[Any] = [glob, len(segments) - 1]
    literal_head = list(itertools.takewhile(lambda s: not is_wildcard_segment(s), segments))
    if literal_head:
        prefix = ".".join(literal_head) + "."
        upper = prefix_upper_bound(prefix)
        if upper is not None:
            parts.insert(0, f"{column} < ?")
            args.insert(0, upper)
        parts.insert(0, f"{column} >= ?")
        args.insert(0, prefix)
    return _Sql(" AND ".join(parts), tuple(args))


def _segments(path: str) -> tuple[list[str], bool]:
    segments = split_path(path)
    if any("[" in s for s in segments):
        raise ExpressionError(f"alias segments ([...]) cannot be used in a device search: {path}")
    return segments, any(is_wildcard_segment(s) for s in segments)


def _special_fields(root: str) -> dict[str, _Sql]:
    if root == "DeviceID":
        return {
            f"DeviceID.{name}": _Sql(f"NULLIF(d.{col}, '')", simple=True)
            for name, col in DEVICE_ID_FIELDS.items()
        }
    return {f"Events.{n}": _Sql(f"(d.{c} + 0)", simple=True) for n, c in EVENT_FIELDS.items()}


def _scalar(path: str) -> _Sql:
    """The value of a path without wildcards (at most one match), NULL when absent."""
    root = split_path(path)[0]
    if root == "Tags":
        return _Sql(
            "(SELECT 1 FROM json_each(d.tags) AS tg WHERE tg.value = ?)", (path[len("Tags.") :],)
        )
    if root in SPECIAL_ROOTS:
        return _special_fields(root).get(path, _Sql("NULL", simple=True))
    return _Sql(
        f"(SELECT {_TYPED} FROM params AS p WHERE p.device_id = d.id AND p.path = ?)", (path,)
    )


def _rows(path: str, segments: list[str]) -> _Sql:
    """A SELECT of ``v`` (typed value) and ``k`` (path) for every match of wildcard ``path``."""
    root = segments[0]
    if root == "Tags":
        match = _path_match("('Tags.' || tg.value)", path, segments)
        return _join(
            "SELECT 1 AS v, 'Tags.' || tg.value AS k FROM json_each(d.tags) AS tg WHERE {}", match
        )
    if root in SPECIAL_ROOTS:
        chosen = [
            (name, sql) for name, sql in _special_fields(root).items() if match_path(segments, name)
        ]
        if not chosen:
            return _Sql(_NO_ROWS)
        selects = [
            _join("SELECT v, ? AS k FROM (SELECT {} AS v) WHERE v IS NOT NULL", sql)
            for _, sql in chosen
        ]
        # each select's own "?" (the key) precedes its value's arguments
        text = " UNION ALL ".join(sel.text for sel in selects)
        args = tuple(itertools.chain.from_iterable(
            (name, *sel.args) for (name, _), sel in zip(chosen, selects, strict=True)
        ))  # fmt: skip
        return _Sql(text, args)
    base = f"SELECT {_TYPED} AS v, p.path AS k FROM params AS p WHERE p.device_id = d.id AND "
    return _join(base + "{}", _path_match("p.path", path, segments))


Env = dict[str, _Sql]

#: Left-associative operator families that share one SQLite precedence level.
_FAMILY = {"AND": "and", "OR": "or", "||": "concat", "+": "add", "-": "add", "*": "mul", "%": "mul"}


class _Compiler:
    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms
        self.counter = itertools.count(1)

    def truth(self, sql: _Sql) -> _Sql:
        return sql if sql.boolean else _operands(_TRUTH, boolean=True, x=sql)

    def compile(self, node: Expr, env: Env) -> _Sql:
        if isinstance(node, Literal):
            value = node.value
            if value is None or (isinstance(value, float) and math.isnan(value)):
                return _Sql("NULL", simple=True)
            if isinstance(value, bool):
                return _Sql("?", (int(value),), boolean=True, simple=True)
            return _arg(value)
        if isinstance(node, ParamRef):
            if node.path in env:
                return env[node.path]
            segments, wildcard = _segments(node.path)
            if not wildcard:
                return _scalar(node.path)
            return _join("(SELECT v FROM ({}) ORDER BY k LIMIT 1)", _rows(node.path, segments))
        if is_predicate(node):
            return self.predicate(node, env)
        if isinstance(node, Unary):
            inner = self.compile(node.operand, env)
            if node.op == "NOT":
                return _join("(NOT {})", self.truth(inner), boolean=True)
            return _join("(-{})", inner)
        if isinstance(node, Binary):
            return self.binary(node, env)
        if isinstance(node, Call):
            return self.call(node, env)
        return self.case(node, env)

    def predicate(self, node: Expr, env: Env) -> _Sql:
        inner_env = dict(env)
        joins: list[_Sql] = []
        for path in free_paths(node):
            if path in env:
                continue
            segments, wildcard = _segments(path)
            if not wildcard:
                inner_env[path] = _scalar(path)  # one value or NULL: nothing to quantify
                continue
            alias = f"b{next(self.counter)}"
            inner_env[path] = _Sql(f"{alias}.v", simple=True)
            joins.append(_join(f"LEFT JOIN ({{}}) AS {alias} ON 1", _rows(path, segments)))
        body = self.test(node, inner_env)
        if not joins:
            return body
        source = _join(" ".join("{}" for _ in joins), *joins)
        one = f"o{next(self.counter)}"
        return _join(f"(SELECT max({{}}) FROM (SELECT 1) AS {one} {{}})", body, source,
                     boolean=True)  # fmt: skip

    def test(self, node: Expr, env: Env) -> _Sql:
        if isinstance(node, Unary):
            operand = self.compile(node.operand, env)
            return _join(f"({{}} {node.op})", operand, boolean=True)
        assert isinstance(node, Binary)
        left = self.compile(node.left, env)
        if node.op in ("LIKE", "NOT LIKE"):
            right = node.right
            if isinstance(right, Literal):
                text = to_text(right.value)
                pattern = _Sql("NULL") if text is None else _arg(like_to_glob(text))
            else:
                pattern = _join(_LIKE_TO_GLOB, self.compile(right, env))
            glob = _join("({} GLOB {})", left, pattern, boolean=True)
            return glob if node.op == "LIKE" else _join("(NOT {})", glob, boolean=True)
        right_sql = self.compile(node.right, env)
        return _operands(_COMPARE[node.op], boolean=True, l=left, r=right_sql)

    def binary(self, node: Binary, env: Env) -> _Sql:
        left = self.compile(node.left, env)
        right = self.compile(node.right, env)
        op = node.op
        if op in ("AND", "OR"):
            left, right = self.truth(left), self.truth(right)
        elif op == "/":
            return _join("(CAST({} AS REAL) / {})", left, right)
        # A chain "a AND b AND c" stays flat: SQLite's parser stack is shallow.
        family = _FAMILY[op]
        if left.chain == family:
            left = _Sql(left.text[1:-1], left.args)
        joined = _join(f"({{}} {op} {{}})", left, right, boolean=op in ("AND", "OR"))
        return _Sql(joined.text, joined.args, joined.boolean, chain=family)

    def call(self, node: Call, env: Env) -> _Sql:
        name = node.name
        if name not in BUILTINS:
            raise ExpressionError(f"{name}() cannot be used in a device search")
        check_arity(name, len(node.args))
        if name == "NOW":
            return _arg(self.now_ms)
        if name == "ROUND":
            return self.round(node, env)
        args = [self.compile(a, env) for a in node.args]
        if name == "COALESCE":
            if len(args) == 1:
                return args[0]
            return _join("coalesce(" + ", ".join("{}" for _ in args) + ")", *args)
        return _join(f"{name.lower()}({{}})", args[0])

    def round(self, node: Call, env: Env) -> _Sql:
        digits: Any = 0
        if len(node.args) == 2:
            given = node.args[1]
            if not isinstance(given, Literal):
                raise ExpressionError(
                    "ROUND() in a device search needs a constant number of digits"
                )
            digits = to_number(given.value)
            if digits is None:
                return _Sql("NULL", simple=True)
        scale = _arg(10.0 ** max(-15, min(15, math.trunc(digits))))
        value = self.compile(node.args[0], env)
        scaled = _join(
            "(CAST({} AS REAL) * {})",
            value,
            scale,
        )
        return _operands(_ROUND, m=scaled, s=scale)

    def case(self, node: Case, env: Env) -> _Sql:
        parts: list[_Sql] = []
        template = "(CASE"
        for cond, value in node.whens:
            parts += [self.truth(self.compile(cond, env)), self.compile(value, env)]
            template += " WHEN {} THEN {}"
        if node.otherwise is not None:
            parts.append(self.compile(node.otherwise, env))
            template += " ELSE {}"
        return _join(template + " END)", *parts)


def compile_sql(expr: Expr, *, now_ms: int) -> tuple[str, list[Any]]:
    """Compile an expression to a device-search condition.

    Args:
        expr: the parsed expression.
        now_ms: the value of ``NOW()``, in epoch milliseconds.

    Returns:
        ``(fragment, args)``: an SQLite condition over ``devices AS d`` (with correlated
        subqueries on ``params``) and the values of its ``?`` placeholders, in order.

    Raises:
        ExpressionError: the expression uses something a device search cannot run.
    """
    compiler = _Compiler(now_ms)
    body = compiler.truth(compiler.compile(expr, {}))
    result = _join("({} = 1)", body)
    _check_parses(result.text)
    return result.text, list(result.args)


#: Parses conditions for :func:`_check_parses` (no tables: only the grammar is checked).
_parser = threading.local()


def _check_parses(text: str) -> None:
    """Refuse a condition SQLite's parser cannot take: its parser stack is fixed (100 entries
    before 3.46), and a few nested calls (five ROUNDs) already overflow it. Parsing runs before
    names are looked up, so an empty in-memory database tells it in well under a millisecond.
    """
    conn = getattr(_parser, "conn", None)
    if conn is None:
        conn = _parser.conn = sqlite3.connect(":memory:", check_same_thread=False)
    try:
        conn.execute(f"SELECT 1 FROM (SELECT 1) AS d WHERE {text} LIMIT 0").close()
    except sqlite3.OperationalError as exc:
        if "parser stack overflow" in str(exc) or "too large" in str(exc):
            raise ExpressionError(
                "the expression nests too deeply for the device search; use fewer "
                "nested functions or parentheses"
            ) from None
    except sqlite3.Error:
        pass  # names and placeholders are checked where the condition runs

