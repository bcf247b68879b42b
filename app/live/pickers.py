"""The live session panel's pickers: how a session reads in its list, and a drop-down as wide
as its longest line."""

from __future__ import annotations

import time

from PySide6.QtWidgets import QComboBox

from app.live.timeline import time_label


def session_label(
    started: float, events: tuple[str, ...], outcome: str, rpc_count: int | None = None
) -> str:
    """A session picker line, dated: ``"● 2026-12-07 14:03:07 live — 0 BOOTSTRAP"``,
    ``"2026-12-07 14:03:07 ok · 3 RPCs"``."""
    when = time.strftime("%Y-%m-%d ", time.localtime(started)) + time_label(started)[:8]
    what = ", ".join(events)
    if not outcome:
        return f"● {when} live" + (f" — {what}" if what else "")
    text = f"{when} {outcome}"
    if rpc_count is not None:
        text += f" · {rpc_count} RPC{'s' if rpc_count != 1 else ''}"
    return text + (f" — {what}" if what else "")


def fit_popup(combo: QComboBox) -> None:
    """Let ``combo``'s drop-down list be as wide as its longest line (the closed box stays
    narrow, its current line in the tooltip), up to 800 px."""
    metrics = combo.fontMetrics()
    widest = max(
        (metrics.horizontalAdvance(combo.itemText(i)) for i in range(combo.count())), default=0
    )
    combo.view().setMinimumWidth(min(widest + 48, 800))
    combo.setToolTip(combo.currentText())
