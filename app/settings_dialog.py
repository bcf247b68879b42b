"""The settings dialog: the engine settings a technician changes, validated and applied.

Settings are kept in QSettings (group ``engine``) and read back at every start by
:func:`~app.settings_store.saved_config` (options given on the command line win). They are
checked as they are typed (:func:`~app.settings_store.validate`: ports, ports given twice, the
address, HTTPS without a port, a certificate without its key or one that does not load, ...).
Those functions and the list of settings (:data:`~app.settings_store.FIELDS`) live in
:mod:`app.settings_store`, which has no widgets; they are still importable from here.

"Apply" (and "OK") hands the new settings to the running engine,
:meth:`~acs_engine.server.controller.Engine.reconfigure`, which applies them without a
restart: listeners move to their new address and port (CWMP, HTTPS CWMP, file server and
its HTTPS port, NBI), HTTPS is switched on or off with the chosen or FieldACS's own
certificate, CPE authentication is switched on, off or changed, limits and timeouts take
effect. Sessions in flight finish undisturbed. When the engine refuses them (a port in use,
a certificate that does not load), the reason is shown in the dialog, nothing is saved and
the engine runs on as before; OK keeps the dialog open then. Once applied, the settings are
saved and :attr:`SettingsDialog.urlsChanged` gives the new ACS URLs (the main window takes
them from the engine's "Settings applied" notice, which any reconfiguration publishes).

The database location (and trace retention) cannot change under a running engine: the
dialog saves it and offers "Restart FieldACS now", which closes FieldACS cleanly (sessions in
flight are ended, the database is closed) and starts it again with the same options
(:func:`app.main.relaunch_command`; a ``--db`` option is replaced by the new location).

The NBI group sets its address, port and bearer token ("Generate" makes a random one). An
NBI on any address but a loopback one without a token is refused here (as the engine
refuses it), since it would be open to anyone on the network.

The CPE password and the NBI token are kept in the user's QSettings file in plain text (see
:mod:`app.settings_store`).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QGuiApplication, QShowEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from acs_engine.config import EngineConfig
from acs_engine.console_api import RESTART_FIELDS, ConsoleEngine, ReconfigureError, console_engine
from acs_engine.reach.xmpp import TLS_MODES
from acs_engine.server.nbi_auth import generate_token
from app.overview import acs_urls_of
from app.settings_store import (
    FIELDS,
    FIELDS_BY_NAME,
    GROUP,
    LIVE_FIELDS,
    OPTIONAL_FIELDS,
    PORT_FIELDS,
    Field,
    save_settings,
    saved_config,
    to_config,
    to_shown,
    validate,
)

#: The dialog, and the names that moved to :mod:`app.settings_store` (importable from here).
__all__ = [
    "FIELDS", "GROUP", "LIVE_FIELDS", "PORT_FIELDS", "Field", "SettingsDialog", "saved_config",
    "validate",
]

log = logging.getLogger("fieldacs.app")
#: Height of what surrounds the scrolling groups: title bar, notes, restart button, buttons.
_CHROME_PX = 240

class SettingsDialog(QDialog):
    """Engine settings, validated as they are typed, applied to the running engine.

    Attributes:
        pending: the engine applying the settings (an asyncio task), or None.

    Signals:
        applied(list): settings were applied and saved; the list names those that wait for
            a restart.
        failed(str): the engine refused the settings (nothing was saved); why.
        urlsChanged(list): the ACS URLs after the settings were applied (HTTP, then HTTPS).
        restartRequested(str): "Restart FieldACS now" was chosen; the new database path.
    """

    applied = Signal(list)
    failed = Signal(str)
    urlsChanged = Signal(list)
    restartRequested = Signal(str)

    def __init__(
        self, engine: ConsoleEngine, settings: QSettings | None = None, parent: QWidget | None = None
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
        self._engine = console_engine(engine)
        self._settings = settings if settings is not None else QSettings()
        self._widgets: dict[str, QWidget] = {}
        self._labels: dict[str, QLabel] = {}
        config: EngineConfig = engine.config
        self.problems: dict[str, str] = {}
        self._free_ports: list[str] = []
        self._built = False  # validate() waits until every editor exists
        self.pending: asyncio.Task[bool] | None = None
        self._close_when_applied = False
        self._restart_db: Path | None = None

        def spin(name: str, low: int, high: int, suffix: str = "") -> QSpinBox:
            box = QSpinBox()
            optional = name in OPTIONAL_FIELDS
            box.setRange(-1 if optional else 0 if name.endswith("_port") else low, high)
            if optional:
                box.setSpecialValueText("Off")
            elif name.endswith("_port"):
                box.setSpecialValueText("(a free port)")
            value = getattr(config, name)
            if name in FIELDS_BY_NAME:  # seconds shown, milliseconds held
                value = to_shown(FIELDS_BY_NAME[name], value)
            box.setValue(-1 if value is None else int(value))
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
        timeout.setValue(config.session_timeout_ms / 1000)
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
        xmpp_jid = QLineEdit(config.xmpp_jid)
        xmpp_jid.setPlaceholderText("acs@example.net (empty: XMPP off)")
        xmpp_password = QLineEdit(config.xmpp_password)
        xmpp_password.setEchoMode(QLineEdit.EchoMode.Password)
        xmpp_server = QLineEdit(config.xmpp_server)
        xmpp_server.setPlaceholderText("the account's domain, port 5222")
        xmpp_tls = QComboBox()
        xmpp_tls.addItems(list(TLS_MODES))
        xmpp_tls.setCurrentText(config.xmpp_tls)
        xmpp_tls.currentTextChanged.connect(self.validate)
        for edit in (xmpp_jid, xmpp_password, xmpp_server):
            edit.textChanged.connect(self.validate)
        rfc2069 = QCheckBox()
        rfc2069.setChecked(config.cwmp_digest_rfc2069)
        nbi_host = QLineEdit(config.nbi_host)
        nbi_host.textChanged.connect(self.validate)
        nbi_token = QLineEdit(config.nbi_token or "")
        nbi_token.setEchoMode(QLineEdit.EchoMode.Password)
        nbi_token.textChanged.connect(self.validate)
        make_token = QPushButton("Generate")
        make_token.setObjectName("generateNbiToken")
        make_token.setToolTip("Put a new random token here (copy it into your NBI scripts)")
        make_token.clicked.connect(lambda: self._new_token(nbi_token))
        token_row = QHBoxLayout()
        token_row.addWidget(nbi_token, 1)
        token_row.addWidget(make_token)
        http = QCheckBox()
        http.setChecked(config.cwmp_http_enabled)
        http.toggled.connect(self.validate)
        cert_row, cert = self._path_row(config.tls_cert_path, "Certificate",
                                        "PEM certificate (*.pem *.crt *.cer);;All files (*)")
        key_row, key = self._path_row(config.tls_key_path, "Private key",
                                      "PEM key (*.pem *.key);;All files (*)")
        upstream = QLineEdit(config.proxy_upstream)
        upstream.setPlaceholderText("empty: FieldACS is the ACS")
        upstream.textChanged.connect(self.validate)
        ca_row, upstream_ca = self._path_row(config.proxy_upstream_ca, "Upstream CA certificate",
                                             "PEM certificate (*.pem *.crt *.cer);;All files (*)")
        xmpp_ca_row, xmpp_ca = self._path_row(config.xmpp_ca_file, "XMPP server CA",
                                              "PEM certificate (*.pem *.crt *.cer);;All files (*)")
        xmpp_ca.setPlaceholderText("(the system's CAs)")
        rows: dict[str, QHBoxLayout] = {"db_path": db_row, "tls_cert_path": cert_row,
                                        "tls_key_path": key_row, "nbi_token": token_row,
                                        "proxy_upstream_ca": ca_row,
                                        "xmpp_ca_file": xmpp_ca_row}
        self._widgets = {
            "cwmp_host": host, "cwmp_port": spin("cwmp_port", 1, 65535),
            "fs_port": spin("fs_port", 1, 65535), "nbi_port": spin("nbi_port", 1, 65535),
            "db_path": db, "session_timeout_ms": timeout, "max_body_bytes": body,
            "trace_sessions_per_device": spin("trace_sessions_per_device", 0, 10_000),
            "retry_delay_ms": spin("retry_delay_ms", 1, 7 * 86400, " s"),
            "download_timeout_ms": spin("download_timeout_ms", 10, 7 * 86400, " s"),
            "connection_request_timeout_ms": spin("connection_request_timeout_ms", 100, 60_000,
                                                  " ms"),
            "connection_request_allow_basic_auth": basic,
            "script_timeout_ms": spin("script_timeout_ms", 10, 60_000, " ms"),
            "cwmp_username": user, "cwmp_password": password, "cwmp_digest_rfc2069": rfc2069,
            "nbi_host": nbi_host, "nbi_token": nbi_token,
            "cwmp_http_enabled": http, "cwmp_tls_port": spin("cwmp_tls_port", 1, 65535),
            "fs_tls_port": spin("fs_tls_port", 1, 65535), "tls_cert_path": cert,
            "tls_key_path": key, "proxy_upstream": upstream, "proxy_upstream_ca": upstream_ca,
            "xmpp_jid": xmpp_jid, "xmpp_password": xmpp_password,
            "xmpp_server": xmpp_server, "xmpp_tls": xmpp_tls, "xmpp_ca_file": xmpp_ca,
            "history_max_age_days": spin("history_max_age_days", 0, 36_500, " days"),
            "history_rows_per_device": spin("history_rows_per_device", 0, 10_000_000),
            "history_max_mb": spin("history_max_mb", 0, 1_000_000, " MiB"),
        }
        self._free_ports = [n for n in PORT_FIELDS if getattr(config, n) == 0]
        later = RESTART_FIELDS

        groups = (
            ("Network", ("cwmp_host", "cwmp_port", "fs_port")),
            ("NBI (northbound API)", ("nbi_host", "nbi_port", "nbi_token")),
            ("HTTPS", ("cwmp_http_enabled", "cwmp_tls_port", "fs_tls_port", "tls_cert_path",
                       "tls_key_path")),
            ("Sessions and provisioning", ("session_timeout_ms", "retry_delay_ms",
                                           "download_timeout_ms", "max_body_bytes",
                                           "trace_sessions_per_device", "script_timeout_ms")),
            ("Connection requests", ("connection_request_timeout_ms",
                                     "connection_request_allow_basic_auth", "xmpp_jid",
                                     "xmpp_password", "xmpp_server", "xmpp_tls",
                                     "xmpp_ca_file")),
            ("CPE authentication", ("cwmp_username", "cwmp_password", "cwmp_digest_rfc2069")),
            ("Proxy mode (watch a CPE with another ACS)",
             ("proxy_upstream", "proxy_upstream_ca")),
            ("Parameter history", ("history_max_age_days", "history_rows_per_device",
                                   "history_max_mb")),
            ("Database — applies after a restart", ("db_path",)),
        )
        layout = QVBoxLayout(self)
        # The groups scroll, so the dialog fits a laptop screen (768 px high) with its buttons.
        content = QWidget()
        groups_layout = QVBoxLayout(content)
        groups_layout.setContentsMargins(0, 0, 0, 0)
        for title, names in groups:
            box = QGroupBox(title)
            form = QFormLayout(box)
            for name in names:
                field = FIELDS_BY_NAME[name]
                label = QLabel(field.label + (" *" if name in later and "restart" not in title
                                              else ""))
                label.setToolTip(field.tip)
                self._widgets[name].setToolTip(field.tip)
                self._widgets[name].setObjectName(f"setting_{name}")
                self._labels[name] = label
                form.addRow(label, rows[name] if name in rows else self._widgets[name])
            if title == "HTTPS":
                self.fingerprint = QLabel()
                self.fingerprint.setObjectName("tlsFingerprint")
                self.fingerprint.setWordWrap(True)
                self.fingerprint.setTextInteractionFlags(
                    Qt.TextInteractionFlag.TextSelectableByMouse
                )
                form.addRow("SHA-256", self.fingerprint)
            groups_layout.addWidget(box)
        self.scroll_area = QScrollArea()
        self.scroll_area.setObjectName("settingsScroll")
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll_area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll_area.setWidget(content)
        layout.addWidget(self.scroll_area, 1)
        self._show_fingerprint()
        self.note = QLabel(
            "Settings apply to the running ACS without a restart (sessions in flight finish "
            "undisturbed); those marked * and the database apply at the next start of FieldACS."
        )
        self.note.setWordWrap(True)
        self.note.setStyleSheet("color: #64748b;")
        self.problem_label = QLabel("")
        self.problem_label.setObjectName("settingsProblem")
        self.problem_label.setWordWrap(True)
        self.problem_label.setStyleSheet("color: #b91c1c;")
        layout.addWidget(self.note)
        layout.addWidget(self.problem_label)
        self.restart_button = QPushButton("Restart FieldACS now")
        self.restart_button.setObjectName("restartButton")
        self.restart_button.setToolTip(
            "Close FieldACS (sessions in flight are ended) and start it again with the same "
            "options and the new database"
        )
        self.restart_button.clicked.connect(self.request_restart)
        self.restart_button.hide()
        layout.addWidget(self.restart_button)
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
    def showEvent(self, event: QShowEvent) -> None:
        """Size the scrolling groups: as wide as they need, as high as the screen allows."""
        content = self.scroll_area.widget()
        assert content is not None  # the groups, set in __init__
        content.adjustSize()
        scrollbar = self.scroll_area.verticalScrollBar().sizeHint().width()
        self.scroll_area.setMinimumWidth(content.minimumSizeHint().width() + scrollbar)
        screen = self.screen() or QGuiApplication.primaryScreen()
        room = screen.availableGeometry().height() - _CHROME_PX if screen else 600
        width = max(600, self.minimumSizeHint().width())
        # The footer's wrapped lines get their height (a QLabel's minimum is one line, and
        # the groups would be drawn under it): measured at the narrowest the dialog gets.
        layout = self.layout()
        assert layout is not None  # set in __init__
        margins = layout.contentsMargins()
        inner = width - margins.left() - margins.right()
        footer = 0
        for label in (self.note, self.problem_label):
            height = label.heightForWidth(inner) if label.text() else 0
            label.setMinimumHeight(max(0, height))
            footer += max(0, height)
        self.scroll_area.setMinimumHeight(
            min(content.sizeHint().height(), max(240, room - footer))
        )
        self.setMinimumSize(width, 0)
        self.adjustSize()
        super().showEvent(event)

    def _new_token(self, editor: QLineEdit) -> None:
        editor.setText(generate_token())
        editor.setEchoMode(QLineEdit.EchoMode.Normal)  # shown once, to be copied

    def widget(self, name: str) -> QWidget:
        """The editor of setting ``name``."""
        return self._widgets[name]

    def values(self) -> dict[str, Any]:
        """The settings as typed, converted to EngineConfig values."""
        out: dict[str, Any] = {}
        for name, w in self._widgets.items():
            if isinstance(w, QLineEdit):
                out[name] = w.text() if name in ("cwmp_password", "xmpp_password") else (
                    w.text().strip())
            elif isinstance(w, QComboBox):
                out[name] = w.currentText()
            elif isinstance(w, QCheckBox):
                out[name] = w.isChecked()
            elif isinstance(w, QSpinBox | QDoubleSpinBox):
                field = FIELDS_BY_NAME.get(name)  # seconds shown, milliseconds held
                out[name] = to_config(field, w.value()) if field is not None else w.value()
        out["max_body_bytes"] = int(out["max_body_bytes"]) * 1024 * 1024
        out["db_path"] = Path(out["db_path"]).expanduser()
        out["nbi_token"] = out["nbi_token"] or None
        for name in ("cwmp_username", "cwmp_password"):
            out[name] = out[name] or None
        for name in ("cwmp_tls_port", "fs_tls_port"):
            out[name] = out[name] if out[name] >= 0 else None
        for name in ("tls_cert_path", "tls_key_path", "proxy_upstream_ca", "xmpp_ca_file"):
            out[name] = Path(out[name]).expanduser() if out[name] else None
        return out

    def validate(self) -> bool:
        """Check the values, mark the labels of bad ones; True when they can be saved."""
        if not self._built:
            return False
        self.problems = validate(self.values(), self._free_ports)
        for name, label in self._labels.items():
            label.setStyleSheet("color: #b91c1c;" if name in self.problems else "")
        self.problem_label.setText("\n".join(
            f"{FIELDS_BY_NAME[n].label}: {m}" for n, m in self.problems.items()
        ))
        ok = not self.problems
        busy = self.pending is not None and not self.pending.done()
        for button in (QDialogButtonBox.StandardButton.Ok, QDialogButtonBox.StandardButton.Apply):
            self.buttons.button(button).setEnabled(ok and not busy)
        return ok

    # ------------------------------------------------------------------ applying
    def apply(self) -> list[str] | None:
        """Apply the settings to the running engine, then save them.

        :meth:`Engine.reconfigure` runs in :attr:`pending` while the buttons wait; the
        settings are saved once it succeeded, and :attr:`applied` or :attr:`failed` tells how
        it went.

        Returns:
            The names of changed settings that wait for the next start (None when the values
            are invalid or an earlier apply is still running).
        """
        if self.pending is not None and not self.pending.done():
            return None
        if not self.validate():
            return None
        values = self.values()
        config = self._engine.config
        changed = [n for n, v in values.items() if getattr(config, n) != v]
        later = [n for n in changed if n in RESTART_FIELDS]
        target = config.replace(**values)
        if "cwmp_host" in changed:
            target.fs_host = values["cwmp_host"]
        self._set_busy(True)
        self.pending = asyncio.ensure_future(self._apply_live(values, target, later))
        return later

    async def _apply_live(
        self, values: dict[str, Any], target: EngineConfig, later: list[str]
    ) -> bool:
        try:
            await self._engine.reconfigure(target)
        except Exception as exc:  # ReconfigureError, or a bug: either way nothing is saved
            if not isinstance(exc, ReconfigureError):
                log.exception("applying the settings failed")
            self._set_busy(False)
            self._close_when_applied = False
            self.problem_label.setText(f"Not applied: {exc}")
            self.note.setText("Nothing was changed or saved; the ACS runs on as it was.")
            self.note.setStyleSheet("color: #b91c1c;")
            self.failed.emit(str(exc))
            return False
        self._save(values)
        # Every ACS URL, the https:// ones too (the main window shows them all).
        urls = await asyncio.to_thread(acs_urls_of, self._engine)
        self._set_busy(False)
        self._show_fingerprint()
        self._report(later, values)
        self.urlsChanged.emit(urls)
        self.applied.emit(later)
        if self._close_when_applied:
            self.accept()
        return True

    def _save(self, values: dict[str, Any]) -> None:
        save_settings(self._settings, values)

    def _report(self, later: list[str], values: dict[str, Any]) -> None:
        labels = [FIELDS_BY_NAME[n].label.lower() for n in later if n != "db_path"]
        text = "Applied and saved."
        if labels:
            text += f" Restart FieldACS to apply: {', '.join(labels)}."
        if "db_path" in later:
            self._restart_db = values["db_path"]
            text += (
                f" The database {values['db_path']} is used after a restart: "
                "\u201cRestart FieldACS now\u201d closes FieldACS (sessions in flight are ended, "
                "the database is closed) and starts it again with the same options."
            )
            self.restart_button.show()
        self.note.setText(text)
        self.note.setStyleSheet(
            "color: #b45309;" if labels or "db_path" in later else "color: #15803d;"
        )

    def _set_busy(self, busy: bool) -> None:
        if busy:
            self.note.setText("Applying\u2026")
            self.note.setStyleSheet("color: #64748b;")
        for button in (QDialogButtonBox.StandardButton.Ok, QDialogButtonBox.StandardButton.Apply):
            self.buttons.button(button).setEnabled(not busy and not self.problems)

    def _ok(self) -> None:
        later = self.apply()
        if later is None:
            return
        if self.pending is not None and not self.pending.done():
            # Close once the engine took them; stay open to offer the restart.
            self._close_when_applied = "db_path" not in later
        elif "db_path" not in later:
            self.accept()

    def reject(self) -> None:
        """Cancel, unless the engine is applying the settings (it takes a moment)."""
        if self.pending is not None and not self.pending.done():
            return
        super().reject()

    def request_restart(self) -> None:
        """Ask for FieldACS to restart on the new database (:attr:`restartRequested`)."""
        db = self._restart_db if self._restart_db is not None else self.values()["db_path"]
        self.accept()
        self.restartRequested.emit(str(db))

    def _show_fingerprint(self) -> None:
        digest = self._engine.tls_fingerprint
        if not digest:
            self.fingerprint.setText("(no HTTPS listener)")
            return
        text = f"{digest}\n{self._engine.tls_kind or ''}"
        ca_digest = self._engine.tls_ca_fingerprint
        if ca_digest:
            text += f"; give CPEs that CA to trust (SHA-256 {ca_digest})"
        self.fingerprint.setText(text)

    def _path_row(
        self, value: Path | None, title: str, name_filter: str
    ) -> tuple[QHBoxLayout, QLineEdit]:
        line = QLineEdit(str(value) if value is not None else "")
        line.setPlaceholderText("(FieldACS's own, from its private CA)")
        line.textChanged.connect(self.validate)
        browse = QPushButton("Choose\u2026")
        row = QHBoxLayout()
        row.addWidget(line, 1)
        row.addWidget(browse)

        def choose() -> None:
            start = line.text().strip() or str(self._engine.config.db_path.parent)
            dialog = QFileDialog(self, title, str(Path(start).parent if line.text() else start))
            dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
            dialog.setNameFilter(name_filter)
            dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dialog.fileSelected.connect(line.setText)
            dialog.open()

        browse.clicked.connect(choose)
        return row, line

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
