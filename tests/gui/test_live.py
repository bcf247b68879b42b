"""The live session view against the real engine on 127.0.0.1: timeline, state machine,
SOAP viewer and the session panel."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QKeySequence, QShortcut

from acs_engine.cwmp import codec, rpc
from acs_engine.cwmp.envelope import Envelope
from acs_engine.server.controller import Engine
from acs_engine.session.step import install_step_gate
from app.bridge import EngineBridge
from app.live.dialogs import InsertGpvDialog, InsertSpvDialog, RpcEditorDialog
from app.live.machine_view import StateMachineView
from app.live.panel import SessionPanel
from app.live.soap import SoapViewer, pretty_print
from app.live.timeline import COL_ROUND_TRIP, COL_STATUS, Exchange, TimelineModel
from tests.gui.aio import wait_until
from tests.helpers.engine import RawCpe, inform, running_engine

DEVICE = "F1E1D0-TestGW-SN0001"
GPV = rpc.GetParameterValues(names=("Device.DeviceInfo.SoftwareVersion",))
GPV_RESPONSE = rpc.GetParameterValuesResponse(
    parameters=(rpc.ParameterValue("Device.DeviceInfo.SoftwareVersion", "1.0.0", "xsd:string"),)
)
EXPECTED_ROWS = [
    ("in", "Inform", None),
    ("out", "InformResponse", 200),
    ("in", "", None),
    ("out", "GetParameterValues", 200),
    ("in", "GetParameterValuesResponse", None),
    ("out", "", 204),
]


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[Engine]:
    async with running_engine(tmp_path) as engine:
        yield engine


@pytest.fixture
def bridge(engine: Engine) -> EngineBridge:
    return EngineBridge(engine.bus)


async def one_session(engine: Engine, serial: str = "SN0001") -> None:
    """Inform, one GetParameterValues, its answer, the closing 204."""
    engine.manual.put(f"F1E1D0-TestGW-{serial}", GPV)
    async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
        await cpe.send(inform(serial))
        status, reply, _ = await cpe.send(None)
        assert status == 200 and reply is not None
        status, _, _ = await cpe.send(GPV_RESPONSE, cwmp_id=reply.cwmp_id)
        assert status == 204


def _rows(model: TimelineModel) -> list[tuple[str, str, int | None]]:
    return [(e.direction, e.rpc, e.status) for e in model.exchanges()]


# ---------------------------------------------------------------------------- timeline
async def test_timeline_pairs_requests_and_measures_round_trips(
    engine: Engine, bridge: EngineBridge, qtmodeltester
) -> None:
    model = TimelineModel()
    qtmodeltester.check(model)
    first: list[str] = []

    def feed(message: object) -> None:
        if not first:
            first.append(message.session_id)  # type: ignore[attr-defined]
            model.show(first[0])
        model.append_wire(message)  # type: ignore[arg-type]

    bridge.wireMessage.connect(feed)
    await one_session(engine)
    await wait_until(lambda: model.rowCount() == 6, what="six messages")
    assert _rows(model) == EXPECTED_ROWS
    inform_row, response_row = model.exchange(0), model.exchange(1)
    assert (inform_row.pair, response_row.pair) == (1, 0)
    gpv, answer = model.exchange(3), model.exchange(4)
    assert (gpv.pair, answer.pair) == (4, 3)
    assert answer.round_trip_ms is not None and answer.round_trip_ms >= 0
    assert gpv.round_trip_ms is None and model.exchange(2).pair is None
    assert answer.cwmp_id == gpv.cwmp_id and gpv.cwmp_id
    assert model.index(4, COL_ROUND_TRIP).data().endswith(" ms")
    assert model.index(5, COL_STATUS).data() == "204 No Content"
    assert model.index(2, COL_STATUS).data() == "POST"
    assert model.exchange(5).rpc_label() == "(empty: session ends)"
    assert model.index(0, 1).data() == "← CPE" and model.index(1, 1).data() == "→ CPE"
    assert "answered by row 2" in model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    qtmodeltester.check(model)


async def test_timeline_reopens_a_stored_trace(engine: Engine, qtmodeltester) -> None:
    await one_session(engine)
    assert engine.store is not None
    sessions = await engine.store.list_sessions(DEVICE)
    trace = await engine.store.load_trace(sessions[0].id)
    model = TimelineModel()
    model.show(sessions[0].id, [Exchange.from_trace(e) for e in trace])
    assert _rows(model) == EXPECTED_ROWS
    assert model.exchange(4).round_trip_ms is not None
    qtmodeltester.check(model)


def test_timeline_shows_challenges_and_headers_without_credentials(qtbot) -> None:
    model = TimelineModel()
    model.show("s1", [
        Exchange(1.0, "in", "", None, None, (("Authorization", "Basic dXNlcjpwYXNz"),), b""),
        Exchange(1.1, "out", "", None, 401, (("WWW-Authenticate", "Digest realm=x"),), b""),
    ])
    assert model.index(1, COL_STATUS).data() == "401 Unauthorized"
    tip = model.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert "Basic ********" in tip and "dXNlcjpwYXNz" not in tip
    assert "challenge" in model.index(1, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert model.index(1, 0).data(Qt.ItemDataRole.ForegroundRole) is not None


# ---------------------------------------------------------------------------- state machine
async def test_state_machine_lights_each_state_of_a_real_session(
    engine: Engine, bridge: EngineBridge, qtbot
) -> None:
    view = StateMachineView()
    qtbot.addWidget(view)
    view.resize(720, 220)
    view.show()
    shown: list[str] = []
    view.stateShown.connect(shown.append)
    bridge.sessionStateChanged.connect(view.apply)
    assert view.state() == "" and "No session" in view.label.text()
    await one_session(engine)
    await wait_until(lambda: view.state() == "END", what="END lit")
    assert shown == ["PROCESS", "PENDING_RPC", "RESPONSE_RECEIVED", "COMMIT", "END"]
    assert view.previous_state() == "COMMIT"
    assert "END" in view.label.text() and "END" in view.accessibleDescription()
    image = view.grab().toImage()  # paints; node rectangles are laid out
    rect = view.node_rect("END")
    assert rect.width() > 0
    centre = rect.center().toPoint()
    assert image.pixelColor(centre.x() + 2, centre.y() + 2).green() > 100  # lit green
    tip = view._tooltip_at(rect.center())
    assert tip.startswith("END (current)")
    view.reset()
    assert view.state() == ""


# ---------------------------------------------------------------------------- SOAP viewer
def test_state_machine_paints_the_same_edges_from_its_remembered_shapes(qtbot) -> None:
    """The edges' shapes are computed once per size: a repaint from them, and one after a
    resize, give the pixels a view computing every shape anew gives."""
    view = StateMachineView()
    qtbot.addWidget(view)
    view.show()

    def fresh_and_remembered(width: int, height: int) -> tuple[object, object]:
        view.resize(width, height)
        view.set_state("RESPONSE_RECEIVED", "PENDING_RPC")
        first = view.grab().toImage()  # computes the shapes for this size
        view._shapes_size = None  # forget them: computed again
        fresh = view.grab().toImage()
        remembered = view.grab().toImage()
        assert first == fresh
        return fresh, remembered

    for size in ((720, 220), (900, 300), (720, 220)):
        fresh, remembered = fresh_and_remembered(*size)
        assert fresh == remembered
    assert view._shapes  # the edges were drawn from remembered shapes


def test_state_machine_labels_fit_their_boxes_in_a_narrow_panel(qtbot) -> None:
    """At 1280x800 the Live session panel is ~670 px wide (620 with a scroll bar): every state's name fits inside its
    box (the font shrinks), and a wide panel keeps the normal size."""
    from PySide6.QtGui import QFontMetricsF

    view = StateMachineView()
    qtbot.addWidget(view)
    view.show()
    sizes = []
    for width in (620, 670, 1200):
        view.resize(width, 200)
        view.grab()  # lays the boxes out for this size
        metrics = QFontMetricsF(view.label_font())
        for state, rect in view._rects.items():
            label = state.value.replace("_", " ")
            assert metrics.horizontalAdvance(label) <= rect.width() - 8, (width, label)
        sizes.append(view.label_font().pointSizeF())
    assert sizes[0] < sizes[2]  # shrunk when narrow, not always


async def test_soap_viewer_pretty_prints_highlights_finds_and_copies(qtbot) -> None:
    viewer = SoapViewer()
    qtbot.addWidget(viewer)
    viewer.show()
    body = codec.serialize(Envelope(GPV_RESPONSE, cwmp_id="abc.1"))
    assert viewer.text.placeholderText().startswith("Select a message")
    viewer.set_body(b"", "← CPE · (empty POST)")  # a message with no body says so
    assert viewer.text.placeholderText() == "This message has no body."
    viewer.set_body(body, "← CPE")
    text = viewer.plain_text()
    assert text.count("\n") > 5 and "  <" in text  # indented
    assert "SoftwareVersion" in text and not viewer.note.isVisible()
    block = viewer.text.document().firstBlock()
    assert block.layout().formats(), "the highlighter coloured the first line"
    assert viewer.search("softwareversion") == 1
    assert viewer.search("Name") == 2
    assert viewer.current_match() == 0
    viewer.find_next()
    assert viewer.current_match() == 1
    viewer.find_next()
    assert viewer.current_match() == 0
    viewer.find_previous()
    assert viewer.current_match() == 1
    assert viewer.find_bar.count_label.text() == "2 of 2"
    assert viewer.search("nothing-like-this") == 0
    assert viewer.find_bar.count_label.text() == "No matches"

    viewer.close_find()
    assert not viewer.find_bar.isVisible()
    find = next(
        s for s in viewer.findChildren(QShortcut)
        if s.key() == QKeySequence(QKeySequence.StandardKey.Find)
    )
    assert find.key().toString() == "Ctrl+F"
    find.activated.emit()
    assert viewer.find_bar.isVisible()

    QGuiApplication.clipboard().clear()
    copied: list[str] = []
    viewer.copied.connect(copied.append)
    qtbot.mouseClick(viewer.copy_button, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == text == copied[0]


def test_soap_viewer_refuses_a_doctype_and_shows_broken_xml_raw(qtbot) -> None:
    viewer = SoapViewer()
    qtbot.addWidget(viewer)
    viewer.show()
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    viewer.set_body(evil)
    assert viewer.note.isVisible() and "DOCTYPE" in viewer.note.text()
    assert "&e;" in viewer.plain_text() and "root:" not in viewer.plain_text()
    viewer.set_body(b"<a><b></a>")
    assert "not well-formed" in viewer.note.text()
    assert viewer.plain_text() == "<a><b></a>"
    assert pretty_print(b"").note == "Empty body"
    viewer.clear()
    assert viewer.plain_text() == "" and not viewer.note.isVisible()


def test_soap_viewer_masks_secrets_until_asked(qtbot) -> None:
    viewer = SoapViewer()
    qtbot.addWidget(viewer)
    spv = rpc.SetParameterValues(parameters=(
        rpc.ParameterValue("Device.WiFi.AccessPoint.1.Security.KeyPassphrase", "hunter22", "xsd:string"),
    ))
    viewer.set_body(codec.serialize(Envelope(spv, cwmp_id="1")))
    assert viewer.masking_available
    assert "hunter22" not in viewer.plain_text()
    viewer.secrets_box.setChecked(True)
    assert "hunter22" in viewer.plain_text()


# ---------------------------------------------------------------------------- dialogs
def test_rpc_dialogs_validate_with_the_codec(qtbot) -> None:
    editor = RpcEditorDialog(GPV)
    qtbot.addWidget(editor)
    accepted: list[rpc.Message] = []
    editor.rpcAccepted.connect(accepted.append)
    text = editor.editor.toPlainText()
    assert "GetParameterValues" in text
    editor.editor.setPlainText(text.replace("SoftwareVersion", "HardwareVersion"))
    assert editor.try_accept()
    assert accepted == [rpc.GetParameterValues(names=("Device.DeviceInfo.HardwareVersion",))]

    broken = RpcEditorDialog(GPV)
    qtbot.addWidget(broken)
    broken.editor.setPlainText("<not xml")
    assert not broken.try_accept() and broken.error.text()
    broken.editor.setPlainText(
        codec.serialize(Envelope(rpc.InformResponse(), cwmp_id="1")).decode()
    )
    assert not broken.try_accept() and "not an RPC the ACS sends" in broken.error.text()

    gpv = InsertGpvDialog(("Device.DeviceInfo.",))
    qtbot.addWidget(gpv)
    assert gpv.build() == rpc.GetParameterValues(names=("Device.DeviceInfo.",))
    gpv.names.setPlainText("")
    with pytest.raises(ValueError):
        gpv.build()

    spv = InsertSpvDialog(rows=1)
    qtbot.addWidget(spv)
    with pytest.raises(ValueError):
        spv.build()
    spv.add_row("Device.ManagementServer.PeriodicInformInterval", "300", "xsd:unsignedInt")
    spv.key.setText("k9")
    assert spv.build() == rpc.SetParameterValues(
        parameters=(rpc.ParameterValue(
            "Device.ManagementServer.PeriodicInformInterval", "300", "xsd:unsignedInt"),),
        parameter_key="k9",
    )


# ---------------------------------------------------------------------------- the panel
async def test_panel_follows_live_sessions_and_reopens_stored_ones(
    engine: Engine, bridge: EngineBridge, qtbot
) -> None:
    gate = install_step_gate(engine)
    panel = SessionPanel(engine, bridge, gate)
    qtbot.addWidget(panel)
    panel.resize(1100, 700)
    panel.show()
    await one_session(engine)
    await wait_until(lambda: panel.machine.state() == "END", what="the session followed")
    assert panel.device_id == DEVICE and panel.session_id
    first = panel.session_id
    assert _rows(panel.timeline) == EXPECTED_ROWS
    assert "session ends" in panel.soap.caption.text()  # the newest message is shown
    await wait_until(lambda: panel.pending_tasks() == 0, what="store reads")
    await one_session(engine)
    await wait_until(
        lambda: panel.session_id != first and panel.machine.state() == "END",
        what="the second session followed",
    )
    await wait_until(lambda: panel.session_combo.count() == 2, what="two sessions listed")
    assert panel.session_combo.itemData(0) == panel.session_id  # newest first

    panel.table.selectRow(3)
    assert "GetParameterValues" in panel.soap.plain_text()
    assert "cwmp:ID" in panel.soap.caption.text()

    # A fresh panel knows nothing live: everything comes from the store.
    fresh = SessionPanel(engine, bridge, gate)
    qtbot.addWidget(fresh)
    fresh.show_device(DEVICE, first)
    loaded: list[str] = []
    fresh.traceLoaded.connect(loaded.append)
    await wait_until(lambda: loaded == [first], what="the stored trace")
    await wait_until(lambda: fresh.pending_tasks() == 0, what="store reads")
    assert _rows(fresh.timeline) == EXPECTED_ROWS
    assert fresh.machine.state() == "END"
    assert fresh.session_combo.count() == 2
    assert fresh.session_combo.currentData() == first
    fresh.refresh()
    await wait_until(lambda: fresh.device_combo.findData(DEVICE) >= 0, what="device list")
