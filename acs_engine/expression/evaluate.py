"""Evaluating expressions against one device, with SQL three-valued logic.

**Parameters that match several values.** A path may match several parameters (wildcards),
so ``resolve(path)`` returns a list. Each *predicate* (a comparison, LIKE, NOT LIKE, IS NULL
or IS NOT NULL) is the scope in which its paths are bound: the predicate is tried with every
combination of the values of the paths it mentions (outside nested predicates), and is TRUE
if any combination makes it TRUE, else FALSE if any makes it FALSE, else NULL. A path with
no match is bound to NULL. A path used outside any predicate (``Tags.office AND ...``) takes
its first value. A nested predicate sees the bindings of the predicate around it.

Value rules (coercions, truth, LIKE, arithmetic) are those of :mod:`.values`.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from .ast import PREDICATES, Binary, Call, Case, Expr, ExpressionError, Literal, ParamRef, Unary
from .values import (
    arith,
    ascii_lower,
    ascii_upper,
    compare,
    like_regex,
    negate,
    round_value,
    to_text,
    truth,
)

__all__ = ["BUILTINS", "evaluate", "free_paths", "is_predicate", "parameters", "to_bool"]

#: Functions every evaluation knows; others come from the ``functions`` argument.
BUILTINS = frozenset({"COALESCE", "UPPER", "LOWER", "ROUND", "NOW"})

_ARITY: dict[str, tuple[int, int | None]] = {
    "COALESCE": (1, None),
    "UPPER": (1, 1),
    "LOWER": (1, 1),
    "ROUND": (1, 2),
    "NOW": (0, 0),
}


def is_predicate(expr: Expr) -> bool:
    """True for comparisons, LIKE, NOT LIKE, IS NULL and IS NOT NULL."""
    return isinstance(expr, Binary | Unary) and expr.op in PREDICATES


def _children(expr: Expr) -> Iterator[Expr]:
    if isinstance(expr, Unary):
        yield expr.operand
    elif isinstance(expr, Binary):
        yield expr.left
        yield expr.right
    elif isinstance(expr, Call):
        yield from expr.args
    elif isinstance(expr, Case):
        for cond, value in expr.whens:
            yield cond
            yield value
        if expr.otherwise is not None:
            yield expr.otherwise


def free_paths(predicate: Expr) -> list[str]:
    """The distinct paths a predicate binds: those in its operands, outside nested predicates.

    Returns:
        Paths in order of first appearance.
    """
    found: dict[str, None] = {}

    def walk(node: Expr) -> None:
        if isinstance(node, ParamRef):
            found.setdefault(node.path)
        elif not is_predicate(node):
            for child in _children(node):
                walk(child)

    for child in _children(predicate):
        walk(child)
    return list(found)


def parameters(expr: Expr) -> set[str]:
    """Every parameter path an expression mentions (presets fetch these first)."""
    found: set[str] = set()

    def walk(node: Expr) -> None:
        if isinstance(node, ParamRef):
            found.add(node.path)
        for child in _children(node):
            walk(child)

    walk(expr)
    return found


def check_arity(name: str, count: int) -> None:
    """Raise ExpressionError if built-in ``name`` cannot take ``count`` arguments."""
    low, high = _ARITY[name]
    if count < low or (high is not None and count > high):
        wanted = str(low) if low == high else f"{low} or more" if high is None else f"{low}-{high}"
        raise ExpressionError(f"{name}() takes {wanted} argument(s), not {count}")


def to_bool(value: Any) -> bool:
    """The verdict of an evaluated expression: NULL (unknown) counts as false."""
    return truth(value) is True


class _Evaluator:
    def __init__(
        self,
        resolve: Callable[[str], list[Any]],
        now_ms: int,
        functions: Mapping[str, Callable[..., Any]],
    ) -> None:
        self.resolve = resolve
        self.now_ms = now_ms
        self.functions = {name.upper(): fn for name, fn in functions.items()}
        self.values: dict[str, list[Any]] = {}

    def lookup(self, path: str) -> list[Any]:
        hit = self.values.get(path)
        if hit is None:
            hit = list(self.resolve(path))
            self.values[path] = hit
        return hit

    def eval(self, node: Expr, env: Mapping[str, Any]) -> Any:
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, ParamRef):
            if node.path in env:
                return env[node.path]
            matches = self.lookup(node.path)
            return matches[0] if matches else None
        if is_predicate(node):
            return self.predicate(node, env)
        if isinstance(node, Unary):
            if node.op == "NOT":
                t = truth(self.eval(node.operand, env))
                return None if t is None else not t
            return negate(self.eval(node.operand, env))
        if isinstance(node, Binary):
            return self.binary(node, env)
        if isinstance(node, Call):
            return self.call(node, env)
        for cond, value in node.whens:
            if truth(self.eval(cond, env)) is True:
                return self.eval(value, env)
        return None if node.otherwise is None else self.eval(node.otherwise, env)

    def predicate(self, node: Expr, env: Mapping[str, Any]) -> bool | None:
        unbound = [p for p in free_paths(node) if p not in env]
        if not unbound:
            return self.test(node, env)
        choices = [self.lookup(p) or [None] for p in unbound]
        seen_false = False
        for combo in itertools.product(*choices):
            inner = dict(env)
            inner.update(zip(unbound, combo, strict=True))
            result = self.test(node, inner)
            if result is True:
                return True
            if result is False:
                seen_false = True
        return False if seen_false else None

    def test(self, node: Expr, env: Mapping[str, Any]) -> bool | None:
        if isinstance(node, Unary):
            value = self.eval(node.operand, env)
            return (value is None) if node.op == "IS NULL" else (value is not None)
        assert isinstance(node, Binary)
        left = self.eval(node.left, env)
        right = self.eval(node.right, env)
        if node.op in ("LIKE", "NOT LIKE"):
            text, pattern = to_text(left), to_text(right)
            if text is None or pattern is None:
                return None
            regex = like_regex(pattern)
            if regex is None:
                return None
            found = regex.matches(text)
            return found if node.op == "LIKE" else not found
        c = compare(left, right)
        if c is None:
            return None
        op = node.op
        if op == "=":
            return c == 0
        if op == "<>":
            return c != 0
        if op == "<":
            return c < 0
        if op == "<=":
            return c <= 0
        if op == ">":
            return c > 0
        return c >= 0

    def binary(self, node: Binary, env: Mapping[str, Any]) -> Any:
        op = node.op
        if op in ("AND", "OR"):
            a = truth(self.eval(node.left, env))
            stop = op == "OR"  # OR stops at TRUE, AND at FALSE
            if a is stop:
                return stop
            b = truth(self.eval(node.right, env))
            if b is stop:
                return stop
            return None if a is None or b is None else not stop
        left = self.eval(node.left, env)
        right = self.eval(node.right, env)
        if op == "||":
            ta, tb = to_text(left), to_text(right)
            return None if ta is None or tb is None else ta + tb
        return arith(op, left, right)

    def call(self, node: Call, env: Mapping[str, Any]) -> Any:
        name = node.name
        if name in BUILTINS:
            check_arity(name, len(node.args))
            if name == "NOW":
                return self.now_ms
            args = [self.eval(a, env) for a in node.args]
            if name == "COALESCE":
                return next((a for a in args if a is not None), None)
            if name == "ROUND":
                return round_value(*args)
            text = to_text(args[0])
            if text is None:
                return None
            return ascii_upper(text) if name == "UPPER" else ascii_lower(text)
        fn = self.functions.get(name)
        if fn is None:
            raise ExpressionError(f"unknown function {name}()")
        return fn(*(self.eval(a, env) for a in node.args))


def evaluate(
    expr: Expr,
    resolve: Callable[[str], list[Any]],
    *,
    now_ms: int,
    functions: Mapping[str, Callable[..., Any]] | None = None,
) -> Any:
    """Evaluate an expression for one device.

    Args:
        expr: the parsed expression.
        resolve: maps a parameter path (possibly with wildcards) to the values of all
            matching parameters, ordered by path; an empty list when nothing matches.
            :func:`acs_engine.expression.fields.make_resolver` builds one from a device
            and its stored parameters with the same typing the device search uses.
        now_ms: the value of ``NOW()``, in epoch milliseconds.
        functions: extra functions by (case-insensitive) name, e.g. ``EXT``, ``AUTH``,
            ``REMOTE_ADDRESS``, ``USERNAME``, ``PASSWORD``; called with the evaluated
            arguments. Built-ins (COALESCE, UPPER, LOWER, ROUND, NOW) cannot be replaced.

    Returns:
        The value: None (NULL), bool, int, float, str, or a resolved parameter value.

    Raises:
        ExpressionError: an unknown function or a built-in called with the wrong number of
            arguments.
    """
    return _Evaluator(resolve, now_ms, functions or {}).eval(expr, {})
