"""Repeated log lines are rate-limited (a connection flood must not fill the disk)."""

from __future__ import annotations

import logging

import pytest

from acs_engine.server.logfilter import FLOOD_LOGGERS, RepeatFilter, install_repeat_filter


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_flood_of_one_line_is_cut_to_a_burst_and_the_rest_is_counted() -> None:
    clock = _Clock()
    flt = RepeatFilter(burst=5, window=10.0, clock=clock)
    logger = logging.getLogger("test.flood")
    passed = [
        flt.filter(logger.makeRecord("asyncio", logging.ERROR, __file__, 1,
                                     "socket.accept() out of system resource", (), None))
        for _ in range(10_000)
    ]
    assert sum(passed) == 5
    other = logger.makeRecord("asyncio", logging.ERROR, __file__, 1, "another line", (), None)
    assert flt.filter(other)  # other lines are not held back
    clock.now = 10.0  # the next window: one line again, saying how many were dropped
    record = logger.makeRecord("asyncio", logging.ERROR, __file__, 1,
                               "socket.accept() out of system resource", (), None)
    assert flt.filter(record)
    assert "[9995 similar lines suppressed]" in record.getMessage()


def test_the_engine_s_filter_covers_asyncio_and_its_own_loggers(
    caplog: pytest.LogCaptureFixture,
) -> None:
    flt = install_repeat_filter()
    assert install_repeat_filter() is flt  # once
    assert "asyncio" in FLOOD_LOGGERS and "fieldacs.server.guard" in FLOOD_LOGGERS
    with caplog.at_level(logging.ERROR, logger="asyncio"):
        for _ in range(500):
            logging.getLogger("asyncio").error("socket.accept() out of system resource %s",
                                               "x-unit-test")
    lines = [r for r in caplog.records if "x-unit-test" in r.getMessage()]
    assert 1 <= len(lines) <= flt.burst
