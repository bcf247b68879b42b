"""The device view against the real engine and a simulated TR-181 CPE on 127.0.0.1.

The CPE is :class:`~acs_engine.sim.client.SimCpe` with the simulator's connection-request
listener, so "Commit" really wakes it: the staged edits are queued as tasks, its session
runs them, and the tree shows the changes.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

from acs_engine.admin.commands import AddInstance, DeleteInstance
from acs_engine.cwmp import rpc
from acs_engine.server.controller import Engine
from acs_engine.sim.client import SimCpe
from acs_engine.sim.connreq import ConnectionRequestServer
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.sim.options import SimOptions
from acs_engine.store.deviceid import make_device_id
from app.bridge import EngineBridge
from app.connreq_ui import ConnectionRequester
from app.device_view import DeviceView
from app.params_model import ParamTreeModel
from app.staging import DONE, FAULTED, PENDING, STAGED
from tests.gui.aio import wait_until
from tests.helpers.engine import RawCpe, inform, running_engine


@dataclass
class Rig:
    engine: Engine
    bridge: EngineBridge
    requester: ConnectionRequester
    server: ConnectionRequestServer


@contextlib.asynccontextmanager
async def _rig(tmp_path: Path, **config: object) -> AsyncIterator[Rig]:
    async with running_engine(tmp_path, device_online_threshold_ms=1500, **config) as engine:
        bridge = EngineBridge(engine.bus)
        url = engine.cwmp_urls()[-1]
        requester = ConnectionRequester(engine, lambda: url)
        async with ConnectionRequestServer() as server:
            yield Rig(engine, bridge, requester, server)
        bridge.detach()


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with _rig(tmp_path) as rig:
        yield rig


@pytest.fixture
async def task_rig(tmp_path: Path) -> AsyncIterator[Rig]:
    """With provisioning on: committed edits are tasks, which provisioning runs."""
    async with _rig(tmp_path, provisioning=True) as rig:
        yield rig


def _sim(
    rig: Rig, serial: str, *, hide_passwords: bool = False, faults: dict[str, int] | None = None
) -> tuple[SimCpe, str]:
    model = load_model("tr181")
    options = SimOptions(hide_passwords=hide_passwords, fault_methods=faults or {})
    device = SimDevice(model, serial, options=options)
    cpe = SimCpe(device, rig.engine.cwmp_urls()[-1])
    rig.server.register(cpe)
    return cpe, make_device_id(model.oui, model.product_class, serial)


async def _discovered(
    rig: Rig, serial: str, faults: dict[str, int] | None = None
) -> tuple[SimCpe, str]:
    """A simulated CPE whose whole tree the engine read in its bootstrap session."""
    cpe, device_id = _sim(rig, serial, faults=faults)
    rig.engine.manual.put(device_id, rpc.GetParameterNames(parameter_path="Device.", next_level=False))
    rig.engine.manual.put(device_id, rpc.GetParameterValues(names=("Device.",)))
    result = await cpe.session()
    assert result.ok, result.error
    return cpe, device_id


@contextlib.asynccontextmanager
async def _running(cpe: SimCpe) -> AsyncIterator[None]:
    """Let the CPE answer connection requests (its session loop) while the block runs."""
    task = asyncio.ensure_future(cpe.run())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_edits_are_checked_staged_committed_and_followed(
    task_rig: Rig, qtbot, qtmodeltester
) -> None:
    rig = task_rig
    cpe, device_id = await _discovered(rig, "VIEW000001", faults={"DeleteObject": 9003})
    view = DeviceView(rig.engine, rig.bridge, rig.requester, device_id)
    qtbot.addWidget(view)
    view.resize(1200, 800)
    await view.reload()
    model = view.tree_model
    assert model.node_count() > 800
    assert view.facts["Product class"].text() == "SimGW-181"
    assert view.tree.isExpanded(view.index_of("Device."))
    qtmodeltester.check(model)

    # invalid values are refused with the data model's reason and not staged
    interval = "Device.ManagementServer.PeriodicInformInterval"
    reason = view.edit_value(interval, "soon")
    assert reason is not None and view.changes.rowCount() == 0
    assert view.notice_text() == f"{interval} {reason} — not staged."
    cell = view.index_of(interval, ParamTreeModel.VALUE)
    editor = QLineEdit()
    editor.setText("-3")
    refused: list[tuple[str, str]] = []
    view.delegate.rejected.connect(lambda p, r: refused.append((p, r)))
    view.delegate.setModelData(editor, view.proxy, cell)
    assert refused and refused[0][0] == interval and view.changes.rowCount() == 0

    # a valid value is staged (shown in the tree), then committed with two object commands
    code = "Device.DeviceInfo.ProvisioningCode"
    assert view.edit_value(code, "lab-42") is None and view.notice_text() == ""
    assert view.index_of(code, ParamTreeModel.VALUE).data() == "lab-42  (staged)"
    view.stage(AddInstance("Device.WiFi.SSID."))
    # This CPE refuses DeleteObject (fault 9003). (Tasks are declarations, as in GenieACS:
    # deleting an instance the ACS knows is absent sends nothing, and a 9005 answer makes
    # the ACS re-read the table instead of faulting the task.)
    view.stage(DeleteInstance("Device.WiFi.SSID.3."))
    assert [e.state for e in view.changes.entries()] == [STAGED] * 3
    assert view.commit_button.isEnabled()

    async with _running(cpe):
        assert view.commit() == 3
        assert [e.state for e in view.changes.entries()] == [PENDING] * 3
        assert not view.commit_button.isEnabled()
        await wait_until(lambda: not view.changes.has_pending(), timeout=10, what="answers")
        await wait_until(lambda: view.index_of(code, ParamTreeModel.VALUE).data() == "lab-42",
                         what="tree reload")
    entries = view.changes.entries()
    assert [e.state for e in entries] == [DONE, DONE, FAULTED]
    assert entries[1].message.startswith("Added Device.WiFi.SSID.")
    assert entries[2].message.startswith("CPE fault 9003")
    status = view.changes.index(2, 1).data()
    assert status.startswith("Faulted: CPE fault 9003")
    assert cpe.device.value(code) == "lab-42"
    added = entries[1].message.removeprefix("Added ")
    assert model.param(added) is not None and model.param(added + "SSID") is not None
    assert view.connreq.status_text().startswith("Device connected")
    assert view.sessions.topLevelItemCount() == 2
    # the faulted task's fault (channel task_<id>) is the device's one fault
    store = rig.engine.store
    assert store is not None
    faults = await store.list_faults(device_id)
    assert [f.channel for f in faults] == [f"task_{i}" for i in view.sender_.faulted_task_ids()]
    await wait_until(lambda: view.faults_tab.count() == 1, what="the fault listed")


async def test_tags_and_filter(rig: Rig, qtbot) -> None:
    _cpe, device_id = await _discovered(rig, "VIEW000002")
    view = DeviceView(rig.engine, rig.bridge, rig.requester, device_id)
    qtbot.addWidget(view)
    await view.reload()
    await view.set_tags(add=["lab", "floor-2"])
    assert [view.tag_list.item(i).text() for i in range(view.tag_list.count())] == [
        "floor-2", "lab"]
    store = rig.engine.store
    assert store is not None
    device = await store.get_device(device_id)
    assert device is not None and device.tags == {"lab", "floor-2"}
    await view.set_tags(remove=["lab"])
    assert view.tag_list.count() == 1

    view.filter.setText("PeriodicInformInt")
    view.apply_filter()
    interval = view.index_of("Device.ManagementServer.PeriodicInformInterval")
    assert interval.isValid() and view.tree.isExpanded(interval.parent())
    assert view.proxy.rowCount(view.index_of("Device.")) == 1
    assert "nodes match" in view.tree_status.text()
    menu = view.context_menu("Device.WiFi.SSID.")
    texts = [a.text() for a in menu.actions()]
    assert "Add instance to Device.WiFi.SSID." in texts and "Refresh subtree" in texts


async def test_connection_request_outcomes(rig: Rig, qtbot) -> None:
    url = rig.engine.cwmp_urls()[-1]
    # a simulated CPE whose password the ACS never learned (read back empty)
    cpe, wrong_id = _sim(rig, "WRONG00001", hide_passwords=True)
    assert (await cpe.session()).ok
    # a device whose ConnectionRequestURL refuses connections
    async with RawCpe(url) as raw:
        assert (await raw.send(inform("OFF0000001")))[0] == 200
        assert (await raw.send(None))[0] == 204
    offline_id = "F1E1D0-TestGW-OFF0000001"
    # a device that accepts the request but never opens a session
    mute = SimDevice(load_model("tr181"), "MUTE000001")

    class _Mute:
        device = mute

        def connection_request(self) -> None:
            """Accepted, and ignored."""

    mute_url = rig.server.register(_Mute())
    user, password = mute.connreq_credentials
    params = (
        ("Device.ManagementServer.ConnectionRequestURL", mute_url, "xsd:string"),
        ("Device.ManagementServer.ConnectionRequestUsername", user, "xsd:string"),
        ("Device.ManagementServer.ConnectionRequestPassword", password, "xsd:string"),
    )
    async with RawCpe(url) as raw:
        assert (await raw.send(inform("MUTE000001", params=params)))[0] == 200
        assert (await raw.send(None))[0] == 204
    # and one that never reported a ConnectionRequestURL
    async with RawCpe(url) as raw:
        assert (await raw.send(inform("NOURL00001", params=())))[0] == 200
        assert (await raw.send(None))[0] == 204

    view = DeviceView(rig.engine, rig.bridge, rig.requester, wrong_id)
    qtbot.addWidget(view)
    reports = []
    view.connreq.reported.connect(reports.append)
    task = view.connreq.trigger()
    assert not view.connreq.button.isEnabled() and view.connreq.busy_bar.isVisibleTo(view)
    report = await task
    await wait_until(lambda: reports, what="button report")
    assert view.connreq.button.isEnabled() and not view.connreq.busy_bar.isVisibleTo(view)
    assert (report.ok, report.outcome, report.headline) == (False, "wrong_credentials",
                                                           "Wrong credentials")
    assert "ConnectionRequestUsername/Password" in view.connreq.status_text()

    offline = await rig.requester.request(offline_id)
    assert (offline.outcome, offline.headline) == ("offline", "Device offline")
    assert "refused" in offline.detail
    silent = await rig.requester.request("F1E1D0-TestGW-MUTE000001")
    assert silent.outcome == "no_session"
    assert silent.detail.startswith(
        "Request accepted but the device did not start a session within 1.5 s — check that "
        f"its ACS URL points to this laptop: {url}"
    )
    missing = await rig.requester.request("F1E1D0-TestGW-NOURL00001")
    assert missing.outcome == "no_url" and "ConnectionRequestURL" in missing.detail
    assert view.connreq.status.textFormat() != Qt.TextFormat.PlainText
