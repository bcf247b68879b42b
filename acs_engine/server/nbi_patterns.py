"""The patterns a device-query string stands for (GenieACS's query normalisation).

GenieACS's NBI normalises each string value of a device query into alternatives before
MongoDB sees it: besides the string itself (and the number and date it spells), a string
written ``/re/flags`` is also that regular expression, and a string holding ``*`` is also a
wildcard pattern. :mod:`acs_engine.server.nbi_query` adds these as ``$regex`` alternatives of
equality comparisons.
"""

from __future__ import annotations

import re

from acs_engine.regex import RegexError, compile_pattern

__all__ = ["string_patterns"]

_SLASHED_RE = re.compile(r"^/(.*?)/(g?i?m?y?)$", re.DOTALL)


def _wildcard(text: str) -> str:
    """``*`` is any text; an end without ``*`` is anchored; everything else is literal."""
    core = text.strip("*")
    body = ".*".join(re.escape(part) for part in core.split("*"))
    start = "" if text.startswith("*") else "^"
    end = "" if text.endswith("*") else "$"
    return start + body + end


def string_patterns(text: str, max_length: int) -> list[tuple[str, str]]:
    """The ``(regex, options)`` alternatives ``text`` stands for in a device query.

    Args:
        text: a string value of the query.
        max_length: longest pattern kept.

    Returns:
        ``/re/flags`` as ``(re, flags)`` (JavaScript's flags ``g i m y``; ``i`` and ``m``
        kept, ``g`` and ``y`` mean nothing to a match), and the wildcard pattern when
        ``text`` holds ``*``. A pattern that does not compile (on RE2: no backreferences or
        lookaround) or is too long is left out:
        the string still matches literally.
    """
    found: list[tuple[str, str]] = []
    slashed = _SLASHED_RE.match(text)
    if slashed:
        found.append((slashed.group(1), "".join(f for f in slashed.group(2) if f in "im")))
    if "*" in text:
        found.append((_wildcard(text), ""))
    kept: list[tuple[str, str]] = []
    for pattern, options in found:
        if len(pattern) > max_length:
            continue
        try:
            compile_pattern(pattern, options)  # the linear-time engine the query runs on
        except RegexError:
            continue
        kept.append((pattern, options))
    return kept
