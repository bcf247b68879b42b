"""values.py: type names, text <-> Python, validity checks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from acs_engine.cwmp.values import check, normalize_type, to_python, to_wire


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, "xsd:string"),
        ("", "xsd:string"),
        ("xsd:string", "xsd:string"),
        ("xs:int", "xsd:int"),
        ("unsignedInt", "xsd:unsignedInt"),
        ("XSD:UNSIGNEDINT", "xsd:unsignedInt"),
        ("cwmp:boolean", "xsd:boolean"),
        ("soap-enc:base64", "xsd:base64Binary"),
        ("xsd:datetime", "xsd:dateTime"),
        ("ns1:X_VendorType", "xsd:X_VendorType"),
        ("xsd:", "xsd:string"),
    ],
)
def test_normalize_type(raw: str | None, expected: str) -> None:
    assert normalize_type(raw) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1", True), ("true", True), ("TRUE", True), (" True\n", True), ("0", False),
     ("false", False), ("False", False), ("yes", "yes"), ("", "")],
)
def test_to_python_boolean(text: str, expected: object) -> None:
    assert to_python(text, "xsd:boolean") == expected


@pytest.mark.parametrize(
    ("text", "kind", "expected"),
    [
        ("42", "xsd:int", 42),
        (" -7 ", "xsd:int", -7),
        ("4294967295", "xsd:unsignedInt", 4294967295),
        ("9223372036854775807", "xsd:long", 9223372036854775807),
        ("18446744073709551615", "unsignedLong", 18446744073709551615),
        ("1_000", "xsd:int", "1_000"),
        ("12abc", "xsd:unsignedInt", "12abc"),
        ("", "xsd:int", ""),
        ("1.5", "xsd:double", 1.5),
        ("-1E3", "xsd:float", -1000.0),
        ("x", "xsd:double", "x"),
        (" padded ", "xsd:string", " padded "),
        ("AAEC", "xsd:base64Binary", "AAEC"),
    ],
)
def test_to_python_numbers_and_text(text: str, kind: str, expected: object) -> None:
    value = to_python(text, kind)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T12:34:56Z", datetime(2024, 5, 1, 12, 34, 56, tzinfo=UTC)),
        ("2024-05-01T12:34:56", datetime(2024, 5, 1, 12, 34, 56, tzinfo=UTC)),
        ("2024-05-01T12:34:56.123456789+02:00",
         datetime(2024, 5, 1, 12, 34, 56, 123456, tzinfo=timezone(timedelta(hours=2)))),
        ("2024-05-01T12:34:56.5-05:30",
         datetime(2024, 5, 1, 12, 34, 56, 500000,
                  tzinfo=timezone(-timedelta(hours=5, minutes=30)))),
        ("0001-01-01T00:00:00Z", datetime(1, 1, 1, tzinfo=UTC)),
        ("2024-12-31T24:00:00Z", datetime(2025, 1, 1, tzinfo=UTC)),
    ],
)
def test_to_python_datetime(text: str, expected: datetime) -> None:
    value = to_python(text, "xsd:dateTime")
    assert value == expected
    assert isinstance(value, datetime)
    assert value.tzinfo is not None


@pytest.mark.parametrize("text", ["yesterday", "2024-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
                                  "2024-05-01 12:00:00", "2024-05-01T12:00:00+15:00", ""])
def test_to_python_bad_datetime_returns_text(text: str) -> None:
    assert to_python(text, "xsd:dateTime") == text


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        (True, "xsd:boolean", "1"),
        (False, "xsd:boolean", "0"),
        ("true", "xsd:boolean", "true"),
        (True, "xsd:string", "true"),
        (True, "xsd:unsignedInt", "1"),
        (42, "xsd:unsignedInt", "42"),
        (3.0, "xsd:int", "3"),
        (2.5, "xsd:double", "2.5"),
        (float("inf"), "xsd:double", "INF"),
        (float("nan"), "xsd:float", "NaN"),
        (None, "xsd:string", ""),
        (b"\x00\x01\x02\x03", "xsd:base64Binary", "AAECAw=="),
        (b"\xca\xfe", "xsd:hexBinary", "CAFE"),
        (datetime(2024, 5, 1, 12, 0, tzinfo=UTC), "xsd:dateTime", "2024-05-01T12:00:00Z"),
        (datetime(2024, 5, 1, 12, 0), "xsd:dateTime", "2024-05-01T12:00:00Z"),
        (datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=timezone(timedelta(hours=-3))),
         "xsd:dateTime", "2024-05-01T12:00:00.25-03:00"),
        (datetime(1, 1, 1, tzinfo=UTC), "xsd:dateTime", "0001-01-01T00:00:00Z"),
    ],
)
def test_to_wire(value: object, kind: str, expected: str) -> None:
    assert to_wire(value, kind) == expected


@pytest.mark.parametrize(
    "value",
    [True, False, 0, -5, 2**63, 1.25, datetime(2020, 2, 29, 23, 59, 59, 1, tzinfo=UTC)],
)
def test_to_wire_to_python_round_trip(value: object) -> None:
    kind = {bool: "xsd:boolean", int: "xsd:integer", float: "xsd:double",
            datetime: "xsd:dateTime"}[type(value)]
    text = to_wire(value, kind)
    assert check(text, kind) is None
    assert to_python(text, kind) == value


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("2147483647", "xsd:int"), ("-2147483648", "xsd:int"), (" 5 ", "xsd:int"),
        ("0", "xsd:unsignedInt"), ("4294967295", "xsd:unsignedInt"),
        ("-9223372036854775808", "xsd:long"), ("18446744073709551615", "xsd:unsignedLong"),
        ("true", "xsd:boolean"), ("0", "xsd:boolean"), ("FALSE", "xsd:boolean"),
        ("2024-02-29T23:59:59.999Z", "xsd:dateTime"), ("0001-01-01T00:00:00Z", "xsd:dateTime"),
        ("2024-05-01T00:00:00-14:00", "xsd:dateTime"),
        ("AAECAw==", "xsd:base64Binary"), ("AAEC\nAw==", "xsd:base64Binary"),
        ("", "xsd:base64Binary"), ("CAFEbabe", "xsd:hexBinary"), ("", "xsd:hexBinary"),
        ("anything at all", "xsd:string"), ("1.5e3", "xsd:double"), ("-INF", "xsd:float"),
        ("12.50", "xsd:decimal"), ("whatever", "xsd:X_Unknown"),
    ],
)
def test_check_accepts(text: str, kind: str) -> None:
    assert check(text, kind) is None


@pytest.mark.parametrize(
    ("text", "kind", "fragment"),
    [
        ("2147483648", "xsd:int", "out of range"),
        ("-2147483649", "xsd:int", "out of range"),
        ("-1", "xsd:unsignedInt", "out of range"),
        ("4294967296", "xsd:unsignedInt", "out of range"),
        ("9223372036854775808", "xsd:long", "out of range"),
        ("18446744073709551616", "xsd:unsignedLong", "out of range"),
        ("-1", "xsd:unsignedLong", "out of range"),
        ("1.0", "xsd:int", "not an integer"),
        ("", "xsd:unsignedInt", "not an integer"),
        ("yes", "xsd:boolean", "not a boolean"),
        ("2023-02-29T00:00:00Z", "xsd:dateTime", "invalid day"),
        ("2024-00-10T00:00:00Z", "xsd:dateTime", "invalid month"),
        ("2024-01-10T25:00:00Z", "xsd:dateTime", "invalid time"),
        ("2024-01-10T10:00:00+14:30", "xsd:dateTime", "time zone"),
        ("0000-01-10T10:00:00Z", "xsd:dateTime", "invalid year"),
        ("2024-01-10", "xsd:dateTime", "not an xsd:dateTime"),
        ("AAECAw=", "xsd:base64Binary", "not base64"),
        ("AA=C", "xsd:base64Binary", "not valid base64"),
        ("ABC", "xsd:hexBinary", "hexBinary"),
        ("zz", "xsd:hexBinary", "hexBinary"),
        ("1,5", "xsd:double", "floating-point"),
        ("1e3", "xsd:decimal", "decimal"),
    ],
)
def test_check_rejects(text: str, kind: str, fragment: str) -> None:
    reason = check(text, kind)
    assert reason is not None
    assert fragment in reason
