"""File → Connect to ACS…: attach a console window to a ``fieldacs-engine serve`` elsewhere.

:class:`ConnectDialog` asks for the engine's NBI URL and token (the URL and the name shown
to other consoles are remembered; the token only when the user ticks the box) and, for an
https:// URL, an optional CA certificate to trust (FieldACS's private CA, ``fieldacs-ca.pem``,
copied from the server; empty: the system's trust store; :func:`client_ssl`).
:func:`connect_remote` opens a :class:`~acs_engine.remote.RemoteEngine`; each failure has
its own message (:func:`remote_error_text`). :class:`RemoteStatusLabel` shows the link's
state and who holds step mode in the status bar. The same window and panels as for the
local engine then run over the remote one.
"""

from __future__ import annotations

import asyncio
import getpass
import socket
import ssl

from PySide6.QtCore import QSettings, Slot
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from acs_engine.remote import (
    CertificateRejected,
    ConnectionLost,
    RemoteEngine,
    RemoteError,
    RemoteStatus,
    StepHeldElsewhere,
    Unauthorized,
    VersionMismatch,
)
from acs_engine.server.step_claim import StepHolderChanged
from app.background import Background
from app.bridge import EngineBridge

__all__ = [
    "CaFileError", "ConnectDialog", "RemoteStatusLabel", "client_ssl", "connect_remote",
    "remote_error_text", "saved_target",
]

KEY_URL = "remote/url"
KEY_HOLDER = "remote/holder"
KEY_TOKEN = "remote/token"
KEY_CA = "remote/ca"
DEFAULT_URL = "http://127.0.0.1:7557"


