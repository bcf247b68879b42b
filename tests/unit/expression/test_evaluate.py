"""The evaluator: three-valued logic, ANY semantics, coercions, functions, GenieACS examples."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from acs_engine.expression import (
    ExpressionError,
    evaluate,
    make_resolver,
    param_value,
    parameters,
    parse,
    to_bool,
)
from acs_engine.store import DeviceRecord, Param

NOW = 1_700_000_000_000


def resolver(values: dict[str, list[Any]]) -> Callable[[str], list[Any]]:
    def resolve(path: str) -> list[Any]:
        return values.get(path, [])

    return resolve


def ev(text: str, **values: list[Any]) -> Any:
    data = {k.replace("__", "."): v for k, v in values.items()}
    return evaluate(parse(text), resolver(data), now_ms=NOW)


T, F, N = "TRUE", "FALSE", "NULL"
_PY = {T: True, F: False, N: None}


@pytest.mark.parametrize("a", [T, F, N])
@pytest.mark.parametrize("b", [T, F, N])
def test_and_or_truth_tables(a: str, b: str) -> None:
    x, y = _PY[a], _PY[b]
    expected_and = False if x is False or y is False else None if None in (x, y) else True
    expected_or = True if x is True or y is True else None if None in (x, y) else False
    assert ev(f"{a} AND {b}") is expected_and
    assert ev(f"{a} OR {b}") is expected_or


@pytest.mark.parametrize(("a", "expected"), [(T, False), (F, True), (N, None)])
def test_not_truth_table(a: str, expected: bool | None) -> None:
    assert ev(f"NOT {a}") is expected


@pytest.mark.parametrize(
    "text",
    ["NULL = 1", "1 <> NULL", "NULL < NULL", "NULL LIKE '%'", "'a' NOT LIKE NULL", "1 + NULL",
     "NULL || 'a'", "-NULL", "UPPER(NULL)", "ROUND(NULL)", "1 / 0", "5 % 0", "Missing.Path = 1",
     "CASE WHEN NULL THEN 1 END", "NOT Missing.Path"],
)  # fmt: skip
def test_null_propagates(text: str) -> None:
    assert ev(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("NULL IS NULL", True),
        ("1 IS NULL", False),
        ("Missing.Path IS NULL", True),
        ("Missing.Path IS NOT NULL", False),
        ("COALESCE(Missing.Path, 7)", 7),
        ("CASE WHEN FALSE THEN 1 ELSE 2 END", 2),
        ("CASE WHEN 0 THEN 1 WHEN 'x' THEN 2 END", 2),
    ],
)
def test_null_tests(text: str, expected: Any) -> None:
    assert ev(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("'5' = 5", True),
        ("5 = '5.0'", True),
        ("'-1.5' < 0", True),
        ("'abc' > 5", True),
        ("'abc' = 0", False),
        ("5 < 'abc'", True),
        ("' 5' = 5", False),
        ("'10' > '9'", False),
        ("10 > 9", True),
        ("TRUE = 1", True),
        ("FALSE < TRUE", True),
        ("'true' = TRUE", False),
        ("2.0 = 2", True),
        ("'b' > 'a'", True),
        ("'B' < 'a'", True),
    ],
)
def test_comparison_coercions(text: str, expected: bool) -> None:
    assert ev(text) is expected


def test_datetime_compares_as_epoch_ms() -> None:
    when = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)  # == NOW
    assert ev("Events.Inform = 1700000000000", Events__Inform=[when]) is True
    assert ev("NOW() - Events.Inform", Events__Inform=[when]) == 0
    assert ev("Events.Inform > NOW() - 1", Events__Inform=[when]) is True


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("7 / 2", 3.5),
        ("7 % 3", 1),
        ("-7 % 3", -1),
        ("7 % -3", 1),
        ("7.5 % 2", 1.0),
        ("'10' % '1e3'", 0.0),
        ("'12abc' + 1", 13),
        ("'abc' * 2", 0),
        ("'1.5x' * 2", 3.0),
        ("-'3'", -3),
        ("TRUE + TRUE", 2),
        ("9223372036854775807 + 1", 9.223372036854776e18),
        ("1 || 2", "12"),
        ("2.0 || ''", "2.0"),
        ("1e20 || ''", "1.0e+20"),
        ("TRUE || 'x'", "1x"),
        ("UPPER('abcé')", "ABCé"),
        ("LOWER('ABC')", "abc"),
        ("ROUND(2.5)", 3.0),
        ("ROUND(-2.5)", -3.0),
        ("ROUND(1.2345, 2)", 1.23),
        ("ROUND(1234, -2)", 1200.0),
        ("ROUND('7.6')", 8.0),
        ("NOW()", NOW),
        ("COALESCE(NULL, NULL, 'x', 'y')", "x"),
    ],
)
def test_arithmetic_and_functions(text: str, expected: Any) -> None:
    result = ev(text)
    assert result == expected
    assert type(result) is type(expected)


@pytest.mark.parametrize(
    ("value", "pattern", "expected"),
    [
        ("V3.1", "V3%", True),
        ("v3.1", "V3%", False),
        ("xV3", "V3%", False),
        ("V3", "V_", True),
        ("V", "V_", False),
        ("a.b", "a_b", True),
        ("a\nb", "a%", True),
        ("50%", "50%", True),
        ("(x)", "(%)", True),
        ("[x]*", "[%]*", True),
        ("", "%", True),
        ("", "", True),
    ],
)
def test_like(value: str, pattern: str, expected: bool) -> None:
    assert ev("X LIKE P", X=[value], P=[pattern]) is expected
    assert ev("X NOT LIKE P", X=[value], P=[pattern]) is (not expected)


def test_any_match_semantics() -> None:
    hosts = "InternetGatewayDevice.LANDevice.*.Hosts.HostNumberOfEntries"
    values = {hosts: [2, 12]}
    run = lambda t: evaluate(parse(t), resolver(values), now_ms=NOW)  # noqa: E731
    assert run(f"{hosts} > 10") is True
    assert run(f"{hosts} < 5") is True
    assert run(f"{hosts} = 3") is False
    assert run(f"NOT {hosts} = 2") is False
    assert run(f"{hosts} + {hosts} = 4") is True  # one binding per path per predicate
    assert run(f"{hosts} + {hosts} = 14") is False
    assert run(f"{hosts}") == 2  # outside a predicate: the first value
    assert run(f"CASE WHEN {hosts} > 10 THEN {hosts} END = 12") is True
    assert run("Other.* IS NULL") is True
    values["Mixed"] = [None, 5]
    assert run("Mixed IS NULL") is True
    assert run("Mixed IS NOT NULL") is True
    assert run("Mixed = 5") is True
    assert run("Mixed <> 5") is False  # no binding true; 5 <> 5 is false


def test_genieacs_examples() -> None:
    device = DeviceRecord(
        id="00259E-HG8245-SN1",
        manufacturer="Huawei",
        oui="00259E",
        product_class="HG8245",
        serial_number="SN1",
        registered_ms=NOW - 10**9,
        last_inform_ms=NOW - 7_200_000,
        tags={"office"},
    )
    params = {
        "InternetGatewayDevice.DeviceInfo.SoftwareVersion": Param(
            "InternetGatewayDevice.DeviceInfo.SoftwareVersion", "V300R013", "xsd:string"
        ),
        "InternetGatewayDevice.LANDevice.1.": Param("InternetGatewayDevice.LANDevice.1."),
        "InternetGatewayDevice.LANDevice.1.Hosts.HostNumberOfEntries": Param(
            "InternetGatewayDevice.LANDevice.1.Hosts.HostNumberOfEntries", "4", "xsd:unsignedInt"
        ),
    }
    resolve = make_resolver(device, params)

    def check(text: str) -> bool:
        return to_bool(evaluate(parse(text), resolve, now_ms=NOW))

    assert check('DeviceID.ProductClass = "HG8245" AND Tags.office IS NOT NULL')
    assert not check('DeviceID.ProductClass = "HG8245" AND Tags.home IS NOT NULL')
    assert check('InternetGatewayDevice.DeviceInfo.SoftwareVersion LIKE "V3%"')
    assert check("NOW() - Events.Inform > 3600000")
    assert not check("NOW() - Events.Inform > 7200000")
    assert check("Events.1_BOOT IS NULL")
    assert check("InternetGatewayDevice.LANDevice.*.Hosts.HostNumberOfEntries >= 4")
    assert check("InternetGatewayDevice.LANDevice.* IS NULL")  # objects have no value
    assert check("DeviceID.ID = '00259E-HG8245-SN1' AND DeviceID.* LIKE 'Hua%'")
    assert check("Tags.office")
    assert not check("Tags.home")


def test_custom_functions() -> None:
    calls: list[tuple[Any, ...]] = []

    def ext(*args: Any) -> Any:
        calls.append(args)
        return "secret"

    result = evaluate(
        parse("ext('creds', 'get', DeviceID.SerialNumber) = 'secret'"),
        resolver({"DeviceID.SerialNumber": ["SN9"]}),
        now_ms=NOW,
        functions={"EXT": ext, "remote_address": lambda: "10.0.0.1"},
    )
    assert result is True
    assert calls == [("creds", "get", "SN9")]
    assert evaluate(
        parse("REMOTE_ADDRESS() LIKE '10.%'"), resolver({}), now_ms=NOW,
        functions={"remote_address": lambda: "10.0.0.1"},
    ) is True  # fmt: skip


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("AUTH('a', 'b')", "unknown function AUTH()"),
        ("NOPE()", "unknown function NOPE()"),
        ("UPPER()", "UPPER() takes 1 argument(s), not 0"),
        ("ROUND(1, 2, 3)", "ROUND() takes 1-2 argument(s), not 3"),
        ("NOW(1)", "NOW() takes 0 argument(s), not 1"),
    ],
)
def test_function_errors(text: str, message: str) -> None:
    with pytest.raises(ExpressionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        ev(text)


def test_to_bool() -> None:
    assert to_bool(True) and to_bool(1) and to_bool("x") and to_bool("0") and to_bool(2.5)
    assert not (to_bool(None) or to_bool(False) or to_bool(0) or to_bool("") or to_bool(0.0))


def test_parameters() -> None:
    tree = parse(
        "COALESCE(A.b, 1) > 2 AND CASE WHEN Tags.x THEN Events.Inform END IS NULL OR NOW() > A.b"
    )
    assert parameters(tree) == {"A.b", "Tags.x", "Events.Inform"}
    assert parameters(parse("1 + 2")) == set()


@pytest.mark.parametrize(
    ("value", "xsd", "expected"),
    [
        ("true", "xsd:boolean", True),
        (" TRUE ", "xsd:boolean", True),
        ("0", "xsd:boolean", False),
        ("yes", "xsd:boolean", "yes"),
        ("42", "xsd:unsignedInt", 42),
        ("-7", "xsd:int", -7),
        ("4x", "xsd:int", "4x"),
        ("1234567890123456789", "xsd:unsignedLong", "1234567890123456789"),
        ("1.5", "xsd:double", 1.5),
        ("7", "xsd:float", 7.0),
        ("1e3", "xsd:double", "1e3"),
        ("42", "xsd:string", "42"),
        ("2024-05-01T10:00:00.5+02:00", "xsd:dateTime",
         datetime(2024, 5, 1, 8, 0, 0, 500000, tzinfo=UTC)),
        ("2024-02-30T00:00:00Z", "xsd:dateTime", "2024-02-30T00:00:00Z"),
        ("2024-01-01T24:00:00Z", "xsd:dateTime", "2024-01-01T24:00:00Z"),
        (None, "xsd:string", None),
    ],
)  # fmt: skip
def test_param_value(value: str | None, xsd: str, expected: Any) -> None:
    assert param_value(value, xsd) == expected
