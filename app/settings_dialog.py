"""The settings dialog: the engine settings a technician changes, validated and applied.

Settings are kept in QSettings (group ``engine``) and read back at every start by
:func:`saved_config` (options given on the command line win). "Apply" assigns the settings
the engine reads per session or per request (:data:`LIVE_FIELDS`: session timeout, retry
delay, download timeout, connection-request timeout and Basic auth) on ``engine.config`` at
once; listeners, the database, body limit, trace retention, script limits and CPE
authentication are set up when the ACS starts, so they apply at the next start — the dialog
says which. (Restarting the engine in place is not done: the console's step gate and the
panels hold the running handler chain and store.)

The CPE password is kept in the user's QSettings file in plain text, like the command
line's ``--cwmp-password``: use a password file (``--cwmp-password-file``) where that is not
acceptable.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from acs_engine.config import EngineConfig

GROUP = "engine"
#: Settings assigned on the running engine's config (read per session or request).
LIVE_FIELDS = frozenset({
    "session_timeout", "retry_delay", "download_timeout", "connection_request_timeout",
    "connection_request_allow_basic_auth",
})
_HOST_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")


@dataclass(frozen=True, slots=True)
class Field:
    """One setting: its EngineConfig name, its label and how it is stored."""

    name: str
    label: str
    kind: type
    tip: str = ""


FIELDS: tuple[Field, ...] = (
    Field("cwmp_host", "Listen on address", str, "0.0.0.0: every address of this computer"),
    Field("cwmp_port", "CWMP port", int, "The port CPEs connect to (ACS URL)"),
    Field("fs_port", "File server port", int, "Firmware and config downloads"),
    Field("nbi_port", "NBI port", int, "The northbound API, on 127.0.0.1"),
    Field("db_path", "Database", Path),
    Field("session_timeout", "Session timeout", float, "Seconds of CPE silence before a session is dropped"),
    Field("max_body_bytes", "Largest request body", int),
    Field("trace_sessions_per_device", "Sessions kept per device", int, "With their wire traces"),
    Field("retry_delay", "Fault retry delay", int, "A faulted channel retries after delay × 2^retries"),
    Field("download_timeout", "Download timeout", int, "Seconds to wait for TransferComplete"),
    Field("connection_request_timeout", "Connection request timeout", int, "Milliseconds"),
    Field("connection_request_allow_basic_auth", "Allow Basic auth for connection requests", bool),
    Field("script_timeout_ms", "Script time limit", int, "Milliseconds per provision run"),
    Field("cwmp_username", "CPE user name", str, "Empty: CPEs do not authenticate"),
    Field("cwmp_password", "CPE password", str),
)
_BY_NAME = {f.name: f for f in FIELDS}


def _convert(field: Field, raw: Any) -> Any:
    if field.kind is bool:
        return raw in (True, "true", "1", 1)
    if field.kind is Path:
        return Path(str(raw)).expanduser()
    if field.name in ("cwmp_username", "cwmp_password"):
        return str(raw) or None
    return field.kind(raw)


def saved_config(
    config: EngineConfig, settings: QSettings | None = None, explicit: Iterable[str] = ()
) -> EngineConfig:
    """``config`` with the saved settings applied, except the fields in ``explicit``.

    Args:
        config: the settings from the command line.
        settings: where they are saved (default: the application's QSettings).
        explicit: EngineConfig fields given on the command line (they win).
    """
    settings = settings if settings is not None else QSettings()
    skip = set(explicit)
    changes: dict[str, Any] = {}
    settings.beginGroup(GROUP)
    try:
        for field in FIELDS:
            if field.name in skip or not settings.contains(field.name):
                continue
            try:
                changes[field.name] = _convert(field, settings.value(field.name))
            except (TypeError, ValueError):
                continue
    finally:
        settings.endGroup()
    if "cwmp_host" in changes and "cwmp_host" not in skip:
        changes["fs_host"] = changes["cwmp_host"]
    return config.replace(**changes)


def validate(values: dict[str, Any], free_ports: Iterable[str] = ()) -> dict[str, str]:
    """Problems with ``values`` (field name -> message); empty when they can be saved.

    Args:
        values: EngineConfig field -> value.
        free_ports: port fields that may stay 0 ("a free port": the engine runs so now).
    """
    zero_ok = set(free_ports)
    problems: dict[str, str] = {}
    host = str(values.get("cwmp_host", "")).strip()
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _HOST_RE.match(host):
            problems["cwmp_host"] = "Give an IP address of this computer, or 0.0.0.0 for every address."
    ports = {n: int(values[n]) for n in ("cwmp_port", "fs_port", "nbi_port") if n in values}
    for name, port in ports.items():
        if not 1 <= port <= 65535 and not (port == 0 and name in zero_ok):
            problems[name] = "A port is a number from 1 to 65535."
    if ports.get("cwmp_port") and ports.get("cwmp_port") == ports.get("fs_port"):
        problems["fs_port"] = "The file server needs a port of its own."
    db = Path(str(values.get("db_path", ""))).expanduser()
    if not str(values.get("db_path", "")).strip():
        problems["db_path"] = "Choose a database file."
    elif db.is_dir():
        problems["db_path"] = f"{db} is a folder; choose a file in it."
    if float(values.get("session_timeout", 1)) < 1:
        problems["session_timeout"] = "At least one second."
    if values.get("cwmp_password") and not values.get("cwmp_username"):
        problems["cwmp_username"] = "A password needs a user name."
    return problems


class SettingsDialog(QDialog):
    """Engine settings, validated as they are typed.

    Signals:
        applied(list): settings were saved; the list names those that wait for a restart.
    """

    applied = Signal(list)

    def __init__(
        self, engine: Any, settings: QSettings | None = None, parent: QWidget | None = None
    ) -> None:
        """Show ``engine.config``'s values; open with :meth:`open`.

        Args:
            engine: the engine (its ``config`` is shown and changed).
            settings: where settings are saved (default: the application's QSettings).
            parent: the parent window.
        """
        super().__init__(parent)
        self.setObjectName("settingsDialog")
        self.setWindowTitle("Settings")
        self.setMinimumWidth(600)
        self._engine = engine
        self._settings = settings if settings is not None else QSettings()
        self._widgets: dict[str, QWidget] = {}
        self._labels: dict[str, QLabel] = {}
        config: EngineConfig = engine.config
        self.problems: dict[str, str] = {}
        self._free_ports: list[str] = []
        self._built = False  # validate() waits until every editor exists

        def spin(name: str, low: int, high: int, suffix: str = "") -> QSpinBox:
            box = QSpinBox()
            box.setRange(0 if name.endswith("_port") else low, high)
            if name.endswith("_port"):
                box.setSpecialValueText("(a free port)")
            box.setValue(int(getattr(config, name)))
            box.setSuffix(suffix)
            box.valueChanged.connect(self.validate)
            return box

        host = QLineEdit(config.cwmp_host)
        host.textChanged.connect(self.validate)
        db = QLineEdit(str(config.db_path))
        db.textChanged.connect(self.validate)
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._choose_db)
        db_row = QHBoxLayout()
        db_row.addWidget(db, 1)
        db_row.addWidget(browse)
        timeout = QDoubleSpinBox()
        timeout.setRange(0, 3600)
        timeout.setDecimals(0)
        timeout.setSuffix(" s")
        timeout.setValue(config.session_timeout)
        timeout.valueChanged.connect(self.validate)
        body = spin("max_body_bytes", 1, 1 << 30)
        body.setValue(max(1, config.max_body_bytes // (1024 * 1024)))
        body.setRange(1, 1024)
        body.setSuffix(" MB")
        basic = QCheckBox()
        basic.setChecked(config.connection_request_allow_basic_auth)
        user = QLineEdit(config.cwmp_username or "")
        user.textChanged.connect(self.validate)
        password = QLineEdit(config.cwmp_password or "")
        password.setEchoMode(QLineEdit.EchoMode.Password)
        password.textChanged.connect(self.validate)
        self._widgets = {
            "cwmp_host": host, "cwmp_port": spin("cwmp_port", 1, 65535),
            "fs_port": spin("fs_port", 1, 65535), "nbi_port": spin("nbi_port", 1, 65535),
            "db_path": db, "session_timeout": timeout, "max_body_bytes": body,
            "trace_sessions_per_device": spin("trace_sessions_per_device", 0, 10_000),
            "retry_delay": spin("retry_delay", 1, 7 * 86400, " s"),
            "download_timeout": spin("download_timeout", 10, 7 * 86400, " s"),
            "connection_request_timeout": spin("connection_request_timeout", 100, 60_000, " ms"),
            "connection_request_allow_basic_auth": basic,
            "script_timeout_ms": spin("script_timeout_ms", 10, 60_000, " ms"),
            "cwmp_username": user, "cwmp_password": password,
        }
        self._free_ports = [n for n in ("cwmp_port", "fs_port", "nbi_port") if getattr(config, n) == 0]

        groups = (
            ("Network — applies at the next start", ("cwmp_host", "cwmp_port", "fs_port", "nbi_port", "db_path")),
            ("Sessions and provisioning", ("session_timeout", "retry_delay", "download_timeout",
                                           "connection_request_timeout",
                                           "connection_request_allow_basic_auth",
                                           "max_body_bytes", "trace_sessions_per_device",
                                           "script_timeout_ms")),
            ("CPE authentication — applies at the next start", ("cwmp_username", "cwmp_password")),
        )
        layout = QVBoxLayout(self)
        for title, names in groups:
            box = QGroupBox(title)
            form = QFormLayout(box)
            for name in names:
                field = _BY_NAME[name]
                label = QLabel(field.label + ("" if name in LIVE_FIELDS or "next start" in title
                                              else " *"))
                label.setToolTip(field.tip)
                self._widgets[name].setToolTip(field.tip)
                self._widgets[name].setObjectName(f"setting_{name}")
                self._labels[name] = label
                form.addRow(label, db_row if name == "db_path" else self._widgets[name])
            layout.addWidget(box)
        self.note = QLabel(
            "Settings marked * and the network and authentication settings apply at the next "
            "start of FieldACS; the others apply to the next session."
        )
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #64748b;")
        self.problem_label = QLabel("")
        self.problem_label.setObjectName("settingsProblem")
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet("color: #b91c1c;")
        layout.addWidget(self.note)
        layout.addWidget(self.problem_label)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Apply
            | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.button(QDialogButtonBox.StandardButton.Apply).clicked.connect(self.apply)
        self.buttons.accepted.connect(self._ok)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self._built = True
        self.validate()

    # ------------------------------------------------------------------ values
    def widget(self, name: str) -> QWidget:
        """The editor of setting ``name``."""
        return self._widgets[name]

    def values(self) -> dict[str, Any]:
        """The settings as typed, converted to EngineConfig values."""
        out: dict[str, Any] = {}
        for name, w in self._widgets.items():
            if isinstance(w, QLineEdit):
                out[name] = w.text().strip() if name != "cwmp_password" else w.text()
            elif isinstance(w, QCheckBox):
                out[name] = w.isChecked()
            elif isinstance(w, QSpinBox | QDoubleSpinBox):
                out[name] = w.value()
        out["max_body_bytes"] = int(out["max_body_bytes"]) * 1024 * 1024
        out["db_path"] = Path(out["db_path"]).expanduser()
        for name in ("cwmp_username", "cwmp_password"):
            out[name] = out[name] or None
        return out

    def validate(self) -> bool:
        """Check the values, mark the labels of bad ones; True when they can be saved."""
        if not self._built:
            return False
        self.problems = validate(self.values(), self._free_ports)
        for name, label in self._labels.items():
            label.setStyleSheet("color: #b91c1c;" if name in self.problems else "")
        self.problem_label.setText("\n".join(
            f"{_BY_NAME[n].label}: {m}" for n, m in self.problems.items()
        ))
        ok = not self.problems
        for button in (QDialogButtonBox.StandardButton.Ok, QDialogButtonBox.StandardButton.Apply):
            self.buttons.button(button).setEnabled(ok)
        return ok

    # ------------------------------------------------------------------ applying
    def apply(self) -> list[str] | None:
        """Save the settings and assign the live ones on the engine.

        Returns:
            The names of changed settings that wait for the next start (None when invalid).
        """
        if not self.validate():
            return None
        values = self.values()
        config = self._engine.config
        later: list[str] = []
        self._settings.beginGroup(GROUP)
        try:
            for name, value in values.items():
                if value is None:
                    self._settings.remove(name)
                else:
                    self._settings.setValue(name, str(value) if isinstance(value, Path) else value)
                if getattr(config, name) == value:
                    continue
                if name in LIVE_FIELDS:
                    setattr(config, name, value)
                else:
                    later.append(name)
        finally:
            self._settings.endGroup()
        self._settings.sync()
        labels = [_BY_NAME[n].label.lower() for n in later]
        self.note.setText(
            "Saved. " + (f"Restart FieldACS to apply: {', '.join(labels)}." if labels
                         else "Everything applies from the next session.")
        )
        self.note.setStyleSheet("color: #b45309;" if labels else "color: #15803d;")
        self.applied.emit(later)
        return later

    def _ok(self) -> None:
        if self.apply() is not None:
            self.accept()

    def _choose_db(self) -> None:
        dialog = QFileDialog(self, "Database file", str(Path(self.values()["db_path"]).parent))
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setOption(QFileDialog.Option.DontConfirmOverwrite, True)
        dialog.setNameFilter("FieldACS database (*.db);;All files (*)")
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        line = self._widgets["db_path"]
        assert isinstance(line, QLineEdit)
        dialog.fileSelected.connect(line.setText)
        dialog.open()
