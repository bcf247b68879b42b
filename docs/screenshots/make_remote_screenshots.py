"""Screenshots of the console attached to a remote engine: the Connect dialog and a session.

Run: ``xvfb-run -a -s "-screen 0 1280x800x24" .venv/bin/python
docs/screenshots/make_remote_screenshots.py`` (``QT_QPA_PLATFORM=offscreen`` works too).

Everything runs on 127.0.0.1: a second process, ``fieldacs-engine serve`` with an NBI token
and a temporary database, is the remote ACS; ``fieldacs-engine sim`` runs three TR-181 CPEs
against it (they bootstrap, then answer connection requests). The console asks for the ACS
in File → Connect to ACS… (``connect-dialog.png``), opens a window on it through the NBI and
the event stream, turns step mode on for one device and wakes it with a connection request;
the session is held before an RPC in the Live session panel (``remote-session.png``, the
window at 1280x800, with the device's tree from the remote engine).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SIZE = (1280, 800)
HOLDER = "alice@laptop"


def save(widget: object, name: str) -> None:
    path = HERE / f"{name}.png"
    if not widget.grab().save(str(path), "PNG", 0):  # type: ignore[attr-defined]
        raise RuntimeError(f"could not write {path}")
    print(f"wrote {path.relative_to(ROOT)}")


async def wait_until(predicate: Callable[[], object], timeout: float = 30.0,
                     what: str = "") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise TimeoutError(f"the console did not get there in time: {what}")
        await asyncio.sleep(0.05)


async def shoot(folder: Path) -> None:
    from PySide6.QtCore import QSettings

    from acs_engine.sim.model import load_model
    from acs_engine.store.deviceid import make_device_id
    from app.remote_ui import KEY_HOLDER, KEY_TOKEN, KEY_URL, ConnectDialog, RemoteWindows
    from app.window import MainWindow
    from tests.helpers.remote import ServeProcess

    server = ServeProcess(folder / "acs.db", token=secrets.token_urlsafe(24))
    await server.start()
    sim = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "acs_engine.cli", "sim", "--acs", server.cwmp_url,
        "--count", "3", "--serial-prefix", "FIELD", "--periodic", "3600",
        cwd=ROOT, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )
    settings = QSettings(str(folder / "console.ini"), QSettings.Format.IniFormat)
    settings.setValue(KEY_URL, server.nbi_url)
    settings.setValue(KEY_HOLDER, HOLDER)
    windows = RemoteWindows(settings)
    try:
        # File → Connect to ACS…, filled in (the token as typed: masked).
        dialog = ConnectDialog(settings)
        dialog.token_edit.setText(server.token)
        dialog.remember_token.setChecked(True)
        dialog.resize(560, dialog.sizeHint().height())
        dialog.show()
        await asyncio.sleep(0.6)
        save(dialog, "connect-dialog")
        dialog.remember()  # as Connect does
        dialog.close()
        dialog.deleteLater()
        assert settings.value(KEY_TOKEN) == server.token

        window = await windows.open(ask=False)
        assert isinstance(window, MainWindow) and window.live is not None
        remote = window._engine  # the RemoteEngine the window runs on
        window.resize(*SIZE)
        model = load_model("tr181")
        device_id = make_device_id(model.oui, model.product_class, "FIELD000001")

        async def devices() -> int:
            return len(await remote.list_devices())

        for _ in range(300):
            if await devices() >= 3:
                break
            await asyncio.sleep(0.1)
        window.devices.refresh()
        view = window.devices.open_device(device_id)
        await wait_until(lambda: view.tree_model.node_count() > 20, what="the device's tree")

        # Step mode on for the device, then a connection request: its session is held.
        panel = window.live.panel
        window.live.open_session(device_id, "")
        await wait_until(lambda: panel.device_id == device_id, what="the device picked")
        panel.step_action.setChecked(True)
        await wait_until(lambda: remote.holds_step and remote.step_enabled(device_id),
                         what="step mode claimed")
        # A task for the session (read the Wi-Fi radio), then the connection request.
        await remote.add_task(device_id, "getParameterValues", {"parameterNames": [
            "Device.WiFi.Radio.1.Channel", "Device.WiFi.Radio.1.OperatingFrequencyBand"]})
        await remote.wake(device_id, wait_for_session=False)
        await wait_until(lambda: panel.step_bar.pending is not None, what="a held RPC")
        for _ in range(5):  # send what comes before the task's RPC
            held = panel.step_bar.pending
            assert held is not None
            if held.rpc is not None and held.rpc.METHOD == "GetParameterValues":
                break
            panel.step_bar.send()
            await wait_until(lambda h=held: panel.step_bar.pending not in (None, h),
                             what="the next hold")
        window.live.focus_live()
        panel.table.selectRow(0)  # the Inform, in the SOAP viewer
        await asyncio.sleep(1.0)
        save(window, "remote-session")
        panel.step_action.setChecked(False)  # sends what is held
        await asyncio.sleep(0.5)
    finally:
        await windows.close_all()
        if sim.returncode is None:
            sim.terminate()
            with contextlib.suppress(ProcessLookupError):
                await asyncio.wait_for(sim.wait(), 10)
        await server.stop()


def main() -> int:
    from app import bootstrap

    app = bootstrap.create_application(["make_remote_screenshots"])
    with tempfile.TemporaryDirectory(prefix="fieldacs-remote-shots-") as tmp:
        bootstrap.run_on_qasync(app, shoot(Path(tmp)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
