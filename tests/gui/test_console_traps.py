"""Issue 18's traps in the main window at 1280x800: long messages never widen a dock, the
dashboard survives the Live session dock closing, and the smaller things a technician meets
in the first hour (menus, About, log folder, fault Delete, toolbar)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QTextBrowser
from pytestqt.qtbot import QtBot

from acs_engine import __version__
from acs_engine.server.controller import Engine
from acs_engine.store.model import DeviceRecord, SessionCommit
from acs_engine.store.records import Fault
from app import bootstrap
from app.bridge import EngineBridge
from app.settings_dialog import SettingsDialog
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
            SessionCommit(device=DeviceRecord("d", "M", "000000", "P", "S", registered_ms=1))
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


async def test_toolbar_connection_request_stays_enabled_in_a_device_tab(
    tmp_path: Path, qtbot: QtBot, settings: QSettings
) -> None:
    """Issue 18: after a connection request the toolbar's action stayed greyed in the
    device's tab (the requester still counted itself busy when it said it was done)."""
    async with main_window(tmp_path, qtbot, settings) as (window, engine):
        store = engine.store
        assert store is not None
        await store.commit_session(
            SessionCommit(device=DeviceRecord("d", "M", "000000", "P", "S", registered_ms=1))
        )
        devices = window.devices
        assert devices.model is not None
        devices.model.reload()
        await wait_until(lambda: devices.model is not None and devices.model.row_of("d") >= 0)
        devices.open_device("d")
        action = devices.connreq_action
        assert action.isEnabled() and devices.selected_device() == "d"
        reports: list[object] = []
        devices.requester.finished.connect(reports.append)
        action.trigger()  # no ConnectionRequestURL stored: a quick "no_url" report
        await wait_until(lambda: reports, what="the report")
        await settle()
        assert action.isEnabled()
        assert "no_url" in repr(reports[0])


async def test_menus_help_about_and_shortcuts(
    tmp_path: Path, qtbot: QtBot, settings: QSettings
) -> None:
    """Issue 18: View had duplicate entries and no Ctrl+9; Help had only About, without the
    version; there was no shortcut list and no getting-started page."""
    async with main_window(tmp_path, qtbot, settings) as (window, _engine):
        entries = [a for a in window.view_menu.actions() if not a.isSeparator()]
        texts = [a.text().replace("&", "") for a in entries]
        assert len(texts) == len(set(texts)), texts
        keys = {a.text(): a.shortcut().toString() for a in entries}
        assert keys["CPE logins"] == "Ctrl+9" and keys["Live session"] == "Ctrl+4"
        assert [t for t, k in keys.items() if not k] == ["C&lear recent activity"]

        about = window.help.show_about()
        assert __version__ in about.text()
        about.close()
        assert window.help.log_folder_action.isEnabled()

        page = window.help.show_getting_started()
        text = page.findChild(QTextBrowser).toPlainText()
        assert "7547" in text and "firewall" in text and "LAN cable" in text
        page.close()
        page = window.help.show_shortcuts()
        text = page.findChild(QTextBrowser).toPlainText()
        for key in ("Ctrl+R", "F5", "Ctrl+4", "Ctrl+8", "Ctrl+9", "Ctrl+T", "Ctrl+F", "F1"):
            assert key in text, key
        page.close()


def test_the_log_file_lands_in_the_log_folder(tmp_path: Path) -> None:
    """Issue 18: there was no log file. A fresh process (as the console starts) writes the
    engine's INFO records to the log folder's fieldacs.log."""
    script = (
        "import logging; from app.logfile import install_log_file; "
        "logging.basicConfig(level=logging.WARNING); "
        "print(install_log_file()); "
        "logging.getLogger('fieldacs.engine').info('CWMP listening on test'); "
        "logging.getLogger('other').info('not ours')"
    )
    env = {**os.environ, "FIELDACS_LOG_DIR": str(tmp_path / "logs")}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    log_file = tmp_path / "logs" / "fieldacs.log"
    assert done.stdout.strip() == str(log_file)
    text = log_file.read_text(encoding="utf-8")
    assert "INFO fieldacs.engine: CWMP listening on test" in text
    assert "not ours" not in text
    assert "CWMP listening" not in done.stderr  # the terminal keeps its WARNING level


