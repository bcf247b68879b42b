"""The console attached to a remote engine: the same window and panels over RemoteEngine.

A second engine process (``fieldacs-engine serve`` with a token) is the remote ACS; CPEs
are the simulator's, and a raw CPE.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication, QLineEdit, QMessageBox

from acs_engine.console_api import LocalConsoleEngine
from acs_engine.remote import (
    CommandQueued,
    ConnectionLost,
    RemoteEngine,
    RemoteStatus,
    StepHeldElsewhere,
    Unauthorized,
    VersionMismatch,
)
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.store.deviceid import make_device_id
from app.bridge import EngineBridge
from app.remote_ui import (
    KEY_TOKEN,
    ConnectDialog,
    RemoteStatusLabel,
    RemoteWindows,
    remote_error_text,
)
from app.staging import DONE, PENDING
from app.window import MainWindow
from tests.gui.aio import wait_until
from tests.helpers.engine import running_engine
from tests.helpers.remote import ServeProcess

SERIAL = "REMOTEGUI1"
_MODEL = load_model("tr181")
DEVICE = make_device_id(_MODEL.oui, _MODEL.product_class, SERIAL)


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[ServeProcess]:
    proc = ServeProcess(tmp_path / "server.db")
    await proc.start()
    try:
        yield proc
    finally:
        await proc.stop()


async def _session(url: str) -> None:
    result = await SimCpe(SimDevice(_MODEL, SERIAL, context={"acs_url": url}), url).session()
    assert result.ok, result.error


def _window(engine: Any, qtbot: Any, settings: QSettings) -> tuple[MainWindow, EngineBridge]:
    bridge = EngineBridge(engine.bus)
    window = MainWindow(engine, bridge, settings)
    bridge.setParent(window)
    qtbot.addWidget(window)
    window.set_acs_urls(engine.cwmp_urls())
    window.show()
    return window, bridge


async def _walk_the_panels(window: MainWindow, cwmp_url: str) -> None:
    """The same walk through the panels on either engine: a CPE's first session shows in
    the Devices tab and the counters; its tree opens; the session is in the Live session
    panel's timeline; the presets and faults panels list what the engine has; an edit is
    staged, committed, and done by the device's next session."""
    window.tabs.setCurrentIndex(1)
    device = SimDevice(_MODEL, SERIAL, context={"acs_url": cwmp_url})
    cpe = SimCpe(device, cwmp_url)
    assert (await cpe.session()).ok
    model = window.devices.model
    assert model is not None
    await wait_until(lambda: model.row_of(DEVICE) == 0, 15, what="the device's row")
    counters = window.overview.counters
    await wait_until(lambda: counters.completed.value == 1, 15, what="completed counter")
    engine = window._engine
    # the device's tree
    view = window.devices.open_device(DEVICE)
    await wait_until(lambda: view.tree_model.node_count() > 3, 15, what="the tree")
    # the live session panel: the stored session's messages on the timeline
    assert window.live is not None
    panel = window.live.panel
    window.live.open_session(DEVICE, "")
    await wait_until(lambda: panel.timeline.rowCount() >= 2, 15, what="the timeline")
    assert panel.timeline.index(0, 2).data() == "Inform"
    # presets and faults, as the engine has them
    assert window.admin is not None
    presets, faults = window.admin.presets, window.admin.faults
    presets.refresh()
    expected = len(await engine.list_presets())
    await wait_until(lambda: presets.model.rowCount() == expected, 15, what="presets")
    faults.refresh()
    expected = len(await engine.list_faults())
    await wait_until(lambda: faults.model.rowCount() == expected, 15, what="faults")
    # a staged edit, committed, then done by the device's next session
    code = "Device.DeviceInfo.ProvisioningCode"
    assert view.edit_value(code, "walked") is None
    assert view.commit() == 1
    entry = view.changes.entries()[0]
    await wait_until(lambda: bool(entry.waiting), 15, what="queued")
    assert (await cpe.session()).ok
    await wait_until(lambda: entry.state == DONE, 15, what="done")
    assert device.value(code) == "walked"


async def test_the_same_panels_run_on_a_local_engine(
    tmp_path: Path, qtbot: Any, settings: QSettings,
) -> None:
    async with running_engine(tmp_path, provisioning=True) as engine:  # as serve runs
        window, _ = _window(LocalConsoleEngine(engine), qtbot, settings)
        await _walk_the_panels(window, engine.cwmp_urls()[-1])
        window.close()


