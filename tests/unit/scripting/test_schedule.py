"""cron_previous and device_hash."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest

from acs_engine.scripting import cron_previous, device_hash


def ms(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> int:
    return int(datetime(year, month, day, hour, minute, second, tzinfo=UTC).timestamp() * 1000)


def test_device_hash_is_xor_of_md5_words() -> None:
    digest = hashlib.md5(b"abc").digest()
    words = [int.from_bytes(digest[i : i + 4], "little") for i in (0, 4, 8, 12)]
    assert device_hash("abc") == words[0] ^ words[1] ^ words[2] ^ words[3]
    assert 0 <= device_hash("x") < 2**32


def test_six_field_cron_previous() -> None:
    at = ms(2024, 1, 1, 3, 30, 15) + 250
    assert cron_previous("0 0 3 * * *", at) == ms(2024, 1, 1, 3, 0, 0)
    assert cron_previous("0 0 4 * * *", at) == ms(2023, 12, 31, 4, 0, 0)
    # a fire time equal to the reference second counts ("at or before")
    assert cron_previous("15 30 3 * * *", at) == ms(2024, 1, 1, 3, 30, 15)


def test_five_field_cron_gets_seconds_wildcard() -> None:
    # like GenieACS, "*" is prepended: every second of a matching minute fires
    at = ms(2024, 1, 1, 3, 0, 42) + 900
    assert cron_previous("0 3 * * *", at) == ms(2024, 1, 1, 3, 0, 42)
    assert cron_previous("0 3 * * *", ms(2024, 1, 1, 5, 0, 0)) == ms(2024, 1, 1, 3, 0, 59)


def test_cron_with_offset_key() -> None:
    at = ms(2024, 1, 1, 3, 0, 30)
    assert cron_previous("0 0 3 * * *|60000", at) == ms(2024, 1, 1, 2, 59, 0)


def test_invalid_cron() -> None:
    with pytest.raises(ValueError):
        cron_previous("61 * * * *", 0)
    with pytest.raises(ValueError):
        cron_previous("nope", 0)
