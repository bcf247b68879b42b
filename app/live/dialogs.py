"""Dialogs of step mode: edit the held RPC as XML, insert a GetParameterValues or a
SetParameterValues from a simple form.

Each dialog is opened with ``open()`` (window-modal, no nested event loop) and emits
``rpcAccepted(rpc.Message)`` when its input is a valid RPC the ACS may send; invalid input
keeps the dialog open with the reason shown.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from acs_engine.cwmp import codec, rpc
from acs_engine.cwmp.envelope import NS_CWMP_1_0, Envelope
from app.live.soap import XmlHighlighter, pretty_print

#: The xsd types offered for a SetParameterValues value.
VALUE_TYPES: tuple[str, ...] = (
    "xsd:string", "xsd:boolean", "xsd:unsignedInt", "xsd:int", "xsd:unsignedLong",
    "xsd:long", "xsd:dateTime", "xsd:base64", "xsd:hexBinary",
)


def rpc_to_xml(message: rpc.Message, namespace: str = NS_CWMP_1_0) -> str:
    """``message`` as an indented SOAP envelope, for editing."""
    body = codec.serialize(Envelope(message, cwmp_id="edit", namespace=namespace))
    return pretty_print(body).text


def rpc_from_xml(text: str) -> rpc.Message:
    """The ACS request in ``text`` (a SOAP envelope).

    Raises:
        ValueError: not a valid envelope, or not an RPC the ACS sends (the reason says which).
    """
    try:
        envelope = codec.parse(text.encode("utf-8"))
    except codec.CwmpParseError as exc:
        raise ValueError(str(exc)) from exc
    if envelope is None:
        raise ValueError("the envelope is empty")
    if not type(envelope.message).ACS_REQUEST:
        raise ValueError(f"{envelope.message.METHOD} is not an RPC the ACS sends")
    return envelope.message


class _RpcDialog(QDialog):
    """Common frame: a form, an error line, OK/Cancel.

    Signals:
        rpcAccepted(object): the valid RPC (an ``rpc.Message``).
    """

    rpcAccepted = Signal(object)  # an rpc.Message: a union of dataclasses, not one type

    def __init__(self, title: str, intro: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.setMinimumSize(560, 380)
        self.intro = QLabel(intro)
        self.intro.setWordWrap(True)
        self.error = QLabel()
        self.error.setObjectName("rpcDialogError")
        self.error.setStyleSheet("color: #dc2626;")
        self.error.setWordWrap(True)
        self.error.hide()
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self.try_accept)
        self.buttons.rejected.connect(self.reject)
        self.body = QVBoxLayout()
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addLayout(self.body, 1)
        layout.addWidget(self.error)
        layout.addWidget(self.buttons)

    def build(self) -> rpc.Message:
        """The RPC the form describes; raises ValueError with the reason."""
        raise NotImplementedError

    def try_accept(self) -> bool:
        """Accept when the form is valid (emitting :attr:`rpcAccepted`); else show why."""
        try:
            message = self.build()
        except ValueError as exc:
            self.error.setText(str(exc))
            self.error.show()
            return False
        self.error.hide()
        self.rpcAccepted.emit(message)
        self.accept()
        return True


class RpcEditorDialog(_RpcDialog):
    """Edit an RPC as the SOAP envelope that will be sent (checked with the codec)."""

    def __init__(
        self, message: rpc.Message, namespace: str = NS_CWMP_1_0, parent: QWidget | None = None
    ) -> None:
        """Start from ``message`` written in ``namespace``."""
        super().__init__(
            f"Edit {message.METHOD}",
            "Edit the RPC to send instead. The cwmp:ID is set by the session.",
            parent,
        )
        self.setObjectName("rpcEditorDialog")
        self.editor = QPlainTextEdit()
        self.editor.setObjectName("rpcEditorText")
        self.editor.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.editor.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.highlighter = XmlHighlighter(self.editor.document())
        self.editor.setPlainText(rpc_to_xml(message, namespace))
        self.body.addWidget(self.editor)

    def build(self) -> rpc.Message:
        """The edited RPC."""
        return rpc_from_xml(self.editor.toPlainText())


class InsertGpvDialog(_RpcDialog):
    """A GetParameterValues from a list of names, one per line."""

    def __init__(self, names: tuple[str, ...] = (), parent: QWidget | None = None) -> None:
        """Prefill ``names``."""
        super().__init__(
            "Insert GetParameterValues",
            "Parameter names or partial paths (ending in '.'), one per line. The answer is "
            "stored with the device; the held RPC stays held.",
            parent,
        )
        self.setObjectName("insertGpvDialog")
        self.names = QPlainTextEdit()
        self.names.setObjectName("gpvNames")
        self.names.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.names.setPlainText("\n".join(names))
        self.body.addWidget(self.names)

    def build(self) -> rpc.Message:
        """The GetParameterValues."""
        names = tuple(line.strip() for line in self.names.toPlainText().splitlines() if line.strip())
        if not names:
            raise ValueError("Give at least one parameter name.")
        bad = [n for n in names if " " in n or n.startswith(".")]
        if bad:
            raise ValueError(f"Not a parameter path: {bad[0]}")
        return rpc.GetParameterValues(names=names)


class InsertSpvDialog(_RpcDialog):
    """A SetParameterValues from a table of name, type and value."""

    def __init__(self, rows: int = 3, parent: QWidget | None = None) -> None:
        """Start with ``rows`` empty rows."""
        super().__init__(
            "Insert SetParameterValues",
            "Parameters to set on the CPE now. Empty rows are ignored; the held RPC stays held.",
            parent,
        )
        self.setObjectName("insertSpvDialog")
        self.table = QTableWidget(0, 3)
        self.table.setObjectName("spvTable")
        self.table.setHorizontalHeaderLabels(["Name", "Type", "Value"])
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        for _ in range(rows):
            self.add_row()
        add = QPushButton("Add row")
        add.clicked.connect(lambda: self.add_row())
        self.key = QLineEdit()
        self.key.setObjectName("spvParameterKey")
        self.key.setPlaceholderText("ParameterKey (optional)")
        line = QHBoxLayout()
        line.addWidget(add)
        line.addStretch(1)
        line.addWidget(QLabel("ParameterKey:"))
        line.addWidget(self.key)
        self.body.addWidget(self.table, 1)
        self.body.addLayout(line)

    def add_row(self, name: str = "", value: str = "", type_: str = "xsd:string") -> int:
        """Append a row; returns its index."""
        row = self.table.rowCount()
        self.table.insertRow(row)
        self.table.setItem(row, 0, QTableWidgetItem(name))
        combo = QComboBox()
        combo.addItems(VALUE_TYPES)
        combo.setEditable(True)
        combo.setCurrentText(type_)
        self.table.setCellWidget(row, 1, combo)
        self.table.setItem(row, 2, QTableWidgetItem(value))
        return row

    def build(self) -> rpc.Message:
        """The SetParameterValues."""
        params: list[rpc.ParameterValue] = []
        for row in range(self.table.rowCount()):
            name_item, value_item = self.table.item(row, 0), self.table.item(row, 2)
            name = name_item.text().strip() if name_item else ""
            value = value_item.text() if value_item else ""
            combo = self.table.cellWidget(row, 1)
            type_ = combo.currentText().strip() if isinstance(combo, QComboBox) else "xsd:string"
            if not name:
                continue
            if name.endswith(".") or " " in name:
                raise ValueError(f"Not a parameter name: {name}")
            params.append(rpc.ParameterValue(name, value, type_ or "xsd:string"))
        if not params:
            raise ValueError("Give at least one parameter name.")
        message = rpc.SetParameterValues(parameters=tuple(params), parameter_key=self.key.text())
        try:
            codec.serialize(Envelope(message, cwmp_id="check"))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"Cannot send these values: {exc}") from exc
        return message
