"""Canonical text of a syntax tree: ``parse(to_string(e)) == e`` for every parsed ``e``.

Keywords are upper case, strings use double quotes, binary operators have one space on each
side, and parentheses appear only where precedence needs them.
"""

from __future__ import annotations

import math

from .ast import BINARY_OPERATORS, COMPARISONS, Binary, Call, Case, Expr, Literal, ParamRef, Unary

__all__ = ["literal", "to_string"]

_QUOTE = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
_PRIMARY = 100


def _string(value: str) -> str:
    return '"' + "".join(_QUOTE.get(c, c) for c in value) + '"'


def literal(value: object) -> str:
    """Expression text of a literal value; the one printer of literals (the GenieACS array
    form of :mod:`.genieacs` uses it too).

    Strings are double-quoted with backslash escapes, as GenieACS's own ``stringify`` writes
    them (JSON). An infinite number is written ``1e999``/``-1e999``: it reads back as the same
    number here and in GenieACS (``Number("1e999")`` is ``Infinity``), where ``Infinity`` would
    read as a parameter path and GenieACS's ``JSON.stringify`` would write ``null``. NaN is
    ``NULL``.
    """
    if value is None:
        return "NULL"
    if value is True:
        return "TRUE"
    if value is False:
        return "FALSE"
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, float):
        if math.isinf(value):
            return "1e999" if value > 0 else "-1e999"
        if math.isnan(value):
            return "NULL"
        return repr(value)
    return str(value)


def _precedence(expr: Expr) -> int:
    if isinstance(expr, Binary):
        return BINARY_OPERATORS[expr.op]
    if isinstance(expr, Unary):
        return {"NOT": 12, "-": 40}.get(expr.op, 20)
    if (
        isinstance(expr, Literal)
        and isinstance(expr.value, int | float)
        and not isinstance(expr.value, bool)
    ):
        # A negative number reads as unary minus applied to a number.
        return 40 if expr.value < 0 or str(expr.value).startswith("-") else _PRIMARY
    return _PRIMARY


def _wrap(expr: Expr, minimum: int) -> str:
    """Render ``expr``, in parentheses when it binds looser than ``minimum``."""
    text = to_string(expr)
    return f"({text})" if _precedence(expr) < minimum else text


def to_string(expr: Expr) -> str:
    """Render a syntax tree as canonical expression text.

    Args:
        expr: the tree.

    Returns:
        Text that parses back to an equal tree.
    """
    if isinstance(expr, Literal):
        return literal(expr.value)
    if isinstance(expr, ParamRef):
        return expr.path
    if isinstance(expr, Call):
        return f"{expr.name}({', '.join(to_string(a) for a in expr.args)})"
    if isinstance(expr, Case):
        parts = ["CASE"]
        for cond, value in expr.whens:
            parts += ["WHEN", to_string(cond), "THEN", to_string(value)]
        if expr.otherwise is not None:
            parts += ["ELSE", to_string(expr.otherwise)]
        parts.append("END")
        return " ".join(parts)
    if isinstance(expr, Unary):
        if expr.op == "NOT":
            return "NOT " + _wrap(expr.operand, 12)
        if expr.op == "-":
            inner = _wrap(expr.operand, 40)
            return "- " + inner if inner.startswith("-") else "-" + inner
        return f"{_wrap(expr.operand, 21)} {expr.op}"
    prec = BINARY_OPERATORS[expr.op]
    if expr.op in COMPARISONS or expr.op in ("LIKE", "NOT LIKE"):
        return f"{_wrap(expr.left, prec + 1)} {expr.op} {_wrap(expr.right, prec + 1)}"
    return f"{_wrap(expr.left, prec)} {expr.op} {_wrap(expr.right, prec + 1)}"
