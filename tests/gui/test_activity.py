"""Recent activity: one plain line per event, newest first, never more than the capacity."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QAbstractItemView

from acs_engine.bus import (
    DeviceUpdated,
    EngineNotice,
    RequestRejected,
    SessionEnded,
    SessionStarted,
    WireMessage,
)
from app.activity import (
    ActivityDescriber,
    ActivityEntry,
    ActivityModel,
    ActivityView,
    format_duration,
)


def test_session_lines_name_the_device_outcome_and_duration() -> None:
    describer = ActivityDescriber()
    start = describer.describe(
        SessionStarted("s1", "OUI-GW-SN1", 100_000, "10.0.0.7", ("0 BOOTSTRAP", "1 BOOT"), "1.2")
    )
    assert start is not None
    assert start.device == "OUI-GW-SN1" and start.level == "session"
    assert "10.0.0.7" in start.text and "0 BOOTSTRAP, 1 BOOT" in start.text
    end = describer.describe(SessionEnded("s1", "OUI-GW-SN1", 102_500, "ok", rpc_count=3))
    assert end is not None
    assert end.text == "Session ended ok after 2.5 s, 3 RPCs"
    assert end.level == "ok"
    failed = describer.describe(SessionEnded("s9", "OUI-GW-SN2", 5000, "timeout", "CPE went silent"))
    assert failed is not None
    assert failed.level == "error"
    assert failed.text == "Session ended timeout: CPE went silent"


def test_rejections_notices_and_new_devices_are_described() -> None:
    describer = ActivityDescriber()
    rejected = describer.describe(RequestRejected(1000, "10.0.0.9", 413, "body too large"))
    assert rejected is not None and rejected.level == "warning"
    assert rejected.text == "Rejected a request from 10.0.0.9: HTTP 413, body too large"
    notice = describer.describe(EngineNotice(1000, "error", "database is locked"))
    assert notice == ActivityEntry(1.0, "error", "", "database is locked")
    new = describer.describe(DeviceUpdated("DEV", 2000, created=True))
    assert new is not None and new.text == "New device registered"
    assert describer.describe(DeviceUpdated("DEV", 3000)) is None
    wire = WireMessage("s", "DEV", "in", 1000, "Inform", None, None, (), b"")
    assert describer.describe(wire) is None


def test_open_session_memory_is_bounded() -> None:
    describer = ActivityDescriber(max_open=3)
    for n in range(10):
        describer.describe(SessionStarted(f"s{n}", "D", n * 1000, "", (), "1.0"))
    ended = describer.describe(SessionEnded("s0", "D", 20_000, "ok"))
    assert ended is not None and "after" not in ended.text  # s0 was forgotten
    kept = describer.describe(SessionEnded("s9", "D", 20_000, "ok"))
    assert kept is not None and "after 11.0 s" in kept.text


@pytest.mark.parametrize(
    ("seconds", "text"), [(0.25, "250 ms"), (4.21, "4.2 s"), (125, "2 min 05 s"), (-1, "0 ms")]
)
def test_format_duration(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


def test_model_keeps_the_newest_lines_up_to_its_capacity(qapp, qtmodeltester) -> None:
    model = ActivityModel(capacity=5)
    qtmodeltester.check(model)
    now = time.time()
    for n in range(12):
        model.add(ActivityEntry(now + n, "info", f"D{n}", f"line {n}"))
    qtmodeltester.check(model)
    assert model.rowCount() == 5
    assert [e.text for e in model.entries()] == [f"line {n}" for n in range(11, 6, -1)]
    top = model.index(0, ActivityModel.COLUMN_TEXT)
    assert top.data() == "line 11"
    assert model.index(0, ActivityModel.COLUMN_DEVICE).data() == "D11"
    assert len(model.index(0, ActivityModel.COLUMN_TIME).data()) == len("HH:MM:SS")
    assert not top.data(Qt.ItemDataRole.DecorationRole).isNull()
    assert "line 11" in top.data(Qt.ItemDataRole.ToolTipRole)
    assert model.rowCount(top) == 0
    model.clear()
    assert model.rowCount(QModelIndex()) == 0
    with pytest.raises(ValueError):
        ActivityModel(capacity=0)


def test_view_copies_selected_lines_oldest_first(qtbot) -> None:
    model = ActivityModel()
    for n in range(3):
        model.add(ActivityEntry(float(n), "info", f"D{n}", f"line {n}"))
    view = ActivityView(model)
    qtbot.addWidget(view)
    view.show()
    assert view.editTriggers() == QAbstractItemView.EditTrigger.NoEditTriggers
    view.selectAll()
    view.setFocus()
    qtbot.keyClick(view, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    lines = QGuiApplication.clipboard().text().splitlines()
    assert [line.split("\t")[1:] for line in lines] == [
        ["D0", "line 0"],
        ["D1", "line 1"],
        ["D2", "line 2"],
    ]
