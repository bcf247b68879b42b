"""Issue 18, "Done means": a technician's path through ONE main window at 1280x800.

First session (the simulator as the CPE), the tree, an edit committed (a task and a
connection request), the value confirmed, a connection request from the toolbar inside the
device tab, step mode (Send, Skip), a preset with a provision and its dry run, a fault and its
retry. After each step every button of every open dock lies inside the window and no dock is
wider than the window, also with long messages in the Faults dock and the step bar.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from PySide6.QtCore import QSettings, Qt
from pytestqt.qtbot import QtBot

from acs_engine.cwmp import rpc
from acs_engine.session.step import StepResolved
from acs_engine.sim.client import SimCpe
from acs_engine.sim.connreq import ConnectionRequestServer
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.store.deviceid import make_device_id
from acs_engine.store.records import Preset, Provision
from app.bridge import EngineBridge
from app.connreq_ui import ConnReqReport
from app.params_model import ParamTreeModel
from app.staging import DONE
from app.window import MainWindow
from tests.gui.aio import settle, wait_until
from tests.gui.layout_checks import buttons_outside, describe, docks_too_wide, open_docks
from tests.helpers.engine import running_engine

CODE = "Device.DeviceInfo.ProvisioningCode"
SERIAL = "WALK00001"
LONG = (
    "The device accepted the connection request but did not open a session within the "
    "time allowed; the technician should check the CPE's ACS URL, its firewall and the "
    "cable, then press Retry now again. " * 2
)


async def test_a_technician_walks_the_main_path_in_one_window(
    tmp_path: Path, qtbot: QtBot, settings: QSettings
) -> None:
    async with running_engine(
        tmp_path, provisioning=True, device_online_threshold_ms=3000, script_timeout_ms=2000
    ) as engine:
        bridge = EngineBridge(engine.bus)
        window = MainWindow(engine, bridge, settings)
        bridge.setParent(window)
        qtbot.addWidget(window)
        window.set_acs_urls(engine.cwmp_urls())
        window.resize(1280, 800)
        window.show()
        await wait_until(window.isVisible, what="the window")
        assert (window.width(), window.height()) == (1280, 800)
        live, admin = window.live, window.admin
        assert live is not None and admin is not None
        store = engine.store
        assert store is not None

        async def layout_ok(stage: str) -> None:
            await settle()
            assert buttons_outside(window) == [], f"{stage}\n{describe(window)}"
            assert docks_too_wide(window) == [], f"{stage}\n{describe(window)}"

        async with ConnectionRequestServer() as server:
            model = load_model("tr181")
            device = SimDevice(model, SERIAL)
            cpe = SimCpe(device, engine.cwmp_urls()[-1])
            server.register(cpe)
            device_id = make_device_id(model.oui, model.product_class, SERIAL)

            # 1. First session: the CPE bootstraps; the live panel follows it.
            engine.manual.put(
                device_id, rpc.GetParameterNames(parameter_path="Device.", next_level=False)
            )
            engine.manual.put(device_id, rpc.GetParameterValues(names=("Device.",)))
            assert (await cpe.session()).ok
            panel = live.panel
            await wait_until(lambda: panel.device_id == device_id, what="followed")
            combo = panel.session_combo
            assert combo.currentText()[:2] == "20"  # dated
            # Its drop-down shows whole lines (the closed box elides; the tooltip tells all).
            widest = combo.fontMetrics().horizontalAdvance(combo.currentText())
            assert combo.view().minimumWidth() >= widest and combo.toolTip() == combo.currentText()
            await layout_ok("first session")

            # 2. The tree.
            devices = window.devices
            table = devices.model
            assert table is not None
            await wait_until(lambda: table.row_of(device_id) >= 0, what="device row")
            view = devices.open_device(device_id)
            await view.reload()
            assert view.tree_model.node_count() > 800
            await wait_until(lambda: view.sessions.topLevelItemCount() >= 1, what="sessions")
            started = view.sessions.topLevelItem(0).text(0)
            fits = view.sessions.fontMetrics().horizontalAdvance(started)
            assert started[:2] == "20" and view.sessions.columnWidth(0) >= fits  # not cut off
            await layout_ok("device tab")
            # The parameter tree is the page's work: at 1280x800 it shows a dozen rows or more
            # (it once showed three, between the activity dock and the side tabs).
            row = view.tree.sizeHintForRow(0)
            await wait_until(lambda: view.tree.viewport().height() >= 12 * row,
                             what=f"12 tree rows ({view.tree.viewport().height()} px, row {row})")

            runner = asyncio.ensure_future(cpe.run())  # answers connection requests
            try:
                # 3. Edit, commit (a task and a connection request), value confirmed.
                assert view.edit_value(CODE, "walk-1") is None
                assert view.commit() == 1
                await wait_until(lambda: not view.changes.has_pending(), timeout=15)
                assert [e.state for e in view.changes.entries()] == [DONE]
                assert device.value(CODE) == "walk-1"
                await wait_until(
                    lambda: view.index_of(CODE, ParamTreeModel.VALUE).data() == "walk-1",
                    what="the tree shows the new value",
                )
                await layout_ok("edit committed")

                # 4. A connection request from the toolbar, inside the device tab.
                action = devices.connreq_action
                await wait_until(action.isEnabled, what="the toolbar's action enabled")
                reports: list[object] = []
                devices.requester.finished.connect(reports.append)
                action.trigger()
                await wait_until(lambda: reports, timeout=15, what="the connection request")
                report = reports[-1]
                assert isinstance(report, ConnReqReport) and report.ok, report
                await wait_until(action.isEnabled, what="enabled again after it")
                await layout_ok("connection request")

                # 5. Step mode: Send the first RPC, Skip the second (it never goes out).
                live.focus_live()
                panel.show_device(device_id)
                panel.step_action.setChecked(True)
                bar = panel.step_bar
                version = rpc.GetParameterValues(names=("Device.DeviceInfo.SoftwareVersion",))
                skipped = rpc.GetParameterValues(names=("Device.DeviceInfo.ModelName",))
                engine.manual.put(device_id, version)
                engine.manual.put(device_id, skipped)
                resolved: list[StepResolved] = []
                bridge.stepResolved.connect(resolved.append)
                action.trigger()
                await wait_until(lambda: bar.pending is not None, timeout=15, what="a hold")
                assert bar.pending is not None and bar.pending.rpc == version
                await layout_ok("step mode: held")
                qtbot.mouseClick(bar.send_button, Qt.MouseButton.LeftButton)
                await wait_until(
                    lambda: bar.pending is not None and bar.pending.rpc == skipped,
                    timeout=15, what="the second hold",
                )
                qtbot.mouseClick(bar.skip_button, Qt.MouseButton.LeftButton)
                await wait_until(lambda: len(resolved) == 2, what="skipped")
                while True:  # provisioning may still ask; end the session when it is done
                    await wait_until(
                        lambda: bar.pending is not None or panel.machine.state() == "END",
                        timeout=15, what="the next hold",
                    )
                    held = bar.pending
                    if held is None:
                        break
                    if held.ending:
                        bar.show_error("the session is about to end: " + LONG)
                        await layout_ok("step mode: a long message")
                        assert bar.error.toolTip().startswith("the session is about to end")
                        assert bar.send()
                        break
                    assert held.rpc != skipped
                    count = len(resolved)
                    assert bar.send()
                    await wait_until(lambda n=count: len(resolved) > n, what="sent")
                assert [a.action for a in resolved[:2]] == ["send", "skip"]
                answered = [request for request, _ in engine.manual.results.get(device_id, ())]
                assert version in answered and skipped not in answered
                panel.step_action.setChecked(False)
                await wait_until(
                    lambda: engine.cwmp is not None
                    and engine.cwmp.session_of_device(device_id) is None,
                    timeout=15, what="the stepped session over",
                )

                # 6. A preset with a provision, and its dry run.
                await store.put_provision(
                    Provision(
                        "walk",
                        f'declare("{CODE}", {{value: 1}}, {{value: "walk-2"}});',
                    )
                )
                admin.actions[0].trigger()  # Ctrl+6: Presets
                presets = admin.presets
                await wait_until(lambda: presets.pending() == 0 and presets.model.rowCount() > 0)
                editor = presets.add()
                editor.id_edit.setText("walk")
                editor.precondition_edit.setPlainText(f'DeviceID.SerialNumber = "{SERIAL}"')
                editor.add_provision("walk", [])
                saved: list[str] = []
                presets.saved.connect(saved.append)
                editor.accept()
                await wait_until(lambda: saved and presets.pending() == 0, what="preset saved")
                assert presets.selected() is not None
                dialog = presets.dry_run_selected()
                assert dialog is not None
                runs: list[object] = []
                dialog.finished_run.connect(runs.append)
                dialog.run()
                await wait_until(lambda: runs, timeout=20, what="the dry run")
                assert dialog.result is not None
                assert "SetParameterValues" in dialog.result.methods
                dialog.close()
                await layout_ok("preset and dry run")

                # 7. A fault: a provision that cannot run, in its own channel.
                await store.put_provision(
                    Provision("broken", "declare(undefinedThing.x, {value: 1});")
                )
                await store.put_preset(
                    Preset(
                        id="broken", channel="lab", provisions=[["broken"]],
                        precondition=f'DeviceID.SerialNumber = "{SERIAL}"',
                    )
                )
                reports.clear()
                devices.connreq_action.trigger()
                await wait_until(lambda: reports, timeout=15, what="the request")
                admin.actions[2].trigger()  # Ctrl+8: Faults
                faults = admin.faults
                fault_id = f"{device_id}:lab"
                await wait_until(
                    lambda: faults.model.row_of(fault_id) >= 0, timeout=15, what="the fault"
                )
                assert faults.select_fault(fault_id)
                faults.status.setText(LONG)
                await layout_ok("faults dock: a long message")

                # 8. Retry: fixed, the fault goes and the channel runs clean.
                await store.put_provision(Provision("broken", 'log("fixed");'))
                retried: list[tuple[str, str]] = []
                faults.retried.connect(lambda fid, text: retried.append((fid, text)))
                faults.retry_selected()
                await wait_until(lambda: retried, timeout=15, what="the retry")
                assert retried[0][0] == fault_id and "not woken" not in retried[0][1]
                await wait_until(
                    lambda: faults.model.row_of(fault_id) < 0, timeout=15, what="fault gone"
                )
                assert faults.status.toolTip() == faults.status.text()
                await layout_ok("retried")
                assert {d.objectName() for d in open_docks(window)} >= {
                    "liveSessionDock", "faultsDock"
                }
            finally:
                runner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await runner
        for view in devices.views.values():
            await wait_until(lambda v=view: not v.changes.has_pending(), what="quiet")
        window.close()
        await settle()
