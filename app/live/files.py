"""Session files in the live session panel: save the shown session, open a file, export HAR.

:class:`SessionFiles` owns the panel's "File" menu button and the sessions opened from files.
An opened file shows as a session of its device (or of "(file)" when it names none) labelled
"from file", with the same timeline, SOAP viewer and state machine as a live one; the
state machine's path is derived from the messages (:func:`acs_engine.inspect.sources.
derive_states`). Reading and writing run in a worker thread: the GUI never waits on a disk.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QFileDialog, QMenu, QMessageBox, QToolButton, QWidget

from acs_engine.inspect import bundle as bundle_io
from acs_engine.inspect import har, sessionfile
from acs_engine.inspect.capture import CaptureError, CaptureImport, import_capture
from acs_engine.inspect.sessionfile import Message, SessionFile, SessionFileError
from acs_engine.inspect.sources import StateStep, derive_states
from app.background import Background
from app.live.bundle_dialog import BundleDialog
from app.live.replay_dialog import ReplayDialog, open_replay
from app.live.timeline import Exchange

log = logging.getLogger("fieldacs.app.live.files")

#: Session ids of opened files start with this.
FILE_PREFIX = "file:"
#: The device shown for a file that names none (a capture of an unknown CPE).
NO_DEVICE = "(file)"
FILTER = "FieldACS session (*.fieldacs-session.json *.json);;All files (*)"
HAR_FILTER = "HAR (*.har);;All files (*)"
CAPTURE_FILTER = "Captures (*.pcap *.pcapng *.cap);;All files (*)"


@dataclass(slots=True)
class OpenedFile:
    """A session opened from a file: the file, what it holds, the path its states take."""

    key: str
    path: Path
    session: SessionFile
    steps: list[StateStep]
    suffix: str = ""

    @property
    def device_id(self) -> str:
        """The device it is shown under."""
        return self.session.device_id or NO_DEVICE

    def exchanges(self) -> list[Exchange]:
        """Its messages as timeline rows (fresh objects: the timeline annotates them)."""
        return [Exchange(m.at, m.direction, m.rpc, m.cwmp_id, m.status, m.headers, m.body)
                for m in self.session.messages]

    def label(self) -> str:
        """The session picker's line."""
        return f"from file: {self.path.name}{self.suffix}"


def messages_of(exchanges: list[Exchange]) -> tuple[Message, ...]:
    """Timeline rows as session-file messages."""
    return tuple(Message(e.at, e.direction, e.rpc, e.cwmp_id, e.status, e.headers, e.body)
                 for e in exchanges)


