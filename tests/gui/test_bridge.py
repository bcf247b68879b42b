"""EngineBridge: bus events become Qt signals, on the GUI thread, one loop turn later."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from acs_engine.bus import (
    DeviceUpdated,
    EngineNotice,
    EventBus,
    RequestRejected,
    SessionEnded,
    SessionStarted,
    SessionStateChanged,
    WireMessage,
)
from acs_engine.clock import now_ms
from acs_engine.session.machine import State
from app.bridge import EngineBridge
from tests.gui.aio import wait_until
from tests.helpers.engine import RawCpe, inform, running_engine


def _first(events: list[object], kind: type) -> Any:
    return next((e for e in events if isinstance(e, kind)), None)


def _started(n: int = 1) -> SessionStarted:
    return SessionStarted(f"s{n}", f"DEV-{n}", now_ms(), "127.0.0.1", ("0 BOOTSTRAP",), "1.0")


def test_each_event_type_has_its_signal_and_arrives_after_publish(qtbot) -> None:
    bus = EventBus()
    bridge = EngineBridge(bus)
    now = now_ms()
    events = [
        _started(),
        SessionStateChanged("s1", "DEV-1", State.INIT, State.PROCESS, now),
        WireMessage("s1", "DEV-1", "in", now, "Inform", "1", None, (), b"<x/>"),
        DeviceUpdated("DEV-1", now, created=True),
        RequestRejected(now, "127.0.0.1", 400, "bad XML"),
        EngineNotice(now, "warning", "disk almost full"),
        SessionEnded("s1", "DEV-1", now, "ok", rpc_count=1),
    ]
    signals = [
        bridge.sessionStarted,
        bridge.sessionStateChanged,
        bridge.wireMessage,
        bridge.deviceUpdated,
        bridge.requestRejected,
        bridge.engineNotice,
        bridge.sessionEnded,
    ]
    typed: list[object] = []
    every: list[object] = []
    for signal in signals:
        signal.connect(typed.append)
    bridge.eventReceived.connect(every.append)

    with qtbot.waitSignal(bridge.sessionEnded, timeout=2000):
        for event in events:
            bus.publish(event)
        # Queued: nothing is emitted inside publish().
        assert typed == [] and every == []
    assert typed == events
    assert every == events


def test_events_published_on_another_thread_arrive_on_the_gui_thread(qtbot) -> None:
    bus = EventBus()
    bridge = EngineBridge(bus)
    seen_on: list[QThread] = []
    bridge.sessionStarted.connect(lambda _e: seen_on.append(QThread.currentThread()))
    with qtbot.waitSignal(bridge.sessionStarted, timeout=2000) as blocker:
        worker = threading.Thread(target=bus.publish, args=(_started(7),))
        worker.start()
        worker.join()
    assert blocker.args[0].device_id == "DEV-7"
    assert seen_on == [QApplication.instance().thread()]


def test_detach_stops_delivery_even_of_queued_events(qtbot) -> None:
    bus = EventBus()
    bridge = EngineBridge(bus)
    received: list[object] = []
    bridge.eventReceived.connect(received.append)
    bus.publish(_started(1))
    bridge.detach()
    bus.publish(_started(2))
    qtbot.wait(50)
    assert received == []
    assert not bridge.attached


def test_deleting_the_bridge_unsubscribes_it(qtbot) -> None:
    bus = EventBus()
    bridge = EngineBridge(bus)
    with qtbot.waitSignal(bridge.destroyed, timeout=2000):
        bridge.deleteLater()
    bus.publish(_started())  # would raise inside the subscriber if still subscribed
    assert bus._subs == []


async def test_a_real_cpe_session_comes_through_as_signals(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        bridge = EngineBridge(engine.bus)
        received: list[object] = []
        bridge.eventReceived.connect(received.append)
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            status, _, _ = await cpe.send(inform("SNBRIDGE"))
            assert status == 200
            await wait_until(lambda: _first(received, SessionStarted), what="SessionStarted")
            started = _first(received, SessionStarted)
            assert started.events == ("0 BOOTSTRAP",)
            status, _, _ = await cpe.send(None)
            assert status == 204
        await wait_until(lambda: _first(received, SessionEnded), what="SessionEnded")
        ended = _first(received, SessionEnded)
        kinds = [type(e) for e in received]
        assert SessionStateChanged in kinds and WireMessage in kinds
        assert DeviceUpdated in kinds
        device = "F1E1D0-TestGW-SNBRIDGE"
        assert ended.device_id == device and ended.outcome == "ok"
        assert started.device_id == device and started.session_id == ended.session_id
        bridge.detach()


async def test_gui_tests_run_on_a_qasync_loop() -> None:
    import asyncio

    import qasync

    assert isinstance(asyncio.get_running_loop(), qasync.QEventLoop)
