"""The preset editor dialog: weight, channel, events, schedule, precondition, provisions.

The precondition is parsed as you type (:func:`acs_engine.expression.parse`, pure Python and
cached, so it runs on the loop); a parse error puts a red squiggle under the character its
``position`` points at and says what was expected. Events are a list of TR-069 event codes,
each "don't care", "present" or "absent". The schedule (duration + cron) is checked with
:func:`~acs_engine.policy.presets.schedule_due`. Provisions are rows of a name (the
stored provisions and the built-ins) and JSON arguments. :meth:`PresetEditor.preset` is the
edited :class:`~acs_engine.store.records.Preset` when everything is valid, else None.
"""

from __future__ import annotations

import json
import time
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QFontDatabase, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from acs_engine.expression import ExpressionError, parse
from acs_engine.policy.presets import legacy_precondition_to_expression, schedule_due
from acs_engine.session.builtins import BUILTINS
from acs_engine.store.records import Preset, is_legacy_precondition

#: TR-069 Inform event codes offered in the events list.
EVENT_CODES = (
    "0 BOOTSTRAP", "1 BOOT", "2 PERIODIC", "3 SCHEDULED", "4 VALUE CHANGE", "5 KICKED",
    "6 CONNECTION REQUEST", "7 TRANSFER COMPLETE", "8 DIAGNOSTICS COMPLETE",
    "9 REQUEST DOWNLOAD", "10 AUTONOMOUS TRANSFER COMPLETE", "11 DU STATE CHANGE COMPLETE",
    "12 AUTONOMOUS DU STATE CHANGE COMPLETE", "13 WAKEUP", "M Reboot", "M ScheduleInform",
    "M Download", "M Upload",
)
DONT_CARE, PRESENT, ABSENT = "don't care", "present", "absent"
_RED = "color: #b91c1c;"
_OK = "color: #15803d;"


def _same_event(a: str, b: str) -> bool:
    return a.replace("_", " ").strip().upper() == b.replace("_", " ").strip().upper()


def check_precondition(text: str) -> tuple[int | None, str]:
    """Validate a precondition: ``(position, message)``; position None and "" when valid.

    A legacy JSON query is converted first (its errors have no position: -1).
    """
    if not text.strip():
        return None, ""
    try:
        if is_legacy_precondition(text):
            parse(legacy_precondition_to_expression(text))
        else:
            parse(text)
    except ExpressionError as exc:
        return (exc.position if exc.position is not None else -1), str(exc)
    except ValueError as exc:
        return -1, str(exc)
    return None, ""


def parse_arguments(text: str) -> list[Any]:
    """Provision arguments typed as comma-separated JSON values.

    ``"Device.X", "on", 5`` -> ``["Device.X", "on", 5]``; an expression is a JSON array
    (``["PARAM", "DeviceID.ID"]``). Bare words are taken as strings.

    Raises:
        ValueError: the text is not JSON (the message says where).
    """
    text = text.strip()
    if not text:
        return []
    try:
        value = json.loads(f"[{text}]")
    except json.JSONDecodeError:
        if "," not in text and not any(c in text for c in "[]{}\""):
            return [text]
        raise ValueError("arguments must be JSON values separated by commas") from None
    return list(value)


def format_arguments(args: list[Any]) -> str:
    """The inverse of :func:`parse_arguments`."""
    return ", ".join(json.dumps(a, ensure_ascii=False) for a in args)


