"""Firmware downloads end to end: file server, Download RPC, TransferComplete, faults, timeout."""

from __future__ import annotations

import asyncio
from pathlib import Path

from acs_engine.bus import WireMessage
from acs_engine.cwmp import codec, rpc
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.sim.options import SimOptions
from acs_engine.sim.transfer import perform_transfer
from acs_engine.store.deviceid import make_device_id
from tests.helpers.engine import running_engine

FIRMWARE = b"FIRMWARE-2.0.0" * 4096


async def _due(device: SimDevice) -> None:
    """Let the simulated device carry out its transfer (really, with ``real_transfers``)."""
    for _ in range(200):
        for transfer in device.run_timers():
            if device.options.real_transfers:
                fault = await perform_transfer(device, transfer)
                assert fault.code == 0, fault  # fetched from our file server, size checked
                device.complete_transfer(transfer, fault)
            else:
                device.complete_transfer(transfer)
        if device.session_due():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the simulated device never asked for a session")


def _cpe(url: str, serial: str, **options: object) -> tuple[SimCpe, SimDevice, str]:
    base = load_model("tr181")
    device = SimDevice(base, serial, options=SimOptions(**options))  # type: ignore[arg-type]
    return SimCpe(device, url), device, make_device_id(base.oui, base.product_class, serial)


async def test_download_task_with_transfer_complete_in_the_next_session(tmp_path: Path) -> None:
    async with running_engine(tmp_path, provisioning=True) as engine:
        store, files = engine.store, engine.files
        assert store is not None and files is not None
        await files.put("fw-2.0.0.bin", FIRMWARE, file_type="1 Firmware Upgrade Image")
        wire: list[WireMessage] = []
        engine.bus.subscribe(wire.append, WireMessage)
        cpe, device, dev_id = _cpe(engine.cwmp_urls()[-1], "DLOK00001", real_transfers=True)
        assert (await cpe.session()).ok
        await store.add_task(dev_id, "download", {
            "name": "download", "fileType": "1 Firmware Upgrade Image", "fileName": "fw-2.0.0.bin",
        })
        device.add_event("6 CONNECTION REQUEST")
        assert (await cpe.session()).ok
        sent = [codec.parse(w.body) for w in wire if w.direction == "out" and w.rpc == "Download"]
        assert len(sent) == 1 and sent[0] is not None
        download = sent[0].message
        assert isinstance(download, rpc.Download)
        assert download.url == f"http://127.0.0.1:{engine.fs_port}/fw-2.0.0.bin"
        assert download.file_size == len(FIRMWARE)
        assert len(await store.get_operations(dev_id)) == 1
        await _due(device)
        result = await cpe.session()
        assert result.ok, result.error
        assert "7 TRANSFER COMPLETE" in result.events
        assert await store.get_operations(dev_id) == []
        assert await store.list_faults(dev_id) == []
        params = await store.load_params(dev_id)
        names = {p.path: p.value for p in params.values() if p.path.startswith("Downloads.")}
        assert "fw-2.0.0.bin" in names.values()  # the real file name is recorded
        assert device.value("Device.DeviceInfo.SoftwareVersion") == "2.0.0"


async def test_a_failed_transfer_becomes_a_cwmp_fault(tmp_path: Path) -> None:
    async with running_engine(tmp_path, provisioning=True) as engine:
        store = engine.store
        assert store is not None
        cpe, device, dev_id = _cpe(engine.cwmp_urls()[-1], "DLBAD0001", download_fault=9010)
        assert (await cpe.session()).ok
        await store.add_task(dev_id, "download", {
            "name": "download", "fileType": "1 Firmware Upgrade Image", "fileName": "fw-9.bin",
        })
        device.add_event("6 CONNECTION REQUEST")
        assert (await cpe.session()).ok
        await _due(device)
        assert (await cpe.session()).ok
        faults = await store.list_faults(dev_id)
        assert [f.code for f in faults] == ["cwmp.9010"]
        assert await store.get_operations(dev_id) == []


async def test_a_download_without_transfer_complete_times_out(tmp_path: Path) -> None:
    async with running_engine(tmp_path, provisioning=True, download_timeout_ms=1000) as engine:
        store = engine.store
        assert store is not None
        cpe, device, dev_id = _cpe(engine.cwmp_urls()[-1], "DLSLOW001", transfer_time=3600)
        assert (await cpe.session()).ok
        await store.add_task(dev_id, "download", {
            "name": "download", "fileType": "1 Firmware Upgrade Image", "fileName": "fw-3.bin",
        })
        device.add_event("6 CONNECTION REQUEST")
        assert (await cpe.session()).ok
        assert len(await store.get_operations(dev_id)) == 1
        await asyncio.sleep(1.2)
        device.add_event("2 PERIODIC")
        assert (await cpe.session()).ok
        faults = await store.list_faults(dev_id)
        assert [f.code for f in faults] == ["timeout"]
        assert await store.get_operations(dev_id) == []