async def test_the_settings_footer_leaves_the_database_row_whole(
    tmp_path: Path, qtbot: QtBot
) -> None:
    """Issue 18: the settings footer (its wrapped note) was drawn over the Database row."""
    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    async with running_engine(tmp_path) as engine:
        dialog = SettingsDialog(engine, settings)
        qtbot.addWidget(dialog)
        dialog.show()
        await settle()
        note, scroll = dialog.note, dialog.scroll_area
        assert note.height() >= note.heightForWidth(note.width())  # every wrapped line
        assert note.geometry().top() > scroll.geometry().bottom()  # below the groups
        scroll.verticalScrollBar().setValue(scroll.verticalScrollBar().maximum())
        await settle()
        database = dialog.widget("db_path")
        bottom = database.mapTo(scroll.viewport(), database.rect().bottomLeft()).y()
        assert bottom < scroll.viewport().height()  # the Database row shows whole
        dialog.close()


ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_lists_what_the_console_prints() -> None:
    """Issue 18: the README's package list did not match the one the app prints."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert bootstrap.install_hint(x11=True) in readme


def test_make_run_names_and_installs_the_missing_qt_libraries(tmp_path: Path) -> None:
    """installer/qt-deps.sh (make run's first step) finds the missing packages in dpkg's
    database and says the apt-get line it runs; here dpkg-query is a stand-in reporting one
    package missing, and the dry run installs nothing."""
    fake = tmp_path / "bin"
    fake.mkdir()
    query = fake / "dpkg-query"
    query.write_text(
        "#!/bin/sh\nfor a; do last=$a; done\n"
        '[ "$last" = libxcb-cursor0 ] && exit 1\n'
        'printf "install ok installed"\n'
    )
    query.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{fake}:{os.environ['PATH']}",
        "FIELDACS_DEPS_DRY_RUN": "1",
    }
    done = subprocess.run(
        [str(ROOT / "installer" / "qt-deps.sh"), sys.executable],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    assert "needs these system libraries for Qt: libxcb-cursor0\n" in done.stdout
    assert "would run: apt-get install -y libxcb-cursor0" in done.stdout
    # Nothing missing: silent, and the console starts.
    query.write_text('#!/bin/sh\nprintf "install ok installed"\n')
    done = subprocess.run(
        [str(ROOT / "installer" / "qt-deps.sh"), sys.executable],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    assert done.stdout == ""


def test_activity_and_session_lines_carry_their_date(qapp: object) -> None:
    """Issue 18, dates on sessions everywhere: the live picker's lines are dated, and an
    activity line from another day shows its date (today's show the time only)."""
    from app.activity import ActivityEntry, ActivityModel
    from app.live.panel import session_label

    started = time.mktime((2026, 3, 4, 14, 3, 7, 0, 0, -1))
    assert session_label(started, ("1 BOOT",), "ok", 3) == "2026-03-04 14:03:07 ok · 3 RPCs — 1 BOOT"
    assert session_label(started, (), "").startswith("● 2026-03-04 14:03:07 live")
    model = ActivityModel()
    model.add(ActivityEntry(started, "ok", "d", "Session ended ok"))
    model.add(ActivityEntry(time.time(), "ok", "d", "Session ended ok"))
    shown = {model.index(r, ActivityModel.COLUMN_TIME).data() for r in range(2)}
    assert "2026-03-04 14:03:07" in shown
    assert any(len(text) == 8 for text in shown)  # today's: HH:MM:SS


async def test_the_dry_run_dialog_shows_values_of_the_wrong_type(
    tmp_path: Path, qtbot: QtBot
) -> None:
    """Issue 18: a provision's ``xsd:unsignedInt "abc"`` went out unchecked; the dry run's
    status says so and its Faults tab lists the value."""
    from acs_engine.sim.client import SimCpe
    from acs_engine.sim.device import SimDevice
    from acs_engine.sim.model import load_model
    from acs_engine.store.deviceid import make_device_id
    from acs_engine.store.records import Preset, Provision
    from app.dryrun_dialog import DryRunDialog

    interval = "Device.ManagementServer.PeriodicInformInterval"
    async with running_engine(tmp_path, provisioning=True) as engine:
        store = engine.store
        assert store is not None
        await store.put_preset(Preset("discover", provisions=[["refresh", "Device.ManagementServer"]]))
        base = load_model("tr181")
        assert (await SimCpe(SimDevice(base, "TYPE00002"), engine.cwmp_urls()[-1]).session()).ok
        await store.delete_preset("discover")
        device_id = make_device_id(base.oui, base.product_class, "TYPE00002")
        await store.put_provision(
            Provision("interval", f'declare("{interval}", null, {{value: args[0]}});')
        )
        dialog = DryRunDialog(engine, device_id=device_id, provisions=[["interval", "abc"]])
        qtbot.addWidget(dialog)
        dialog.show()
        runs: list[object] = []
        dialog.finished_run.connect(runs.append)
        dialog.run()
        await wait_until(lambda: runs, timeout=20, what="the dry run")
        assert "1 value of the wrong type" in dialog.status.text()
        assert dialog.tabs.currentWidget() is dialog.faults_text
        assert f"Wrong type: {interval}: not an integer: 'abc'" in dialog.faults_text.toPlainText()
        dialog.close()
