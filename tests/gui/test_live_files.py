"""Session files in the live session panel against the real engine: save a live and a stored
session, open the file again ("from file"), export HAR, refuse a forged file."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from acs_engine.inspect import sessionfile
from acs_engine.server.controller import Engine
from acs_engine.session.step import install_step_gate
from app.bridge import EngineBridge
from app.live.panel import SessionPanel
from tests.gui.aio import wait_until
from tests.gui.test_live import DEVICE, EXPECTED_ROWS, _rows, one_session
from tests.helpers.engine import running_engine


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    async with running_engine(tmp_path) as engine:
        yield engine


async def test_save_live_and_stored_sessions_then_open_the_file(
    engine: Engine, tmp_path: Path, qtbot
) -> None:
    bridge = EngineBridge(engine.bus)
    panel = SessionPanel(engine, bridge, install_step_gate(engine))
    qtbot.addWidget(panel)
    panel.resize(1100, 700)
    panel.show()
    assert not panel.files.save_action.isEnabled()
    await one_session(engine)
    await wait_until(lambda: panel.machine.state() == "END", what="the session followed")
    live_id = panel.session_id
    assert panel.files.save_action.isEnabled()

    live_path = tmp_path / "live.fieldacs-session.json"
    assert await panel.files.save_path(live_path, secrets=False, as_har=False)
    saved = sessionfile.load(live_path)
    assert saved.source == "live" and saved.session_id == live_id
    assert saved.device_id == DEVICE and saved.events == ("0 BOOTSTRAP",)
    assert [(m.direction, m.rpc, m.status) for m in saved.messages] == EXPECTED_ROWS

    # The same session from the store, in a fresh panel that never saw it live.
    fresh = SessionPanel(engine, bridge, install_step_gate(engine))
    qtbot.addWidget(fresh)
    loaded: list[str] = []
    fresh.traceLoaded.connect(loaded.append)
    fresh.show_device(DEVICE, live_id)
    await wait_until(lambda: loaded == [live_id], what="the stored trace")
    stored_path = tmp_path / "stored.json"
    assert await fresh.files.save_path(stored_path, secrets=False, as_har=False)
    stored = sessionfile.load(stored_path)
    assert stored.source == "stored" and stored.outcome == "ok"
    assert [m.body for m in stored.messages] == [m.body for m in saved.messages]

    har_path = tmp_path / "s.har"
    assert await fresh.files.save_path(har_path, secrets=False, as_har=True)
    entries = json.loads(har_path.read_text())["log"]["entries"]
    assert [e["response"]["status"] for e in entries] == [200, 200, 204]

    # Open the file: a session of the device labelled "from file", same rows, END.
    opened = await fresh.files.open_path(stored_path)
    assert opened is not None
    await wait_until(lambda: fresh.session_id == opened.key, what="the file shown")
    assert fresh.device_id == DEVICE
    assert fresh.session_combo.currentText() == "from file: stored.json"
    assert _rows(fresh.timeline) == EXPECTED_ROWS
    assert fresh.machine.state() == "END"
    fresh.table.selectRow(0)
    assert "Inform" in fresh.soap.plain_text()
    # Saved again from the file, it keeps where it came from.
    again = tmp_path / "again.json"
    assert await fresh.files.save_path(again, secrets=False, as_har=False)
    assert sessionfile.load(again).source == "stored"
    await wait_until(lambda: fresh.pending_tasks() == 0 and panel.pending_tasks() == 0,
                     what="store reads")


async def test_a_forged_file_is_refused_and_nothing_changes(
    engine: Engine, tmp_path: Path, qtbot
) -> None:
    panel = SessionPanel(engine, EngineBridge(engine.bus), install_step_gate(engine))
    qtbot.addWidget(panel)
    failures: list[str] = []
    panel.files.failed.connect(failures.append)
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "fieldacs-session", "version": 1, "session": {}, '
                   '"messages": [{"direction": "sideways", "at": 1}]}')
    assert await panel.files.open_path(bad) is None
    assert failures and "bad.json" in failures[0] and "direction" in failures[0]
    assert panel.session_combo.count() == 0 and panel.session_id == ""
    # Nothing shown: saving says so instead of writing an empty file.
    assert not await panel.files.save_path(tmp_path / "none.json", secrets=False, as_har=False)
    assert not (tmp_path / "none.json").exists()


async def test_open_a_capture_each_session_from_file(engine: Engine, qtbot) -> None:
    data = Path(__file__).resolve().parents[1] / "data" / "captures"
    panel = SessionPanel(engine, EngineBridge(engine.bus), install_step_gate(engine))
    qtbot.addWidget(panel)
    said: list[str] = []
    panel.files.imported.connect(said.append)
    result = await panel.files.import_path(data / "sim-http.pcap")
    assert result is not None and len(result.sessions) == 2
    assert said and said[0].startswith("sim-http.pcap: 2 CWMP session(s)")
    await wait_until(lambda: panel.session_id.startswith("file:"), what="a capture session")
    assert panel.session_combo.currentText().startswith("from file: sim-http.pcap #")
    assert [e.rpc for e in panel.timeline.exchanges()][:2] == ["Inform", "InformResponse"]
    assert panel.machine.state() == "END"
    await wait_until(lambda: not panel.lint.busy(), what="the lint run")
    assert "error" not in panel.details.tabText(panel.details.indexOf(panel.lint))
    panel.files.message_box.close()

    # HTTPS: no session, and the user is told why.
    said.clear()
    result = await panel.files.import_path(data / "sim-https.pcap")
    assert result is not None and result.sessions == []
    assert "cannot be decrypted" in said[0]
    assert "cannot be decrypted" in panel.files.message_box.text()
    panel.files.message_box.close()


async def test_replay_the_shown_session_against_a_copy_of_the_database(
    tmp_path: Path, qtbot
) -> None:
    from acs_engine.sim.client import SimCpe
    from acs_engine.sim.device import SimDevice
    from acs_engine.sim.model import load_model

    async with running_engine(tmp_path / "e", provisioning=True) as engine:
        panel = SessionPanel(engine, EngineBridge(engine.bus), install_step_gate(engine))
        qtbot.addWidget(panel)
        assert (await SimCpe(SimDevice(load_model("tr181"), "RPLGUI001"),
                             engine.cwmp_urls()[-1]).session()).ok
        await wait_until(lambda: panel.machine.state() == "END", what="the session")
        db = engine.config.db_path
        dialog = await panel.files.replay()
        assert dialog is not None
        await wait_until(lambda: not dialog.busy(), timeout=30, what="the replay")
        result = dialog.result
        assert result is not None and result.steps
        # The device is already in the database now: its second bootstrap is not its first,
        # so the replay may diverge; whatever it did is shown step by step and summarised.
        assert dialog.table.rowCount() == len(result.steps)
        assert dialog.summary.text() == result.summary()
        assert dialog.table.item(0, 1).text() == "InformResponse"
        assert engine.store is not None and await engine.store.count_devices() == 1
        assert db.exists()
        dialog.close()
        await wait_until(lambda: panel.pending_tasks() == 0, what="store reads")


async def test_escalation_bundle_dialog_shows_what_leaves_then_opens_again(
    engine: Engine, tmp_path: Path, qtbot
) -> None:
    from PySide6.QtCore import Qt

    panel = SessionPanel(engine, EngineBridge(engine.bus), install_step_gate(engine))
    qtbot.addWidget(panel)
    await one_session(engine)
    await one_session(engine)
    await wait_until(lambda: panel.machine.state() == "END", what="the session")
    await wait_until(lambda: panel.pending_tasks() == 0, what="store reads")
    shown = panel.session_id
    dialog = await panel.files.make_bundle()
    assert dialog is not None and dialog.sessions.count() == 2
    assert dialog.chosen() == [shown]
    await wait_until(lambda: not dialog.busy() and dialog.files.rowCount() > 0,
                     what="the plan")
    names = [dialog.files.item(r, 0).text() for r in range(dialog.files.rowCount())]
    assert names[0] == f"sessions/1-{shown}.fieldacs-session.json" and "notes.txt" in names
    assert "masked" in dialog.status.text()
    assert all("SECRETS" not in dialog.files.item(r, 2).text()
               for r in range(dialog.files.rowCount()))
    dialog.secrets.setChecked(True)
    await wait_until(lambda: not dialog.busy() and "in clear" in dialog.status.text(),
                     what="the plan with secrets")
    flagged = [dialog.files.item(r, 0).text() for r in range(dialog.files.rowCount())
               if "SECRETS IN CLEAR" in dialog.files.item(r, 2).text()]
    assert flagged == [names[0], "tree.json"]
    dialog.secrets.setChecked(False)
    dialog.sessions.item(1).setCheckState(Qt.CheckState.Checked)
    dialog.notes.setPlainText("Vendor: please look at the second GPV")
    await wait_until(lambda: not dialog.busy() and dialog.bundle is not None
                     and len(dialog.bundle.sessions) == 2
                     and dialog.bundle.notes.startswith("Vendor"), what="the final plan")
    path = tmp_path / "escalation.zip"
    await dialog.save_to(path)
    assert path.exists()
    dialog.close()

    opened = await panel.files.open_bundle(path)
    assert opened is not None
    assert opened.notes.toPlainText() == "Vendor: please look at the second GPV"
    assert opened.notes.isReadOnly() and not opened.save_button.isEnabled()
    assert opened.sessions.count() == 2
    await wait_until(lambda: panel.session_combo.currentText().startswith(
        "from file: escalation.zip #"), what="a bundled session shown")
    assert panel.timeline.exchanges()[0].rpc == "Inform"
    opened.close()
