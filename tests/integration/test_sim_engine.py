"""The simulator as the CPE against the real engine on loopback, for both data models."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from acs_engine.bus import WireMessage
from acs_engine.cwmp import rpc
from acs_engine.session.handler import RpcQueue
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.sim.runner import run_sim
from acs_engine.store.deviceid import make_device_id
from tests.helpers.engine import running_engine

ROOT = Path(__file__).resolve().parents[2]
MODELS = {"tr098": "InternetGatewayDevice.", "tr181": "Device."}


async def wait_until_due(device: SimDevice) -> None:
    """Let the simulated device's timers (reboot, transfer) fire until it wants a session."""
    for _ in range(100):
        for transfer in device.run_timers():
            device.complete_transfer(transfer)
        if device.session_due():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the simulated device never asked for a session")


def device_id_of(model: str, serial: str) -> str:
    base = load_model(model)
    return make_device_id(base.oui, base.product_class, serial)


@pytest.mark.parametrize("model", sorted(MODELS))
async def test_full_discovery_and_every_write_rpc(tmp_path: Path, model: str) -> None:
    root = MODELS[model]
    queue = RpcQueue()
    async with running_engine(tmp_path, handler=queue) as engine:
        device = SimDevice(load_model(model), "FULL000001")
        cpe = SimCpe(device, engine.cwmp_urls()[-1])
        dev_id = device_id_of(model, "FULL000001")

        # Session 1: bootstrap, discover the whole tree, read every value.
        queue.put(dev_id, rpc.GetParameterNames(parameter_path=root, next_level=False))
        queue.put(dev_id, rpc.GetParameterValues(names=(root,)))
        result = await cpe.session()
        assert result.ok, result.error
        assert "0 BOOTSTRAP" in result.events
        store = engine.store
        assert store is not None
        params = await store.load_params(dev_id)
        leaves = [p for p in params.values() if not p.path.endswith(".")]
        assert len(leaves) >= 800
        assert all(p.value is not None and p.writable is not None for p in leaves)
        summary = (await store.list_devices())[0]
        assert summary.param_count == len(leaves)

        # Session 2: writes. Pick a writable string parameter and a deletable table instance.
        writable = next(
            p.path for p in leaves
            if p.writable and p.type == "xsd:string" and "Password" not in p.path
            and p.path.endswith((".Alias", ".SSID", ".Description", "ProvisioningCode"))
        )
        table = next(
            p.path[: p.path.rstrip(".").rfind(".") + 1]
            for p in params.values()
            if p.path.endswith(".") and p.writable and p.path.rstrip(".").rsplit(".", 1)[-1].isdigit()
        )
        queue.put(dev_id, rpc.SetParameterValues(
            parameters=(rpc.ParameterValue(writable, "fieldacs", "xsd:string"),), parameter_key="pk1",
        ))
        queue.put(dev_id, rpc.AddObject(object_name=table, parameter_key="pk2"))
        queue.put(dev_id, rpc.SetParameterAttributes(parameters=(
            rpc.SetParameterAttributesStruct(writable, True, 2),
        )))
        queue.put(dev_id, rpc.GetParameterAttributes(names=(writable,)))
        queue.put(dev_id, rpc.GetParameterValues(names=(root + "ManagementServer.ParameterKey",)))
        result = await cpe.session()
        assert result.ok, result.error
        answers = dict((type(q).__name__, a) for q, a in list(queue.results[dev_id])[2:])
        add = answers["AddObject"]
        assert isinstance(add, rpc.AddObjectResponse) and add.instance_number >= 1
        params = await store.load_params(dev_id)
        assert params[writable].value == "fieldacs"
        assert params[writable].notification == 2
        assert params[f"{table}{add.instance_number}."].object is True
        assert params[root + "ManagementServer.ParameterKey"].value == "pk2"

        # Session 3: delete what we added, a CPE fault, then a reboot.
        queue.put(dev_id, rpc.DeleteObject(object_name=f"{table}{add.instance_number}."))
        queue.put(dev_id, rpc.GetParameterValues(names=(root + "No.Such.Thing",)))
        queue.put(dev_id, rpc.Reboot(command_key="rb1"))
        result = await cpe.session()
        assert result.ok, result.error
        last = [a for _, a in list(queue.results[dev_id])[-3:]]
        assert isinstance(last[0], rpc.DeleteObjectResponse)
        assert isinstance(last[1], rpc.Fault) and last[1].code == 9005
        assert isinstance(last[2], rpc.RebootResponse)
        params = await store.load_params(dev_id)
        assert f"{table}{add.instance_number}." not in params

        # Session 4: the CPE comes back after the reboot.
        await wait_until_due(device)
        result = await cpe.session()
        assert result.ok, result.error
        assert {"1 BOOT", "M Reboot"} <= set(result.events)
        device_row = await store.get_device(dev_id)
        assert device_row is not None and device_row.last_boot_ms is not None
        sessions = await store.list_sessions(dev_id)
        assert [s.outcome for s in sessions] == ["ok"] * 4


