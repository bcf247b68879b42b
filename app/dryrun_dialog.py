"""The "Dry run" dialog: run presets or provisions against a copy of a device, list the RPCs.

Shared by the presets panel and the script editor. The run itself is
:func:`acs_engine.policy.dryrun.dry_run` (a simulated copy of the stored device, nothing
written); this dialog picks the device and the Inform events, starts the run on the loop
and shows the RPCs in order with the copy's answers, the faults, the script log, the preset
verdicts and the parameters the session would store.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from PySide6.QtCore import QModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from acs_engine.console_api import ConsoleEngine, console_engine
from acs_engine.cwmp import rpc
from acs_engine.policy.dryrun import DryRunError, DryRunResult
from acs_engine.store.records import Preset
from app.background import Background
from app.record_table import Column, RecordTableModel

#: Inform events offered for a dry run (any other text may be typed, comma-separated).
DRY_RUN_EVENTS = ("2 PERIODIC", "1 BOOT", "0 BOOTSTRAP", "6 CONNECTION REQUEST", "4 VALUE CHANGE")
LISTED_DEVICES = 500


def summarize(message: rpc.Message) -> str:
    """One line saying what an RPC or response carries (``"Device.X = 1, ..."``)."""
    if isinstance(message, rpc.SetParameterValues):
        return ", ".join(f"{p.name} = {p.value!r}" for p in message.parameters)
    if isinstance(message, rpc.GetParameterValues):
        return ", ".join(message.names)
    if isinstance(message, rpc.GetParameterNames):
        return f"{message.parameter_path or '(root)'}" + (" (next level)" if message.next_level else "")
    if isinstance(message, rpc.Fault):
        return f"Fault {message.code}: {message.string}"
    parts = []
    for f in dataclasses.fields(message):
        value = getattr(message, f.name)
        if isinstance(value, tuple):
            parts.append(f"{f.name}: {len(value)} item{'s' if len(value) != 1 else ''}")
        elif value not in ("", None):
            parts.append(f"{f.name}={value}")
    return ", ".join(parts)


def describe(message: rpc.Message) -> str:
    """The whole RPC as indented JSON-like text, for the detail pane."""
    body = dataclasses.asdict(message) if dataclasses.is_dataclass(message) else {}
    return f"{message.METHOD}\n" + json.dumps(body, indent=2, default=str, ensure_ascii=False)


def _answer(answer: rpc.Message) -> str:
    return summarize(answer) if isinstance(answer, rpc.Fault) else answer.METHOD


#: A row of the RPC list: its number (from 1), the request, the copy's answer.
_Row = tuple[int, rpc.Message, rpc.Message]


class RpcListModel(RecordTableModel[_Row]):
    """The RPCs of a dry run: number, method, what it carries, the copy's answer."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__((
            Column("#", lambda r: str(r[0])),
            Column("RPC", lambda r: r[1].METHOD),
            Column("Carries", lambda r: summarize(r[1])),
            Column(
                "Answer", lambda r: _answer(r[2]),
                colour=lambda r: QColor("#b91c1c") if isinstance(r[2], rpc.Fault) else None,
            ),
        ), parent, value_tooltips=True)

    def set_result(self, result: DryRunResult | None) -> None:
        """Show ``result``'s RPCs (None: empty)."""
        pairs = zip(result.rpcs, result.responses, strict=True) if result else ()
        self.set_records((n, request, answer) for n, (request, answer) in enumerate(pairs, 1))

    def pair(self, row: int) -> tuple[rpc.Message, rpc.Message] | None:
        """The (request, answer) of ``row``."""
        record = self.record(row)
        return (record[1], record[2]) if record is not None else None


