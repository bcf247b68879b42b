"""Make the documentation's screenshots: ``make screenshots`` (or run this file).

Starts the console as ``fieldacs`` does (one QApplication, a qasync loop, the engine on
127.0.0.1 with free ports, the main window) against a temporary database, drives a few
simulated CPEs in this process so there is something to show — devices that bootstrapped,
sessions, a task that faulted (CPE fault 9003), staged edits, and a session held before an
RPC in step mode — and saves PNGs of the main window and each panel next to this file with
``QWidget.grab()``. Then a second engine with HTTPS (a self-signed certificate) and CPE
authentication on, where two CPEs log in and two are refused: the Overview with its https://
URL and certificate fingerprint, the "CPE logins" dock, and the settings dialog applied with
a new database location. Runs on any Qt platform; ``make screenshots`` uses ``xvfb-run`` when
there is no display, and ``QT_QPA_PLATFORM=offscreen`` works too.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
from collections.abc import AsyncIterator, Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

#: The main window's size: a laptop's 1280x800 by default; ``FIELDACS_SHOT_SIZE=1920x1080``
#: makes the set at another size, written to a folder of that name beside this file.
DEFAULT_SIZE = (1280, 800)
_size = os.environ.get("FIELDACS_SHOT_SIZE", "").lower().split("x")
WINDOW_SIZE = (int(_size[0]), int(_size[1])) if len(_size) == 2 else DEFAULT_SIZE
OUT = HERE if WINDOW_SIZE == DEFAULT_SIZE else HERE / f"{WINDOW_SIZE[0]}x{WINDOW_SIZE[1]}"


async def settle(seconds: float = 0.4) -> None:
    """Let the loop run: loads finish, layouts settle, the window repaints."""
    await asyncio.sleep(seconds)


async def wait_until(predicate: Callable[[], object], timeout: float = 20.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError("the console did not get there in time")
        await asyncio.sleep(0.05)


async def save_dock(dock: object, name: str, size: tuple[int, int] = (1100, 720)) -> None:
    """Float a dock at a readable size, grab it, and put it back."""
    dock.setFloating(True)  # type: ignore[attr-defined]
    dock.resize(*size)  # type: ignore[attr-defined]
    dock.show()  # type: ignore[attr-defined]
    await settle(0.6)
    save(dock, name)
    dock.setFloating(False)  # type: ignore[attr-defined]
    await settle(0.2)


def save(widget: object, name: str, height: int | None = None) -> None:
    """Write ``widget`` as ``name``.png (only its top ``height`` pixels when given)."""
    from PySide6.QtCore import QRect

    OUT.mkdir(exist_ok=True)
    path = OUT / f"{name}.png"
    width = widget.width()  # type: ignore[attr-defined]
    area = QRect(0, 0, width, height) if height else QRect(0, 0, -1, -1)
    # Quality 0: the strongest PNG compression (the files are committed).
    if not widget.grab(area).save(str(path), "PNG", 0):  # type: ignore[attr-defined]
        raise RuntimeError(f"could not write {path}")
    print(f"wrote {path.relative_to(ROOT)}")


@contextlib.asynccontextmanager
async def running(cpe: object) -> AsyncIterator[None]:
    """Let a simulated CPE answer connection requests and inform while the block runs."""
    task = asyncio.ensure_future(cpe.run())  # type: ignore[attr-defined]
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def shoot(app: object, folder: Path) -> None:
    """The lab: plain HTTP, five CPEs, a task that faults, step mode; then :func:`shoot_secure`."""
    from PySide6.QtCore import QSettings

    from acs_engine.admin.commands import AddInstance
    from acs_engine.config import EngineConfig
    from acs_engine.cwmp import rpc
    from acs_engine.server.controller import Engine
    from acs_engine.sim.client import SimCpe
    from acs_engine.sim.connreq import ConnectionRequestServer
    from acs_engine.sim.device import SimDevice
    from acs_engine.sim.model import load_model
    from acs_engine.sim.options import SimOptions
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
        window.resize(*WINDOW_SIZE)
        window.show()
        await settle()
        assert window.live is not None and window.admin is not None
        store = engine.store
        assert store is not None

        async with ConnectionRequestServer() as server:
            cpes = []
            for i, (model_name, options) in enumerate(
                [("tr181", SimOptions()), ("tr181", SimOptions(cwmp_version="1.4")),
                 ("tr098", SimOptions()),
                 ("tr181", SimOptions(fault_methods={"DeleteObject": 9003})),
                 ("tr098", SimOptions())]
            ):
                model = load_model(model_name)
                serial = f"LAB{i + 1:07d}"
                cpe = SimCpe(SimDevice(model, serial, options=options), url)
                server.register(cpe)
                cpes.append((cpe, make_device_id(model.oui, model.product_class, serial)))
            # Bootstrap sessions (the seeded presets read the basics), then a periodic one.
            for cpe, _ in cpes:
                assert (await cpe.session()).ok
            cpe, device_id = cpes[0]
            engine.manual.put(device_id, rpc.GetParameterNames(parameter_path="Device.",
                                                               next_level=False))
            engine.manual.put(device_id, rpc.GetParameterValues(names=("Device.",)))
            assert (await cpe.session()).ok
            # A task that faults: this CPE refuses DeleteObject (9003).
            faulty, faulty_id = cpes[3]
            await store.add_task(faulty_id, "deleteObject", {"objectName": "Device.WiFi.SSID.2"})
            await faulty.session()
            for other, _ in cpes[1:3]:
                await other.session()
            await settle(1.0)

            # Overview and the whole window.
            window.tabs.setCurrentIndex(0)
            window.live.focus_live()
            await settle()
            save(window, "main-window")

            # Devices list.
            page = window.devices.page
            assert page is not None
            window.tabs.setCurrentWidget(page)
            window.devices.refresh()
            docks = [window.activity_dock, window.live.live_dock, window.live.dashboard_dock]
            for dock in docks:
                dock.hide()
            await settle(1.0)
            save(window, "devices")

            # A device, with staged edits.
            view = window.devices.open_device(device_id)
            await wait_until(lambda: view.tree_model.node_count() > 100)
            view.edit_value("Device.DeviceInfo.ProvisioningCode", "lab-42")
            view.edit_value("Device.ManagementServer.PeriodicInformInterval", "600")
            view.stage(AddInstance("Device.WiFi.SSID."))
            view.filter.setText("ManagementServer")
            view.apply_filter()
            await settle()
            save(window, "device-view")
            for dock in docks:
                dock.show()

            # The live session panel, held before an RPC in step mode.
            panel = window.live.panel
            window.devices.open_device(device_id)
            window.live.open_session(device_id, "")
            panel.step_action.setChecked(True)
            engine.manual.put(device_id, rpc.GetParameterValues(
                names=("Device.DeviceInfo.SoftwareVersion", "Device.DeviceInfo.UpTime")))
            session = asyncio.ensure_future(cpe.session())
            await wait_until(lambda: panel.step_bar.pending is not None)
            await settle(0.6)
            await save_dock(window.live.live_dock, "live-session")
            window.live.focus_live()  # back in its tab group, in front of the dashboard
            # The device view beside the held step bar, at the window's own size.
            await settle(0.6)
            save(window, "main-window-step")
            panel.step_action.setChecked(False)  # releases the held RPC
            await session

            # Dashboard (a few more sessions for its charts).
            async with running(cpes[1][0]), running(cpes[2][0]):
                for other, _ in cpes[1:]:
                    await other.session()
                window.live.focus_dashboard()
                await settle(1.5)
                await save_dock(window.live.dashboard_dock, "dashboard")

            admin = window.admin
            admin.focus(admin.presets_dock, admin.presets)
            await settle(0.8)
            await save_dock(admin.presets_dock, "presets")
            admin.focus(admin.scripts_dock, admin.scripts)
            await settle(0.8)
            await save_dock(admin.scripts_dock, "script-editor")
            admin.focus(admin.faults_dock, admin.faults)
            admin.faults.refresh()
            await wait_until(lambda: admin.faults.table.model().rowCount() > 0)
            admin.faults.table.selectRow(0)
            for column in (0, 1):
                admin.faults.table.resizeColumnToContents(column)
            await settle(0.8)
            await save_dock(admin.faults_dock, "faults", (1100, 520))
    finally:
        window.close()
        bridge.detach()
        await engine.stop()
        window.deleteLater()
    await settle(0.5)
    await shoot_secure(folder / "secure")


def tls_port() -> int:
    """7548 (the usual HTTPS CWMP port) when it is free here, else any free port."""
    import socket

    for port in (7548, 0):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(probe.getsockname()[1])
    raise RuntimeError("no free port")


async def shoot_secure(folder: Path) -> None:
    """An engine with HTTPS (a self-signed certificate) and CPE authentication on.

    Two CPEs log in (one over HTTPS, trusting the certificate), two are refused — a wrong
    password, a user name the ACS does not expect — for the Overview with its https:// URL
    and certificate fingerprint, the "CPE logins" dock, and the settings dialog with its
    HTTPS group, applied live with a new database location (which offers the restart).
    """
    from PySide6.QtCore import QSettings

    from acs_engine.config import EngineConfig
    from acs_engine.server.controller import Engine
    from acs_engine.sim.client import SimCpe
    from acs_engine.sim.device import SimDevice
    from acs_engine.sim.model import load_model
    from acs_engine.sim.options import SimOptions
    from acs_engine.store.deviceid import make_device_id
    from app.bridge import EngineBridge
    from app.overview import acs_urls_of
    from app.window import MainWindow

    folder.mkdir(parents=True, exist_ok=True)
    user, password = "acs-cpe", "Lab-Pa55word"
    config = EngineConfig(
        db_path=folder / "fieldacs.db", cwmp_host="127.0.0.1", cwmp_port=0,
        cwmp_tls_port=tls_port(),
        fs_host="127.0.0.1", fs_port=0, nbi_host="127.0.0.1", nbi_port=0,
        cwmp_username=user, cwmp_password=password,
    )
    engine = Engine(config)
    bridge = EngineBridge(engine.bus)
    settings = QSettings(str(folder / "window.ini"), QSettings.Format.IniFormat)
    window = MainWindow(engine, bridge, settings)
    await engine.start()
    try:
        assert engine.tls is not None and engine.tls_fingerprint
        window.set_acs_urls(await asyncio.to_thread(acs_urls_of, engine), engine.tls_fingerprint)
        window.resize(*WINDOW_SIZE)
        window.show()
        await settle()
        http_url = engine.cwmp_urls()[0]
        https_url = engine.cwmp_tls_urls()[0]

        def cpe(serial: str, username: str, secret: str, *, https: bool = False) -> SimCpe:
            model = load_model("tr181")
            options = SimOptions(tls_ca=str(engine.tls.cert_path)) if https else SimOptions()
            device = SimDevice(model, serial, options=options, initial={
                model.root + "ManagementServer.Username": username,
                model.root + "ManagementServer.Password": secret,
            })
            return SimCpe(device, https_url if https else http_url)

        for good in (cpe("SEC0000001", user, password, https=True),
                     cpe("SEC0000002", user, password)):
            assert (await good.session()).ok
        refused = [cpe("SEC0000003", user, "Lab-Pa55w0rd"), cpe("SEC0000004", "admin", "admin")]
        for bad in refused + refused[:1]:  # the typo'd password tries twice
            assert not (await bad.session()).ok
        security = window.security
        assert security is not None
        await wait_until(lambda: security.panel.model.rowCount() == len(refused))
        await settle(0.8)

        # The Overview on its own, wide enough for the whole fingerprint.
        assert window.live is not None
        docks = [window.activity_dock, window.live.live_dock, window.live.dashboard_dock,
                 security.dock]
        for dock in docks:
            dock.hide()
        window.tabs.setCurrentIndex(0)
        window.resize(min(1160, WINDOW_SIZE[0]), 620)
        await settle(0.8)
        counters = window.overview.counters
        save(window.overview, "overview", counters.geometry().bottom() + 16)
        window.resize(*WINDOW_SIZE)

        model = load_model("tr181")
        security.focus()
        security.panel.select_device(make_device_id(model.oui, model.product_class, "SEC0000003"))
        await save_dock(security.dock, "cpe-logins", (1100, 330))

        # Settings: applied to the running ACS; a new database offers the restart.
        assert window.admin is not None
        dialog = window.admin.open_settings()
        await settle(0.5)
        db = dialog.widget("db_path")
        db.setText(str(folder / "site-b.db"))  # type: ignore[attr-defined]
        dialog.apply()
        assert dialog.pending is not None
        assert await dialog.pending
        await settle(0.8)
        save(dialog, "settings")
        dialog.close()
        if not window.overview.urls.fingerprint():
            print("note: the Overview lost the certificate fingerprint after Apply")
    finally:
        window.close()
        bridge.detach()
        await engine.stop()
        window.deleteLater()


def main() -> int:
    from app import bootstrap

    app = bootstrap.create_application(["make_screenshots"])
    with tempfile.TemporaryDirectory(prefix="fieldacs-shots-") as tmp:
        bootstrap.run_on_qasync(app, shoot(app, Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
