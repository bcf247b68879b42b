"""Issue 18's traps in the main window at 1280x800: long messages never widen a dock, the
dashboard survives the Live session dock closing, and the smaller things a technician meets
in the first hour (menus, About, log folder, fault Delete, toolbar)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from acs_engine.server.controller import Engine
from acs_engine.store.model import DeviceRecord, SessionCommit
from acs_engine.store.records import Fault
from app.bridge import EngineBridge
from app.window import MainWindow
from tests.gui.aio import settle, wait_until
from tests.gui.layout_checks import buttons_outside, docks_too_wide, overlapping_docks
from tests.helpers.engine import running_engine

LONG = (
    "The device accepted the connection request but did not open a session within the "
    "time allowed. The technician should check the CPE's ACS URL, its firewall and the "
    "cable, then press Retry now again; the fault stays cleared meanwhile."
)


@asynccontextmanager
async def main_window(
    tmp_path: Path, qtbot: QtBot, settings: QSettings, **config: object
) -> AsyncIterator[tuple[MainWindow, Engine]]:
    """A running engine and its main window at 1280x800 (closed as on Quit after)."""
    async with running_engine(tmp_path, **config) as engine:
        bridge = EngineBridge(engine.bus)
        window = MainWindow(engine, bridge, settings)
        bridge.setParent(window)
        qtbot.addWidget(window)
        window.set_acs_urls(engine.cwmp_urls())
        window.resize(1280, 800)
        window.show()
        await wait_until(lambda: window.isVisible(), what="the window shown")
        try:
            yield window, engine
        finally:
            window.close()
            await settle()


async def test_a_long_fault_status_never_widens_the_faults_dock(
    tmp_path: Path, qtbot: QtBot, settings: QSettings
) -> None:
    async with main_window(tmp_path, qtbot, settings) as (window, _engine):
        admin = window.admin
        assert admin is not None
        admin.actions[2].trigger()  # Ctrl+8: Faults
        await wait_until(lambda: admin.faults_dock.isVisible(), what="faults dock")
        before = admin.faults_dock.width()
        admin.faults.status.setText(LONG)
        await settle()
        assert admin.faults_dock.width() <= before + 1
        assert admin.faults.status.toolTip() == LONG  # the whole message, one hover away
        assert buttons_outside(window) == []
        assert docks_too_wide(window) == []


async def test_closing_the_live_dock_leaves_a_working_dashboard(
    tmp_path: Path, qtbot: QtBot, settings: QSettings
) -> None:
    async with main_window(tmp_path, qtbot, settings) as (window, _engine):
        live, admin = window.live, window.admin
        assert live is not None and admin is not None
        admin.actions[2].trigger()  # the Faults dock is open too
        await settle()
        live.live_dock.close()
        dashboard = live.dashboard
        await wait_until(lambda: dashboard.plots_built, what="the dashboard's charts")
        await settle()
        assert live.dashboard_dock.isVisible()
        tiles = [v.parentWidget() for v in dashboard.tile_values.values()]
        assert all(t.height() < 120 for t in tiles), [t.height() for t in tiles]
        assert dashboard.rate_plot.height() > 100
        assert overlapping_docks(window) == []
        assert buttons_outside(window) == []


async def test_fault_delete_asks_first(tmp_path: Path, qtbot: QtBot, settings: QSettings) -> None:
    async with main_window(tmp_path, qtbot, settings) as (window, engine):
        store = engine.store
        assert store is not None and window.admin is not None
        await store.commit_session(
            SessionCommit(device=DeviceRecord("d", "M", "000000", "P", "S", registered=1))
        )
        await store.put_fault(Fault("d:default", "d", "default", 1, "timeout", "late"))
        panel = window.admin.faults
        window.admin.actions[2].trigger()
        await wait_until(lambda: panel.model.rowCount() == 1, what="the fault listed")
        assert panel.select_fault("d:default")
        panel.delete_selected()
        box = panel.confirm_box
        assert box is not None and box.isVisible() and "d (default)" in box.text()
        box.reject()  # Cancel: nothing is deleted
        await settle()
        assert len(await store.list_faults("d")) == 1
        panel.delete_selected()
        box = panel.confirm_box
        assert box is not None
        box.accept()
        await wait_until(lambda: panel.model.rowCount() == 0, what="the fault deleted")
        assert await store.list_faults("d") == []
