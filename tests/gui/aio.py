"""Waiting in async GUI tests without a nested Qt event loop.

``qtbot.waitSignal``/``waitUntil`` spin a nested QEventLoop; inside a qasync task that would
run other asyncio tasks re-entrantly. :func:`wait_until` awaits instead, so the loop keeps
turning. (Record signals into a list before acting, then wait on the list: a signal emitted
before the wait started is not missed.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def wait_until(
    predicate: Callable[[], object], timeout: float = 5.0, what: str = "condition"
) -> None:
    """Let the loop run until ``predicate()`` is true; fail after ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        await asyncio.sleep(0.01)


async def settle() -> None:
    """End a test whose body never awaited: let timers that fell due run on the loop.

    pytest-qt processes Qt events at teardown, outside the asyncio loop; a qasync timer
    that is due then (the engine's 0.25 s session watchdog, say) would run its task with no
    running loop and break the engine's stop. Awaiting here runs it on the loop first.
    """
    await asyncio.sleep(0.01)
