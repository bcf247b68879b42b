"""Staged values a preset would set back: found before Commit, explained after it.

A value a technician stages can be one a preset manages: the seeded ``inform`` preset sets
PeriodicInformInterval to 300 in every session that runs it, so a committed 600 is set,
then set back to 300 in the same session. :class:`PresetGuard` asks the engine
(:func:`~acs_engine.policy.dryrun.presets_that_set`, a dry run of the device's next
session on a copy that already has the staged values) which matched preset and provision
would do that, marks the staged entry, and :class:`PresetNotice` tells the user, with the
two ways out: change the preset, or leave it. After the session, the staged entry's status
says "Set, then overwritten by preset X" instead of "Set" (see
:meth:`app.staging.CommandSender`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from acs_engine.admin.commands import SetValue
from acs_engine.console_api import ConsoleEngine, console_engine
from acs_engine.policy.dryrun import DryRunError
from acs_engine.policy.presets import PresetSetting
from acs_engine.store.model import Param
from app.staging import DONE, STAGED, StagedChanges, StagedEntry

log = logging.getLogger("fieldacs.app")

#: Wait this long after the last staged change before asking the engine.
CHECK_DELAY_MS = 400


class PresetGuard(QObject):
    """Checks one device's staged values against its presets, in the background.

    Signals:
        checked(): a check finished (the entries' ``managed_by`` are up to date).
    """

    checked = Signal()

    def __init__(
        self, engine: ConsoleEngine, device_id: str, changes: StagedChanges,
        param: Any, parent: QObject | None = None,
    ) -> None:
        """Args:
        engine: the engine (store, config, sandbox).
        device_id: the device.
        changes: its review list.
        param: the device's stored parameter at a path, or None (for value types).
        parent: the owning object.
        """
        super().__init__(parent)
        self._engine = console_engine(engine)
        self._device_id = device_id
        self._changes = changes
        self._param = param
        self._known: dict[tuple[str, str], PresetSetting | None] = {}
        self._task: asyncio.Task[None] | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(CHECK_DELAY_MS)
        self._timer.timeout.connect(self.check)
        changes.changed.connect(self._timer.start)

    def pending(self) -> bool:
        """A check is due or running."""
        return self._timer.isActive() or (self._task is not None and not self._task.done())

    def shutdown(self) -> None:
        """Stop checking (the view closes)."""
        self._timer.stop()
        if self._task is not None:
            self._task.cancel()

    def check(self) -> None:
        """Check the staged values now (those not checked yet)."""
        self._timer.stop()
        if self._task is not None and not self._task.done():
            self._timer.start()  # once more after this one
            return
        self._task = asyncio.ensure_future(self._check())

    async def _check(self) -> None:
        staged = [e for e in self._changes.entries()
                  if e.state == STAGED and isinstance(e.command, SetValue)]
        missing = {
            e.command.path: (e.command.value, self._type_of(e.command))
            for e in staged if isinstance(e.command, SetValue)
            and (e.command.path, e.command.value) not in self._known
        }
        acs = self._engine
        if missing and acs.running and acs.provisioning_enabled:
            try:
                found = await acs.presets_that_set(self._device_id, missing)
            except DryRunError as exc:
                log.info("device %s: presets not checked: %s", self._device_id, exc)
                found = []
            by_path = {s.path: s for s in found}
            for path, (value, _type) in missing.items():
                self._known[(path, value)] = by_path.get(path)
        for entry in staged:
            if isinstance(entry.command, SetValue):
                self._changes.set_managed(
                    entry, self._known.get((entry.command.path, entry.command.value))
                )
        self.checked.emit()

    def _type_of(self, command: SetValue) -> str | None:
        if command.type:
            return command.type
        param: Param | None = self._param(command.path)
        return param.type if param is not None else None


class PresetNotice(QFrame):
    """The bar that says which preset manages a staged or set value, with the choices.

    Signals:
        changePreset(str): "Change the preset…" was clicked (the preset's id).
    """

    changePreset = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        """A hidden bar; :meth:`show_for` fills and shows it."""
        super().__init__(parent)
        self.setObjectName("presetNotice")
        self.setStyleSheet(
            "#presetNotice { background: #fffbeb; border: 1px solid #fde68a; border-radius: 4px; }"
            " QLabel { color: #92400e; }"
        )
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.change_button = QPushButton("Change the preset…")
        self.change_button.setObjectName("changePreset")
        self.change_button.clicked.connect(self._change)
        self.leave_button = QPushButton("Leave it")
        self.leave_button.setObjectName("leavePreset")
        self.leave_button.setToolTip("Keep the preset as it is (the value will be set back)")
        self.leave_button.clicked.connect(self._leave)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 6, 8, 6)
        row.addWidget(self.text, 1)
        row.addWidget(self.change_button)
        row.addWidget(self.leave_button)
        self._preset = ""
        self._dismissed: set[tuple[str, str, bool]] = set()
        self.hide()

    def show_for(self, entries: list[StagedEntry]) -> None:
        """Tell about the first entry a preset manages (staged, or set and overwritten)."""
        for entry in entries:
            setting = entry.managed_by
            if setting is None or not isinstance(entry.command, SetValue):
                continue
            after = entry.state == DONE
            key = (setting.path, entry.command.value, after)
            if key in self._dismissed or (entry.state not in (STAGED, DONE)):
                continue
            if after and not entry.overwritten:
                continue
            self._preset = setting.preset
            if after:
                words = (f"{setting.path} was set to {entry.command.value}, then "
                         f"preset {setting.preset} (provision {setting.provision}) set it back "
                         f"to {setting.value}: it manages this parameter.")
            else:
                words = f"{setting.path} = {entry.command.value}: {setting.words}."
            self.text.setText(words)
            self.setProperty("key", key)
            self.show()
            return
        self.hide()

    def _change(self) -> None:
        self.changePreset.emit(self._preset)

    def _leave(self) -> None:
        key = self.property("key")
        if key is not None:
            self._dismissed.add(tuple(key))
        self.hide()
