"""Tokenizer for the expression language.

Rules worth knowing:

- Keywords (AND, OR, NOT, LIKE, IS, NULL, TRUE, FALSE, CASE, WHEN, THEN, ELSE, END) are
  case-insensitive and only recognised as whole words without dots.
- A word followed by ``(`` is a function name; any other word is a parameter path.
- Path segments are ``[A-Za-z0-9_]`` runs; a segment may also be exactly ``*``, and may
  contain ``[...]`` aliases and ``{...}`` placeholders (both nest, and may hold any
  characters, dots included). Unlike GenieACS, ``-`` is not a path character, so
  ``Events.Inform-5`` subtracts.
- ``*`` starts a path (``*.DeviceInfo.X``) only where an operand is expected; after an
  operand it is multiplication.
- ``'single'`` strings double a quote to escape it; ``"double"`` strings take backslash
  escapes ``\\b \\f \\n \\r \\t \\uXXXX``, and a backslash before any other character
  stands for that character.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .ast import ExpressionError

__all__ = ["KEYWORDS", "Token", "tokenize"]

KEYWORDS = frozenset(
    [
        "AND",
        "OR",
        "NOT",
        "LIKE",
        "IS",
        "NULL",
        "TRUE",
        "FALSE",
        "CASE",
        "WHEN",
        "THEN",
        "ELSE",
        "END",
    ]
)

_NUMBER_RE = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_OPERATORS = ("||", "<>", "<=", ">=", "=", "<", ">", "+", "-", "*", "/", "%", "(", ")", ",")
_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_INT64_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Token:
    """One token.

    Attributes:
        kind: ``"number"``, ``"string"``, ``"path"``, ``"func"``, ``"keyword"``, ``"op"`` or
            ``"eof"``.
        text: the source text of the token (for keywords, the upper-case keyword).
        pos: 0-based offset of the token's first character.
        value: the literal's value for numbers and strings; None otherwise.
    """

    kind: str
    text: str
    pos: int
    value: str | int | float | None = None


def _error(pos: int, message: str, expected: tuple[str, ...] = ()) -> ExpressionError:
    return ExpressionError(f"at {pos}: {message}", pos, expected)


def _ends_operand(tok: Token | None) -> bool:
    if tok is None:
        return False
    if tok.kind in ("number", "string", "path"):
        return True
    if tok.kind == "op":
        return tok.text == ")"
    return tok.kind == "keyword" and tok.text in ("NULL", "TRUE", "FALSE", "END")


def _skip_group(text: str, i: int) -> int:
    """Return the offset just past the bracket group opening at ``i`` (nesting allowed)."""
    opener = text[i]
    closer = "]" if opener == "[" else "}"
    depth = 0
    j = i
    while j < len(text):
        c = text[j]
        if c == opener:
            depth += 1
        elif c == closer:
            depth -= 1
            if depth == 0:
                return j + 1
        j += 1
    raise _error(i, f"unclosed '{opener}' in parameter path", (closer,))


def _scan_path(text: str, i: int) -> int:
    """Return the end offset of the parameter path starting at ``i``; validates segments."""
    n = len(text)
    j = i
    segment_start = True
    while j < n:
        c = text[j]
        if c == "*" and segment_start:
            j += 1
            segment_start = False
            if j < n and (text[j] in _WORD_CHARS or text[j] in "[{"):
                raise _error(j, "a '*' must be a whole path segment", ("'.'",))
            continue
        if c in _WORD_CHARS:
            j += 1
        elif c in "[{":
            j = _skip_group(text, j)
        elif c == ".":
            if segment_start:
                raise _error(j, "empty segment in parameter path", ("path segment",))
            j += 1
            segment_start = True
            continue
        else:
            break
        segment_start = False
    if segment_start:
        raise _error(j, "empty segment in parameter path", ("path segment",))
    return j


def _scan_single(text: str, i: int) -> tuple[str, int]:
    parts: list[str] = []
    j = i + 1
    while True:
        k = text.find("'", j)
        if k < 0:
            raise _error(i, "unterminated string", ("'",))
        parts.append(text[j:k])
        if k + 1 < len(text) and text[k + 1] == "'":
            parts.append("'")
            j = k + 2
            continue
        return "".join(parts), k + 1


def _scan_double(text: str, i: int) -> tuple[str, int]:
    out: list[str] = []
    j = i + 1
    n = len(text)
    while j < n:
        c = text[j]
        if c == '"':
            return "".join(out), j + 1
        if c == "\\":
            if j + 1 >= n:
                break
            e = text[j + 1]
            if e == "u":
                digits = text[j + 2 : j + 6]
                if len(digits) != 4 or not all(d in "0123456789abcdefABCDEF" for d in digits):
                    raise _error(j, "invalid \\u escape (four hex digits expected)", ("hex digit",))
                out.append(chr(int(digits, 16)))
                j += 6
                continue
            out.append(_ESCAPES.get(e, e))
            j += 2
            continue
        out.append(c)
        j += 1
    raise _error(i, "unterminated string", ('"',))


def _number(text: str) -> int | float:
    if "." in text or "e" in text or "E" in text:
        return float(text)
    value = int(text)
    return value if value <= _INT64_MAX else float(value)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens, ending with an ``eof`` token.

    Raises:
        ExpressionError: an unterminated string, a bad escape, a malformed path or a
            character that starts no token.
    """
    tokens: list[Token] = []
    n = len(text)
    i = 0
    prev: Token | None = None
    while True:
        while i < n and text[i].isspace():
            i += 1
        if i >= n:
            tokens.append(Token("eof", "", n))
            return tokens
        c = text[i]
        tok: Token
        if c == "'":
            value, j = _scan_single(text, i)
            tok = Token("string", text[i:j], i, value)
        elif c == '"':
            value, j = _scan_double(text, i)
            tok = Token("string", text[i:j], i, value)
        elif (
            c.isdigit()
            and c in _WORD_CHARS
            and (m := _NUMBER_RE.match(text, i))
            and not (m.end() < n and (text[m.end()] in _WORD_CHARS or text[m.end()] in ".[{"))
        ):
            j = m.end()
            tok = Token("number", text[i:j], i, _number(text[i:j]))
        elif c in _WORD_CHARS or c in "[{" or (c == "*" and not _ends_operand(prev)):
            j = _scan_path(text, i)
            word = text[i:j]
            upper = word.upper()
            k = j
            while k < n and text[k].isspace():
                k += 1
            if upper in KEYWORDS:
                tok = Token("keyword", upper, i)
            elif _IDENT_RE.match(word) and k < n and text[k] == "(":
                tok = Token("func", word, i)
            else:
                tok = Token("path", word, i)
        else:
            op = next((o for o in _OPERATORS if text.startswith(o, i)), None)
            if op is None:
                raise _error(i, f"unexpected character {c!r}", ("expression",))
            j = i + len(op)
            tok = Token("op", op, i)
        tokens.append(tok)
        prev = tok
        i = j
