"""GenieACS's stored form of expressions (nested JSON arrays) turned into expression text.

GenieACS keeps parsed expressions as arrays: ``["PARAM", "DeviceID.ID"]``,
``["FUNC", "NOW"]``, ``["AND", a, b]``, ``["=", a, b]``, ``["IS NULL", a]``,
``["CASE", when1, then1, ..., else]``; any other JSON value is a literal. Provision arguments
of presets exported from GenieACS carry this form, so :func:`to_text` lets FieldACS evaluate
them with its own parser.
"""

from __future__ import annotations

from typing import Any

from .ast import ExpressionError
from .format import literal

_BINARY = {
    "=", "<>", ">", ">=", "<", "<=", "LIKE", "NOT LIKE", "||", "+", "-", "*", "/", "%",
}
_LOGICAL = {"AND", "OR"}
_UNARY_POSTFIX = {"IS NULL", "IS NOT NULL"}
OPERATORS = _BINARY | _LOGICAL | _UNARY_POSTFIX | {"NOT", "PARAM", "FUNC", "CASE"}


def is_expression(value: Any) -> bool:
    """True for a GenieACS expression array (as opposed to a plain JSON literal)."""
    return isinstance(value, list) and bool(value) and value[0] in OPERATORS


def _literal(value: Any) -> str:
    if value is None or isinstance(value, bool | int | float | str):
        return literal(value)
    raise ExpressionError(f"cannot use {value!r} in an expression", 0, ("a literal",))


def to_text(node: Any) -> str:
    """Expression text for a GenieACS expression array (or a literal)."""
    if not is_expression(node):
        return _literal(node)
    op, *args = node
    if op == "PARAM":
        if len(args) != 1 or not isinstance(args[0], str):
            raise ExpressionError("PARAM needs one path", 0, ("a path",))
        return args[0]
    if op == "FUNC":
        if not args or not isinstance(args[0], str):
            raise ExpressionError("FUNC needs a name", 0, ("a function name",))
        return f"{args[0]}({', '.join(to_text(a) for a in args[1:])})"
    if op == "NOT":
        return f"NOT ({to_text(args[0])})"
    if op in _UNARY_POSTFIX:
        return f"({to_text(args[0])}) {op}"
    if op in _LOGICAL:
        return "(" + f" {op} ".join(f"({to_text(a)})" for a in args) + ")"
    if op in _BINARY:
        if len(args) != 2:
            raise ExpressionError(f"{op} needs two operands", 0, ("two operands",))
        return f"(({to_text(args[0])}) {op} ({to_text(args[1])}))"
    # CASE: when/then pairs, then an optional else
    parts = ["CASE"]
    pairs, rest = args[: len(args) // 2 * 2], args[len(args) // 2 * 2:]
    for i in range(0, len(pairs), 2):
        parts.append(f"WHEN {to_text(pairs[i])} THEN {to_text(pairs[i + 1])}")
    if rest:
        parts.append(f"ELSE {to_text(rest[0])}")
    parts.append("END")
    return " ".join(parts)
