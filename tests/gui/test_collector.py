"""Garbage is collected on the GUI thread only (app/collector.py)."""

from __future__ import annotations

import gc
import threading
from typing import Any

from PySide6.QtCore import QObject, QThread, QTimer
from PySide6.QtWidgets import QApplication

from app.collector import GuiThreadCollector, collect_on_gui_thread


class _Cyclic(QObject):
    """A QObject with a running timer, caught in a reference cycle."""

    def __init__(self) -> None:
        super().__init__()
        self.me = self
        self.timer = QTimer(self)
        self.timer.start(60_000)


def test_a_cycle_dropped_while_a_worker_allocates_is_freed_on_the_gui_thread(
    qapp: QApplication,
) -> None:
    collector = GuiThreadCollector(qapp)
    collector.start()
    try:
        assert not gc.isenabled() and collector.active
        freed_on: list[Any] = []
        obj = _Cyclic()
        obj.destroyed.connect(lambda *_: freed_on.append(QThread.currentThread()))
        del obj

        def allocate() -> None:  # enough to cross every generation's threshold
            for _ in range(100_000):
                a: list[object] = []
                a.append(a)

        worker = threading.Thread(target=allocate)
        worker.start()
        worker.join()
        assert freed_on == []  # the worker never collected it

        assert collect_on_gui_thread() > 0
        assert freed_on == [qapp.thread()]
    finally:
        collector.stop()
        collector.deleteLater()


def test_check_follows_the_thresholds_and_stop_gives_collection_back(
    qapp: QApplication,
) -> None:
    enabled = gc.isenabled()
    collector = GuiThreadCollector(qapp)
    collector.start()
    collector.start()  # twice: still one hand-over
    try:
        gc.collect()
        assert collector.check() == 0  # under every threshold: nothing is collected
        for _ in range(gc.get_threshold()[0] + 1):
            a: list[object] = []
            a.append(a)
        assert collector.check() > 0
    finally:
        collector.stop()
        collector.deleteLater()
    assert gc.isenabled() == enabled and not collector.active


def test_objects_alive_at_startup_leave_full_collections_until_stop(
    qapp: QApplication,
) -> None:
    collector = GuiThreadCollector(qapp)
    collector.freeze_startup()  # not started: nothing happens
    assert gc.get_freeze_count() == 0
    collector.start()
    try:
        long_lived = [[i] for i in range(1_000)]
        collector.freeze_startup()
        frozen = gc.get_freeze_count()
        assert frozen >= len(long_lived)
        collector.freeze_startup()  # once only
        assert gc.get_freeze_count() == frozen
        assert all(not any(o is row for o in gc.get_objects(2)) for row in long_lived[:3])
    finally:
        collector.stop()
        collector.deleteLater()
    assert gc.get_freeze_count() == 0  # given back to the oldest generation
    assert any(o is long_lived[0] for o in gc.get_objects(2))
