"""Replay a session in the console: the engine's new messages beside the recorded ones.

:class:`ReplayDialog` runs :func:`acs_engine.inspect.replay.replay_offline` for the session
shown — against a throw-away engine on a *copy* of the running database, so the presets and
provisions as they are now (a change the technician just made included) meet the CPE's
recorded behaviour, and nothing real changes — then lists each step: the recorded ACS
message, the one sent now, and whether they match; the first divergence is marked and said.
The replay runs on the loop (the copy in a worker thread): the GUI never waits.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from acs_engine.inspect.replay import ReplayResult, replay_offline
from acs_engine.inspect.sessionfile import SessionFile

DIVERGED = QColor("#dc2626")


class ReplayDialog(QDialog):
    """The replay of one session, step by step.

    Signals:
        finished_replay(ReplayResult): the :class:`ReplayResult` once the replay is over.
    """

    finished_replay = Signal(ReplayResult)

    def __init__(self, session: SessionFile, database: Path | None,
                 parent: QWidget | None = None) -> None:
        """Prepare the replay of ``session`` against a copy of ``database``."""
        super().__init__(parent)
        self.setObjectName("replayDialog")
        self.setWindowTitle("Replay session")
        self._session = session
        self._database = database
        self.result: ReplayResult | None = None  # type: ignore[assignment]
        self._task: asyncio.Task[Any] | None = None
        self.summary = QLabel("Replaying against a copy of the database…")
        self.summary.setObjectName("replaySummary")
        self.summary.setWordWrap(True)
        self.table = QTableWidget(0, 4)
        self.table.setObjectName("replayTable")
        self.table.setHorizontalHeaderLabels(["#", "Recorded", "Now", ""])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        head = self.table.horizontalHeader()
        head.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        head.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        head.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        note = QLabel("The CPE's recorded answers are sent to a throw-away engine using this "
                      "database's presets and provisions as they are now; the real database "
                      "is not changed.")
        note.setWordWrap(True)
        note.setStyleSheet("color: #64748b;")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(note)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.summary)
        layout.addWidget(buttons)
        self.resize(760, 460)

    def start(self) -> None:
        """Start the replay on the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._run())

    def busy(self) -> bool:
        """True while the replay runs."""
        return self._task is not None and not self._task.done()

    async def _run(self) -> None:
        try:
            result = await replay_offline(self._session, self._database)
        except Exception as exc:  # shown to the user: there is nothing else to do with it
            result = ReplayResult(error=str(exc) or type(exc).__name__)
        self.result = result
        self.table.setRowCount(len(result.steps))
        for row, step in enumerate(result.steps):
            cells = (str(step.index + 1), step.recorded, step.replayed,
                     "same" if step.same else f"differs: {step.detail}")
            for column, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if not step.same:
                    item.setForeground(DIVERGED)
                self.table.setItem(row, column, item)
        self.summary.setText(result.summary())
        self.summary.setStyleSheet("" if result.ok else "color: #b91c1c;")
        if result.diverged_at is not None:
            self.table.selectRow(result.diverged_at)
        self.finished_replay.emit(result)

    def done(self, code: int) -> None:
        """Close the dialog; a replay still running is cancelled."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
        super().done(code)


def open_replay(session: SessionFile, database: Path | None, parent: QWidget) -> ReplayDialog:
    """Show a replay dialog for ``session`` and start it."""
    dialog = ReplayDialog(session, database, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    dialog.start()
    return dialog
