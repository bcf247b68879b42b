"""Keeping the parameter history within its retention, in the background.

:class:`HistoryPruner` wakes every ``interval`` seconds and removes what the retention no
longer keeps, one bounded chunk (one short transaction) at a time, yielding to the loop
between chunks: a session's commit waits behind at most one chunk. The retention is read from
the engine's settings at every pass, so a changed setting applies without a restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from acs_engine.store.errors import StoreError
from acs_engine.store.history import HistoryMixin, HistoryRetention

__all__ = ["HistoryPruner"]

log = logging.getLogger("fieldacs.history")


class HistoryPruner:
    """Prunes a store's history now and then (see the module docstring)."""

    def __init__(
        self,
        store: HistoryMixin,
        retention: Callable[[], HistoryRetention],
        *,
        interval: float = 30.0,
        chunk: int = 200,
        pause: float = 0.005,
    ) -> None:
        """Args:
        store: the store.
        retention: gives the retention to apply (read at every pass).
        interval: seconds between passes.
        chunk: most rows removed per transaction.
        pause: seconds between two chunks of one pass (sessions commit in between).
        """
        self._store = store
        self._retention = retention
        self._interval = interval
        self._chunk = chunk
        self._pause = pause
        self._task: asyncio.Task[None] | None = None
        self.removed = 0

    def start(self) -> None:
        """Start the background task (on the running loop)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        """Stop the background task; a chunk being written finishes first."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception as exc:  # it had died: stopping the engine goes on regardless
                # (seen under test harnesses that run Qt events outside the asyncio loop)
                log.warning("history retention had stopped: %r", exc)

    async def run_once(self) -> int:
        """One whole pass: chunks until nothing more is due. Returns the rows removed."""
        total = 0
        while True:
            done = await self._store.prune_history(self._retention(), budget=self._chunk)
            total += done
            if done < self._chunk:
                break
            await asyncio.sleep(self._pause)
        self.removed += total
        if total:
            log.debug("history retention removed %d rows", total)
        return total

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except StoreError as exc:
                log.warning("history retention failed (will retry): %s", exc)
            await asyncio.sleep(self._interval)
