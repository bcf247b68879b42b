"""The step-mode bar: the RPC a device's session is held before, and what to do with it.

Shown while the selected device is in step mode. It reads holds from the
:class:`~acs_engine.session.step.StepGate` (told by the bridge's ``stepPending`` /
``stepResolved`` signals) and offers Send, Skip, Edit…, Insert GPV… and Insert SPV…, with a
countdown to the moment the gate sends the RPC by itself so the CPE's session lives on. The
countdown stops while Edit… or an Insert form is open (:meth:`StepGate.pause`) and resumes
with the seconds it had left when the form closes. Its messages are elided (full text in the
tooltip) so they never widen the Live session dock.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from acs_engine.console_api import ConsoleEngine, StepError, StepPending
from acs_engine.cwmp import rpc
from app.background import Background
from app.live.dialogs import InsertGpvDialog, InsertSpvDialog, RpcEditorDialog
from app.message_label import MessageLabel
from app.timefmt import now_ms


class StepControl:
    """Step mode of one ACS, through the console's interface (local or remote).

    The names are the step gate's (``is_enabled``, ``pending``, ``send``...); each call is
    the matching ``step_*`` method of :class:`~acs_engine.console_api.ConsoleEngine`.
    """

    def __init__(self, engine: ConsoleEngine) -> None:
        self._engine = engine

    def is_enabled(self, device_id: str) -> bool:
        return self._engine.step_enabled(device_id)

    def set_enabled(self, device_id: str, enabled: bool) -> None:
        self._engine.set_step_enabled(device_id, enabled)

    def pending(self, device_id: str) -> StepPending | None:
        return self._engine.step_pending(device_id)

    def send(self, device_id: str) -> None:
        self._engine.step_send(device_id)

    def skip(self, device_id: str) -> None:
        self._engine.step_skip(device_id)

    def edit(self, device_id: str, message: rpc.Message) -> None:
        self._engine.step_edit(device_id, message)

    def insert(self, device_id: str, message: rpc.Message) -> None:
        self._engine.step_insert(device_id, message)

    def pause(self, device_id: str) -> None:
        self._engine.step_pause(device_id)

    def resume(self, device_id: str) -> None:
        self._engine.step_resume(device_id)


_STYLE = """
QFrame#stepBar { background: #fffbeb; border: 1px solid #f59e0b; border-radius: 6px; }
QFrame#stepBar QLabel { color: #1f2937; }
QLabel#stepCountdown { font-weight: 600; }
QLabel#stepError { color: #b91c1c; }
"""


def describe_rpc(message: rpc.Message | None) -> str:
    """A short description of a held RPC: ``"GetParameterValues (3 names)"``."""
    if message is None:
        return "end of session (nothing more to send)"
    detail = ""
    if isinstance(message, rpc.GetParameterValues):
        detail = f"{len(message.names)} name{'s' if len(message.names) != 1 else ''}"
        if len(message.names) == 1:
            detail = message.names[0]
    elif isinstance(message, rpc.SetParameterValues):
        count = len(message.parameters)
        detail = f"{count} value{'s' if count != 1 else ''}"
    elif isinstance(message, rpc.GetParameterNames):
        detail = (message.parameter_path or "the whole tree") + (
            ", next level" if message.next_level else ""
        )
    return f"{message.METHOD} ({detail})" if detail else message.METHOD


class StepHolderLabel(QWidget):
    """Who holds step mode, when it is another console (hidden otherwise), and Take over.

    Several consoles may watch one engine; one at a time holds step mode
    (:class:`~acs_engine.server.step_claim.StepHolderChanged` says who). The Live session
    panel shows the holder's name beside its Step mode button and disables the button
    while another console holds it. *Take over…* (a remote engine's, after a confirmation)
    claims it anyway, for a holder whose console is gone: the engine sends what that
    console held and turns its devices' step mode off.
    """

    def __init__(self, engine: object, parent: QWidget | None = None) -> None:
        """Start from what ``engine`` knows (a remote engine mirrors the holder)."""
        super().__init__(parent)
        self.setObjectName("stepHolder")
        self._engine = engine
        #: This console's holder name (None: a local engine, where any holder is another
        #: console attached to it over the NBI).
        self._mine = getattr(engine, "holder", None)
        self.holder = str(getattr(engine, "step_holder", "") or "")
        self.label = QLabel()
        self.label.setStyleSheet("color: #b45309;")
        self.take_over = QPushButton("Take over…")
        self.take_over.setObjectName("stepTakeOver")
        self.take_over.setToolTip("Hold step mode here instead (for a console that is gone)")
        self.take_over.clicked.connect(self.ask_take_over)
        self.take_over.setVisible(callable(getattr(engine, "claim_step", None)))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.take_over)
        self._background = Background("taking step mode over")
        self._render()

    @property
    def held_elsewhere(self) -> bool:
        """Another console holds step mode."""
        return bool(self.holder) and self.holder != self._mine

    def text(self) -> str:
        """The words shown ("held by NAME"), "" when hidden."""
        return self.label.text()

    def set_holder(self, holder: str) -> None:
        """Step mode is held by ``holder`` now ("" when nobody holds it)."""
        self.holder = holder
        self._render()

    def sync(self, action: QAction, device_id: str, gate: StepControl) -> None:
        """Set the panel's checkable Step mode ``action`` from ``gate`` for ``device_id``
        (without toggling it), disabled while another console holds step mode."""
        on = bool(device_id) and gate.is_enabled(device_id)
        action.setEnabled(bool(device_id) and (on or not self.held_elsewhere))
        action.blockSignals(True)
        action.setChecked(on)
        action.blockSignals(False)

    def ask_take_over(self) -> None:
        """Confirm, then claim step mode from its holder."""
        box = QMessageBox(
            QMessageBox.Icon.Question, "Take over step mode",
            f"Step mode is held by {self.holder}. Take it over? Their held sessions are sent "
            "on and their devices leave step mode.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.setObjectName("takeOverBox")
        box.finished.connect(lambda result: self._answered(box, result))
        box.open()

    def _answered(self, box: QMessageBox, result: int) -> None:
        box.deleteLater()
        if result == QMessageBox.StandardButton.Yes:
            self.take_over_now()

    def take_over_now(self) -> None:
        """Claim step mode from its holder (without asking)."""
        claim = getattr(self._engine, "claim_step", None)
        if callable(claim):
            self._background.spawn(claim(force=True), on_error=self._failed)

    def _failed(self, exc: BaseException) -> None:
        self.label.setText(f"held by {self.holder} (not taken over: {exc})")

    def _render(self) -> None:
        self.setVisible(self.held_elsewhere)
        self.label.setText(f"held by {self.holder}" if self.held_elsewhere else "")
        self.label.setToolTip(
            f"Step mode is held by {self.holder}: one console at a time holds sessions "
            "before each RPC. It is free again when they turn it off or close their console."
            if self.held_elsewhere else "")


class StepBar(QFrame):
    """Controls of one device's step mode.

    Signals:
        actionTaken(str): "send", "skip", "edit" or "insert" was asked of the gate.
        failed(str): a step command failed (the hold had ended), with the reason.
    """

    actionTaken = Signal(str)
    failed = Signal(str)

    def __init__(self, gate: StepControl, parent: QWidget | None = None) -> None:
        """Controls for ``gate``; :meth:`set_device` picks the device."""
        super().__init__(parent)
        self.setObjectName("stepBar")
        self.setStyleSheet(_STYLE)
        self._gate = gate
        self._device_id = ""
        self._pending: StepPending | None = None
        self._pending_seen_ms = 0
        self._root = "Device."

        self.title = QLabel()
        self.title.setObjectName("stepTitle")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        # Wraps rather than widening the dock on a laptop screen.
        self.title.setWordWrap(True)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.title.setMinimumWidth(160)
        self.countdown = QLabel()
        self.countdown.setObjectName("stepCountdown")
        self.error = MessageLabel()  # elided with a tooltip: never widens the dock
        self.error.setObjectName("stepError")
        self.error.hide()
        self.send_button = QPushButton("Send")
        self.send_button.setToolTip("Send the held RPC to the CPE (Ctrl+Return)")
        self.send_button.setShortcut("Ctrl+Return")
        self.skip_button = QPushButton("Skip")
        self.skip_button.setToolTip("Drop the held RPC and take the next one")
        self.edit_button = QPushButton("Edit…")
        self.edit_button.setToolTip("Change the held RPC before sending it")
        self.gpv_button = QPushButton("Insert GPV…")
        self.gpv_button.setToolTip("Send a GetParameterValues first; the held RPC stays held")
        self.spv_button = QPushButton("Insert SPV…")
        self.spv_button.setToolTip("Send a SetParameterValues first; the held RPC stays held")
        self.send_button.setDefault(True)
        self._buttons = (
            self.send_button, self.skip_button, self.edit_button, self.gpv_button, self.spv_button
        )
        # Two rows (what is held, then the buttons) and the error under them, so the bar
        # fits a narrow dock on a laptop screen.
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        top.addWidget(self.countdown)
        row = QHBoxLayout()
        for button in self._buttons:
            button.setMinimumWidth(button.fontMetrics().horizontalAdvance(button.text()) + 16)
            row.addWidget(button)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        layout.setSpacing(4)
        layout.addLayout(top)
        layout.addLayout(row)
        layout.addWidget(self.error)
        self.send_button.clicked.connect(self.send)
        self.skip_button.clicked.connect(self.skip)
        self.edit_button.clicked.connect(self.open_edit)
        self.gpv_button.clicked.connect(self.open_insert_gpv)
        self.spv_button.clicked.connect(self.open_insert_spv)
        self._timer = QTimer(self)
        self._timer.setInterval(200)
        self._timer.timeout.connect(self._tick)
        self.dialog: RpcEditorDialog | InsertGpvDialog | InsertSpvDialog | None = None
        self.refresh()

    # ------------------------------------------------------------------ state
    @property
    def device_id(self) -> str:
        """The device whose holds are shown."""
        return self._device_id

    @property
    def pending(self) -> StepPending | None:
        """The hold shown, or None."""
        return self._pending

    def set_device(self, device_id: str, root: str = "Device.") -> None:
        """Show ``device_id``'s holds; ``root`` ("Device." or "InternetGatewayDevice.")
        prefills the GetParameterValues form."""
        if device_id != self._device_id:
            self.show_error("")  # an error belongs to the device it happened on
        self._device_id = device_id
        self._root = root
        self.refresh()

    def refresh(self) -> None:
        """Re-read the gate: whether the device is in step mode and what is held."""
        enabled = bool(self._device_id) and self._gate.is_enabled(self._device_id)
        self._pending = self._gate.pending(self._device_id) if self._device_id else None
        self._pending_seen_ms = now_ms()
        self.setVisible(enabled or self._pending is not None)
        held = self._pending
        for button in self._buttons:
            button.setEnabled(held is not None)
        self.edit_button.setEnabled(held is not None and not held.ending)
        if held is None:
            self.title.setText("<b>Step mode</b> — the session will stop before the next RPC")
            self.countdown.setText("")
            self._timer.stop()
        else:
            self.title.setText(f"<b>Held:</b> {describe_rpc(held.rpc)}")
            self.send_button.setText("End session" if held.ending else "Send")
            self._timer.start()
            self._tick()

    def remaining(self) -> float:
        """Seconds until the gate sends the held RPC by itself (0 when nothing is held;
        those it had left when paused while the technician edits)."""
        if self._pending is None:
            return 0.0
        if self._pending.paused:
            return max(0.0, (self._pending.deadline_ms - self._pending_seen_ms) / 1000)
        return max(0.0, (self._pending.deadline_ms - now_ms()) / 1000)

    def _tick(self) -> None:
        if self._pending is None:
            return
        if self._pending.paused:
            self.countdown.setText("paused while you edit")
            self.countdown.setStyleSheet("color: #1f2937;")
            return
        seconds = self.remaining()
        self.countdown.setText(f"auto-send in {seconds:.0f} s")
        colour = "#b91c1c" if seconds < 5 else "#1f2937"
        self.countdown.setStyleSheet(f"color: {colour};")

    # ------------------------------------------------------------------ actions
    def show_error(self, text: str) -> None:
        """Show ``text`` under the buttons (elided, full text in the tooltip); "" hides it."""
        self.error.setText(text)
        self.error.setVisible(bool(text))

    def _do(self, action: str, message: rpc.Message | None = None) -> bool:
        self.show_error("")
        try:
            if action == "send":
                self._gate.send(self._device_id)
            elif action == "skip":
                self._gate.skip(self._device_id)
            elif action == "edit" and message is not None:
                self._gate.edit(self._device_id, message)
            elif action == "insert" and message is not None:
                self._gate.insert(self._device_id, message)
        except StepError as exc:
            self.show_error(str(exc))
            self.failed.emit(str(exc))
            self.refresh()
            return False
        self.actionTaken.emit(action)
        return True

    def send(self) -> bool:
        """Send the held RPC."""
        return self._do("send")

    def skip(self) -> bool:
        """Skip the held RPC."""
        return self._do("skip")

    def edit(self, message: rpc.Message) -> bool:
        """Send ``message`` instead of the held RPC."""
        return self._do("edit", message)

    def insert(self, message: rpc.Message) -> bool:
        """Send ``message`` before the held RPC."""
        return self._do("insert", message)

    def _open(self, dialog: RpcEditorDialog | InsertGpvDialog | InsertSpvDialog, action: str) -> None:
        if self.dialog is not None:
            self.dialog.close()
        self.dialog = dialog
        if action == "edit":
            dialog.rpcAccepted.connect(self.edit)
        else:
            dialog.rpcAccepted.connect(self.insert)
        # The countdown waits while the technician types (the gate resumes it after).
        device_id = self._device_id
        self._gate.pause(device_id)
        dialog.finished.connect(lambda _result: self._gate.resume(device_id))
        dialog.finished.connect(lambda _result: self._forget_dialog(dialog))
        dialog.open()

    def _forget_dialog(self, dialog: QWidget) -> None:
        if self.dialog is dialog:
            self.dialog = None

    def open_edit(self) -> None:
        """Open the XML editor on the held RPC."""
        held = self._pending
        if held is None or held.rpc is None:
            return
        self._open(RpcEditorDialog(held.rpc, parent=self.window()), "edit")

    def open_insert_gpv(self) -> None:
        """Open the GetParameterValues form."""
        names = (f"{self._root}DeviceInfo.",)
        self._open(InsertGpvDialog(names, parent=self.window()), "insert")

    def open_insert_spv(self) -> None:
        """Open the SetParameterValues form."""
        self._open(InsertSpvDialog(parent=self.window()), "insert")
