"""The engine's one "now" in epoch milliseconds, the unit of every stored timestamp.

Bus events (``at_ms``), records and the database all carry integer milliseconds. A clock
(``time.time()``, a session's ``clock``) says float seconds: convert with :func:`now_ms` and
:func:`to_ms`, never by hand.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["now_ms", "to_ms"]


def now_ms(clock: Callable[[], float] = time.time) -> int:
    """The time ``clock`` (seconds since the epoch) says, in integer milliseconds."""
    return int(clock() * 1000)


def to_ms(seconds: float) -> int:
    """``seconds`` (a ``time.time()`` value or a duration) in integer milliseconds."""
    return int(seconds * 1000)
