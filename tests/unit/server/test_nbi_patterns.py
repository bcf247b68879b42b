"""GenieACS's query normalisation of strings into patterns (acs_engine.server.nbi_patterns)."""

from __future__ import annotations

import re

from acs_engine.server.nbi_patterns import string_patterns


def _matches(text: str, candidate: str) -> bool:
    return any(re.search(p, candidate, re.I if "i" in f else 0)
               for p, f in string_patterns(text, 512))


def test_wildcards_anchor_where_there_is_no_star() -> None:
    assert string_patterns("plain", 512) == []
    assert _matches("ABC*", "ABC123") and not _matches("ABC*", "xABC")
    assert _matches("*123", "ABC123") and not _matches("*123", "1234")
    assert _matches("A*C", "ABBC") and not _matches("A*C", "ABCD")
    assert _matches("a*b*c", "a-b-c") and not _matches("a*b*c", "a-c")
    # every other character is literal
    assert _matches("1.2*", "1.2.3") and not _matches("1.2*", "1x2")
    assert _matches("(x)*", "(x)y")


def test_slashed_regular_expressions_and_their_flags() -> None:
    assert string_patterns("/^ab+$/", 512) == [("^ab+$", "")]
    assert string_patterns("/^ab$/gi", 512) == [("^ab$", "i")]
    assert string_patterns("/x/my", 512) == [("x", "m")]
    assert string_patterns("/x/z", 512) == []  # not a JavaScript flag: a plain string
    assert string_patterns("/(/", 512) == []  # does not compile: matched literally only
    assert string_patterns("*" + "a" * 600, 512) == []  # too long


def test_a_slashed_string_with_a_star_is_both() -> None:
    assert string_patterns("/a*/", 512) == [("a*", ""), ("^/a.*/$", "")]