class PresetEditor(QDialog):
    """Edit one preset; OK is enabled only when every field is valid.

    Signals:
        validated(bool): the fields were re-checked (True: the preset can be saved).
        dryRunRequested(Preset): "Dry run…" was pressed with the edited Preset.
    """

    validated = Signal(bool)
    dryRunRequested = Signal(Preset)

    def __init__(
        self,
        preset: Preset | None = None,
        provisions: list[str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        """Args:
        preset: the preset to edit (None: a new one).
        provisions: the names of the stored provisions (offered besides the built-ins).
        parent: the parent window.
        """
        super().__init__(parent)
        self.setObjectName("presetEditor")
        self.setWindowTitle(f"Preset {preset.id}" if preset else "New preset")
        self.resize(720, 680)
        self.original = preset
        self._names = sorted(set(provisions or ()) | set(BUILTINS))
        p = preset or Preset(id="")
        self.problems: dict[str, str] = {}
        self._built = False  # validate() waits until every field exists

        self.id_edit = QLineEdit(p.id)
        self.id_edit.setObjectName("presetId")
        self.weight_spin = QSpinBox()
        self.weight_spin.setRange(-1_000_000, 1_000_000)
        self.weight_spin.setValue(p.weight)
        self.channel_edit = QLineEdit(p.channel)
        self.channel_edit.setPlaceholderText("default")

        self.events_table = QTableWidget(0, 2)
        self.events_table.setObjectName("presetEvents")
        self.events_table.setHorizontalHeaderLabels(["Event", "Must be"])
        self.events_table.verticalHeader().hide()
        self.events_table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        codes = list(EVENT_CODES)
        for name in p.events:
            if not any(_same_event(name, c) for c in codes):
                codes.append(name)
        for code in codes:
            want = next((w for n, w in p.events.items() if _same_event(n, code)), None)
            self._add_event_row(code, DONT_CARE if want is None else PRESENT if want else ABSENT)
        self.events_table.setMinimumHeight(150)

        duration, _, cron = (p.schedule or "").strip().partition(" ")
        self.schedule_box = QCheckBox("Only inside a schedule window")
        self.schedule_box.setChecked(bool(p.schedule))
        self.duration_spin = QSpinBox()
        self.duration_spin.setRange(1, 31 * 86400)
        self.duration_spin.setSuffix(" s")
        self.duration_spin.setValue(int(float(duration)) if duration.replace(".", "").isdigit() else 3600)
        self.cron_edit = QLineEdit(cron.strip() or "0 2 * * *")
        self.cron_edit.setObjectName("presetCron")
        self.cron_edit.setPlaceholderText("minute hour day month weekday, e.g. 0 2 * * *")
        self.schedule_label = QLabel("")
        self.schedule_label.setObjectName("scheduleProblem")
        schedule_row = QHBoxLayout()
        schedule_row.addWidget(self.schedule_box)
        schedule_row.addWidget(QLabel("for"))
        schedule_row.addWidget(self.duration_spin)
        schedule_row.addWidget(QLabel("after each"))
        schedule_row.addWidget(self.cron_edit, 1)

        self.precondition_edit = QPlainTextEdit(p.precondition)
        self.precondition_edit.setObjectName("presetPrecondition")
        self.precondition_edit.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.precondition_edit.setPlaceholderText('e.g. DeviceID.ProductClass = "HG8245" AND Tags.lab IS NULL')
        self.precondition_edit.setFixedHeight(64)
        self.precondition_label = QLabel("")
        self.precondition_label.setObjectName("preconditionProblem")
        self.precondition_label.setWordWrap(True)

        self.provisions_table = QTableWidget(0, 2)
        self.provisions_table.setObjectName("presetProvisions")
        self.provisions_table.setHorizontalHeaderLabels(["Provision", "Arguments (JSON, comma-separated)"])
        self.provisions_table.verticalHeader().hide()
        self.provisions_table.horizontalHeader().setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.provisions_table.setColumnWidth(0, 170)
        for entry in p.provisions:
            if entry:
                self.add_provision(str(entry[0]), list(entry[1:]))
        self.provisions_table.itemChanged.connect(lambda _i: self.validate())
        add = QPushButton("Add")
        add.clicked.connect(lambda: self.add_provision("value", []))
        remove = QPushButton("Remove")
        remove.clicked.connect(self._remove_provision)
        up = QPushButton("Up")
        up.clicked.connect(lambda: self._move_provision(-1))
        down = QPushButton("Down")
        down.clicked.connect(lambda: self._move_provision(1))
        prov_buttons = QHBoxLayout()
        for button in (add, remove, up, down):
            prov_buttons.addWidget(button)
        prov_buttons.addStretch(1)
        self.provisions_label = QLabel("")
        self.provisions_label.setObjectName("provisionsProblem")

        form = QFormLayout()
        form.addRow("Name", self.id_edit)
        form.addRow("Weight", self.weight_spin)
        form.addRow("Channel", self.channel_edit)
        form.addRow("Events", self.events_table)
        form.addRow("Schedule", schedule_row)
        form.addRow("", self.schedule_label)
        form.addRow("Precondition", self.precondition_edit)
        form.addRow("", self.precondition_label)
        form.addRow("Provisions", self.provisions_table)
        form.addRow("", prov_buttons)
        form.addRow("", self.provisions_label)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.dry_run_button = self.buttons.addButton("Dry run…", QDialogButtonBox.ButtonRole.ActionRole)
        self.dry_run_button.clicked.connect(self._dry_run)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.buttons)

        for signal in (self.id_edit.textChanged, self.channel_edit.textChanged,
                       self.cron_edit.textChanged, self.precondition_edit.textChanged):
            signal.connect(self.validate)
        self.duration_spin.valueChanged.connect(self.validate)
        self.schedule_box.toggled.connect(self.validate)
        self._built = True
        self.validate()

    # ------------------------------------------------------------------ rows
    def _add_event_row(self, code: str, state: str) -> None:
        row = self.events_table.rowCount()
        self.events_table.insertRow(row)
        item = QTableWidgetItem(code)
        item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
        self.events_table.setItem(row, 0, item)
        combo = QComboBox()
        combo.addItems([DONT_CARE, PRESENT, ABSENT])
        combo.setCurrentText(state)
        self.events_table.setCellWidget(row, 1, combo)

    def set_event(self, code: str, state: str) -> None:
        """Set event ``code`` to :data:`DONT_CARE`, :data:`PRESENT` or :data:`ABSENT`."""
        for row in range(self.events_table.rowCount()):
            item = self.events_table.item(row, 0)
            if item is not None and _same_event(item.text(), code):
                combo = self.events_table.cellWidget(row, 1)
                assert isinstance(combo, QComboBox)
                combo.setCurrentText(state)
                return
        self._add_event_row(code, state)

    def events(self) -> dict[str, bool]:
        """The events that must be present (True) or absent (False)."""
        out: dict[str, bool] = {}
        for row in range(self.events_table.rowCount()):
            combo = self.events_table.cellWidget(row, 1)
            if isinstance(combo, QComboBox) and combo.currentText() != DONT_CARE:
                item = self.events_table.item(row, 0)
                if item is not None:
                    out[item.text()] = combo.currentText() == PRESENT
        return out

    def add_provision(self, name: str, args: list[Any]) -> None:
        """Append a provision row."""
        row = self.provisions_table.rowCount()
        self.provisions_table.insertRow(row)
        combo = QComboBox()
        combo.setEditable(True)
        combo.addItems(self._names)
        combo.setCurrentText(name)
        combo.currentTextChanged.connect(lambda _t: self.validate())
        self.provisions_table.setCellWidget(row, 0, combo)
        self.provisions_table.setItem(row, 1, QTableWidgetItem(format_arguments(args)))
        self.validate()

    def set_provision_names(self, provisions: list[str]) -> None:
        """The stored provisions changed (one was saved in Scripts): offer the new list."""
        names = sorted(set(provisions) | set(BUILTINS))
        if names == self._names:
            return
        self._names = names
        for row in range(self.provisions_table.rowCount()):
            combo = self.provisions_table.cellWidget(row, 0)
            if isinstance(combo, QComboBox):
                text = combo.currentText()
                combo.blockSignals(True)
                combo.clear()
                combo.addItems(names)
                combo.setCurrentText(text)
                combo.blockSignals(False)
        self.validate()

    def provision_names(self) -> list[str]:
        """The names offered in the Provision drop-downs."""
        return list(self._names)

    def _remove_provision(self) -> None:
        row = self.provisions_table.currentRow()
        if row >= 0:
            self.provisions_table.removeRow(row)
            self.validate()

    def _move_provision(self, delta: int) -> None:
        row = self.provisions_table.currentRow()
        target = row + delta
        if row < 0 or not 0 <= target < self.provisions_table.rowCount():
            return
        rows = self._provision_rows()
        rows[row], rows[target] = rows[target], rows[row]
        self.provisions_table.setRowCount(0)
        for name, text in rows:
            self.add_provision(name, [])
            item = self.provisions_table.item(self.provisions_table.rowCount() - 1, 1)
            if item is not None:
                item.setText(text)
        self.provisions_table.setCurrentCell(target, 1)

    def _provision_rows(self) -> list[tuple[str, str]]:
        rows = []
        for row in range(self.provisions_table.rowCount()):
            combo = self.provisions_table.cellWidget(row, 0)
            item = self.provisions_table.item(row, 1)
            name = combo.currentText().strip() if isinstance(combo, QComboBox) else ""
            rows.append((name, item.text() if item is not None else ""))
        return rows

    # ------------------------------------------------------------------ validation
    def validate(self) -> bool:
        """Check every field, show the problems, enable Save; True when valid."""
        if not self._built:
            return False
        self.problems = {}
        if not self.id_edit.text().strip():
            self.problems["id"] = "Give the preset a name."
        self._check_schedule()
        self._check_precondition()
        self._check_provisions()
        ok = not self.problems
        save = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        save.setEnabled(ok)
        save.setToolTip("" if ok else "\n".join(self.problems.values()))
        self.dry_run_button.setEnabled(ok)
        self.validated.emit(ok)
        return ok

    def schedule(self) -> str | None:
        """``"<duration> <cron>"`` when a schedule is on."""
        if not self.schedule_box.isChecked():
            return None
        return f"{self.duration_spin.value()} {self.cron_edit.text().strip()}"

    def _check_schedule(self) -> None:
        on = self.schedule_box.isChecked()
        self.duration_spin.setEnabled(on)
        self.cron_edit.setEnabled(on)
        schedule = self.schedule()
        if schedule is None:
            self.schedule_label.setText("Runs whenever the events and precondition hold.")
            self.schedule_label.setStyleSheet("color: #64748b;")
            return
        try:
            _due, why = schedule_due(schedule, int(time.time() * 1000))
        except ValueError as exc:
            self.problems["schedule"] = str(exc)
            self.schedule_label.setText(f"✘ {exc}")
            self.schedule_label.setStyleSheet(_RED)
            return
        self.schedule_label.setText(f"✔ Valid; right now {why}.")
        self.schedule_label.setStyleSheet(_OK)

    def _check_precondition(self) -> None:
        text = self.precondition_edit.toPlainText()
        position, message = check_precondition(text)
        selections: list[QTextEdit.ExtraSelection] = []
        if position is None:
            self.precondition_label.setText(
                "✔ Valid." if text.strip() else "Empty: every device matches."
            )
            self.precondition_label.setStyleSheet(_OK if text.strip() else "color: #64748b;")
        else:
            self.problems["precondition"] = message
            self.precondition_label.setText(
                f"✘ At character {position + 1}: {message}" if position >= 0 else f"✘ {message}"
            )
            self.precondition_label.setStyleSheet(_RED)
            squiggle = QTextEdit.ExtraSelection()
            fmt = QTextCharFormat()
            fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            fmt.setUnderlineColor(QColor("#dc2626"))
            fmt.setBackground(QColor("#fee2e2"))
            squiggle.format = fmt
            cursor = QTextCursor(self.precondition_edit.document())
            start = max(0, min(position, len(text) - 1)) if position >= 0 else 0
            cursor.setPosition(start)
            end = start + 1 if position >= 0 else len(text)
            cursor.setPosition(min(end, len(text)), QTextCursor.MoveMode.KeepAnchor)
            squiggle.cursor = cursor
            selections.append(squiggle)
        self.precondition_edit.setExtraSelections(selections)

    def error_span(self) -> tuple[int, int] | None:
        """The characters under the precondition's squiggle (start, end), or None."""
        selections = self.precondition_edit.extraSelections()
        if not selections:
            return None
        cursor = selections[0].cursor
        return cursor.selectionStart(), cursor.selectionEnd()

    def provisions(self) -> list[list[Any]] | None:
        """The provision calls, or None when an argument is not valid JSON."""
        out: list[list[Any]] = []
        for name, text in self._provision_rows():
            try:
                out.append([name, *parse_arguments(text)])
            except ValueError:
                return None
        return out

    def _check_provisions(self) -> None:
        problems = []
        for row, (name, text) in enumerate(self._provision_rows(), start=1):
            if not name:
                problems.append(f"row {row}: no provision name")
            try:
                parse_arguments(text)
            except ValueError as exc:
                problems.append(f"row {row}: {exc}")
        unknown = [n for n, _ in self._provision_rows() if n and n not in self._names]
        if problems:
            self.problems["provisions"] = "; ".join(problems)
            self.provisions_label.setText("✘ " + "; ".join(problems))
            self.provisions_label.setStyleSheet(_RED)
        elif unknown:
            self.provisions_label.setText(
                "Not stored (yet): " + ", ".join(unknown) + " — the engine skips unknown names."
            )
            self.provisions_label.setStyleSheet("color: #b45309;")
        else:
            self.provisions_label.setText("")

    # ------------------------------------------------------------------ result
    def preset(self) -> Preset | None:
        """The edited preset, or None while a field is invalid."""
        if not self.validate():
            return None
        provisions = self.provisions()
        assert provisions is not None
        return Preset(
            id=self.id_edit.text().strip(),
            weight=self.weight_spin.value(),
            channel=self.channel_edit.text().strip() or "default",
            events=self.events(),
            schedule=self.schedule(),
            precondition=self.precondition_edit.toPlainText().strip(),
            provisions=provisions,
            # Kept for GenieACS export only while the provisions are the imported ones.
            configurations=(
                self.original.configurations
                if self.original is not None and provisions == self.original.provisions
                else None
            ),
        )

    def _dry_run(self) -> None:
        preset = self.preset()
        if preset is not None:
            self.dryRunRequested.emit(preset)