class SessionFiles(QObject):
    """The "File" button of the live session panel and the sessions opened from files.

    Signals:
        opened(str): a file was opened (its session key, ``file:<n>``).
        imported(str): a capture was imported (what it held, and what could not be read).
        saved(str): the shown session was written (the path).
        failed(str): opening or saving failed (what to tell the user).
    """

    opened = Signal(str)
    saved = Signal(str)
    failed = Signal(str)
    imported = Signal(str)

    def __init__(
        self, parent: QWidget, current: Callable[[], Coroutine[Any, Any, SessionFile | None]],
        database: Callable[[], Path | None] | None = None,
        bundle_source: Callable[[], Coroutine[Any, Any, BundleDialog | None]] | None = None,
    ) -> None:
        """Build the menu.

        Args:
            parent: the panel (dialogs are its children).
            current: returns the shown session as a session file (unmasked), or None.
        """
        super().__init__(parent)
        self._parent = parent
        self._current = current
        self._database = database
        self._bundle_source = bundle_source
        self.bundle_dialog: BundleDialog | None = None
        self.replay_dialog: ReplayDialog | None = None
        self._opened: dict[str, OpenedFile] = {}
        self._count = 0
        self._tasks = Background("session files")
        self.open_action = QAction("Open session file…", self)
        self.open_action.setToolTip("Open a saved session (or an imported capture) to inspect it")
        self.open_action.triggered.connect(self._ask_open)
        self.capture_action = QAction("Open capture (pcap)…", self)
        self.capture_action.setToolTip(
            "Read the CWMP sessions of a pcap/pcapng capture (plain HTTP only: HTTPS cannot "
            "be decrypted)")
        self.capture_action.triggered.connect(self._ask_capture)
        self.save_action = QAction("Save session…", self)
        self.save_action.setToolTip("Save the shown session as one file, secrets masked")
        self.save_action.triggered.connect(lambda: self._ask_save(secrets=False, as_har=False))
        self.save_secrets_action = QAction("Save session with secrets…", self)
        self.save_secrets_action.setToolTip("Save the shown session with passwords and keys")
        self.save_secrets_action.triggered.connect(
            lambda: self._ask_save(secrets=True, as_har=False))
        self.replay_action = QAction("Replay against this database…", self)
        self.replay_action.setToolTip(
            "Send the CPE's recorded messages to a throw-away engine on a copy of the "
            "database and show where its RPCs differ from the recording")
        self.replay_action.triggered.connect(lambda: self._spawn(self.replay()))
        self.bundle_action = QAction("Escalation bundle…", self)
        self.bundle_action.setToolTip("One zip for the vendor: sessions, tree, lint, faults, "
                                      "settings (no secrets) and your notes")
        self.bundle_action.triggered.connect(lambda: self._spawn(self.make_bundle()))
        self.open_bundle_action = QAction("Open bundle…", self)
        self.open_bundle_action.triggered.connect(self._ask_open_bundle)
        self.har_action = QAction("Export HAR…", self)
        self.har_action.setToolTip("Save the shown session as HAR 1.2 (browser dev tools)")
        self.har_action.triggered.connect(lambda: self._ask_save(secrets=False, as_har=True))
        menu = QMenu(parent)
        for action in (self.open_action, self.capture_action, self.open_bundle_action,
                       self.save_action, self.save_secrets_action, self.har_action,
                       self.replay_action, self.bundle_action):
            menu.addAction(action)
        self.menu = menu
        self.button = QToolButton(parent)
        self.button.setObjectName("sessionFileButton")
        self.button.setText("File")
        self.button.setToolTip("Open or save session files, export HAR")
        self.button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.button.setMenu(menu)
        self.set_can_save(False)
        self.failed.connect(lambda text: self._tell(text, QMessageBox.Icon.Warning))
        self.imported.connect(lambda text: self._tell(text, QMessageBox.Icon.Information))
        self.last_message = ""

    def _tell(self, text: str, icon: QMessageBox.Icon) -> None:
        """Say ``text`` in a box that does not block the loop (``open()``, not ``exec()``)."""
        self.last_message = text
        box = QMessageBox(icon, "Session files", text, QMessageBox.StandardButton.Ok,
                          self._parent)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
        self.message_box = box

    # ------------------------------------------------------------------ state
    def set_can_save(self, on: bool) -> None:
        """Enable the save actions (a session is shown)."""
        for action in (self.save_action, self.save_secrets_action, self.har_action,
                       self.replay_action):
            action.setEnabled(on)

    def get(self, key: str) -> OpenedFile | None:
        """The opened file with session key ``key``."""
        return self._opened.get(key)

    def of_device(self, device_id: str) -> list[OpenedFile]:
        """The files opened under ``device_id``."""
        return [f for f in self._opened.values() if f.device_id == device_id]

    def pending_tasks(self) -> int:
        """Reads and writes still running (tests wait for 0)."""
        return len(self._tasks)

    # ------------------------------------------------------------------ opening
    def add(self, path: Path, session: SessionFile) -> OpenedFile:
        """Remember ``session`` (read from ``path``) and announce it."""
        self._count += 1
        key = f"{FILE_PREFIX}{self._count}"
        opened = OpenedFile(key, path, session, derive_states(session.messages))
        self._opened[key] = opened
        self.opened.emit(key)
        return opened

    async def open_path(self, path: Path) -> OpenedFile | None:
        """Read ``path`` in a worker thread and open it; None (and ``failed``) on error."""
        try:
            session = await asyncio.to_thread(sessionfile.load, path)
        except (OSError, SessionFileError) as exc:
            self.failed.emit(f"Cannot open {path.name}: {exc}")
            return None
        return self.add(path, session)

    async def import_path(self, path: Path) -> CaptureImport | None:
        """Import the capture at ``path`` in a worker thread; open each of its sessions
        (labelled ``NAME #n``); None (and ``failed``) when it cannot be read."""
        try:
            result = await asyncio.to_thread(import_capture, path)
        except (OSError, CaptureError) as exc:
            self.failed.emit(f"Cannot read {path.name}: {exc}")
            return None
        last = ""
        for n, session in enumerate(result.sessions, 1):
            self._count += 1
            key = f"{FILE_PREFIX}{self._count}"
            opened = OpenedFile(key, path, session, derive_states(session.messages),
                                suffix=f" #{n}")
            self._opened[key] = opened
            last = key
        summary = (f"{path.name}: {len(result.sessions)} CWMP session(s) in "
                   f"{result.connections:,} TCP connection(s)")
        self.imported.emit("\n".join([summary, *result.notes]))
        if last:
            self.opened.emit(last)
        return result

    async def save_path(self, path: Path, *, secrets: bool, as_har: bool) -> bool:
        """Write the shown session to ``path``; False (and ``failed``) when none or on error."""
        session = await self._current()
        if session is None:
            self.failed.emit("No session is shown (or its messages are still loading)")
            return False

        def write() -> None:
            if as_har:
                path.write_bytes(har.dumps_har(session, include_secrets=secrets))
            else:
                sessionfile.save(path, session, include_secrets=secrets)

        try:
            await asyncio.to_thread(write)
        except OSError as exc:
            self.failed.emit(f"Cannot write {path.name}: {exc}")
            return False
        self.saved.emit(str(path))
        return True

    async def replay(self) -> ReplayDialog | None:
        """Replay the shown session against a copy of the database, in a dialog."""
        session = await self._current()
        if session is None:
            self.failed.emit("No session is shown (or its messages are still loading)")
            return None
        database = self._database() if self._database is not None else None
        self.replay_dialog = open_replay(session, database, self._parent)
        return self.replay_dialog

    async def make_bundle(self) -> BundleDialog | None:
        """Open the escalation bundle dialog for the shown device."""
        if self._bundle_source is None:
            return None
        dialog = await self._bundle_source()
        if dialog is None:
            self.failed.emit("Choose a device with stored sessions first")
            return None
        self.bundle_dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        dialog.replan()
        return dialog

    async def open_bundle(self, path: Path) -> BundleDialog | None:
        """Read a bundle (worker thread), open its sessions and show what it holds."""
        try:
            made = await asyncio.to_thread(bundle_io.read, path)
        except (OSError, bundle_io.BundleError) as exc:
            self.failed.emit(f"Cannot open {path.name}: {exc}")
            return None
        last = ""
        for n, session in enumerate(made.sessions, 1):
            self._count += 1
            key = f"{FILE_PREFIX}{self._count}"
            self._opened[key] = OpenedFile(key, path, session, derive_states(session.messages),
                                           suffix=f" #{n}")
            last = key
        if last:
            self.opened.emit(last)
        dialog = BundleDialog.opened(made, self._parent)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.show()
        self.bundle_dialog = dialog
        return dialog

    def _ask_open_bundle(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self._parent, "Open escalation bundle", "",
                                              "Zip (*.zip);;All files (*)")
        if name:
            self._spawn(self.open_bundle(Path(name)))

    # ------------------------------------------------------------------ dialogs
    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        self._tasks.spawn(coro)

    def _ask_open(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self._parent, "Open session file", "", FILTER)
        if name:
            self._spawn(self.open_path(Path(name)))

    def _ask_capture(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self._parent, "Open capture", "", CAPTURE_FILTER)
        if name:
            self._spawn(self.import_path(Path(name)))

    def _ask_save(self, *, secrets: bool, as_har: bool) -> None:
        if secrets:
            answer = QMessageBox.warning(
                self._parent, "Save with secrets",
                "The file will hold passwords, keys and credentials in clear text. "
                "Anyone who gets the file can read them.\n\nSave with secrets?",
                QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Cancel,
                QMessageBox.StandardButton.Cancel,
            )
            if answer != QMessageBox.StandardButton.Save:
                return
        title = "Export HAR" if as_har else "Save session"
        suffix = ".har" if as_har else ".fieldacs-session.json"
        name, _ = QFileDialog.getSaveFileName(
            self._parent, title, f"session{suffix}", HAR_FILTER if as_har else FILTER)
        if name:
            self._spawn(self.save_path(Path(name), secrets=secrets, as_har=as_har))
