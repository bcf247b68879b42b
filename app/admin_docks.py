"""The "Presets", "Scripts" and "Faults" docks and the Settings dialog, with their actions.

Kept apart from :mod:`app.window` so the window only places it (like
:class:`~app.live.docks.LiveDocks`): three docks at the bottom, tabbed with each other, View
menu entries and shortcuts Ctrl+6 (Presets), Ctrl+7 (Scripts), Ctrl+8 (Faults), and
"Settings…" (Ctrl+Alt+S) in the File menu. The panels read the store once the engine listens
(:meth:`AdminDocks.start`), each when its dock is first shown, and follow the console's selected device for dry runs and verdicts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QSettings, Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu, QWidget

from acs_engine.console_api import ConsoleEngine, console_engine
from app.dockutil import make_dock
from app.faults_panel import FaultsPanel
from app.presets_panel import PresetsPanel
from app.script_editor import ScriptEditor
from app.settings_dialog import SettingsDialog


class AdminDocks(QObject):
    """Presets, scripts and faults as docks of ``window``, and the settings dialog.

    Attributes:
        presets, scripts, faults: the panels.
        presets_dock, scripts_dock, faults_dock: their docks (object names
            ``presetsDock``, ``scriptsDock``, ``faultsDock``).
        settings_action: opens the settings dialog.

    Signals:
        restartRequested(str): the settings dialog asked for FieldACS to restart on this
            database path.
    """

    restartRequested = Signal(str)

    def __init__(
        self,
        window: QMainWindow,
        engine: ConsoleEngine,
        bridge: Any,
        view_menu: QMenu | None = None,
        file_menu: QMenu | None = None,
        selected_device: Callable[[], str] | None = None,
        settings: QSettings | None = None,
    ) -> None:
        """Build the docks into ``window`` (call before the window restores its layout).

        Args:
            window: the main window.
            engine: the engine.
            bridge: the engine's events as signals.
            view_menu: where the docks' entries go.
            file_menu: where "Settings…" goes (before its last entry, Quit).
            selected_device: the console's selected device ("" for none).
            settings: where engine settings are saved (default: the application's).
        """
        super().__init__(window)
        self._window = window
        self._engine = console_engine(engine)
        self._selected = selected_device or (lambda: "")
        self._settings = settings
        self.presets = PresetsPanel(engine, bridge)
        self.scripts = ScriptEditor(engine)
        self.faults = FaultsPanel(engine, bridge)
        # A provision saved or deleted in Scripts is offered (or not) by the preset editor.
        self.scripts.saved.connect(lambda _kind, _name: self.presets.refresh())
        self.scripts.deleted.connect(lambda _kind, _name: self.presets.refresh())
        self.presets_dock = make_dock(window, "Presets", "presetsDock", self.presets)
        self.scripts_dock = make_dock(window, "Scripts", "scriptsDock", self.scripts)
        self.faults_dock = make_dock(window, "Faults", "faultsDock", self.faults)
        area = Qt.DockWidgetArea.BottomDockWidgetArea
        for dock in (self.presets_dock, self.scripts_dock, self.faults_dock):
            window.addDockWidget(area, dock)
        window.tabifyDockWidget(self.presets_dock, self.scripts_dock)
        window.tabifyDockWidget(self.scripts_dock, self.faults_dock)
        self._started = False
        self._loaded: set[QDockWidget] = set()
        for dock in (self.presets_dock, self.scripts_dock, self.faults_dock):
            dock.hide()  # shown on demand; a remembered layout may show them
            dock.visibilityChanged.connect(
                lambda visible, d=dock: self._on_visibility(d, visible)
            )
        self.actions: list[QAction] = []
        for title, name, key, dock, focus in (
            ("Presets", "showPresetsAction", "Ctrl+6", self.presets_dock, self.presets.table),
            ("Scripts", "showScriptsAction", "Ctrl+7", self.scripts_dock, self.scripts.editor),
            ("Faults", "showFaultsAction", "Ctrl+8", self.faults_dock, self.faults.table),
        ):
            action = QAction(title, window)
            action.setObjectName(name)
            action.setShortcut(QKeySequence(key))
            action.triggered.connect(
                lambda _checked=False, d=dock, w=focus: self.focus(d, w)
            )
            window.addAction(action)
            self.actions.append(action)
        self.settings_action = QAction("&Settings…", window)
        self.settings_action.setObjectName("settingsAction")
        self.settings_action.setShortcut(QKeySequence("Ctrl+Alt+S"))
        self.settings_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.settings_action.triggered.connect(self.open_settings)
        window.addAction(self.settings_action)
        if view_menu is not None:
            view_menu.addSeparator()
            for dock in (self.presets_dock, self.scripts_dock, self.faults_dock):
                view_menu.addAction(dock.toggleViewAction())
            for action in self.actions:
                view_menu.addAction(action)
        if file_menu is not None:
            existing = file_menu.actions()
            if existing:
                file_menu.insertAction(existing[-1], self.settings_action)
                file_menu.insertSeparator(existing[-1])
            else:
                file_menu.addAction(self.settings_action)
                file_menu.addSeparator()

    def focus(self, dock: QDockWidget, widget: QWidget) -> None:
        """Show and raise ``dock``, pass it the selected device and focus ``widget``."""
        device = self._selected()
        if device:
            self.presets.set_device(device)
            self.scripts.set_device(device)
        dock.show()
        dock.raise_()
        widget.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def edit_preset(self, preset_id: str) -> None:
        """Show the Presets dock with ``preset_id`` selected and its editor open."""
        self.focus(self.presets_dock, self.presets.table)
        self.presets.edit_preset(preset_id)

    def open_settings(self) -> SettingsDialog:
        """Open the settings dialog (window-modal, no nested event loop)."""
        dialog = SettingsDialog(self._engine, self._settings, self._window)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        # The window's ACS URLs follow the engine's "Settings applied" notice (MainWindow).
        dialog.restartRequested.connect(self.restartRequested)
        dialog.open()
        return dialog

    def start(self) -> None:
        """The engine listens: each panel reads the store when its dock is first shown."""
        self._started = True
        for dock in (self.presets_dock, self.scripts_dock, self.faults_dock):
            if dock.isVisible():
                self._load(dock)

    def _on_visibility(self, dock: QDockWidget, visible: bool) -> None:
        if visible and self._started and dock not in self._loaded:
            self._load(dock)

    def _load(self, dock: QDockWidget) -> None:
        self._loaded.add(dock)
        if dock is self.presets_dock:
            self.presets.refresh()
        elif dock is self.scripts_dock:
            self.scripts.reload()
        else:
            self.faults.refresh()

    def shutdown(self) -> None:
        """Stop timers and store work (the engine is about to stop)."""
        for panel in (self.presets, self.scripts, self.faults):
            panel.shutdown()
