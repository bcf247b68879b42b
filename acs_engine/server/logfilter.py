"""Rate-limiting of repeated log lines: a flood must not fill the disk with one message.

Under a connection flood the same line repeats thousands of times a second (asyncio's
"socket.accept() out of system resource" with its traceback, a refused connection, a
rejected request). :class:`RepeatFilter` lets the first ``burst`` records with the same
logger, level and message template through in each ``window`` seconds, drops the rest, and
says how many it dropped on the next one it lets through.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

#: The loggers a flood can make repeat themselves.
FLOOD_LOGGERS = (
    "asyncio", "aiohttp.server", "aiohttp.web", "aiohttp.internal",
    "fieldacs.server", "fieldacs.server.guard", "fieldacs.engine", "fieldacs.nbi",
)


class RepeatFilter(logging.Filter):
    """Passes at most ``burst`` records of one kind per ``window`` seconds.

    Args:
        burst: records of one kind let through per window.
        window: seconds.
        clock: the time source.
        max_kinds: kinds remembered at once (the oldest are forgotten).
    """

    def __init__(
        self, burst: int = 10, window: float = 10.0,
        clock: Callable[[], float] = time.monotonic, max_kinds: int = 1000,
    ) -> None:
        super().__init__()
        self.burst = burst
        self.window = window
        self.clock = clock
        self.max_kinds = max_kinds
        #: kind -> [window start, passed in window, dropped since the last one passed]
        self._seen: dict[tuple[str, int, str], list[float]] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, record.levelno, str(record.msg))
        now = self.clock()
        entry = self._seen.get(key)
        if entry is None:
            if len(self._seen) >= self.max_kinds:
                self._seen.pop(next(iter(self._seen)))
            self._seen[key] = [now, 1.0, 0.0]
            return True
        if now - entry[0] >= self.window:
            entry[0], entry[1] = now, 0.0
        if entry[1] >= self.burst:
            entry[2] += 1
            return False
        entry[1] += 1
        if entry[2]:
            record.msg = f"{record.msg} [{int(entry[2])} similar lines suppressed]"
            entry[2] = 0.0
        return True


_installed: RepeatFilter | None = None


def install_repeat_filter() -> RepeatFilter:
    """Attach one :class:`RepeatFilter` to every logger in :data:`FLOOD_LOGGERS` (once)."""
    global _installed
    if _installed is None:
        _installed = RepeatFilter()
        for name in FLOOD_LOGGERS:
            logging.getLogger(name).addFilter(_installed)
    return _installed