class DryRunDialog(QDialog):
    """Pick a device and events, run, and read what the ACS would send.

    Signals:
        finished_run(DryRunResult): a run ended with its :class:`DryRunResult`.
        failed(str): a run could not be made (the message).
    """

    finished_run = Signal(DryRunResult)
    failed = Signal(str)

    def __init__(
        self,
        engine: ConsoleEngine,
        *,
        device_id: str = "",
        presets: list[Preset] | None = None,
        provisions: list[list[Any]] | None = None,
        scripts_override: dict[str, str] | None = None,
        vparams_override: dict[str, str] | None = None,
        what: str = "",
        parent: QWidget | None = None,
    ) -> None:
        """Build the dialog; call :meth:`open` (never ``exec``) and press Run.

        Args:
            engine: the engine (store, sandbox, config, file_url).
            device_id: the device chosen first.
            presets, provisions, scripts_override, vparams_override: what to run (see
                :func:`~acs_engine.policy.dryrun.dry_run`).
            what: a short description for the title ("preset wifi").
            parent: the parent window.
        """
        super().__init__(parent)
        self.setObjectName("dryRunDialog")
        self.setWindowTitle(f"Dry run — {what}" if what else "Dry run")
        self.resize(900, 620)
        self._engine = console_engine(engine)
        self._kwargs: dict[str, Any] = {
            "presets": presets, "provisions": provisions,
            "scripts_override": scripts_override, "vparams_override": vparams_override,
        }
        self._jobs = Background("a dry run")
        self.result: DryRunResult | None = None  # type: ignore[assignment]

        self.device_combo = QComboBox()
        self.device_combo.setObjectName("dryRunDevice")
        self.device_combo.setEditable(True)
        self.device_combo.setMinimumContentsLength(36)
        if device_id:
            self.device_combo.addItem(device_id)
        self.events_combo = QComboBox()
        self.events_combo.setObjectName("dryRunEvents")
        self.events_combo.setEditable(True)
        self.events_combo.addItems(list(DRY_RUN_EVENTS))
        self.events_combo.setToolTip("The Inform's events, comma-separated")
        self.run_button = QPushButton("Run")
        self.run_button.setObjectName("dryRunButton")
        self.run_button.setDefault(True)
        self.run_button.clicked.connect(self.run)
        form = QFormLayout()
        form.addRow("Device", self.device_combo)
        form.addRow("Inform events", self.events_combo)
        self.status = QLabel(
            "Runs against a simulated copy of the device as the ACS stored it; nothing is "
            "sent to the device and nothing is saved."
        )
        self.status.setObjectName("dryRunStatus")
        self.status.setWordWrap(True)

        self.model = RpcListModel(self)
        self.table = QTableView()
        self.table.setObjectName("dryRunRpcs")
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        for column in (0, 1, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.selectionModel().currentRowChanged.connect(self._show_detail)
        mono = QFont("monospace")
        mono.setStyleHint(QFont.StyleHint.TypeWriter)
        self.detail = QPlainTextEdit(readOnly=True)
        self.detail.setFont(mono)
        self.faults_text = QPlainTextEdit(readOnly=True)
        self.log_text = QPlainTextEdit(readOnly=True)
        self.verdicts_text = QPlainTextEdit(readOnly=True)
        self.changes_text = QPlainTextEdit(readOnly=True)
        for edit in (self.faults_text, self.log_text, self.changes_text):
            edit.setFont(mono)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.detail, "RPC")
        self.tabs.addTab(self.faults_text, "Faults")
        self.tabs.addTab(self.log_text, "Script log")
        self.tabs.addTab(self.verdicts_text, "Presets")
        self.tabs.addTab(self.changes_text, "Would store")
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.table)
        split.addWidget(self.tabs)
        split.setSizes([300, 220])

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.addButton(self.run_button, QDialogButtonBox.ButtonRole.ActionRole)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.status)
        layout.addWidget(split, 1)
        layout.addWidget(buttons)
        self._jobs.spawn(self._load_devices())

    # ------------------------------------------------------------------ running
    def events(self) -> list[str]:
        """The Inform events typed or chosen."""
        return [e.strip() for e in self.events_combo.currentText().split(",") if e.strip()]

    def run(self) -> None:
        """Start a dry run with the chosen device and events."""
        device_id = self.device_combo.currentText().strip()
        if not device_id:
            self._fail("Choose a device first.")
            return
        self.run_button.setEnabled(False)
        self.status.setText(f"Running against a copy of {device_id}…")
        self._jobs.spawn(self._run(device_id, self.events()), on_error=self._on_error)

    async def _run(self, device_id: str, events: list[str]) -> None:
        engine = self._engine
        if not engine.running or not engine.provisioning_enabled:
            self._fail("The ACS is not running with provisioning on: nothing to run.")
            return
        try:
            result = await engine.dry_run(
                device_id, events=events or ("2 PERIODIC",), **self._kwargs
            )
        except DryRunError as exc:
            self._fail(str(exc))
            return
        self.show_result(result)

    def _on_error(self, exc: BaseException) -> None:
        self._fail(f"The dry run failed: {exc}")

    def _fail(self, message: str) -> None:
        self.run_button.setEnabled(True)
        self.status.setText(message)
        self.status.setStyleSheet("color: #b91c1c;")
        self.failed.emit(message)

    def show_result(self, result: DryRunResult) -> None:
        """Show a finished run."""
        self.result = result
        self.run_button.setEnabled(True)
        self.status.setStyleSheet("")
        count = len(result.rpcs)
        text = f"{count} RPC{'s' if count != 1 else ''} would be sent to {result.device_id}"
        if result.faults:
            text += f"; {len(result.faults)} fault{'s' if len(result.faults) != 1 else ''}"
        if result.truncated:
            text += " (stopped: too many RPCs)"
        warnings = result.type_warnings
        if warnings:
            text += f"; {len(warnings)} value{'s' if len(warnings) != 1 else ''} of the wrong type"
        self.status.setText(text + ".")
        self.model.set_result(result)
        self.faults_text.setPlainText("\n\n".join(
            [f"Wrong type: {line}" for line in warnings] + [
                f"[{f.channel}] {f.code}: {f.message}\n"
                + json.dumps(f.detail, indent=2, default=str, ensure_ascii=False)
                for f in result.faults
            ]
        ) or "No faults.")
        self.log_text.setPlainText("\n".join(result.log_lines) or "The scripts logged nothing.")
        self.verdicts_text.setPlainText("\n".join(
            f"{'✔' if v.matched else '✘'} {v.preset} [{v.channel}]: {v.reason}"
            + "".join(f"\n    ⚠ {note}" for note in v.notes)
            for v in result.verdicts
        ) or "No presets were matched.")
        changes = [f"{p.path} = {p.value!r}" for p in result.upserts if p.value is not None]
        changes += [f"deleted {path}" for path in result.deletes]
        self.changes_text.setPlainText("\n".join(changes) or "Nothing.")
        if count:
            self.table.selectRow(0)
        if warnings or (result.faults and not count):
            self.tabs.setCurrentWidget(self.faults_text)
        self.finished_run.emit(result)

    def _show_detail(self, current: QModelIndex, _previous: QModelIndex) -> None:
        pair = self.model.pair(current.row())
        if pair is None:
            self.detail.clear()
            return
        request, answer = pair
        self.detail.setPlainText(describe(request) + "\n\nAnswer: " + describe(answer))
        self.tabs.setCurrentWidget(self.detail)

    async def _load_devices(self) -> None:
        acs = self._engine
        if not acs.running:
            return
        current = self.device_combo.currentText()
        for device in await acs.list_devices(limit=LISTED_DEVICES):
            if self.device_combo.findText(device.id) < 0:
                self.device_combo.addItem(device.id)
        if current:
            self.device_combo.setCurrentText(current)

    def done(self, result: int) -> None:
        """Closing cancels a run in flight."""
        self._jobs.cancel()
        super().done(result)