def default_holder() -> str:
    """``user@host``: how other consoles see this one when it holds step mode."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "console"
    return f"{user}@{socket.gethostname()}"[:100]


def saved_target(settings: QSettings) -> tuple[str, str, str]:
    """The remembered (url, token, holder); the token is "" unless the user asked."""
    return (
        str(settings.value(KEY_URL, DEFAULT_URL) or DEFAULT_URL),
        str(settings.value(KEY_TOKEN, "") or ""),
        str(settings.value(KEY_HOLDER, "") or default_holder()),
    )


class CaFileError(RemoteError):
    """The CA certificate file given in the Connect dialog cannot be used."""


def client_ssl(url: str, ca_path: str) -> ssl.SSLContext | bool:
    """aiohttp's ``ssl`` for ``url``: a context trusting ``ca_path`` (a PEM file) for an
    https:// URL when one is given, else True (the system's trust store; plain http).

    Raises:
        CaFileError: the file cannot be read or holds no PEM certificate.
    """
    if not ca_path or not url.lower().startswith("https://"):
        return True
    try:
        return ssl.create_default_context(cafile=ca_path)
    except (OSError, ssl.SSLError, ValueError) as exc:
        raise CaFileError(f"the CA certificate {ca_path} cannot be used: {exc}") from None


def remote_error_text(exc: BaseException) -> tuple[str, str]:
    """(title, message) for a failure to reach or use a remote ACS, one per cause."""
    if isinstance(exc, CertificateRejected):
        return ("Certificate not trusted",
                f"{exc}.\n\nFor the certificate FieldACS makes itself, copy fieldacs-ca.pem "
                "from beside the ACS's database and choose it as the CA certificate; for "
                "another one, its CA's certificate.")
    if isinstance(exc, CaFileError):
        return ("CA certificate", f"{exc}.\n\nChoose the PEM file of the ACS's CA "
                "(fieldacs-ca.pem), or leave the field empty for the system's trust store.")
    if isinstance(exc, Unauthorized):
        return ("Wrong token",
                f"{exc}.\n\nCheck the NBI token of the ACS (fieldacs-engine serve "
                "--nbi-token-file) and enter it again.")
    if isinstance(exc, VersionMismatch):
        return ("Version mismatch",
                f"{exc}.\n\nThe console and the ACS must be the same FieldACS version.")
    if isinstance(exc, StepHeldElsewhere):
        who = exc.holder or "another console"
        return ("Step mode is in use", f"Step mode is held by {who}. Only one console at a "
                "time holds sessions before each RPC.")
    if isinstance(exc, ConnectionLost):
        return ("ACS unreachable",
                f"{exc}.\n\nCheck the URL and that fieldacs-engine serve runs there; "
                "the console keeps trying to reconnect.")
    return ("ACS error", str(exc) or type(exc).__name__)


class ConnectDialog(QDialog):
    """Asks for a remote ACS: its NBI URL, the token, and this console's name."""

    def __init__(self, settings: QSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Connect to ACS")
        self.setObjectName("connectDialog")
        self._settings = settings
        url, token, holder = saved_target(settings)
        self.url_edit = QLineEdit(url)
        self.url_edit.setPlaceholderText(DEFAULT_URL)
        self.token_edit = QLineEdit(token)
        self.token_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.token_edit.setPlaceholderText("the ACS's NBI token")
        self.holder_edit = QLineEdit(holder)
        self.holder_edit.setMaxLength(100)
        self.remember_token = QCheckBox("Remember the token on this computer")
        self.remember_token.setChecked(bool(token))
        self.ca_edit = QLineEdit(str(settings.value(KEY_CA, "") or ""))
        self.ca_edit.setObjectName("caCertificate")
        self.ca_edit.setPlaceholderText("empty: the system's trust store")
        self.ca_edit.setToolTip("For https://: the PEM file of the CA that issued the ACS's "
                                "certificate (fieldacs-ca.pem beside the ACS's database)")
        self.ca_browse = QPushButton("Browse…")
        self.ca_browse.clicked.connect(self._choose_ca)
        ca_row = QHBoxLayout()
        ca_row.addWidget(self.ca_edit)
        ca_row.addWidget(self.ca_browse)
        form = QFormLayout()
        form.addRow("ACS address:", self.url_edit)
        form.addRow("Token:", self.token_edit)
        form.addRow("Your name:", self.holder_edit)
        form.addRow("", self.remember_token)
        form.addRow("CA certificate:", ca_row)
        self.url_edit.textChanged.connect(self._url_changed)
        self._url_changed(self.url_edit.text())
        hint = QLabel(
            "The address of a fieldacs-engine serve NBI, e.g. http://127.0.0.1:7557, or "
            "https://acs.lan:7558 when it serves the NBI over HTTPS (--nbi-tls-port). "
            "Over a network, use https:// or an SSH tunnel."
        )
        hint.setWordWrap(True)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Connect")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(hint)
        layout.addWidget(buttons)

    @Slot(str)
    def _url_changed(self, url: str) -> None:
        secure = url.strip().lower().startswith("https://")
        self.ca_edit.setEnabled(secure)
        self.ca_browse.setEnabled(secure)

    @Slot()
    def _choose_ca(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "CA certificate", self.ca_edit.text(),
            "PEM certificates (*.pem *.crt);;All files (*)")
        if path:
            self.ca_edit.setText(path)

    def ca_path(self) -> str:
        """The CA certificate file to trust ("" for none, or for a plain http:// URL)."""
        return self.ca_edit.text().strip() if self.ca_edit.isEnabled() else ""

    def target(self) -> tuple[str, str, str]:
        """(url, token, holder) as entered."""
        return (self.url_edit.text().strip() or DEFAULT_URL, self.token_edit.text().strip(),
                self.holder_edit.text().strip() or default_holder())

    def remember(self) -> None:
        """Save the URL and name, and the token only when the box is ticked."""
        url, token, holder = self.target()
        self._settings.setValue(KEY_URL, url)
        self._settings.setValue(KEY_HOLDER, holder)
        self._settings.setValue(KEY_CA, self.ca_edit.text().strip())
        if self.remember_token.isChecked() and token:
            self._settings.setValue(KEY_TOKEN, token)
        else:
            self._settings.remove(KEY_TOKEN)
        self._settings.sync()


class RemoteStatusLabel(QLabel):
    """The status bar's word on the remote link and on who holds step mode.

    It listens to the remote engine's bus itself (its events are not the engine's, so the
    bridge does not carry them); the link runs on this (the GUI's qasync) loop.
    """

    def __init__(self, engine: RemoteEngine, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("remoteStatus")
        self.setContentsMargins(10, 0, 10, 0)
        self._engine = engine
        self._link = f"ACS {engine.url}"
        self._holder = engine.step_holder
        if engine.last_status is not None:
            self._show_status(engine.last_status)
        self._render()
        unsubscribe = engine.bus.subscribe(self._on_event, RemoteStatus, StepHolderChanged)
        self.destroyed.connect(lambda *_: unsubscribe())

    @Slot(object)
    def _on_event(self, event: object) -> None:
        if isinstance(event, RemoteStatus):
            self._show_status(event)
        elif isinstance(event, StepHolderChanged):
            self._holder = event.holder
        else:
            return
        self._render()

    def _show_status(self, status: RemoteStatus) -> None:
        self._link = {
            "connected": f"Connected to {status.url}",
            "connecting": f"Connecting to {status.url}…",
            "reconnecting": f"Connection to {status.url} lost: retrying in "
                            f"{status.retry_in:.0f} s (attempt {status.attempt})",
            "unauthorized": f"Wrong token for {status.url}",
            "certificate": f"Certificate of {status.url} not trusted",
            "version_mismatch": f"Version mismatch with {status.url}",
            "closed": f"Disconnected from {status.url}",
        }.get(status.state, status.message)
        self.setToolTip(status.message)

    def _render(self) -> None:
        text = self._link
        if self._holder:
            mine = self._holder == self._engine.holder  # the event may beat the lease
            text += " · step mode: " + ("you" if mine else self._holder)
        self.setText(text)


async def _dialog_result(dialog: QDialog) -> int:
    done: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def finished(result: int) -> None:
        if not done.done():
            done.set_result(result)

    dialog.finished.connect(finished)
    dialog.open()
    return await done


async def show_remote_error(parent: QWidget | None, exc: BaseException) -> None:
    """Show ``exc``'s own message in a window-modal box (never blocks the loop)."""
    title, text = remote_error_text(exc)
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok,
                      parent)
    box.setObjectName("remoteError")
    await _dialog_result(box)
    box.deleteLater()


async def connect_remote(
    parent: QWidget | None, settings: QSettings, *, ask: bool = True,
) -> RemoteEngine | None:
    """Ask for a remote ACS and connect to it; None when cancelled or it failed (after
    its message was shown)."""
    dialog = ConnectDialog(settings, parent)
    try:
        if ask and await _dialog_result(dialog) != QDialog.DialogCode.Accepted:
            return None
        dialog.remember()
        url, token, holder = dialog.target()
        ca_path = dialog.ca_path()
    finally:
        dialog.deleteLater()
    try:
        context = client_ssl(url, ca_path)
    except CaFileError as exc:
        await show_remote_error(parent, exc)
        return None
    remote = RemoteEngine(url, token or None, holder=holder, ssl=context)
    try:
        await remote.connect()
    except RemoteError as exc:
        await show_remote_error(parent, exc)
        return None
    return remote


class _Mismatch(VersionMismatch):
    """A version mismatch told by the link's status (its versions are in the message)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, None, 0)


class RemoteWindows:
    """The console windows attached to remote ACSs (File → Connect to ACS… opens one).

    Each has its own :class:`RemoteEngine` and bridge; closing the window closes the link.
    """

    def __init__(self, settings: QSettings) -> None:
        self._settings = settings
        self.windows: list[QWidget] = []
        #: Connect dialogs and connections being opened.
        self._opening = Background("connecting to a remote ACS")
        #: Links being closed (their windows are gone).
        self._closing = Background("closing the link to a remote ACS")

    @Slot()
    def ask(self, parent: QWidget | None = None) -> None:
        """Ask for an ACS and open a window on it (in the background)."""
        self._opening.spawn(self.open(parent))

    async def open(self, parent: QWidget | None = None, *, ask: bool = True) -> QWidget | None:
        """Connect (asking first) and show a window on the remote ACS; None if cancelled."""
        from app.window import MainWindow

        remote = await connect_remote(parent, self._settings, ask=ask)
        if remote is None:
            return None
        bridge = EngineBridge(remote.bus)
        window = MainWindow(remote, bridge, self._settings)
        bridge.setParent(window)
        window.setWindowTitle(f"{window.windowTitle()} — {remote.url}")
        window.statusBar().addPermanentWidget(RemoteStatusLabel(remote, window))
        window.set_acs_urls(remote.cwmp_urls(), remote.tls_fingerprint, remote.tls_kind)
        self.windows.append(window)

        def closed() -> None:
            if window in self.windows:
                self.windows.remove(window)
            bridge.detach()
            self._closing.spawn(remote.close())

        def stopped(status: RemoteStatus) -> None:
            # The link gave up (the token was changed, the ACS upgraded): say why, once.
            cause = {"unauthorized": Unauthorized, "version_mismatch": _Mismatch}.get(
                status.state)
            if cause is not None and window in self.windows:
                self._opening.spawn(show_remote_error(window, cause(status.message)))

        unsubscribe = remote.bus.subscribe(stopped, RemoteStatus)
        window.destroyed.connect(lambda *_: unsubscribe())
        window.closed.connect(unsubscribe)
        window.closed.connect(closed)
        window.show()
        return window

    async def close_all(self) -> None:
        """Close every remote window and wait until their links are closed (at exit)."""
        self._opening.cancel()  # a Connect dialog still open, a connection being made
        await self._opening.join()
        for window in list(self.windows):
            window.close()
        await self._closing.join()
