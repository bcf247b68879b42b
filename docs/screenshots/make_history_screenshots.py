"""Screenshots of the parameter history: the History graph, the tree Diff, the fleet view.

Run: ``xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python
docs/screenshots/make_history_screenshots.py`` (``QT_QPA_PLATFORM=offscreen`` works too).

Starts the console's main window at 1280x800 with the engine on 127.0.0.1 and a temporary
database; simulated TR-181 CPEs bootstrap, then report changing values over a dozen
sessions a second apart (uptime, Wi-Fi channel, bytes sent, radio on/off), and some take a
firmware Download that changes their software version. Writes ``history-graph.png``,
``history-diff.png`` and ``fleet-view.png`` next to this file. Every value and time shown
is what the engine recorded in this run.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SIZE = (1280, 800)
UPTIME = "Device.DeviceInfo.UpTime"
CHANNEL = "Device.WiFi.Radio.1.Channel"
BYTES = "Device.Ethernet.Interface.1.Stats.BytesSent"
RADIO = "Device.WiFi.Radio.1.Enable"


def save(widget: object, name: str) -> None:
    path = HERE / f"{name}.png"
    if not widget.grab().save(str(path), "PNG", 0):  # type: ignore[attr-defined]
        raise RuntimeError(f"could not write {path}")
    print(f"wrote {path.relative_to(ROOT)}")


async def shoot(folder: Path) -> None:
    from PySide6.QtCore import QSettings

    from acs_engine.config import EngineConfig
    from acs_engine.cwmp import rpc
    from acs_engine.server.controller import Engine
    from acs_engine.sim.client import SimCpe
    from acs_engine.sim.device import SimDevice
    from acs_engine.sim.model import load_model
    from acs_engine.sim.options import SimOptions
    from acs_engine.sim.transfer import perform_transfer
    from acs_engine.store.deviceid import make_device_id
    from app.bridge import EngineBridge
    from app.window import MainWindow

    config = EngineConfig(
        db_path=folder / "fieldacs.db", cwmp_host="127.0.0.1", cwmp_port=0,
        fs_host="127.0.0.1", fs_port=0, nbi_host="127.0.0.1", nbi_port=0,
    )
    engine = Engine(config)
    bridge = EngineBridge(engine.bus)
    settings = QSettings(str(folder / "window.ini"), QSettings.Format.IniFormat)
    window = MainWindow(engine, bridge, settings)
    await engine.start()
    try:
        url = f"http://127.0.0.1:{engine.cwmp_port}/"
        window.set_acs_urls([url])
        window.resize(*SIZE)
        window.show()
        store, files = engine.store, engine.files
        assert store is not None and files is not None and window.live is not None
        await files.put("fw-3.5.0.bin", b"FIRMWARE-3.5.0" * 4096,
                        file_type="1 Firmware Upgrade Image")
        model = load_model("tr181")
        cpes = []
        for i in range(8):
            serial = f"HIST{i + 1:06d}"
            device = SimDevice(model, serial, options=SimOptions(real_transfers=True))
            cpes.append((SimCpe(device, url), device,
                         make_device_id(model.oui, model.product_class, serial)))
        for cpe, _, _ in cpes:
            assert (await cpe.session()).ok
        cpe, device, dev_id = cpes[0]

        async def upgrade(cpe: SimCpe, device: SimDevice, dev_id: str) -> None:
            await store.add_task(dev_id, "download", {
                "name": "download", "fileType": "1 Firmware Upgrade Image",
                "fileName": "fw-3.5.0.bin",
            })
            device.add_event("6 CONNECTION REQUEST")
            assert (await cpe.session()).ok
            for _ in range(200):
                for transfer in device.run_timers():
                    device.complete_transfer(transfer, await perform_transfer(device, transfer))
                if device.session_due():
                    break
                await asyncio.sleep(0.05)
            assert (await cpe.session()).ok

        channels = [6, 6, 11, 11, 1, 1, 6, 11, 11, 36, 36, 44]
        for tick, channel in enumerate(channels):
            device.local_change(UPTIME, str(3600 + 300 * tick if tick != 7 else 40))
            device.local_change(CHANNEL, str(channel))
            device.local_change(BYTES, str(918273645 + 2_500_000 * tick * tick))
            device.local_change(RADIO, "false" if tick in (4, 5) else "true")
            engine.manual.put(dev_id, rpc.GetParameterValues(names=(UPTIME, CHANNEL, BYTES, RADIO)))
            device.add_event("2 PERIODIC" if tick != 7 else "1 BOOT")
            assert (await cpe.session()).ok
            if tick == 8:
                await upgrade(cpe, device, dev_id)
            await asyncio.sleep(1.0)
        for other, other_device, other_id in cpes[1:5]:
            await upgrade(other, other_device, other_id)

        # The device view, History tab: channel, uptime and radio over the sessions.
        for dock in (window.activity_dock, window.live.live_dock, window.live.dashboard_dock):
            dock.hide()
        view = window.devices.open_device(dev_id)
        await asyncio.sleep(1.0)
        view.side.setCurrentWidget(view.history_tab)
        await view.history_tab.choose([CHANNEL, RADIO])
        await asyncio.sleep(0.8)
        save(window, "history-graph")

        # The Diff tab: before and after the last Download.
        view.side.setCurrentWidget(view.diff_tab)
        await view.diff_tab.compare("before-download", "after-download")
        await asyncio.sleep(0.8)
        save(window, "history-diff")

        # The dashboard's fleet view: software versions now and over the last 24 hours.
        dock = window.live.dashboard_dock
        dock.show()
        window.live.focus_dashboard()
        dock.setFloating(True)
        dock.resize(*SIZE)
        await asyncio.sleep(1.0)
        dashboard = window.live.dashboard
        dashboard.fleet_tabs.setCurrentWidget(dashboard.fleet)
        dashboard.fleet.period.setCurrentIndex(0)
        await dashboard.fleet.refresh()
        await asyncio.sleep(0.8)
        save(dock, "fleet-view")
    finally:
        window.close()
        bridge.detach()
        await engine.stop()
        window.deleteLater()
    await asyncio.sleep(0.3)


def main() -> int:
    from app import bootstrap

    app = bootstrap.create_application(["make_history_screenshots"])
    with tempfile.TemporaryDirectory(prefix="fieldacs-history-shots-") as tmp:
        bootstrap.run_on_qasync(app, shoot(Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
