"""Python's cyclic garbage collector, run on the GUI thread only.

Left to itself the collector runs in whichever thread allocates when a generation's threshold
is crossed: in the console that is as often the aiosqlite worker, the script sandbox's thread
or a qasync executor thread as the GUI thread. A Qt object caught in a reference cycle is then
destroyed on that thread, and Qt cannot clean up after it there: ``~QObject`` off its own
thread leaves the object's timers registered with the GUI thread's event dispatcher (Qt says
"QObject::~QObject: Timers cannot be stopped from another thread"), and when one falls due Qt
delivers a timer event to freed memory: a segfault in ``QTimerInfoList::activateTimers``,
long after, in unrelated code. (Widgets must never be destroyed off the GUI thread anyway.)

:class:`GuiThreadCollector` switches automatic collection off and collects from a QTimer on
the GUI thread instead, generation by generation with the interpreter's own thresholds (the
recipe pyqtgraph ships as ``pyqtgraph.util.garbage_collector``).
"""

from __future__ import annotations

import gc
import logging

from PySide6.QtCore import QCoreApplication, QEvent, QObject, QThread, QTimer

log = logging.getLogger("fieldacs.app")

#: How often the GUI thread looks at the collector's counters.
CHECK_INTERVAL_MS = 500


class GuiThreadCollector(QObject):
    """Collects garbage on the GUI thread, never elsewhere, while started.

    Start it on the GUI thread once the QApplication exists; :meth:`stop` gives automatic
    collection back as it was (starting twice, or two collectors, nest correctly).
    """

    def __init__(self, parent: QObject | None = None, interval_ms: int = CHECK_INTERVAL_MS) -> None:
        """Args:
        parent: the owner (usually the QApplication).
        interval_ms: how often the thresholds are checked.
        """
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.check)
        self._was_enabled: bool | None = None
        self._frozen = False

    @property
    def active(self) -> bool:
        """Whether automatic collection is handed to this collector."""
        return self._was_enabled is not None

    def start(self) -> None:
        """Switch automatic collection off and collect from the GUI thread's event loop."""
        _require_gui_thread()
        if self._was_enabled is None:
            self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer.start()

    def freeze_startup(self) -> None:
        """Collect, then move every object alive now out of the collector's sight.

        Called once the console is up: what exists then (modules, the data-model facts, the
        window's widgets and their wrappers) lives until the end, and leaving it out of the
        oldest generation makes each full collection cheaper — a pause of the loop that
        grows with the heap (CPython's ``gc.freeze``). :meth:`stop` gives them back.
        """
        if self._was_enabled is None or self._frozen:  # not started, stopped, or done
            return
        collect_on_gui_thread()
        gc.freeze()
        self._frozen = True

    def stop(self) -> None:
        """Collect once more here, then give automatic collection back as it was."""
        self._timer.stop()
        if self._frozen:
            gc.unfreeze()
            self._frozen = False
        if self._was_enabled is None:
            return
        collect_on_gui_thread()
        if self._was_enabled:
            gc.enable()
        self._was_enabled = None

    def check(self) -> int:
        """Collect each generation whose threshold is crossed, as the interpreter would.

        Returns:
            how many unreachable objects were found.
        """
        counts = gc.get_count()
        thresholds = gc.get_threshold()
        found = 0
        for generation in range(3):
            if counts[generation] <= thresholds[generation]:
                break
            found = gc.collect(generation)
        return found


def collect_on_gui_thread() -> int:
    """Delete what ``deleteLater()`` left and run a full collection, here and now.

    Objects whose deletion was deferred (closed windows, closed device tabs) are deleted
    first, so the collection finds their Python wrappers already detached.

    Returns:
        how many unreachable objects were found.
    """
    _require_gui_thread()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    return gc.collect()


def _require_gui_thread() -> None:
    app = QCoreApplication.instance()
    if app is not None and QThread.currentThread() is not app.thread():
        raise RuntimeError("garbage is collected on the GUI thread only")
