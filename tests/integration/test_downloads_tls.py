"""Downloads over HTTPS: a CPE whose session came over HTTPS is sent an https:// file URL."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from acs_engine.bus import WireMessage
from acs_engine.cwmp import codec, rpc
from acs_engine.server.controller import Engine
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.sim.options import SimOptions
from acs_engine.sim.transfer import perform_transfer
from acs_engine.store.deviceid import make_device_id
from tests.helpers.engine import running_engine

FIRMWARE = b"FIRMWARE-3.0.0" * 2048


def _cpe(url: str, serial: str, ca: Path) -> tuple[SimCpe, SimDevice, str]:
    base = load_model("tr181")
    options = SimOptions(real_transfers=True, tls_ca=str(ca))
    device = SimDevice(base, serial, options=options)
    return SimCpe(device, url), device, make_device_id(base.oui, base.product_class, serial)


async def _download_url(engine: Engine, url: str, serial: str) -> tuple[str, SimCpe, SimDevice]:
    """Run a download task on a simulated CPE at ``url``; the URL the ACS sent it."""
    assert engine.store is not None and engine.tls is not None
    wire: list[WireMessage] = []
    unsubscribe = engine.bus.subscribe(wire.append, WireMessage)
    cpe, device, dev_id = _cpe(url, serial, engine.tls.cert_path)
    assert (await cpe.session()).ok
    await engine.store.add_task(dev_id, "download", {
        "name": "download", "fileType": "1 Firmware Upgrade Image", "fileName": "fw-3.0.0.bin",
    })
    device.add_event("6 CONNECTION REQUEST")
    result = await cpe.session()
    assert result.ok, result.error
    unsubscribe()
    sent = [codec.parse(w.body) for w in wire if w.direction == "out" and w.rpc == "Download"]
    assert len(sent) == 1 and sent[0] is not None
    download = sent[0].message
    assert isinstance(download, rpc.Download)
    assert download.file_size == len(FIRMWARE)
    return download.url, cpe, device


async def test_a_session_over_https_downloads_over_https(tmp_path: Path) -> None:
    async with running_engine(
        tmp_path, provisioning=True, cwmp_tls_port=0, fs_tls_port=0
    ) as engine:
        assert engine.files is not None and engine.fs_tls_port is not None
        await engine.files.put("fw-3.0.0.bin", FIRMWARE, file_type="1 Firmware Upgrade Image")
        url, cpe, device = await _download_url(engine, engine.cwmp_tls_urls()[-1], "TLSDL0001")
        assert url == f"https://127.0.0.1:{engine.fs_tls_port}/fw-3.0.0.bin"
        # The CPE really fetches it over HTTPS, trusting the ACS's certificate.
        for _ in range(100):
            transfers = device.run_timers()
            if transfers:
                break
            await asyncio.sleep(0.02)
        assert len(transfers) == 1
        fault = await perform_transfer(device, transfers[0])
        assert fault.code == 0, fault
        device.complete_transfer(transfers[0], fault)
        result = await cpe.session()
        assert result.ok and "7 TRANSFER COMPLETE" in result.events
        assert device.value("Device.DeviceInfo.SoftwareVersion") == "3.0.0"


async def test_a_session_over_plain_http_downloads_over_http(tmp_path: Path) -> None:
    async with running_engine(
        tmp_path, provisioning=True, cwmp_tls_port=0, fs_tls_port=0
    ) as engine:
        assert engine.files is not None
        await engine.files.put("fw-3.0.0.bin", FIRMWARE, file_type="1 Firmware Upgrade Image")
        url, _, _ = await _download_url(engine, engine.cwmp_urls()[-1], "TLSDL0002")
        assert url == f"http://127.0.0.1:{engine.fs_port}/fw-3.0.0.bin"


async def test_the_file_url_rule(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async with running_engine(tmp_path, fs_tls_port=0) as engine:
        tls, plain = engine.fs_tls_port, engine.fs_port
        assert engine.file_url("a b.bin", "10.0.0.2", True)[0] == f"https://10.0.0.2:{tls}/a%20b.bin"
        assert engine.file_url("a.bin", "10.0.0.2", False)[0] == f"http://10.0.0.2:{plain}/a.bin"
        monkeypatch.setattr(engine, "_fs_port", None)  # only the HTTPS file server runs
        assert engine.file_url("a.bin", "10.0.0.2", False)[0] == f"https://10.0.0.2:{tls}/a.bin"
    async with running_engine(tmp_path) as engine:  # no HTTPS file server: http even over TLS
        assert engine.file_url("a.bin", "10.0.0.2", True)[0] == (
            f"http://10.0.0.2:{engine.fs_port}/a.bin"
        )
    async with running_engine(tmp_path, fs_tls_port=0, fs_url_prefix="https://cdn.example/fw/") as engine:
        assert engine.file_url("a.bin", "10.0.0.2", False)[0] == "https://cdn.example/fw/a.bin"


async def test_the_simulator_checks_the_acs_certificate(tmp_path: Path) -> None:
    async with running_engine(tmp_path, cwmp_tls_port=0) as engine:
        assert engine.tls is not None
        base = load_model("tr181")
        url = engine.cwmp_tls_urls()[-1]
        untrusting = SimCpe(SimDevice(base, "TLSCA0001", options=SimOptions()), url)
        refused = await untrusting.session()
        assert not refused.ok and "certificate" in (refused.error or "").lower()
        trusting, _, _ = _cpe(url, "TLSCA0002", engine.tls.cert_path)
        assert (await trusting.session()).ok
