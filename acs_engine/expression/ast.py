"""The expression language's syntax tree: immutable nodes and the error type.

Nodes are frozen dataclasses, so trees can be shared, hashed and cached. Operators are kept as
their canonical upper-case spelling (``"AND"``, ``"NOT LIKE"``, ``"IS NOT NULL"``, ``"<>"``).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BINARY_OPERATORS",
    "COMPARISONS",
    "PREDICATES",
    "UNARY_OPERATORS",
    "Binary",
    "Call",
    "Case",
    "Expr",
    "ExpressionError",
    "Literal",
    "LiteralValue",
    "ParamRef",
    "Unary",
]

LiteralValue = str | int | float | bool | None

#: Comparison operators (binary, non-associative, precedence 20).
COMPARISONS = frozenset({"=", "<>", "<", "<=", ">", ">="})

#: Binary operators and their precedence (higher binds tighter).
BINARY_OPERATORS: dict[str, int] = {
    "OR": 10,
    "AND": 11,
    **{op: 20 for op in COMPARISONS},
    "LIKE": 20,
    "NOT LIKE": 20,
    "||": 30,
    "+": 31,
    "-": 31,
    "*": 32,
    "/": 32,
    "%": 32,
}

#: Unary operators and their precedence. ``"-"`` is numeric negation.
UNARY_OPERATORS: dict[str, int] = {"NOT": 12, "IS NULL": 20, "IS NOT NULL": 20, "-": 40}

#: Operators that test a value: comparisons, LIKE, NOT LIKE, IS NULL, IS NOT NULL. A parameter
#: path matching several parameters makes such a test true when any of them passes it.
PREDICATES = frozenset(COMPARISONS | {"LIKE", "NOT LIKE", "IS NULL", "IS NOT NULL"})


class ExpressionError(ValueError):
    """An expression that cannot be parsed, evaluated or compiled.

    Attributes:
        position: 0-based offset into the source text where parsing failed, or None for
            errors found after parsing (an unknown function, a function a device search
            cannot run).
        expected: what the parser would have accepted at ``position`` (empty otherwise).
    """

    def __init__(
        self, message: str, position: int | None = None, expected: tuple[str, ...] = ()
    ) -> None:
        """Create the error.

        Args:
            message: the complete human-readable message.
            position: 0-based offset of the problem in the source text, if known.
            expected: tokens the parser would have accepted there.
        """
        super().__init__(message)
        self.position = position
        self.expected = expected


@dataclass(frozen=True, slots=True)
class Literal:
    """A constant: a string, number, boolean or NULL (None)."""

    value: LiteralValue


@dataclass(frozen=True, slots=True)
class ParamRef:
    """A parameter path such as ``InternetGatewayDevice.LANDevice.*.Hosts.HostNumberOfEntries``.

    Segments may be ``*`` (any one segment), ``{...}`` placeholders, or ``[...]`` aliases.
    """

    path: str


@dataclass(frozen=True, slots=True)
class Unary:
    """``NOT x``, ``-x``, ``x IS NULL`` or ``x IS NOT NULL``."""

    op: str
    operand: Expr


@dataclass(frozen=True, slots=True)
class Binary:
    """A binary operator: logic, comparison, LIKE, concatenation or arithmetic."""

    op: str
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Call:
    """A function call; ``name`` is upper-case."""

    name: str
    args: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Case:
    """``CASE WHEN c THEN v ... [ELSE e] END``; ``otherwise`` is None without ELSE."""

    whens: tuple[tuple[Expr, Expr], ...]
    otherwise: Expr | None


Expr = Literal | ParamRef | Unary | Binary | Call | Case