async def test_the_same_panels_run_on_a_remote_engine(
    server: ServeProcess, qtbot: Any, settings: QSettings,
) -> None:
    remote = RemoteEngine(server.nbi_url, server.token, holder="tester", first_delay=0.2,
                          longest_delay=1.0)
    await remote.connect()
    try:
        window, _ = _window(remote, qtbot, settings)
        label = RemoteStatusLabel(remote, window)
        window.statusBar().addPermanentWidget(label)
        await wait_until(lambda: "Connected to" in label.text(), 10, what="connected")
        assert window.acs_urls() == [server.cwmp_url]
        await _walk_the_panels(window, server.cwmp_url)
        # the connection drops: the status bar says so, then says it is back
        await server.kill()
        await wait_until(lambda: "lost" in label.text(), 10, what="lost")
        await server.start()
        await wait_until(lambda: "Connected to" in label.text(), 30, what="reconnected")
        await remote.claim_step()
        await wait_until(lambda: "step mode: you" in label.text(), 10, what="step holder")
        window.close()
    finally:
        await remote.close()


async def test_connect_to_acs_opens_a_remote_window_and_wrong_tokens_get_their_message(
    server: ServeProcess, qtbot: Any, settings: QSettings,
) -> None:
    windows = RemoteWindows(settings)
    settings.setValue("remote/url", server.nbi_url)
    settings.setValue(KEY_TOKEN, "a-wrong-token-entirely")
    attempt = windows.open(ask=False)
    import asyncio

    task = asyncio.ensure_future(attempt)
    await wait_until(lambda: isinstance(QApplication.activeModalWidget(), QMessageBox)
                     or any(isinstance(w, QMessageBox) and w.isVisible()
                            for w in QApplication.topLevelWidgets()), 10, what="error box")
    box = next(w for w in QApplication.topLevelWidgets()
               if isinstance(w, QMessageBox) and w.isVisible())
    assert box.windowTitle() == "Wrong token"
    box.accept()
    assert await task is None

    settings.setValue(KEY_TOKEN, server.token)
    window = await windows.open(ask=False)
    assert isinstance(window, MainWindow)
    qtbot.addWidget(window)
    assert server.nbi_url in window.windowTitle()
    assert window.findChild(RemoteStatusLabel, "remoteStatus") is not None
    statuses: list[RemoteStatus] = []
    window._engine.bus.subscribe(statuses.append, RemoteStatus)
    # the ACS comes back with another token: the link stops and the window says why
    await server.stop()
    server.token = "the-token-was-changed-0123456789"
    await server.start()
    await wait_until(lambda: any(isinstance(w, QMessageBox) and w.isVisible()
                                 for w in QApplication.topLevelWidgets()), 30,
                     what="wrong token box")
    box = next(w for w in QApplication.topLevelWidgets()
               if isinstance(w, QMessageBox) and w.isVisible())
    assert box.windowTitle() == "Wrong token" and box.parent() is window
    assert "unauthorized" in [s.state for s in statuses]
    box.accept()
    # at exit: the window still open, its link closed before close_all returns
    await windows.close_all()
    assert windows.windows == [] and not window.isVisible()
    assert [s.state for s in statuses][-1:] == ["closed"]


async def test_file_menu_has_connect_to_acs(tmp_path: Path, qtbot: Any,
                                            settings: QSettings) -> None:
    async with running_engine(tmp_path) as engine:
        window, _ = _window(LocalConsoleEngine(engine), qtbot, settings)
        texts = [a.text() for a in window.file_menu.actions()]
        assert "&Connect to ACS…" in texts
        asked: list[bool] = []
        window.connectRequested.connect(lambda: asked.append(True))
        window.connect_action.trigger()
        assert asked == [True]
        window.close()


def test_the_dialog_remembers_the_address_but_the_token_only_when_asked(
    qtbot: Any, settings: QSettings,
) -> None:
    dialog = ConnectDialog(settings)
    qtbot.addWidget(dialog)
    assert dialog.token_edit.echoMode() == QLineEdit.EchoMode.Password
    dialog.url_edit.setText("http://acs.lan:7557")
    dialog.token_edit.setText("secret-token-123")
    dialog.holder_edit.setText("alice@van")
    dialog.remember_token.setChecked(False)
    dialog.remember()
    assert settings.value("remote/url") == "http://acs.lan:7557"
    assert settings.value("remote/holder") == "alice@van"
    assert settings.value(KEY_TOKEN) is None
    again = ConnectDialog(settings)
    qtbot.addWidget(again)
    assert again.url_edit.text() == "http://acs.lan:7557" and again.token_edit.text() == ""
    again.token_edit.setText("secret-token-123")
    again.remember_token.setChecked(True)
    again.remember()
    assert settings.value(KEY_TOKEN) == "secret-token-123"
    third = ConnectDialog(settings)
    qtbot.addWidget(third)
    assert third.token_edit.text() == "secret-token-123" and third.remember_token.isChecked()


def test_each_failure_has_its_own_message() -> None:
    titles = {
        remote_error_text(exc)[0] for exc in (
            Unauthorized("refused"), VersionMismatch("v2 vs v1", 2, 1),
            ConnectionLost("down"), StepHeldElsewhere("held", "bob"),
        )
    }
    assert titles == {"Wrong token", "Version mismatch", "ACS unreachable",
                      "Step mode is in use"}
    assert "bob" in remote_error_text(StepHeldElsewhere("held", "bob"))[1]
    assert remote_error_text(CommandQueued("kept"))[0] == "ACS unreachable"


