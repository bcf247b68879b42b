"""Parser, lexer and to_string: every construct, precedence, escapes, errors, round trips."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from acs_engine.expression import (
    Binary,
    Call,
    Case,
    ExpressionError,
    Literal,
    ParamRef,
    Unary,
    parse,
    to_string,
)
from acs_engine.expression.ast import Expr

A, B, C = ParamRef("a"), ParamRef("b"), ParamRef("c")


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("a OR b", Binary("OR", A, B)),
        ("a and b", Binary("AND", A, B)),
        ("NOT a", Unary("NOT", A)),
        ("not not a", Unary("NOT", Unary("NOT", A))),
        ("a = 1", Binary("=", A, Literal(1))),
        ("a <> 1", Binary("<>", A, Literal(1))),
        ("a > 1", Binary(">", A, Literal(1))),
        ("a >= 1", Binary(">=", A, Literal(1))),
        ("a < 1", Binary("<", A, Literal(1))),
        ("a <= 1", Binary("<=", A, Literal(1))),
        ("a LIKE 'x%'", Binary("LIKE", A, Literal("x%"))),
        ("a not   LIKE 'x%'", Binary("NOT LIKE", A, Literal("x%"))),
        ("a IS NULL", Unary("IS NULL", A)),
        ("a is not null", Unary("IS NOT NULL", A)),
        ("a || b", Binary("||", A, B)),
        ("a + b - c", Binary("-", Binary("+", A, B), C)),
        ("a * b / c % 2", Binary("%", Binary("/", Binary("*", A, B), C), Literal(2))),
        ("-a", Unary("-", A)),
        ("-5", Literal(-5)),
        ("- -5", Literal(5)),
        ("2.5e3", Literal(2500.0)),
        ("42", Literal(42)),
        ("99999999999999999999", Literal(1e20)),
        ("TRUE", Literal(True)),
        ("false", Literal(False)),
        ("Null", Literal(None)),
        ("(a)", A),
        ("now()", Call("NOW", ())),
        ("COALESCE(a, 'x', 3)", Call("COALESCE", (A, Literal("x"), Literal(3)))),
        ("ext('s', 'f', a)", Call("EXT", (Literal("s"), Literal("f"), A))),
        (
            "CASE WHEN a THEN 1 WHEN b THEN 2 ELSE 3 END",
            Case(((A, Literal(1)), (B, Literal(2))), Literal(3)),
        ),
        ("case when a then 1 end", Case(((A, Literal(1)),), None)),
        (
            "InternetGatewayDevice.LANDevice.*.Hosts.HostNumberOfEntries",
            ParamRef("InternetGatewayDevice.LANDevice.*.Hosts.HostNumberOfEntries"),
        ),
        ("Tags.office", ParamRef("Tags.office")),
        ("Events.1_BOOT", ParamRef("Events.1_BOOT")),
        ("1_BOOT", ParamRef("1_BOOT")),
        ("VirtualParameters.wan_ip", ParamRef("VirtualParameters.wan_ip")),
        ("*.DeviceInfo.X", ParamRef("*.DeviceInfo.X")),
        ("Device.WiFi.SSID.{i}.SSID", ParamRef("Device.WiFi.SSID.{i}.SSID")),
        (
            "Device.WiFi.SSID.[SSID:Office,Alias:[x.y]].Enable",
            ParamRef("Device.WiFi.SSID.[SSID:Office,Alias:[x.y]].Enable"),
        ),
        ("a*b", Binary("*", A, B)),
        ("Events.Inform-5", Binary("-", ParamRef("Events.Inform"), Literal(5))),
        ("NOW()-Events.Inform", Binary("-", Call("NOW", ()), ParamRef("Events.Inform"))),
        ("ANDROID = 1", Binary("=", ParamRef("ANDROID"), Literal(1))),
        ("Tags.NULL IS NULL", Unary("IS NULL", ParamRef("Tags.NULL"))),
    ],
)
def test_constructs(text: str, tree: Expr) -> None:
    assert parse(text) == tree


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("a OR b AND c", Binary("OR", A, Binary("AND", B, C))),
        ("NOT a AND b", Binary("AND", Unary("NOT", A), B)),
        ("NOT a = 1", Unary("NOT", Binary("=", A, Literal(1)))),
        ("a = b || c", Binary("=", A, Binary("||", B, C))),
        ("a || b + c", Binary("||", A, Binary("+", B, C))),
        ("a + b * c", Binary("+", A, Binary("*", B, C))),
        ("(a + b) * c", Binary("*", Binary("+", A, B), C)),
        ("-a * b", Binary("*", Unary("-", A), B)),
        ("a - -b", Binary("-", A, Unary("-", B))),
        ("a + 1 IS NULL", Unary("IS NULL", Binary("+", A, Literal(1)))),
        ("a LIKE b || '%'", Binary("LIKE", A, Binary("||", B, Literal("%")))),
    ],
)
def test_precedence(text: str, tree: Expr) -> None:
    assert parse(text) == tree


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("'it''s'", "it's"),
        ("''", ""),
        ("'a\\nb'", "a\\nb"),
        ('"a\\"b"', 'a"b'),
        ('"tab\\tnl\\ncr\\rbs\\\\"', "tab\tnl\ncr\rbs\\"),
        ('"\\u00e9\\b\\f"', "é\b\f"),
        ('"\\q"', "q"),
        ("'%_\"'", '%_"'),
    ],
)
def test_string_escapes(text: str, value: str) -> None:
    assert parse(text) == Literal(value)


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("", 0, "expected an expression but found end of input"),
        ("a = ", 4, "expected an expression but found end of input"),
        ("(a = 1", 6, "expected ')' but found end of input"),
        ("(a = 1 AND b", 12, "expected ')'"),
        ("a = 1)", 5, "expected end of input but found ')'"),
        ("a = 1 = 2", 6, "expected end of input but found '='"),
        ("'abc", 0, "unterminated string"),
        ('"abc\\"', 0, "unterminated string"),
        ('"\\u12g4"', 1, "invalid \\u escape"),
        ("a..b = 1", 2, "empty segment"),
        ("a. = 1", 2, "empty segment"),
        ("CASE END", 5, "expected WHEN but found 'END'"),
        ("CASE WHEN a THEN 1", 18, "expected WHEN or ELSE or END"),
        ("f(1,)", 4, "expected an expression but found ')'"),
        ("f(1 2)", 4, "expected ',' or ')'"),
        ("a IS 5", 5, "expected NULL or NOT NULL"),
        ("a NOT b", 6, "expected LIKE but found 'b'"),
        ("a # b", 2, "unexpected character '#'"),
        ("x.[abc = 1", 2, "unclosed '['"),
        ("a.*b = 1", 3, "whole path segment"),
        ("(a = 1) AND AND b", 12, "expected an expression but found 'AND'"),
    ],
)
def test_errors_have_positions(text: str, position: int, fragment: str) -> None:
    with pytest.raises(ExpressionError) as info:
        parse(text)
    assert info.value.position == position
    assert fragment in str(info.value)
    assert str(info.value).startswith(f"at {position}: ")


def test_error_message_format_and_expected() -> None:
    with pytest.raises(ExpressionError) as info:
        parse("(Tags.a = 1   AND b")
    assert str(info.value) == "at 19: expected ')' but found end of input"
    assert info.value.expected == ("')'",)
    with pytest.raises(ExpressionError) as info:
        parse("(Tags.a = 1 b) AND c")
    assert str(info.value) == "at 12: expected ')' but found 'b'"
    assert isinstance(info.value, ValueError)


def test_parse_is_cached() -> None:
    assert parse("Tags.cached = 1") is parse("Tags.cached = 1")


def test_nodes_are_immutable() -> None:
    tree = parse("a = 1")
    with pytest.raises(AttributeError):
        tree.op = "<>"  # type: ignore[misc, union-attr]


ROUND_TRIP = [
    'DeviceID.ProductClass = "HG8245" AND Tags.office IS NOT NULL',
    "InternetGatewayDevice.DeviceInfo.SoftwareVersion LIKE 'V3%'",
    "NOW() - Events.Inform > 3600000",
    "NOT (a OR b) AND NOT c",
    "(a = 1) = (b = 2)",
    "(a IS NULL) IS NULL",
    "-(a + b) * -3 / (c % 2)",
    "a - (b - c)",
    "a || (b || c)",
    "CASE WHEN a > 1 THEN 'x' || b ELSE -1.5 END LIKE '%x'",
    "ROUND(1.2345, 2) + COALESCE(NULL, a, 'y\"\\\\z')",
    "'line\nbreak\ttab'",
    "Device.WiFi.SSID.[SSID:Office].Enable = TRUE",
    "1e999 > -1e999",
    "NOT NOT a",
    "- - a",
]


@pytest.mark.parametrize("text", ROUND_TRIP)
def test_to_string_round_trip(text: str) -> None:
    tree = parse(text)
    assert parse(to_string(tree)) == tree
    assert to_string(parse(to_string(tree))) == to_string(tree)


def test_to_string_is_canonical() -> None:
    assert to_string(parse("a  or (b and c)")) == "a OR b AND c"
    assert to_string(parse("((a + b)) * c")) == "(a + b) * c"
    assert to_string(parse("'it''s'")) == '"it\'s"'
    assert to_string(parse("a not like 'x'")) == 'a NOT LIKE "x"'


_paths = st.sampled_from(["a", "Tags.x", "A.*.B", "Events.1_BOOT", "X.{i}.Y", "P.[K:v].Q"])
_leaves = st.one_of(
    _paths.map(ParamRef),
    st.integers(-(10**6), 10**6).map(Literal),
    st.floats(allow_nan=False, allow_infinity=True).map(Literal),
    st.text(max_size=8).map(Literal),
    st.sampled_from([True, False, None]).map(Literal),
)


def _extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    binary = st.builds(
        Binary,
        st.sampled_from(
            [
                "OR",
                "AND",
                "=",
                "<>",
                "<",
                "<=",
                ">",
                ">=",
                "LIKE",
                "NOT LIKE",
                "||",
                "+",
                "-",
                "*",
                "/",
                "%",
            ]
        ),
        children,
        children,
    )
    unary = st.builds(Unary, st.sampled_from(["NOT", "-", "IS NULL", "IS NOT NULL"]), children)
    call = st.builds(
        Call,
        st.sampled_from(["COALESCE", "UPPER", "EXT"]),
        st.lists(children, max_size=3).map(tuple),
    )
    case = st.builds(
        Case,
        st.lists(st.tuples(children, children), min_size=1, max_size=2).map(tuple),
        st.none() | children,
    )
    return st.one_of(binary, unary, call, case)


def _normal(tree: Expr) -> bool:
    """Trees parse() can produce: no minus applied to a number literal."""
    if isinstance(tree, Unary):
        operand = tree.operand
        if tree.op == "-" and isinstance(operand, Literal) and type(operand.value) in (int, float):
            return False
        return _normal(operand)
    if isinstance(tree, Binary):
        return _normal(tree.left) and _normal(tree.right)
    if isinstance(tree, Call):
        return all(_normal(a) for a in tree.args)
    if isinstance(tree, Case):
        parts = [x for pair in tree.whens for x in pair]
        return all(_normal(p) for p in parts) and (
            tree.otherwise is None or _normal(tree.otherwise)
        )
    return True


@settings(max_examples=300, deadline=None)
@given(st.recursive(_leaves, _extend, max_leaves=12))
def test_to_string_round_trip_generated(tree: Expr) -> None:
    if not _normal(tree):
        return
    assert parse(to_string(tree)) == tree


_ALPHABET = st.sampled_from(
    [
        *list("abcXYZ019_.*[]{}()'\",=<>!|+-/%  \n\\"),
        "AND",
        "OR",
        "NOT",
        "LIKE",
        "IS",
        "NULL",
        "CASE",
        "WHEN",
        "THEN",
        "ELSE",
        "END",
        "é",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=40), st.lists(_ALPHABET, max_size=25).map(" ".join)))
def test_fuzz_parse_never_crashes(text: str) -> None:
    try:
        tree = parse(text)
    except ExpressionError as exc:
        assert exc.position is not None
        assert 0 <= exc.position <= len(text)
        return
    assert parse(to_string(tree)) == tree
