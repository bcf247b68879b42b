"""The Help menu: a short getting-started page, the keyboard shortcuts, the log folder and
About (with the version).

The shortcut list is read from the window's own actions (so it never disagrees with what
the keys do), plus the keys of widgets that are not actions (the SOAP viewer's find bar,
the step bar's Send).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QMainWindow,
    QMessageBox,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from acs_engine import __version__
from app import APP_NAME
from app.icons import app_icon

#: Keys handled by widgets rather than window actions: (keys, what they do).
WIDGET_KEYS: tuple[tuple[str, str], ...] = (
    ("Ctrl+T", "Step mode on or off for the device in the Live session dock"),
    ("Ctrl+Return", "Step mode: send the held RPC"),
    ("Ctrl+F", "Find in the SOAP message shown (Enter: next, Shift+Enter: previous, Esc)"),
    ("Ctrl+C", "Copy the selected ACS URL, activity lines or table cells"),
    ("Return", "Devices table: open the selected device in its own tab"),
)

GETTING_STARTED = """
<h2>Getting started</h2>
<h3>1. Find the URL to give the CPE</h3>
<p>The <b>Overview</b> tab lists one ACS URL per network address of this computer, each with
a <b>Copy</b> button (Edit &rarr; Copy ACS URL copies the first). The status bar shows it too.
Pick the address on the network the CPE is on: for a CPE on a LAN cable, the laptop's
address on that cable.</p>
<h3>2. Connect a real CPE on a LAN cable</h3>
<ol>
<li>Plug the laptop into a LAN port of the CPE (or the same switch). The laptop gets an
address from the CPE's DHCP server, or give it a fixed one in the CPE's subnet.</li>
<li>Open the CPE's web page, find the TR-069 / CWMP / Management Server settings, and enter
the ACS URL, for example <code>http://192.168.1.10:7547/</code>. Turn periodic inform on
and, if asked, set a connection-request user name and password.</li>
<li>Save. The CPE informs within a minute (or reboot it): it appears under <b>Devices</b>
and its session unfolds in the <b>Live session</b> dock.</li>
</ol>
<h3>3. Ports and the firewall</h3>
<table cellpadding="3">
<tr><td><b>7547</b> TCP, in</td><td>CWMP: the CPE talks to the ACS (all addresses)</td></tr>
<tr><td><b>7567</b> TCP, in</td><td>file server: firmware and config files for Download</td></tr>
<tr><td><b>7557</b> TCP</td><td>NBI (GenieACS-style API), this computer only</td></tr>
<tr><td>CPE's port, out</td><td>connection requests: the ACS calls the CPE's
ConnectionRequestURL (often port 7547 or 30005 on the CPE)</td></tr>
</table>
<p>The firewall must let CPEs reach TCP 7547 and 7567 on this computer. Windows asks on the
first start: allow private networks. On Linux: <code>sudo ufw allow 7547/tcp</code> and
<code>sudo ufw allow 7567/tcp</code>. Ports and addresses can be changed in File &rarr;
Settings&hellip;</p>
<h3>4. When nothing arrives</h3>
<ul>
<li>CPE logins (Ctrl+9) lists CPEs that failed to log in.</li>
<li>Recent activity shows rejected requests.</li>
<li>Help &rarr; Open log folder shows FieldACS's log file.</li>
<li>A connection request (Ctrl+R) only reaches a CPE whose ConnectionRequestURL this
computer can reach (not one behind NAT).</li>
</ul>
"""


def shortcut_rows(window: QWidget) -> list[tuple[str, str]]:
    """(keys, what) for every action of ``window`` and its children that has a shortcut,
    then :data:`WIDGET_KEYS`; one row per key, sorted by key."""
    rows: dict[str, str] = {}
    for action in window.findChildren(QAction):
        keys = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        if not keys or keys in rows:
            continue
        what = action.statusTip() or action.toolTip() or action.text()
        if not action.statusTip() and action.objectName().startswith("show"):
            what = f"Show the {action.text()} dock"  # a dock's own name
        rows[keys] = what.replace("&", "")
    for keys, what in WIDGET_KEYS:
        rows.setdefault(keys, what)
    return sorted(rows.items(), key=lambda item: (len(item[0]), item[0]))


def _page(parent: QWidget, title: str, body: str, name: str) -> QDialog:
    dialog = QDialog(parent)
    dialog.setObjectName(name)
    dialog.setWindowTitle(title)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    text = QTextBrowser()
    text.setObjectName(f"{name}Text")
    text.setOpenExternalLinks(True)
    text.setHtml(body)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
    buttons.rejected.connect(dialog.reject)
    layout = QVBoxLayout(dialog)
    layout.addWidget(text, 1)
    layout.addWidget(buttons)
    dialog.resize(620, 560)
    return dialog


class HelpMenu:
    """The window's Help menu and its pages.

    Attributes:
        menu: the menu.
        getting_started_action, shortcuts_action, log_folder_action, about_action.
        dialog: the page or box shown last (tests read it).
    """

    def __init__(
        self, window: QMainWindow, log_folder: Callable[[], Path | None]
    ) -> None:
        """Add the Help menu to ``window``; ``log_folder`` says where the log file is
        (None: no log file)."""
        self._window = window
        self.log_folder = log_folder
        self.dialog: QWidget | None = None
        menu = self.menu = window.menuBar().addMenu("&Help")
        self.getting_started_action = QAction("&Getting started", window)
        self.getting_started_action.setObjectName("gettingStartedAction")
        self.getting_started_action.setShortcut(QKeySequence(QKeySequence.StandardKey.HelpContents))
        self.getting_started_action.setStatusTip(
            "How to point a CPE at FieldACS: the URL, the cable, the ports, the firewall"
        )
        self.getting_started_action.triggered.connect(self.show_getting_started)
        self.shortcuts_action = QAction("&Keyboard shortcuts", window)
        self.shortcuts_action.setObjectName("shortcutsAction")
        self.shortcuts_action.setShortcut(QKeySequence("Ctrl+/"))
        self.shortcuts_action.setStatusTip("List the keyboard shortcuts")
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        self.log_folder_action = QAction("Open &log folder", window)
        self.log_folder_action.setObjectName("openLogFolderAction")
        self.log_folder_action.setStatusTip("Open the folder of FieldACS's log file")
        self.log_folder_action.triggered.connect(self.open_log_folder)
        self.about_action = QAction(f"&About {APP_NAME}", window)
        self.about_action.setObjectName("aboutAction")
        self.about_action.setMenuRole(QAction.MenuRole.AboutRole)
        self.about_action.triggered.connect(self.show_about)
        for action in (self.getting_started_action, self.shortcuts_action):
            menu.addAction(action)
            window.addAction(action)
        menu.addSeparator()
        menu.addAction(self.log_folder_action)
        menu.addSeparator()
        menu.addAction(self.about_action)

    def show_getting_started(self) -> QDialog:
        """Open the getting-started page (not modal)."""
        dialog = _page(self._window, "Getting started", GETTING_STARTED, "gettingStarted")
        self.dialog = dialog
        dialog.show()
        return dialog

    def show_shortcuts(self) -> QDialog:
        """Open the list of keyboard shortcuts (not modal)."""
        rows = "".join(
            f"<tr><td><b>{html.escape(keys)}</b></td><td>{html.escape(what)}</td></tr>"
            for keys, what in shortcut_rows(self._window)
        )
        body = f"<h2>Keyboard shortcuts</h2><table cellpadding='3'>{rows}</table>"
        dialog = _page(self._window, "Keyboard shortcuts", body, "shortcuts")
        self.dialog = dialog
        dialog.show()
        return dialog

    def open_log_folder(self) -> bool:
        """Open the log folder in the desktop's file manager; say so when there is none."""
        folder = self.log_folder()
        if folder is None:
            self._window.statusBar().showMessage("No log file is written (see --verbose).", 6000)
            return False
        folder.mkdir(parents=True, exist_ok=True)
        opened = QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))
        if not opened:
            self._window.statusBar().showMessage(f"Log folder: {folder}", 10000)
        return opened

    def show_about(self) -> QMessageBox:
        """The About box: name, version, what it is, where the log is (window-modal)."""
        box = QMessageBox(self._window)
        box.setObjectName("aboutBox")
        box.setWindowTitle(f"About {APP_NAME}")
        box.setIconPixmap(app_icon().pixmap(64, 64))
        box.setText(f"<b>{APP_NAME}</b> {__version__}")
        folder = self.log_folder()
        log_line = f"<br><br>Log folder: {html.escape(str(folder))}" if folder else ""
        box.setInformativeText(
            "A desktop TR-069 (CWMP) management console with the ACS built in." + log_line
        )
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.dialog = box
        box.open()  # window-modal without a nested event loop
        return box
