"""Screenshots of issue 12's views at 1280x800: the Lint tab and proxy mode.

Run under a real X server (``xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python
docs/screenshots/make_inspect_screenshots.py``): the console's main window with the engine on
127.0.0.1, a CPE that breaks a few HTTP rules (its empty POST sent as text/xml, its answer as
text/plain, an Inform missing forced parameters), the Live session panel in front with its
Lint tab shown. Then proxy mode: a second engine as the "ISP's ACS", the console's engine
forwarding to it, a simulated TR-098 CPE bootstrapping through it, the live panel with the
proxy banner and the proxied session. Writes ``lint-tab.png`` and ``proxy-mode.png`` next to
this file.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

sys.path.insert(0, str(HERE))
from make_screenshots import save, settle, wait_until  # noqa: E402

SIZE = (1280, 800)


async def sloppy_cpe(url: str) -> None:
    from acs_engine.cwmp import codec, rpc
    from acs_engine.cwmp.envelope import Envelope
    from tests.helpers.engine import RawCpe, inform

    async with RawCpe(url) as cpe:
        await cpe.send(inform("SLOPPY01", params=(
            ("Device.DeviceInfo.SoftwareVersion", "4.2.1", "xsd:string"),
            ("Device.DeviceInfo.HardwareVersion", "B2", "xsd:string"),
            ("Device.ManagementServer.ConnectionRequestURL", "http://10.1.2.3:7547/cr",
             "xsd:string"),
            ("Device.ManagementServer.PeriodicInformInterval", "0", "xsd:unsignedInt"),
        ), events=("2 PERIODIC",)))
        _, _, data = await cpe.post_raw(b"", {"Content-Type": "text/xml"})
        reply = codec.parse(data)
        assert reply is not None
        answer = rpc.GetParameterValuesResponse(parameters=(
            rpc.ParameterValue("Device.DeviceInfo.UpTime", "soon", "xsd:unsignedInt"),))
        await cpe.post_raw(codec.serialize(Envelope(answer, cwmp_id=reply.cwmp_id)),
                           {"Content-Type": "text/plain", "SOAPAction": "Response"})


async def shoot(folder: Path) -> None:
    from PySide6.QtCore import QSettings

    from acs_engine.config import EngineConfig
    from acs_engine.cwmp import rpc
    from acs_engine.server.controller import Engine
    from app.bridge import EngineBridge
    from app.window import MainWindow

    config = EngineConfig(db_path=folder / "fieldacs.db", cwmp_host="127.0.0.1", cwmp_port=0,
                          fs_host="127.0.0.1", fs_port=0, nbi_host="127.0.0.1", nbi_port=0,
                          provisioning=False)
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
        await settle()
        assert window.live is not None
        device = "F1E1D0-TestGW-SLOPPY01"
        engine.manual.put(device, rpc.GetParameterValues(names=("Device.DeviceInfo.UpTime",)))
        await sloppy_cpe(url)
        panel = window.live.panel
        window.live.focus_live()
        await wait_until(lambda: panel.session_id and not panel.lint.busy()
                         and panel.lint.model.rowCount() > 0)
        panel.details.setCurrentWidget(panel.lint)
        panel.lint.table.selectRow(0)
        await settle(0.8)
        save(window, "lint-tab")
    finally:
        window.close()
        bridge.detach()
        await engine.stop()
        window.deleteLater()


async def shoot_proxy(folder: Path) -> None:
    from PySide6.QtCore import QSettings

    from acs_engine.config import EngineConfig
    from acs_engine.server.controller import Engine
    from acs_engine.sim.client import SimCpe
    from acs_engine.sim.device import SimDevice
    from acs_engine.sim.model import load_model
    from app.bridge import EngineBridge
    from app.window import MainWindow

    isp = Engine(EngineConfig(db_path=folder / "isp.db", cwmp_host="127.0.0.1", cwmp_port=0,
                              fs_host="127.0.0.1", fs_port=0, nbi_enabled=False))
    await isp.start()
    upstream = isp.cwmp_urls()[-1]
    config = EngineConfig(db_path=folder / "proxy.db", cwmp_host="127.0.0.1", cwmp_port=0,
                          fs_host="127.0.0.1", fs_port=0, nbi_host="127.0.0.1", nbi_port=0,
                          proxy_upstream=upstream)
    engine = Engine(config)
    bridge = EngineBridge(engine.bus)
    settings = QSettings(str(folder / "window2.ini"), QSettings.Format.IniFormat)
    window = MainWindow(engine, bridge, settings)
    await engine.start()
    try:
        url = f"http://127.0.0.1:{engine.cwmp_port}/"
        window.set_acs_urls([url])
        window.resize(*SIZE)
        window.show()
        await settle()
        assert window.live is not None
        window.live.focus_live()
        result = await SimCpe(SimDevice(load_model("tr098"), "ISPCPE001"), url).session()
        assert result.ok, result.error
        panel = window.live.panel
        await wait_until(lambda: panel.machine.state() == "END" and not panel.lint.busy())
        panel.details.setCurrentWidget(panel.soap)
        panel.table.selectRow(3)
        await settle(0.8)
        save(window, "proxy-mode")
    finally:
        window.close()
        bridge.detach()
        await engine.stop()
        await isp.stop()
        window.deleteLater()


async def shoot_all(folder: Path) -> None:
    await shoot(folder)
    await shoot_proxy(folder)


def main() -> int:
    from app import bootstrap

    app = bootstrap.create_application(["make_inspect_screenshots"])
    with tempfile.TemporaryDirectory(prefix="fieldacs-shots-") as tmp:
        bootstrap.run_on_qasync(app, shoot_all(Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