async def test_an_edit_committed_while_the_acs_is_down_is_kept_and_done_after_reconnection(
    server: ServeProcess, qtbot: Any, settings: QSettings,
) -> None:
    """The device view's staged edit, committed while the connection is lost: kept by the
    console (not faulted), sent when the ACS is back, then done by the device's session."""
    code = "Device.DeviceInfo.ProvisioningCode"
    device = SimDevice(_MODEL, SERIAL, context={"acs_url": server.cwmp_url})
    cpe = SimCpe(device, server.cwmp_url)
    assert (await cpe.session()).ok  # bootstrap
    remote = RemoteEngine(server.nbi_url, server.token, holder="tester", first_delay=0.2,
                          longest_delay=1.0)
    await remote.connect()
    try:
        window, _ = _window(remote, qtbot, settings)
        view = window.devices.open_device(DEVICE)
        await view.reload()
        assert view.edit_value(code, "kept-1") is None
        await server.kill()
        await wait_until(lambda: not remote.connected, 10, what="connection lost")
        assert view.commit() == 1
        entry = view.changes.entries()[0]
        await wait_until(lambda: entry.message.startswith("kept"), 10, what="kept")
        assert entry.state == PENDING and len(remote.outbox) == 1
        # Closing now would lose it: the window asks, and Cancel keeps it open.
        window.show()
        assert not window.close() and window.isVisible()
        box = window.findChild(QMessageBox, "keptCommandsBox")
        assert box is not None and "1 staged command could not reach the ACS" in box.text()
        box.button(QMessageBox.StandardButton.Cancel).click()
        await wait_until(lambda: not box.isVisible(), what="question answered")
        assert window.isVisible() and len(remote.outbox) == 1
        await server.start()
        await wait_until(lambda: entry.message == "sent with the next session", 30,
                         what="sent after reconnection")
        assert remote.outbox == [] and view.sender_.kept_count() == 0
        assert (await cpe.session()).ok  # the device's next session runs the task
        await wait_until(lambda: entry.state == DONE, 15, what="done")
        assert device.value(code) == "kept-1"
        window.close()
    finally:
        await remote.close()


async def test_the_live_panel_shows_who_holds_step_mode_and_a_refused_claim_goes_back(
    server: ServeProcess, qtbot: Any, settings: QSettings,
) -> None:
    """Two consoles on one engine: while Alice holds step mode, Bob's Live session panel
    names her and its Step mode switch is off and disabled; a claim the engine refuses is
    undone with its reason; Bob takes step mode over (Alice's console gone) and his switch
    works again."""
    await _session(server.cwmp_url)
    alice = RemoteEngine(server.nbi_url, server.token, holder="alice@laptop")
    bob = RemoteEngine(server.nbi_url, server.token, holder="bob@desk")
    await alice.connect()
    await bob.connect()
    try:
        window, _ = _window(bob, qtbot, settings)
        assert window.live is not None
        panel = window.live.panel
        panel.show_device(DEVICE)
        await wait_until(lambda: panel.device_id == DEVICE, 10, what="device picked")
        assert panel.step_action.isEnabled() and panel.step_holder.isHidden()

        await alice.set_step(DEVICE, True)  # claims step mode on the way
        await wait_until(lambda: panel.step_holder.isVisible(), 10, what="holder shown")
        assert panel.step_holder.text() == "held by alice@laptop"
        assert not panel.step_action.isEnabled() and not panel.step_action.isChecked()

        # a claim sent before Bob's console knew (a race): refused, undone, and said why
        bob.step_holder = ""
        bob.set_step_enabled(DEVICE, True)
        assert bob.step_enabled(DEVICE)  # shown at once...
        await wait_until(lambda: not bob.step_enabled(DEVICE), 10, what="undone")
        await wait_until(lambda: "alice@laptop" in window.statusBar().currentMessage(), 10,
                         what="the reason in the status bar")
        assert not panel.step_action.isChecked()

        # Alice's console is gone: Bob takes step mode over, after saying yes
        holder = panel.step_holder
        assert holder.take_over.isVisibleTo(holder)
        holder.take_over.click()
        box = holder.findChild(QMessageBox, "takeOverBox")
        assert box is not None and "alice@laptop" in box.text()
        box.button(QMessageBox.StandardButton.Yes).click()
        await wait_until(lambda: panel.step_holder.isHidden(), 10, what="holder gone")
        assert not alice.holds_step and bob.holds_step
        assert panel.step_action.isEnabled()
        panel.step_action.trigger()  # Bob turns step mode on for the device
        await wait_until(lambda: alice.step_holder == "bob@desk", 10, what="bob holds it")
        assert bob.holds_step and bob.step_enabled(DEVICE) and panel.step_holder.isHidden()
        assert panel.step_action.isChecked() and panel.step_action.isEnabled()
        window.close()
    finally:
        await alice.close()
        await bob.close()
