"""Recursive-descent parser for the expression language (GenieACS's SQL-like grammar).

Grammar, loosest binding first::

    expr    := or
    or      := and ("OR" and)*
    and     := not ("AND" not)*
    not     := "NOT" not | cmp
    cmp     := concat [("=" | "<>" | ">" | ">=" | "<" | "<=" | "LIKE" | "NOT LIKE") concat
                      | "IS" ["NOT"] "NULL"]
    concat  := add ("||" add)*
    add     := mul (("+" | "-") mul)*
    mul     := unary (("*" | "/" | "%") unary)*
    unary   := "-" unary | primary
    primary := "(" expr ")" | string | number | TRUE | FALSE | NULL
             | CASE (WHEN expr THEN expr)+ [ELSE expr] END
             | NAME "(" [expr ("," expr)*] ")" | parameter.path

Comparisons do not chain (``a = b = c`` is an error). Negating a number literal folds into a
negative literal, so ``-5`` parses to ``Literal(-5)``.
"""

from __future__ import annotations

import functools

from .ast import COMPARISONS, Binary, Call, Case, Expr, ExpressionError, Literal, ParamRef, Unary
from .lexer import Token, tokenize

__all__ = ["parse"]


def _describe(tok: Token) -> str:
    return "end of input" if tok.kind == "eof" else repr(tok.text)


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    # -- token helpers

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        if tok.kind != "eof":
            self.i += 1
        return tok

    def at_keyword(self, *words: str) -> bool:
        return self.tok.kind == "keyword" and self.tok.text in words

    def at_op(self, *ops: str) -> bool:
        return self.tok.kind == "op" and self.tok.text in ops

    def fail(self, *expected: str) -> ExpressionError:
        tok = self.tok
        wanted = " or ".join(expected)
        return ExpressionError(
            f"at {tok.pos}: expected {wanted} but found {_describe(tok)}", tok.pos, expected
        )

    def expect_op(self, op: str) -> None:
        if not self.at_op(op):
            raise self.fail(f"'{op}'")
        self.advance()

    def expect_keyword(self, word: str) -> None:
        if not self.at_keyword(word):
            raise self.fail(word)
        self.advance()

    # -- grammar

    def parse_all(self) -> Expr:
        expr = self.parse_or()
        if self.tok.kind != "eof":
            raise self.fail("end of input")
        return expr

    def parse_or(self) -> Expr:
        left = self.parse_and()
        while self.at_keyword("OR"):
            self.advance()
            left = Binary("OR", left, self.parse_and())
        return left

    def parse_and(self) -> Expr:
        left = self.parse_not()
        while self.at_keyword("AND"):
            self.advance()
            left = Binary("AND", left, self.parse_not())
        return left

    def parse_not(self) -> Expr:
        if self.at_keyword("NOT"):
            self.advance()
            return Unary("NOT", self.parse_not())
        return self.parse_cmp()

    def parse_cmp(self) -> Expr:
        left = self.parse_concat()
        tok = self.tok
        if tok.kind == "op" and tok.text in COMPARISONS:
            self.advance()
            return Binary(tok.text, left, self.parse_concat())
        if self.at_keyword("LIKE"):
            self.advance()
            return Binary("LIKE", left, self.parse_concat())
        if self.at_keyword("NOT"):
            self.advance()
            self.expect_keyword("LIKE")
            return Binary("NOT LIKE", left, self.parse_concat())
        if self.at_keyword("IS"):
            self.advance()
            negated = self.at_keyword("NOT")
            if negated:
                self.advance()
                self.expect_keyword("NULL")
            elif not self.at_keyword("NULL"):
                raise self.fail("NULL", "NOT NULL")
            else:
                self.advance()
            return Unary("IS NOT NULL" if negated else "IS NULL", left)
        return left

    def parse_concat(self) -> Expr:
        left = self.parse_add()
        while self.at_op("||"):
            self.advance()
            left = Binary("||", left, self.parse_add())
        return left

    def parse_add(self) -> Expr:
        left = self.parse_mul()
        while self.at_op("+", "-"):
            op = self.advance().text
            left = Binary(op, left, self.parse_mul())
        return left

    def parse_mul(self) -> Expr:
        left = self.parse_unary()
        while self.at_op("*", "/", "%"):
            op = self.advance().text
            left = Binary(op, left, self.parse_unary())
        return left

    def parse_unary(self) -> Expr:
        if self.at_op("-"):
            self.advance()
            operand = self.parse_unary()
            if isinstance(operand, Literal) and type(operand.value) in (int, float):
                value = operand.value
                assert isinstance(value, int | float)
                return Literal(-value)
            return Unary("-", operand)
        return self.parse_primary()

    def parse_primary(self) -> Expr:
        tok = self.tok
        if tok.kind in ("number", "string"):
            self.advance()
            return Literal(tok.value)
        if tok.kind == "path":
            self.advance()
            return ParamRef(tok.text)
        if tok.kind == "func":
            self.advance()
            return self.parse_call(tok.text.upper())
        if self.at_op("("):
            self.advance()
            inner = self.parse_or()
            self.expect_op(")")
            return inner
        if tok.kind == "keyword":
            if tok.text in ("TRUE", "FALSE", "NULL"):
                self.advance()
                return Literal({"TRUE": True, "FALSE": False, "NULL": None}[tok.text])
            if tok.text == "CASE":
                self.advance()
                return self.parse_case()
        raise self.fail("an expression")

    def parse_call(self, name: str) -> Expr:
        self.expect_op("(")
        args: list[Expr] = []
        if not self.at_op(")"):
            args.append(self.parse_or())
            while self.at_op(","):
                self.advance()
                args.append(self.parse_or())
        if not self.at_op(")"):
            raise self.fail("','", "')'")
        self.advance()
        return Call(name, tuple(args))

    def parse_case(self) -> Expr:
        whens: list[tuple[Expr, Expr]] = []
        while self.at_keyword("WHEN"):
            self.advance()
            cond = self.parse_or()
            self.expect_keyword("THEN")
            whens.append((cond, self.parse_or()))
        if not whens:
            raise self.fail("WHEN")
        otherwise: Expr | None = None
        if self.at_keyword("ELSE"):
            self.advance()
            otherwise = self.parse_or()
        if not self.at_keyword("END"):
            raise self.fail("WHEN", "ELSE", "END") if otherwise is None else self.fail("END")
        self.advance()
        return Case(tuple(whens), otherwise)


@functools.lru_cache(maxsize=4096)
def parse(text: str) -> Expr:
    """Parse an expression; results are cached by text.

    Args:
        text: the expression source.

    Returns:
        The (immutable) syntax tree.

    Raises:
        ExpressionError: the text is not a valid expression; ``position`` is the 0-based
            offset of the offending token and ``expected`` what would have been accepted.
    """
    if not isinstance(text, str):
        raise TypeError(f"expression text must be a str, not {type(text).__name__}")
    return _Parser(text).parse_all()
