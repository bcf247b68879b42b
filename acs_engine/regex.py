"""Linear-time regular expressions for patterns that come from outside the engine.

The NBI's ``$regex`` (a client's pattern) and the expression language's ``LIKE`` (a
preset's or a technician's pattern, matched in Python by the evaluator) both run here, on
Google's RE2 (the ``google-re2`` wheel), not on Python's backtracking ``re``. RE2 matches in
time linear in the subject's length whatever the pattern, so a hostile pattern such as
``^.{4}(.|.)*Q$`` (exponential under ``re``: 17 s on one device id) costs microseconds, and
a query can no longer stall the store it runs in (issue 11, finding 5).

The price is RE2's syntax: no backreferences (``\\1``), no lookaround (``(?=``, ``(?<!``),
no possessive quantifiers, no verbose mode (``$options: "x"``); such a pattern is refused
with a :class:`RegexError` naming what is unsupported, which the NBI answers with 400.
Flags ``i m s`` are written into the pattern as RE2's ``(?ims)`` prefix.

Each compiled pattern gets a small memory budget (``_MAX_MEM``): past it RE2 falls back from
its DFA to its NFA (slower, still linear), and a pattern whose program alone exceeds it
(huge counted repetitions) is refused.
"""

from __future__ import annotations

import functools
from typing import Any, Protocol

import re2

__all__ = ["FLAGS", "MAX_PATTERN_LENGTH", "Pattern", "RegexError", "compile_pattern", "escape"]

#: The MongoDB ``$options`` letters RE2 understands (``x`` is refused with a clear message).
FLAGS = frozenset("ims")

#: Memory budget of one compiled pattern (RE2's ``max_mem``), in bytes.
_MAX_MEM = 2 << 20

#: Longest pattern compiled (RE2 refuses far shorter ones with large repetitions anyway).
MAX_PATTERN_LENGTH = 10_000


class Pattern(Protocol):
    """A compiled pattern, tested as a whole (no match objects: the callers need a yes/no)."""

    def contains(self, text: str) -> bool:
        """Whether the pattern matches somewhere in ``text`` (``re.search``)."""

    def matches(self, text: str) -> bool:
        """Whether the pattern matches the whole of ``text`` (``re.fullmatch``)."""


class RegexError(ValueError):
    """A pattern RE2 cannot compile; the message says why, in words a client can act on."""


def _valid(text: str) -> str:
    """``text`` with lone surrogates (which UTF-8, and so RE2, cannot hold) as U+FFFD."""
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


#: The binding's anchor enum (``re2._re2.RE2.Anchor``), None if this google-re2 lacks it.
_ANCHOR: Any = getattr(getattr(getattr(re2, "_re2", None), "RE2", None), "Anchor", None)


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _valid(text).encode("utf-8")


class _Linear:
    """A compiled RE2 pattern, tested through the binding's ``RE2.Match`` directly when it is
    there (about 3x cheaper per call than the ``re``-like wrapper, which builds a match
    object with character offsets). Subjects holding lone surrogates (JSON allows them;
    UTF-8 does not) are matched with U+FFFD in their place."""

    __slots__ = ("_compiled", "_raw")

    def __init__(self, compiled: Any) -> None:
        self._compiled: Any = compiled
        raw = getattr(compiled, "_regexp", None)
        self._raw: Any = raw if _ANCHOR is not None and hasattr(raw, "Match") else None

    def _test(self, text: str, anchor: Any) -> bool:
        data = _utf8(text)
        return bool(self._raw.Match(anchor, data, 0, len(data))[0][0] != -1)

    def contains(self, text: str) -> bool:
        if self._raw is not None:
            return self._test(text, _ANCHOR.UNANCHORED)
        return self._compiled.search(_valid(text)) is not None

    def matches(self, text: str) -> bool:
        if self._raw is not None:
            return self._test(text, _ANCHOR.ANCHOR_BOTH)
        return self._compiled.fullmatch(_valid(text)) is not None


def _reason(exc: BaseException) -> str:
    raw = exc.args[0] if exc.args else exc
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
    if "perl operator" in text or "escape sequence" in text:
        text += " (backreferences and lookaround are not supported: matching is linear-time)"
    return text


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str, flags: str = "") -> Pattern:
    """Compile ``pattern`` with RE2 (cached).

    Args:
        pattern: the regular expression (RE2 syntax, a subset of PCRE's).
        flags: any of ``i`` (ignore case), ``m`` (``^``/``$`` at line ends), ``s`` (``.``
            matches a newline).

    Raises:
        RegexError: an unknown flag, or a pattern RE2 refuses (bad syntax, a backreference
            or lookaround, a program over the memory budget).
    """
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise RegexError(f"pattern longer than {MAX_PATTERN_LENGTH} characters")
    unknown = sorted(set(flags) - FLAGS)
    if unknown:
        raise RegexError(f"unsupported regex option {''.join(unknown)!r} (use i, m or s)")
    options = re2.Options()
    options.log_errors = False
    options.never_capture = True  # yes/no answers only: no submatch bookkeeping
    options.max_mem = _MAX_MEM
    prefix = f"(?{''.join(sorted(set(flags)))})" if flags else ""
    try:
        return _Linear(re2.compile(prefix + pattern, options))
    except re2.error as exc:
        raise RegexError(_reason(exc)) from exc
    except UnicodeEncodeError as exc:
        raise RegexError("the pattern holds a lone surrogate (not valid Unicode text)") from exc


def escape(text: str) -> str:
    """``text`` as a pattern that matches it literally (a lone surrogate as U+FFFD, as in
    the subjects)."""
    return str(re2.escape(_valid(text)))
