"""The presets panel and editor against the real engine and a simulated CPE."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QDialogButtonBox

from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.store.deviceid import make_device_id
from acs_engine.store.records import Preset
from app.preset_editor import ABSENT, PRESENT, PresetEditor, parse_arguments
from app.presets_panel import PresetsPanel, PresetTableModel
from tests.gui.aio import wait_until
from tests.helpers.engine import running_engine


def test_editor_validates_precondition_events_schedule_and_arguments(qapp) -> None:
    editor = PresetEditor(None, ["mine"])
    save = editor.buttons.button(QDialogButtonBox.StandardButton.Save)
    editor.id_edit.setText("lab")
    assert save.isEnabled()
    text = 'DeviceID.ProductClass = "HG" AND )'
    editor.precondition_edit.setPlainText(text)
    assert not save.isEnabled()
    assert "precondition" in editor.problems
    assert editor.precondition_label.text().startswith(f"✘ At character {text.index(')') + 1}")
    assert editor.error_span() == (text.index(")"), text.index(")") + 1)
    editor.precondition_edit.setPlainText('DeviceID.ProductClass = "HG" AND Tags.lab IS NULL')
    assert save.isEnabled() and editor.error_span() is None
    assert editor.precondition_label.text() == "✔ Valid."

    editor.schedule_box.setChecked(True)
    editor.cron_edit.setText("61 * * * *")
    assert "schedule" in editor.problems and not save.isEnabled()
    editor.cron_edit.setText("*/5 * * * *")
    editor.duration_spin.setValue(120)
    assert "schedule" not in editor.problems

    editor.set_event("1 BOOT", PRESENT)
    editor.set_event("0_BOOTSTRAP", ABSENT)
    editor.add_provision("value", ["Device.X", 1])
    editor.add_provision("mine", [])
    item = editor.provisions_table.item(1, 1)
    item.setText('"unclosed')
    assert "provisions" in editor.problems
    item.setText('["PARAM", "DeviceID.ID"], true')
    preset = editor.preset()
    assert preset == Preset(
        id="lab", weight=0, channel="default",
        events={"0 BOOTSTRAP": False, "1 BOOT": True}, schedule="120 */5 * * * *",
        precondition='DeviceID.ProductClass = "HG" AND Tags.lab IS NULL',
        provisions=[["value", "Device.X", 1], ["mine", ["PARAM", "DeviceID.ID"], True]],
    )
    assert parse_arguments("word") == ["word"]
    editor.deleteLater()


async def test_panel_saves_edits_dry_runs_and_explains_verdicts(
    tmp_path: Path, qtbot, qtmodeltester
) -> None:
    async with running_engine(tmp_path, provisioning=True) as engine:
        store = engine.store
        assert store is not None
        base = load_model("tr181")
        assert (await SimCpe(SimDevice(base, "PRE00001"), engine.cwmp_urls()[-1]).session()).ok
        dev_id = make_device_id(base.oui, base.product_class, "PRE00001")
        panel = PresetsPanel(engine)
        qtbot.addWidget(panel)
        reloads: list[None] = []
        panel.reloaded.connect(lambda: reloads.append(None))
        panel.set_device(dev_id)
        panel.refresh()
        await wait_until(lambda: reloads and panel.pending() == 0, what="the presets")
        qtmodeltester.check(panel.model)
        seeded = panel.model.rowCount()
        assert seeded >= 1
        # Why did the seeded presets match in the bootstrap session?
        assert panel.verdicts.rowCount() == seeded
        reasons = [panel.verdicts.item(r, 2).text() for r in range(seeded)]
        assert any(r == "matched" for r in reasons)

        editor = panel.add()
        editor.id_edit.setText("ssid")
        editor.precondition_edit.setPlainText('DeviceID.SerialNumber = "PRE00001"')
        editor.add_provision("value", ["Device.DeviceInfo.ProvisioningCode", "P1"])
        saved: list[str] = []
        panel.saved.connect(saved.append)
        editor.accept()
        await wait_until(lambda: saved and panel.pending() == 0, what="the save")
        stored = await store.get_preset("ssid")
        assert stored is not None
        assert stored.provisions == [["value", "Device.DeviceInfo.ProvisioningCode", "P1"]]
        assert panel.model.rowCount() == seeded + 1
        assert panel.selected() is not None and panel.selected().id == "ssid"  # type: ignore[union-attr]

        dialog = panel.dry_run_selected()
        assert dialog is not None
        results: list[object] = []
        dialog.finished_run.connect(results.append)
        dialog.run()
        await wait_until(lambda: results, timeout=15, what="the dry run")
        assert dialog.result is not None
        assert dialog.result.methods[-1] == "SetParameterValues"
        assert [v.matched for v in dialog.result.verdicts] == [True]
        dialog.close()

        # Rename through the editor: the old name goes.
        editor = panel.edit_selected()
        assert editor is not None
        editor.id_edit.setText("ssid2")
        editor.accept()
        await wait_until(lambda: "ssid2" in saved and panel.pending() == 0)
        assert await store.get_preset("ssid") is None
        panel.delete("ssid2")
        await wait_until(lambda: panel.pending() == 0 and panel.model.row_of("ssid2") < 0)
        panel.shutdown()


async def test_panel_shows_stored_verdicts_after_a_restart(tmp_path: Path, qtbot) -> None:
    base = load_model("tr181")
    dev_id = make_device_id(base.oui, base.product_class, "PRE00002")
    async with running_engine(tmp_path, provisioning=True) as engine:
        assert (await SimCpe(SimDevice(base, "PRE00002"), engine.cwmp_urls()[-1]).session()).ok
        assert engine.store is not None
        stored = await engine.store.last_verdicts(dev_id)
        assert stored is not None and stored.verdicts
    # A new engine (provisioning off, so no session could have judged anything): the panel
    # reads the verdicts the last session stored.
    async with running_engine(tmp_path, provisioning=False) as engine:
        panel = PresetsPanel(engine)
        qtbot.addWidget(panel)
        reloads: list[None] = []
        panel.reloaded.connect(lambda: reloads.append(None))
        panel.set_device(dev_id)
        panel.refresh()
        await wait_until(lambda: reloads and panel.pending() == 0, what="the verdicts")
        assert panel.verdicts.rowCount() == len(stored.verdicts)
        shown = [
            (panel.verdicts.item(r, 0).text(), panel.verdicts.item(r, 2).text())
            for r in range(panel.verdicts.rowCount())
        ]
        assert shown == [(f"{v.preset} [{v.channel}]", v.reason) for v in stored.verdicts]
        matched = sum(v.matched for v in stored.verdicts)
        assert panel.verdict_note.text().startswith(
            f"{matched} of {len(stored.verdicts)} applied in the session of "
        )
        assert stored.session_id in panel.verdict_note.toolTip()
        # A device with no stored verdicts: the table empties, read in the background too.
        panel.device_combo.setCurrentText("no-such-device")
        await wait_until(lambda: panel.pending() == 0 and panel.verdicts.rowCount() == 0)
        assert panel.verdict_note.text().startswith("No session of this device was stored")
        assert panel.verdict_note.toolTip() == ""
        panel.shutdown()


def test_table_model(qapp, qtmodeltester) -> None:
    model = PresetTableModel()
    model.set_presets([
        Preset("b", weight=2, events={"1 BOOT": True, "0 BOOTSTRAP": False}),
        Preset("a", weight=1, precondition="TRUE", provisions=[["reboot"], ["value", "X", 1]]),
    ])
    qtmodeltester.check(model)
    assert model.index(0, 1).data() == "a"
    assert model.index(0, 6).data() == 'reboot(); value("X", 1)'
    assert model.index(1, 3).data() == "1 BOOT, not 0 BOOTSTRAP"
    assert model.index(1, 5).data() == "(every device)"
