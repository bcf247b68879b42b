"""History, Diff and the fleet view against the real engine and a simulated TR-181 CPE.

The CPE's uptime and provisioning code change across sessions, then a firmware Download
changes its software version; the device view's History tab draws them with the marks, the
Diff tab compares before and after the Download, the dashboard's fleet view counts versions.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from acs_engine.console_api import LocalConsoleEngine
from acs_engine.cwmp import rpc
from acs_engine.server.controller import Engine
from app.bridge import EngineBridge
from app.connreq_ui import ConnectionRequester
from app.device_view import DeviceView
from app.fleet_view import FleetPanel
from tests.helpers.engine import running_engine
from tests.integration.test_downloads import FIRMWARE, _cpe, _due

UPTIME = "Device.DeviceInfo.UpTime"
SV = "Device.DeviceInfo.SoftwareVersion"
CODE = "Device.DeviceInfo.ProvisioningCode"


async def _scenario(engine: Engine) -> str:
    store, files = engine.store, engine.files
    assert store is not None and files is not None
    await files.put("fw-2.0.0.bin", FIRMWARE, file_type="1 Firmware Upgrade Image")
    cpe, device, dev_id = _cpe(engine.cwmp_urls()[-1], "GUIHIST01", real_transfers=True)
    assert (await cpe.session()).ok
    for i in (1, 2, 3):
        device.local_change(UPTIME, str(100 * i))
        device.local_change(CODE, f"code-{i}")
        engine.manual.put(dev_id, rpc.GetParameterValues(names=(UPTIME,)))
        device.add_event("2 PERIODIC")
        assert (await cpe.session()).ok
    await store.add_task(dev_id, "download", {
        "name": "download", "fileType": "1 Firmware Upgrade Image", "fileName": "fw-2.0.0.bin",
    })
    device.add_event("6 CONNECTION REQUEST")
    assert (await cpe.session()).ok
    await _due(device)
    assert (await cpe.session()).ok
    return dev_id


def sv_rows_at(tab: object) -> int:
    rows = tab.rows[SV]  # type: ignore[attr-defined]
    return int(rows[-1].at)


@pytest.fixture
async def engine(tmp_path: Path):  # type: ignore[no-untyped-def]
    async with running_engine(tmp_path, provisioning=True) as engine:
        yield engine


async def test_history_tab_graphs_logs_and_exports(
    engine: Engine, tmp_path: Path, qtbot, qtmodeltester
) -> None:
    dev_id = await _scenario(engine)
    bridge = EngineBridge(engine.bus)
    url = engine.cwmp_urls()[-1]
    view = DeviceView(engine, bridge, ConnectionRequester(engine, lambda: url), dev_id)
    qtbot.addWidget(view)
    view.resize(1280, 800)
    await view.reload()
    tab = view.history_tab
    # "Show history" from the tree's context menu: the tab comes up with the graph.
    menu = view.context_menu(UPTIME, view.index_of(UPTIME))
    action = next(a for a in menu.actions() if a.text() == "Show history")
    action.trigger()
    assert view.side.currentWidget() is tab
    await tab._task
    xs, ys, shown = tab.curves[UPTIME]
    # The seeded bootstrap read the whole tree: the value then, the three changes, now.
    first = tab.rows[UPTIME][0]
    assert first.kind_name == "changed" and first.old[0] is not None
    assert ys == [float(first.old[0]), 100.0, 200.0, 300.0, 300.0]
    assert shown == [first.old[0], "100", "200", "300", "300"]
    await tab.add_parameter(SV)
    _, sv_y, sv_shown = tab.curves[SV]
    assert sv_shown[0] == "3.4.1-fieldacs" and sv_shown[-1] == "2.0.0"
    assert sv_y[0] == 0.0 and sv_y[-1] == 1.0  # text values as levels
    # Marks: each session, the boot of the firmware upgrade, the new version (labelled).
    sessions = await engine.store.list_sessions(dev_id)  # type: ignore[union-attr]
    assert len(tab.marks) == len(tab.mark_info) == len(sessions) + 1
    kinds = [kind for kind, _, _ in tab.mark_info]
    assert kinds.count("firmware") == 1 and ("firmware", sv_rows_at(tab), "2.0.0") in tab.mark_info
    # the bootstrap and the upgrade's reboot are boots
    assert kinds.count("boot") == 2 and kinds.count("session") == len(sessions) - 2
    # The hover text at a time between the changes shows each value then.
    between = (xs[2] + xs[3]) / 2
    text = tab.hover_text(between)
    assert "UpTime: 200" in text and "SoftwareVersion: 3.4.1-fieldacs" in text
    # The change log: the chosen parameters' changes, newest first.
    qtmodeltester.check(tab.log_model)
    log_rows = tab.log_model.rows
    assert [r.path for r in log_rows].count(UPTIME) == 3 and log_rows[0].path == SV
    # Exports.
    csv_path = tmp_path / "history.csv"
    assert tab.export_csv(csv_path) == 4
    lines = csv_path.read_text().splitlines()
    assert lines[0].startswith("time,at_ms,session,path") and len(lines) == 5
    assert any(f",{SV},changed,3.4.1-fieldacs,2.0.0," in line for line in lines)
    png = tmp_path / "history.png"
    assert tab.export_png(png) and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Unchecking a parameter in the list takes it off the graph.
    items = [tab.params.item(i) for i in range(tab.params.count())]
    sv_item = next(i for i in items if i.text() == SV)
    from PySide6.QtCore import Qt

    sv_item.setCheckState(Qt.CheckState.Unchecked)
    await tab._task
    assert list(tab.curves) == [UPTIME]
    view.shutdown()
    bridge.detach()


async def test_diff_tab_compares_around_the_download_and_keeps_snapshots(
    engine: Engine, tmp_path: Path, qtbot, qtmodeltester
) -> None:
    dev_id = await _scenario(engine)
    bridge = EngineBridge(engine.bus)
    url = engine.cwmp_urls()[-1]
    view = DeviceView(engine, bridge, ConnectionRequester(engine, lambda: url), dev_id)
    qtbot.addWidget(view)
    await view.reload()
    tab = view.diff_tab
    await tab.compare("before-download", "after-download")
    qtmodeltester.check(tab.model)
    shown = {e.path: e for e in tab.visible_entries()}
    assert shown[SV].kind == "changed" and shown[SV].new is not None
    assert shown[SV].new[0] == "2.0.0"
    assert CODE not in shown and all(e.kind != "same" for e in shown.values())
    tab.filter.setText("SoftwareVersion")
    assert [e.path for e in tab.visible_entries()] == [SV]
    text = tab.diff_text()
    assert text.startswith("FieldACS parameter tree diff") and f"~ {SV}" in text
    tab.filter.setText("")
    tab.only_changed.setChecked(False)
    assert len(tab.visible_entries()) > len(shown)
    # A snapshot of B (before the Download), exported, imported as another, compared to now.
    tab.point_b.setCurrentText("before-download")
    assert "saved" in await tab.save_snapshot("golden")
    assert "already has a snapshot" in await tab.save_snapshot("golden")
    exported = tmp_path / "golden.json"
    assert "exported" in await tab.export_file("golden", exported)
    exported.write_text(exported.read_text().replace('"golden"', '"from-file"'))
    assert "imported" in await tab.import_file(exported)
    assert "Could not import" in await tab.import_file(tmp_path / "missing.json")
    items = [tab.point_a.itemText(i) for i in range(tab.point_a.count())]
    assert "snapshot:golden" in items and "snapshot:from-file" in items
    tab.only_changed.setChecked(True)
    await tab.compare("snapshot:from-file", "now")
    changed = {e.path for e in tab.visible_entries()}
    assert SV in changed and UPTIME not in changed  # the uptime was 300 before and after
    await tab.compare("snapshot:nope", "now")
    assert "no snapshot named 'nope'" in tab.summary.text()
    view.shutdown()
    bridge.detach()


async def test_fleet_view_counts_versions_now_and_over_time(engine: Engine, qtbot) -> None:
    dev_id = await _scenario(engine)
    store = engine.store
    assert store is not None
    other, _, _ = _cpe(engine.cwmp_urls()[-1], "GUIHIST02")
    assert (await other.session()).ok
    panel = FleetPanel(lambda: LocalConsoleEngine(engine))
    qtbot.addWidget(panel)
    await panel.refresh()
    view = panel.view
    assert view is not None and view.devices == 2
    assert sorted(view.now) == [("2.0.0", 1), ("3.4.1-fieldacs", 1)]
    # A week ago the ACS knew neither device.
    assert sum(series[0] for series in view.series.values()) == 0
    assert view.series["2.0.0"][-1] == 1 and view.series["3.4.1-fieldacs"][-1] == 1
    # Sampled finely from the first registration: one device until the second registered,
    # and the upgraded one ran 3.4.1 until its Download.
    first = await store.get_device(dev_id)
    assert first is not None
    upgrade = (await store.param_history(dev_id, [SV]))[-1].at
    fine = await store.fleet_view(since=first.registered_ms - 60_000, points=400)
    assert fine.times[0] < first.registered_ms  # the series starts just before the first device
    start = min(i for i, t in enumerate(fine.times) if t >= first.registered_ms)
    before = max(i for i, t in enumerate(fine.times) if t < upgrade)
    assert sum(s[0] for s in fine.series.values()) == 0
    assert fine.series["3.4.1-fieldacs"][start] == 1 and "2.0.0" not in dict(
        (v, s[before]) for v, s in fine.series.items() if s[before]
    )
    assert fine.series["2.0.0"][-1] == 1
    assert "2 devices" in panel.timing.text()
    panel.parameter.setCurrentText(CODE)
    await panel.refresh()
    assert panel.view is not None and dict(panel.view.now)["code-3"] == 1
    assert dev_id


def test_retention_settings_are_saved_and_read_back(tmp_path: Path) -> None:
    from PySide6.QtCore import QSettings

    from acs_engine.config import EngineConfig
    from acs_engine.store.history import HistoryRetention
    from app.settings_store import save_settings, saved_config

    settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    save_settings(settings, {
        "history_max_age_days": 30, "history_rows_per_device": 500, "history_max_mb": 64,
    })
    read = saved_config(EngineConfig(), settings)
    assert read.history_retention() == HistoryRetention(30, 500, 64 * 1024 * 1024)
