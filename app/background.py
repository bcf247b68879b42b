"""Coroutines a widget starts on the qasync loop, kept, cancelled with it, failures logged.

Widgets never block the loop: every store read or write is a coroutine started with
:meth:`Background.spawn`. The set keeps a reference (asyncio holds tasks weakly), a failure
is logged instead of vanishing, and :meth:`Background.cancel` stops what is left when the
widget goes away. :func:`restart` replaces the one read a widget keeps in flight.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

log = logging.getLogger("fieldacs.app")

T = TypeVar("T")


def restart(task: asyncio.Task[Any] | None, coro: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """Start ``coro`` in place of ``task``, which is cancelled if it is still running
    (a newer read makes the one in flight moot)."""
    if task is not None and not task.done():
        task.cancel()
    return asyncio.ensure_future(coro)


class Background:
    """The coroutines one widget started and has not seen finish."""

    def __init__(self, what: str = "a background task") -> None:
        """Args:
        what: how a failure is described in the log ("reading the presets").
        """
        self._what = what
        self._tasks: set[asyncio.Task[Any]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    def spawn(
        self,
        coro: Coroutine[Any, Any, Any],
        on_error: Callable[[BaseException], None] | None = None,
    ) -> asyncio.Task[Any] | None:
        """Start ``coro`` on the running loop (None when there is none: it is closed).

        Args:
            coro: the work.
            on_error: called with the exception when the work fails (besides the log).
        """
        try:
            task = asyncio.ensure_future(coro)
        except RuntimeError:  # no running loop (a synchronous test)
            coro.close()
            return None
        self._tasks.add(task)

        def done(t: asyncio.Task[Any]) -> None:
            self._tasks.discard(t)
            if t.cancelled():
                return
            exc = t.exception()
            if exc is not None:
                log.warning("%s failed: %s", self._what, exc, exc_info=exc)
                if on_error is not None:
                    on_error(exc)

        task.add_done_callback(done)
        return task

    def cancel(self) -> None:
        """Cancel everything still running."""
        for task in list(self._tasks):
            task.cancel()

    async def join(self) -> None:
        """Wait until everything started so far has finished (failures are logged)."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
