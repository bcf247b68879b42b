"""acs_engine.regex (issue 11, finding 5): patterns from outside run in linear time on RE2."""

from __future__ import annotations

import pytest

from acs_engine.expression.values import like_regex
from acs_engine.regex import MAX_PATTERN_LENGTH, RegexError, compile_pattern, escape
from acs_engine.store.search import regexp_match


def test_attack_exponential_pattern_finishes_on_long_subjects() -> None:
    """``re`` needs 2^n steps for this pattern on n characters (17 s on ~30); RE2 does not."""
    pattern = compile_pattern("^.{4}(.|.)*Q$")
    assert pattern.search("x" * 1_000_000) is None
    assert pattern.search("x" * 100_000 + "Q") is not None


def test_attack_like_with_many_wildcards_finishes() -> None:
    """``%a%a%a%a%a%b`` was polynomial (degree 5) under ``re``: 3,000 characters never ended."""
    assert like_regex("%a%a%a%a%a%b").fullmatch("a" * 200_000) is None  # type: ignore[union-attr]
    assert like_regex("%a%a%b").fullmatch("a" * 50_000 + "b") is not None  # type: ignore[union-attr]


@pytest.mark.parametrize("pattern", [r"^(a+)\1$", "(?=a)", "(?<!a)b", "a{1000}{1000}", "("])
def test_patterns_that_need_backtracking_or_are_broken_are_refused(pattern: str) -> None:
    with pytest.raises(RegexError):
        compile_pattern(pattern)
    assert regexp_match(pattern, "", "aa") == 0  # the SQL function never raises


def test_flags_and_options() -> None:
    assert compile_pattern("^v", "i").search("V1") is not None
    assert compile_pattern("a.b", "s").search("a\nb") is not None
    assert compile_pattern("a.b").search("a\nb") is None
    assert compile_pattern("^b", "m").search("a\nb") is not None
    with pytest.raises(RegexError, match="option"):
        compile_pattern("a", "x")
    with pytest.raises(RegexError, match="longer"):
        compile_pattern("a" * (MAX_PATTERN_LENGTH + 1))
    assert compile_pattern(escape("a.b*")).search("xa.b*") is not None


def test_lone_surrogates_neither_crash_nor_match_wrongly() -> None:
    assert compile_pattern("a.b").fullmatch("a\ud800b") is not None
    with pytest.raises(RegexError, match="surrogate"):
        compile_pattern("a\ud800")
    assert regexp_match("x", "", "ax\udfff") == 1
    like = like_regex("a\ud800%")
    assert like is not None and like.fullmatch("a\ud800zz") is not None
