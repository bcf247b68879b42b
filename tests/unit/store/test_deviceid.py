"""Device ids match GenieACS's generateDeviceId, including its escaping quirks."""

from __future__ import annotations

import pytest

from acs_engine.store import make_device_id
from acs_engine.store.deviceid import escape_part


def test_genieacs_cases() -> None:
    # The cases of GenieACS's test/util.ts.
    assert (
        make_device_id("TestOUI", "TestProductClass", "TestSerialNumber")
        == "TestOUI-TestProductClass-TestSerialNumber"
    )
    assert make_device_id("TestOUI", "", "TestSerialNumber") == "TestOUI-TestSerialNumber"
    assert (
        make_device_id("TestOUIWith _;2912", "", "TestSerialNumberWith _;2912")
        == "TestOUIWith%20_%3B2912-TestSerialNumberWith%20_%3B2912"
    )


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("abcXYZ019_", "abcXYZ019_"),
        ("a-b", "a%2Db"),
        ("a.b", "a%2Eb"),
        ("50%", "50%25"),
        ("a/b+c", "a%2Fb%2Bc"),
        ("café", "caf%C3%A9"),
        ("€", "%E2%82%AC"),
        ("tab\there", "tab%9here"),  # GenieACS does not zero-pad the hex
        ("nul\x00", "nul%0"),
        ("\U0001f600", "%EF%BF%BD%EF%BF%BD"),  # a UTF-16 surrogate pair, each half -> U+FFFD
        ("", ""),
    ],
)
def test_escape_part(raw: str, escaped: str) -> None:
    assert escape_part(raw) == escaped


def test_dash_in_parts_keeps_the_id_splittable() -> None:
    device_id = make_device_id("00-11", "Home-Gateway", "SN-1")
    assert device_id == "00%2D11-Home%2DGateway-SN%2D1"
    assert device_id.split("-") == ["00%2D11", "Home%2DGateway", "SN%2D1"]
