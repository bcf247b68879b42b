"""Scripts and presets together, as a technician uses them (issue 18, bug 6): a provision
saved in Scripts is offered by Presets → Add…, unsaved edits are not dropped silently, and
Save says what it did. A real engine on 127.0.0.1 with its SQLite file in tmp_path."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QComboBox, QMessageBox

from app.bridge import EngineBridge
from app.window import MainWindow
from tests.gui.aio import wait_until
from tests.helpers.engine import running_engine

SCRIPT = 'declare("Device.DeviceInfo.ProvisioningCode", {value: 1}, {value: "lab"});\n'


async def test_saved_provision_offered_unsaved_edits_kept_save_reported(
    tmp_path: Path, qtbot, settings: QSettings
) -> None:
    async with running_engine(tmp_path, provisioning=True) as engine:
        bridge = EngineBridge(engine.bus)
        window = MainWindow(engine, bridge, settings)
        bridge.setParent(window)
        qtbot.addWidget(window)
        window.resize(1280, 800)
        window.set_acs_urls(engine.cwmp_urls())
        window.show()
        admin = window.admin
        assert admin is not None
        presets, scripts = admin.presets, admin.scripts
        # The Presets dock is read first (as when the user opened it before Scripts).
        presets.refresh()
        await wait_until(lambda: presets.pending() == 0 and presets.model.rowCount() == 3)
        scripts.reload()
        await wait_until(lambda: scripts.list.count() == 3 and scripts.pending() == 0)

        # A new provision, saved: Save says so, and it stays said.
        scripts.new_script()
        scripts.name_edit.setText("labcode")
        scripts.editor.setPlainText(SCRIPT)
        assert scripts.saved_label.text() == "● Unsaved changes"
        assert scripts.save()
        await wait_until(lambda: scripts.pending() == 0 and "Saved labcode" in
                         scripts.saved_label.text(), what="save feedback")
        assert not scripts.editor.document().isModified()

        # Presets → Add…: the drop-down lists it, without "Not stored (yet)".
        await wait_until(lambda: presets.pending() == 0)
        editor = presets.add()
        assert "labcode" in editor.provision_names()
        editor.add_provision("labcode", [])
        row = editor.provisions_table.rowCount() - 1
        combo = editor.provisions_table.cellWidget(row, 0)
        assert isinstance(combo, QComboBox) and combo.findText("labcode") >= 0
        assert "Not stored" not in editor.provisions_label.text()
        editor.reject()

        # An edit, then another script picked: the user is asked; Cancel keeps the edit.
        scripts.editor.appendPlainText("// more")
        assert scripts.editor.document().isModified()
        other = scripts.list.findItems("inform", Qt.MatchFlag.MatchExactly)[0]
        scripts.list.setCurrentItem(other)
        box = scripts.unsaved_box
        assert box is not None and box.isVisible()
        box.done(QMessageBox.StandardButton.Cancel)
        assert scripts.name_edit.text() == "labcode"
        assert scripts.editor.toPlainText().endswith("// more")
        assert scripts.list.currentItem().text() == "labcode"
        # Discard: the other script opens and the edit is gone.
        scripts.list.setCurrentItem(other)
        box = scripts.unsaved_box
        assert box is not None
        box.done(QMessageBox.StandardButton.Discard)
        assert scripts.name_edit.text() == "inform"
        assert scripts.list.currentItem().text() == "inform"
        stored = await engine.store.get_provision("labcode")  # type: ignore[union-attr]
        assert stored is not None and not stored.script.endswith("// more")
        # Save first: the edit is stored, then the other script opens.
        scripts.editor.appendPlainText("// kept")
        labcode = scripts.list.findItems("labcode", Qt.MatchFlag.MatchExactly)[0]
        scripts.list.setCurrentItem(labcode)
        box = scripts.unsaved_box
        assert box is not None
        box.done(QMessageBox.StandardButton.Save)
        await wait_until(lambda: scripts.pending() == 0 and scripts.name_edit.text() == "labcode",
                         what="saved, then switched")
        stored = await engine.store.get_provision("inform")  # type: ignore[union-attr]
        assert stored is not None and stored.script.endswith("// kept")
        window.close()

