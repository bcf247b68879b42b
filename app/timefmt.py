"""Times as a technician reads them: "3 min ago", "in 2 h", with the exact local time in a
tooltip."""

from __future__ import annotations

from PySide6.QtCore import QDateTime

from acs_engine import clock


def ago(ms: int | None, now_ms: int | None = None) -> str:
    """How long ago an epoch-millisecond time was: ``"just now"``, ``"42 s ago"``,
    ``"3 min ago"``, ``"2 h ago"``, ``"5 d ago"``; ``""`` for None.

    A time in the future (clock skew) reads as "just now".
    """
    if ms is None:
        return ""
    now = clock.now_ms() if now_ms is None else now_ms
    seconds = max(0, (now - ms) // 1000)
    return "just now" if seconds < 10 else f"{span(seconds)} ago"


def until(ms: int, now_ms: int) -> str:
    """How soon an epoch-millisecond time comes: ``"in 42 s"``, ``"in 3 min"``, ``"in 2 h"``,
    ``"in 5 d"``; ``"due now"`` once it has come."""
    seconds = (ms - now_ms) // 1000
    return "due now" if seconds <= 0 else f"in {span(seconds)}"


def span(seconds: int) -> str:
    """Whole seconds in their largest unit, rounded down: ``"42 s"``, ``"3 min"``, ``"2 h"``,
    ``"5 d"``."""
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d"


def exact(ms: int | None) -> str:
    """The local date and time of an epoch-millisecond time (``""`` for None)."""
    if ms is None:
        return ""
    return QDateTime.fromMSecsSinceEpoch(int(ms)).toString("yyyy-MM-dd HH:mm:ss")


#: The current time in epoch milliseconds (the engine's one clock helper).
now_ms = clock.now_ms