async def test_download_reports_transfer_complete_in_the_next_session(tmp_path: Path) -> None:
    queue = RpcQueue()
    seen: list[str] = []
    async with running_engine(tmp_path, handler=queue) as engine:
        engine.bus.subscribe(
            lambda e: seen.append(e.rpc) if e.direction == "in" else None, WireMessage
        )
        device = SimDevice(load_model("tr181"), "DL0000001")
        cpe = SimCpe(device, engine.cwmp_urls()[-1])
        dev_id = device_id_of("tr181", "DL0000001")
        queue.put(dev_id, rpc.Download(
            command_key="dl1", url="http://127.0.0.1:9/fw-2.0.0.bin", file_size=10,
            target_file_name="fw-2.0.0.bin",
        ))
        assert (await cpe.session()).ok
        await wait_until_due(device)
        result = await cpe.session()
        assert result.ok, result.error
        assert "7 TRANSFER COMPLETE" in result.events
        assert "TransferComplete" in seen


@pytest.mark.parametrize("model", sorted(MODELS))
async def test_two_hundred_devices_at_once_are_all_stored(tmp_path: Path, model: str) -> None:
    async with running_engine(tmp_path, max_concurrent_new_sessions=250) as engine:
        summary = await run_sim(
            engine.cwmp_urls()[-1], 200, model, once=True, concurrency=200,
            connection_requests=False, serial_prefix="M" + model[-3:],
        )
        assert summary.ok, summary.format()
        assert summary.sessions_ok == 200
        assert engine.device_count == 200
        store = engine.store
        assert store is not None
        assert await store.count_devices() == 200
        devices = await store.list_devices(limit=500)
        assert all(d.last_inform_ms is not None and d.param_count >= 5 for d in devices)
        assert engine.active_session_count() == 0


@pytest.mark.parametrize("version", ["1.0", "1.2", "1.4"])
async def test_each_cwmp_version_is_answered_in_kind(tmp_path: Path, version: str) -> None:
    async with running_engine(tmp_path) as engine:
        summary = await run_sim(
            engine.cwmp_urls()[-1], 3, "tr181", once=True, cwmp_version=version,
            connection_requests=False,
        )
        assert summary.ok, summary.format()
        store = engine.store
        assert store is not None
        device = await store.get_device(device_id_of("tr181", "SIM000001"))
        assert device is not None
        assert device.cwmp_version == version


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _run(*args: str, timeout: float = 60) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "acs_engine.cli", *args, cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    return proc.returncode or 0, out.decode(), err.decode()


async def test_cli_serve_sim_and_devices(tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    port = _free_port()
    server = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "acs_engine.cli", "serve", "--db", str(db), "--host", "127.0.0.1",
        "--cwmp-port", str(port), "--fs-port", "0", cwd=ROOT, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert server.stdout is not None
        banner = await asyncio.wait_for(server.stdout.readline(), 30)
        assert b"FieldACS engine" in banner
        url_line = await asyncio.wait_for(server.stdout.readline(), 10)
        assert f":{port}/".encode() in url_line
        code, out, err = await _run(
            "sim", "--acs", f"http://127.0.0.1:{port}/", "--count", "5", "--model", "tr098",
            "--once",
        )
        assert code == 0, out + err
        assert "sessions ok:     5" in out
    finally:
        server.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(server.wait(), 30) == 0
    code, out, err = await _run("devices", "--db", str(db), "--json")
    assert code == 0, err
    rows = json.loads(out)
    assert len(rows) == 5
    assert all(r["param_count"] > 0 and r["last_inform"] for r in rows)
    code, out, _ = await _run("devices", "--db", str(db))
    assert "5 device(s)" in out


async def test_cli_reports_a_busy_port_in_plain_words(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, _, err = await _run(
            "serve", "--db", str(tmp_path / "x.db"), "--host", "127.0.0.1", "--cwmp-port",
            str(port), "--fs-port", "0",
        )
    assert code == 2
    assert f"Port {port} is in use" in err
    assert "Traceback" not in err
