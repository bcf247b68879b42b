"""GenieACS's stored expression arrays evaluate like the same expression written as text."""

from __future__ import annotations

import pytest

from acs_engine.expression import ExpressionError, evaluate, parse
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
