"""acs_engine.regex (issue 11, finding 5): patterns from outside run in linear time on RE2."""

from __future__ import annotations

import pytest

from acs_engine.expression.values import like_regex
from acs_engine.regex import MAX_PATTERN_LENGTH, RegexError, _Linear, compile_pattern, escape
from acs_engine.store.search import regexp_match


def test_attack_exponential_pattern_finishes_on_long_subjects() -> None:
    """``re`` needs 2^n steps for this pattern on n characters (17 s on ~30); RE2 does not."""
    pattern = compile_pattern("^.{4}(.|.)*Q$")
    assert pattern.contains("x" * 1_000_000) is False
    assert pattern.contains("x" * 100_000 + "Q")


def test_attack_like_with_many_wildcards_finishes() -> None:
    """``%a%a%a%a%a%b`` was polynomial (degree 5) under ``re``: 3,000 characters never ended."""
    like = like_regex("%a%a%a%a%a%b")
    assert like is not None and like.matches("a" * 200_000) is False
    like = like_regex("%a%a%b")
    assert like is not None and like.matches("a" * 50_000 + "b")


@pytest.mark.parametrize("pattern", [r"^(a+)\1$", "(?=a)", "(?<!a)b", "a{1000}{1000}", "("])
def test_patterns_that_need_backtracking_or_are_broken_are_refused(pattern: str) -> None:
    with pytest.raises(RegexError):
        compile_pattern(pattern)
    assert regexp_match(pattern, "", "aa") == 0  # the SQL function never raises


def test_flags_and_options() -> None:
    assert compile_pattern("^v", "i").contains("V1")
    assert compile_pattern("a.b", "s").contains("a\nb")
    assert compile_pattern("a.b").contains("a\nb") is False
    assert compile_pattern("^b", "m").contains("a\nb")
    with pytest.raises(RegexError, match="option"):
        compile_pattern("a", "x")
    with pytest.raises(RegexError, match="longer"):
        compile_pattern("a" * (MAX_PATTERN_LENGTH + 1))
    assert compile_pattern(escape("a.b*")).contains("xa.b*")


def test_lone_surrogates_neither_crash_nor_match_wrongly() -> None:
    assert compile_pattern("a.b").matches("a\ud800b")
    with pytest.raises(RegexError, match="surrogate"):
        compile_pattern("a\ud800")
    assert regexp_match("x", "", "ax\udfff") == 1
    like = like_regex("a\ud800%")
    assert like is not None and like.matches("a\ud800zz")


def test_the_direct_binding_and_the_wrapper_agree() -> None:
    """The fast path (the binding's RE2.Match) and the re-like wrapper give the same answers."""
    pattern = compile_pattern("^(é|e)+\\d{2}$", "i")
    assert pattern._raw is not None  # the fast path is in use with this google-re2
    fallback = _Linear(pattern._compiled)
    fallback._raw = None
    for text in ("éE12", "ee1", "xé12", "É99", "e\ud80012", ""):
        assert pattern.matches(text) == fallback.matches(text), text
        assert pattern.contains(text) == fallback.contains(text), text
    assert pattern.matches("éE12") and not pattern.matches("ee1")
