"""The Lint tab of the live session panel: what the shown session's CPE did against TR-069.

:class:`LintView` watches the panel's :class:`~app.live.timeline.TimelineModel` and lints its
messages with :func:`acs_engine.inspect.lint.lint_messages` in a worker thread (never on the
GUI thread), again whenever the timeline changes (a live session: at most every
:data:`DEBOUNCE_MS`). :class:`LintModel` lists the findings: severity, message number,
message, element, rule and TR-069 reference. Double-clicking a finding selects its message in
the timeline.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from acs_engine.inspect.lint import Finding, Severity, lint_messages
from app.live.files import messages_of
from app.live.timeline import TimelineModel
from app.record_table import Column, RecordTableModel, style_record_view

log = logging.getLogger("fieldacs.app.live.lint")

#: A live session is linted again at most this often while messages arrive.
DEBOUNCE_MS = 300
COLUMNS = ("Severity", "#", "Message", "Element", "Rule", "Reference")
COL_SEVERITY, COL_INDEX, COL_MESSAGE, COL_ELEMENT, COL_RULE, COL_REFERENCE = range(6)
COLOURS = {Severity.ERROR: QColor("#dc2626"), Severity.WARNING: QColor("#b45309"),
           Severity.INFO: QColor("#2563eb")}


def _lint_tooltip(finding: Finding) -> str:
    return f"{finding.message}\n{finding.element}\n{finding.rule}: {finding.reference}"


def _lint_column(index: int, value: Callable[[Finding], str]) -> Column[Finding]:
    colour = (lambda f: COLOURS.get(f.severity)) if index == COL_SEVERITY else None
    return Column(COLUMNS[index], value, tooltip=_lint_tooltip, colour=colour)


_LINT_COLUMNS = (
    _lint_column(COL_SEVERITY, lambda f: f.severity.value),
    _lint_column(COL_INDEX, lambda f: str(f.index + 1) if f.index >= 0 else ""),
    _lint_column(COL_MESSAGE, lambda f: f.message),
    _lint_column(COL_ELEMENT, lambda f: f.element),
    _lint_column(COL_RULE, lambda f: f.rule),
    _lint_column(COL_REFERENCE, lambda f: f.reference),
)


class LintModel(RecordTableModel[Finding]):
    """Findings, in message order."""

    def __init__(self, parent: QObject | None = None) -> None:
        """An empty list."""
        super().__init__(_LINT_COLUMNS, parent)

    def set_findings(self, findings: list[Finding]) -> None:
        """Show ``findings``."""
        self.set_records(findings)

    def finding(self, row: int) -> Finding:
        """The finding at ``row``."""
        finding = self.record(row)
        if finding is None:
            raise IndexError(row)
        return finding

    def findings(self) -> list[Finding]:
        """Every finding shown."""
        return self.records()


class LintView(QWidget):
    """The Lint tab: a summary line over the findings of the session shown.

    Signals:
        rowActivated(int): a finding was double-clicked (its message's timeline row).
        countsChanged(int, int): the errors and warnings found.
        linted(): a lint run finished and its findings are shown.
    """

    rowActivated = Signal(int)
    countsChanged = Signal(int, int)
    linted = Signal()

    def __init__(self, timeline: TimelineModel, parent: QWidget | None = None) -> None:
        """Watch ``timeline``."""
        super().__init__(parent)
        self.setObjectName("lintView")
        self._timeline = timeline
        self._masked = False
        self._first_contact: bool | None = None
        self._running: asyncio.Task[Any] | None = None
        self._dirty = False
        self.model = LintModel(self)
        self.summary = QLabel("No session")
        self.summary.setObjectName("lintSummary")
        self.table = QTableView()
        self.table.setObjectName("lintTable")
        self.table.setModel(self.model)
        style_record_view(self.table)
        head = self.table.horizontalHeader()
        # Message and element elide at a readable width; the reference takes what is left.
        head.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        for column, width in ((COL_MESSAGE, 330), (COL_ELEMENT, 210)):
            head.setSectionResizeMode(column, QHeaderView.ResizeMode.Interactive)
            head.resizeSection(column, width)
        head.setStretchLastSection(True)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setAccessibleName("Lint findings")
        self.table.doubleClicked.connect(self._on_double_click)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.summary)
        layout.addWidget(self.table, 1)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._start)
        timeline.modelReset.connect(self._soon)
        timeline.rowsInserted.connect(self._soon)

    def set_masked(self, on: bool) -> None:
        """Whether the shown session's secrets were masked (values then not judged)."""
        if on != self._masked:
            self._masked = on
            self._soon()

    def set_first_contact(self, value: bool | None) -> None:
        """Whether the shown session was the device's first with this ACS (None: unknown);
        the BOOTSTRAP rule is judged only when known."""
        if value != self._first_contact:
            self._first_contact = value
            self._soon()

    def busy(self) -> bool:
        """True while a lint run is pending or running (tests wait for False)."""
        return self._timer.isActive() or self._running is not None or self._dirty

    def _soon(self, *_args: object) -> None:
        self._timer.start()

    def _start(self) -> None:
        if self._running is not None:
            self._dirty = True
            return
        messages = messages_of(self._timeline.exchanges())
        if not messages:
            self._show([], "No session" if self._timeline.session_id is None else "No messages")
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        masked, first = self._masked, self._first_contact
        self._running = loop.create_task(asyncio.to_thread(
            lambda: lint_messages(messages, masked=masked, first_contact=first)))
        self._running.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._running = None
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            log.warning("linting failed: %s", error)
            self._show([], f"Linting failed: {error}")
        else:
            findings: list[Finding] = task.result()
            errors = sum(1 for f in findings if f.severity is Severity.ERROR)
            warnings = sum(1 for f in findings if f.severity is Severity.WARNING)
            text = ("No findings: the CPE followed every rule checked" if not findings else
                    f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning"
                    f"{'s' if warnings != 1 else ''}, {len(findings) - errors - warnings} "
                    "note(s) — double-click one to see its message")
            self._show(findings, text)
        if self._dirty:
            self._dirty = False
            self._timer.start()

    def _show(self, findings: list[Finding], text: str) -> None:
        self.model.set_findings(findings)
        self.summary.setText(text)
        errors = sum(1 for f in findings if f.severity is Severity.ERROR)
        warnings = sum(1 for f in findings if f.severity is Severity.WARNING)
        self.countsChanged.emit(errors, warnings)
        self.linted.emit()

    def _on_double_click(self, index: QModelIndex) -> None:
        finding = self.model.finding(index.row())
        if finding.index >= 0:
            self.rowActivated.emit(finding.index)

    def shutdown(self) -> None:
        """Stop linting (the panel is closing)."""
        self._timer.stop()
        if self._running is not None:
            self._running.cancel()
