"""GenieACS's stored expression arrays evaluate like the same expression written as text."""

from __future__ import annotations

import pytest

from acs_engine.expression import ExpressionError, evaluate, parse
from acs_engine.expression.ast import Literal
from acs_engine.expression.format import to_string
from acs_engine.expression.genieacs import is_expression, to_text

VALUES = {"DeviceID.SerialNumber": ["SN1"], "Device.X": [5]}


def resolve(path: str) -> list[object]:
    return list(VALUES.get(path, []))


@pytest.mark.parametrize("node,expected", [
    (["||", "Field-", ["PARAM", "DeviceID.SerialNumber"]], "Field-SN1"),
    (["+", ["PARAM", "Device.X"], 2], 7),
    (["AND", [">", ["PARAM", "Device.X"], 1], ["IS NOT NULL", ["PARAM", "DeviceID.SerialNumber"]]], True),
    (["NOT", ["=", ["PARAM", "Device.X"], 5]], False),
    (["CASE", ["=", ["PARAM", "Device.X"], 4], "four", "other"], "other"),
    (["FUNC", "UPPER", "it's"], "IT'S"),
    (["IS NULL", ["PARAM", "Device.Missing"]], True),
])
def test_arrays_evaluate_like_text(node: list[object], expected: object) -> None:
    assert is_expression(node)
    assert evaluate(parse(to_text(node)), resolve, now_ms=0) == expected


def test_plain_values_are_literals_not_expressions() -> None:
    for value in ("Device.X", 3, None, True, ["not", "an", "expression"]):
        assert not is_expression(value)


def test_malformed_arrays_are_refused() -> None:
    with pytest.raises(ExpressionError):
        to_text(["PARAM"])
    with pytest.raises(ExpressionError):
        to_text(["=", 1])


@pytest.mark.parametrize("value,text", [
    (float("inf"), "1e999"),
    (float("-inf"), "-1e999"),
    (float("nan"), "NULL"),
    ('say "hi"\n', '"say \\"hi\\"\\n"'),
    ("it's", '"it\'s"'),
    (2.5, "2.5"),
    (None, "NULL"),
    (True, "TRUE"),
])
def test_literals_print_as_the_text_printer_does(value: object, text: str) -> None:
    """One literal printer: GenieACS's double-quoted strings, ``1e999`` for infinity."""
    assert to_text(value) == text == to_string(Literal(value))


def test_an_infinite_literal_reads_back_as_a_number() -> None:
    assert evaluate(parse(to_text(["<", ["PARAM", "Device.X"], float("inf")])), resolve,
                    now_ms=0) is True
