"""Step mode end to end: the panel's toggle and step bar against a real engine and CPE."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from acs_engine.cwmp import rpc
from acs_engine.server.controller import Engine
from acs_engine.session.step import StepResolved, install_step_gate
from app.bridge import EngineBridge
from app.live.dialogs import RpcEditorDialog
from app.live.panel import SessionPanel
from app.live.step_bar import describe_rpc
from tests.gui.aio import wait_until
from tests.helpers.engine import RawCpe, inform, running_engine

DEVICE = "F1E1D0-TestGW-SN0001"
GPV = rpc.GetParameterValues(names=("Device.DeviceInfo.SoftwareVersion",))


def answer(request: rpc.Message) -> rpc.Message:
    if isinstance(request, rpc.GetParameterValues):
        return rpc.GetParameterValuesResponse(
            parameters=tuple(rpc.ParameterValue(n, "1.0.0", "xsd:string") for n in request.names)
        )
    return rpc.SetParameterValuesResponse(status=0)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    async with running_engine(tmp_path) as engine:
        yield engine


def make_panel(engine: Engine, qtbot) -> tuple[SessionPanel, list[StepResolved]]:
    bridge = EngineBridge(engine.bus)
    panel = SessionPanel(engine, bridge, install_step_gate(engine))
    bridge.setParent(panel)
    qtbot.addWidget(panel)
    panel.resize(1100, 700)
    panel.show()
    resolved: list[StepResolved] = []
    bridge.stepResolved.connect(resolved.append)
    return panel, resolved


async def test_step_mode_send_insert_edit_and_end(engine: Engine, qtbot) -> None:
    panel, resolved = make_panel(engine, qtbot)
    bar = panel.step_bar
    assert not panel.step_action.isEnabled() and bar.isHidden()
    panel.show_device(DEVICE)
    assert panel.step_action.isEnabled()
    panel.step_action.setChecked(True)
    assert panel.gate.is_enabled(DEVICE) and bar.isVisible()
    assert "Step mode" in bar.title.text() and not bar.send_button.isEnabled()
    engine.manual.put(DEVICE, GPV)

    async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
        await cpe.send(inform())
        task = asyncio.create_task(cpe.send(None))
        await wait_until(lambda: bar.pending is not None, what="the hold shown")
        assert describe_rpc(GPV) in bar.title.text()
        # The held RPC's description wraps: it never makes the bar wider than its buttons.
        buttons = sum(b.sizeHint().width() for b in bar._buttons)
        assert bar.minimumSizeHint().width() < buttons + bar.countdown.sizeHint().width() + 250
        assert bar.countdown.text().startswith("auto-send in ")
        assert 20 < bar.remaining() <= 30
        assert bar.send_button.isEnabled() and bar.edit_button.isEnabled()
        await asyncio.sleep(0.05)
        assert not task.done()
        qtbot.mouseClick(bar.send_button, Qt.MouseButton.LeftButton)
        _, reply, _ = await task
        assert reply is not None and reply.message == GPV

        task = asyncio.create_task(cpe.send(answer(GPV), cwmp_id=reply.cwmp_id))
        await wait_until(lambda: bar.pending is not None and bar.pending.ending, what="end hold")
        assert bar.send_button.text() == "End session" and not bar.edit_button.isEnabled()
        spv = rpc.SetParameterValues(
            parameters=(rpc.ParameterValue("Device.WiFi.SSID.1.SSID", "field", "xsd:string"),)
        )
        assert bar.insert(spv)
        _, reply, _ = await task
        assert reply is not None and reply.message == spv

        task = asyncio.create_task(cpe.send(answer(spv), cwmp_id=reply.cwmp_id))
        await wait_until(lambda: bar.pending is not None, what="held again")
        assert bar.send()
        status, _, _ = await task
        assert status == 204
    await wait_until(lambda: panel.machine.state() == "END", what="session end")
    assert [e.action for e in resolved] == ["send", "insert", "send"]
    assert not bar.send()  # nothing held any more
    assert "no session" in bar.error.text()
    panel.step_action.setChecked(False)
    assert not panel.gate.is_enabled(DEVICE) and bar.isHidden()


async def test_step_mode_edit_dialog_and_skip(engine: Engine, qtbot) -> None:
    panel, resolved = make_panel(engine, qtbot)
    bar = panel.step_bar
    panel.show_device(DEVICE)
    panel.step_action.setChecked(True)
    engine.manual.put(DEVICE, GPV)
    async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
        await cpe.send(inform())
        task = asyncio.create_task(cpe.send(None))
        await wait_until(lambda: bar.pending is not None, what="the hold shown")
        bar.open_edit()
        dialog = bar.dialog
        assert isinstance(dialog, RpcEditorDialog)
        dialog.editor.setPlainText(
            dialog.editor.toPlainText().replace("SoftwareVersion", "HardwareVersion")
        )
        assert dialog.try_accept()
        _, reply, _ = await task
        edited = rpc.GetParameterValues(names=("Device.DeviceInfo.HardwareVersion",))
        assert reply is not None and reply.message == edited
        task = asyncio.create_task(cpe.send(answer(edited), cwmp_id=reply.cwmp_id))
        await wait_until(lambda: bar.pending is not None, what="end hold")
        qtbot.mouseClick(bar.skip_button, Qt.MouseButton.LeftButton)
        status, _, _ = await task
        assert status == 204
    assert [e.action for e in resolved] == ["edit", "skip"]
    assert list(engine.manual.results[DEVICE]) == [(edited, answer(edited))]


async def test_the_deadline_sends_by_itself(tmp_path: Path, qtbot) -> None:
    async with running_engine(tmp_path, session_timeout_ms=1000) as engine:
        panel, resolved = make_panel(engine, qtbot)
        panel.show_device(DEVICE)
        panel.step_action.setChecked(True)
        engine.manual.put(DEVICE, GPV)
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            await cpe.send(inform())
            task = asyncio.create_task(cpe.send(None))
            await wait_until(lambda: panel.step_bar.pending is not None, what="the hold")
            assert panel.step_bar.remaining() <= 0.5
            status, reply, _ = await task  # nobody clicks: the gate sends before the timeout
            assert status == 200 and reply is not None and reply.message == GPV
            status, _, _ = await cpe.send(answer(GPV), cwmp_id=reply.cwmp_id)
            assert status == 204
        await wait_until(lambda: len(resolved) == 2, what="two automatic sends")
        assert [e.action for e in resolved] == ["auto", "auto"]
        await wait_until(lambda: panel.machine.state() == "END", what="a clean end")
        assert panel.step_bar.pending is None


async def test_the_countdown_waits_while_edit_is_open(tmp_path: Path, qtbot) -> None:
    """Issue 18: the countdown kept running (and sent the RPC) while Edit… was open."""
    async with running_engine(tmp_path, session_timeout_ms=1000) as engine:
        panel, resolved = make_panel(engine, qtbot)
        bar = panel.step_bar
        panel.show_device(DEVICE)
        panel.step_action.setChecked(True)
        engine.manual.put(DEVICE, GPV)
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            await cpe.send(inform())
            task = asyncio.create_task(cpe.send(None))
            await wait_until(lambda: bar.pending is not None, what="the hold")
            bar.open_edit()
            await wait_until(
                lambda: bar.pending is not None and bar.pending.paused, what="paused"
            )
            assert bar.countdown.text() == "paused while you edit"
            await asyncio.sleep(1.2)  # longer than the whole session timeout
            assert resolved == [] and not task.done()  # nothing was sent by itself
            dialog = bar.dialog
            assert isinstance(dialog, RpcEditorDialog)
            assert dialog.try_accept()
            _, reply, _ = await task
            assert reply is not None and reply.message == GPV
            panel.step_action.setChecked(False)
            status, _, _ = await cpe.send(answer(GPV), cwmp_id=reply.cwmp_id)
            assert status == 204
        assert resolved and resolved[0].action == "edit"


async def test_follow_keeps_a_held_session_in_view(engine: Engine, qtbot) -> None:
    """Issue 18: Follow moved the panel away from the device whose session was held."""
    panel, _resolved = make_panel(engine, qtbot)
    assert panel.follow_box.isChecked()
    panel.show_device(DEVICE)
    panel.step_action.setChecked(True)
    engine.manual.put(DEVICE, GPV)
    async with RawCpe(engine.cwmp_urls()[-1]) as held_cpe, RawCpe(
        engine.cwmp_urls()[-1]
    ) as other_cpe:
        await held_cpe.send(inform())
        task = asyncio.create_task(held_cpe.send(None))
        await wait_until(lambda: panel.step_bar.pending is not None, what="the hold")
        # Another CPE informs meanwhile: the panel stays on the held device.
        status, _, _ = await other_cpe.send(inform("SN0002"))
        assert status == 200
        assert (await other_cpe.send(None))[0] == 204
        await wait_until(
            lambda: panel.device_combo.findData("F1E1D0-TestGW-SN0002") >= 0,
            what="the other device listed",
        )
        assert panel.device_id == DEVICE and panel.step_bar.isVisible()
        assert panel.step_bar.pending is not None
        # An error of this device is not shown for another one.
        panel.step_bar.show_error("the session is about to end: " + "insert an RPC " * 20)
        assert panel.step_bar.error.toolTip().startswith("the session is about to end")
        assert panel.step_bar.error.is_elided()
        assert panel.step_bar.sizeHint().width() < panel.width()
        assert panel.step_bar.send()
        _, reply, _ = await task
        assert reply is not None
        panel.step_action.setChecked(False)
        assert (await held_cpe.send(answer(GPV), cwmp_id=reply.cwmp_id))[0] == 204
    panel.show_device("F1E1D0-TestGW-SN0002")
    assert panel.step_bar.error.isHidden() and panel.step_bar.error.text() == ""


def test_a_held_gpn_reads_plainly() -> None:
    assert describe_rpc(rpc.GetParameterNames(parameter_path="", next_level=True)) == (
        "GetParameterNames (the whole tree, next level)"
    )
    assert describe_rpc(rpc.GetParameterNames(parameter_path="Device.WiFi.")) == (
        "GetParameterNames (Device.WiFi.)"
    )
