"""The admission queue: first come first served, bounded wait, bounded bytes, live cap."""

from __future__ import annotations

import asyncio

import pytest

from acs_engine.config import EngineConfig
from acs_engine.server.admission import Admission, Refused


def _admission(live: list[int], **config: object) -> Admission:
    return Admission(EngineConfig(**config), lambda: live[0])  # type: ignore[arg-type]


async def test_waiting_informs_are_admitted_in_arrival_order() -> None:
    gate = _admission([0], max_concurrent_new_sessions=1, admission_wait_ms=5000)
    assert await gate.enter() == 0.0
    order: list[int] = []

    async def arrive(i: int) -> None:
        await gate.enter()
        order.append(i)

    tasks = [asyncio.create_task(arrive(i)) for i in range(5)]
    await asyncio.sleep(0)
    assert gate.waiting == 5
    for _ in range(6):
        gate.leave()
        await asyncio.sleep(0)
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4]
    assert gate.queued_total == 5 and gate.refused_total == 0


async def test_a_wait_past_the_bound_is_refused_and_leaves_the_queue() -> None:
    gate = _admission([0], max_concurrent_new_sessions=1, admission_wait_ms=50)
    await gate.enter()
    with pytest.raises(Refused, match=r"within 0\.05 s"):
        await gate.enter(100)
    assert gate.waiting == 0 and gate._queued_bytes == 0 and gate.refused_total == 1
    assert gate.in_flight == 1


async def test_queued_bytes_are_bounded_and_no_wait_means_no_queue() -> None:
    gate = _admission([0], max_concurrent_new_sessions=1, admission_wait_ms=5000,
                      admission_queue_bytes=1000)
    await gate.enter()
    waiter = asyncio.create_task(gate.enter(800))
    await asyncio.sleep(0)
    with pytest.raises(Refused, match="waiting to start"):
        await gate.enter(300)  # 800 + 300 over 1000: refused at once
    gate.leave()
    await waiter
    gate.config.admission_wait_ms = 0
    with pytest.raises(Refused, match="starting"):
        await gate.enter()


async def test_the_live_session_cap_holds_new_sessions_until_one_ends() -> None:
    live = [3]
    gate = _admission(live, max_sessions=3, admission_wait_ms=5000)
    waiter = asyncio.create_task(gate.enter())
    await asyncio.sleep(0)
    assert not waiter.done() and gate.waiting == 1
    live[0] = 2
    gate.pump()  # a session ended
    await waiter
    assert gate.in_flight == 1 and gate.waiting == 0


async def test_a_waiter_that_goes_away_frees_its_place() -> None:
    gate = _admission([0], max_concurrent_new_sessions=1, admission_wait_ms=5000)
    await gate.enter()
    waiter = asyncio.create_task(gate.enter(10))
    await asyncio.sleep(0)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert gate.waiting == 0 and gate._queued_bytes == 0
    gate.leave()
    assert gate.in_flight == 0
