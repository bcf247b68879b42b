"""Tasks through the NBI and the CLI, run on simulated CPEs woken by connection requests."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from acs_engine import cli_tasks
from acs_engine.bus import SessionStarted
from acs_engine.cli import build_parser
from acs_engine.server.controller import Engine
from acs_engine.sim.options import SimOptions
from tests.helpers.engine import RawCpe, inform, running_engine
from tests.helpers.nbi import Nbi, Reply, enc, sim_fleet, until

ROOT = Path(__file__).resolve().parents[2]
SSID = "Device.WiFi.SSID"
CR = {"connection_request": ""}


async def _doc(nbi: Nbi, device_id: str, projection: str) -> dict[str, Any]:
    reply = await nbi.query("devices", {"_id": device_id}, projection=projection)
    assert reply.status == 200 and len(reply.body) == 1
    doc: dict[str, Any] = reply.body[0]
    return doc


def _instances(doc: dict[str, Any]) -> set[str]:
    ssid = doc.get("Device", {}).get("WiFi", {}).get("SSID", {})
    return {k for k in ssid if not k.startswith("_")}


async def _sessions_with(engine: Engine, device_id: str, event: str) -> int:
    assert engine.store is not None
    return sum(event in s.events for s in await engine.store.list_sessions(device_id))


async def test_every_task_type_changes_the_device(tmp_path: Path) -> None:
    options = SimOptions(real_transfers=True)
    async with (
        running_engine(tmp_path, provisioning=True, script_timeout_ms=2000) as engine,
        sim_fleet(engine, 2, "TSK", options) as ids,
        Nbi(engine) as nbi,
    ):
        dev, other = ids

        async def run(task: dict[str, Any], device_id: str = dev) -> Reply:
            reply = await nbi.call("POST", f"/devices/{enc(device_id)}/tasks", params=CR, body=task)
            assert reply.status == 200, (task, reply.status, reply.reason, reply.body)
            assert reply.body["name"] == task["name"] and reply.body["device"] == device_id
            assert re.fullmatch(r"[0-9a-f]{24}", reply.body["_id"])
            return reply

        await run({"name": "getParameterValues", "parameterNames": ["Device.DeviceInfo.UpTime"]})
        await run({"name": "setParameterValues",
                   "parameterValues": [[f"{SSID}.1.SSID", "nbi-ssid", "xsd:string"]]})
        # re-read from the CPE: the value is really the device's now
        await run({"name": "getParameterValues", "parameterNames": [f"{SSID}.1.SSID"]})
        found = await nbi.query("devices", {f"{SSID}.1.SSID": "nbi-ssid"}, projection="_id")
        assert [d["_id"] for d in found.body] == [dev]
        await run({"name": "refreshObject", "objectName": "Device.WiFi."})

        before = _instances(await _doc(nbi, dev, SSID))
        await run({"name": "addObject", "objectName": SSID})
        after = _instances(await _doc(nbi, dev, SSID))
        added = after - before
        assert len(added) == 1, (before, after)
        await run({"name": "deleteObject", "objectName": f"{SSID}.{added.pop()}."})
        assert _instances(await _doc(nbi, dev, SSID)) == before

        script = 'declare("Device.WiFi.SSID.1.SSID", null, {value: args[0]});'
        assert (await nbi.call("PUT", "/provisions/set-ssid", data=script)).status == 200
        await run({"name": "provisions", "provisions": [["set-ssid", "from-provision"]]})
        await run({"name": "getParameterValues", "parameterNames": [f"{SSID}.1.SSID"]})
        doc = await _doc(nbi, dev, f"{SSID}.1.SSID._value")
        assert doc["Device"]["WiFi"]["SSID"]["1"]["SSID"]["_value"] == "from-provision"

        firmware = b"firmware image " * 500
        reply = await nbi.call("PUT", "/files/fw.bin", data=firmware,
                               headers={"fileType": "1 Firmware Upgrade Image"})
        assert reply.status == 201
        await run({"name": "download", "fileType": "1 Firmware Upgrade Image", "fileName": "fw.bin"})
        # the CPE fetches the file and reports TransferComplete in a new session
        await until(lambda: _sessions_with(engine, dev, "7 TRANSFER COMPLETE"), 15.0)
        await until(lambda: engine.active_session_count() == 0)
        assert (await nbi.query("faults", {"device": dev})).body == []

        await run({"name": "reboot"}, other)
        await until(lambda: _sessions_with(engine, other, "M Reboot"), 15.0)
        await until(lambda: engine.active_session_count() == 0)
        await run({"name": "factoryReset"}, other)
        await until(lambda: _bootstrapped_twice(engine, other), 15.0)
        assert (await nbi.query("tasks")).body == []


async def _bootstrapped_twice(engine: Engine, device_id: str) -> bool:
    return await _sessions_with(engine, device_id, "0 BOOTSTRAP") >= 2


async def test_faults_retry_queueing_and_bad_tasks(tmp_path: Path) -> None:
    async with (
        running_engine(tmp_path, provisioning=True, script_timeout_ms=2000) as engine,
        sim_fleet(engine, 1, "FLT") as ids,
        Nbi(engine) as nbi,
    ):
        dev = ids[0]
        path = f"/devices/{enc(dev)}/tasks"
        assert engine.store is not None
        boom = 'throw new Error("boom");'
        assert (await nbi.call("PUT", "/provisions/boom", data=boom)).status == 200

        reply = await nbi.call("POST", path, params=CR, body={"name": "provisions",
                                                              "provisions": [["boom"]]})
        assert (reply.status, reply.reason) == (202, "Task faulted")
        task_id = reply.body["_id"]
        faults = await nbi.query("faults", {"device": dev})
        assert faults.headers["total"] == "1"
        fault = faults.body[0]
        assert fault["_id"] == f"{dev}:task_{task_id}" and fault["channel"] == f"task_{task_id}"
        assert fault["code"].startswith("script") and "boom" in fault["message"]
        assert json.loads(fault["provisions"]) == [["boom"]]
        tasks = await nbi.query("tasks", {"device": dev, "name": "provisions"})
        assert [t["_id"] for t in tasks.body] == [task_id]

        # retry: the fault goes, the task stays and runs in the next session
        assert (await nbi.call("POST", f"/tasks/{task_id}/retry")).status == 200
        assert (await nbi.query("faults")).body == []
        assert (await nbi.call("PUT", "/provisions/boom", data='log("fixed");')).status == 200
        wake = await nbi.call("POST", path, params=CR)  # the connection request alone
        assert wake.status == 200, (wake.reason, wake.body)
        await until(lambda: engine.active_session_count() == 0)
        assert await engine.store.get_task(task_id) is None

        # deleting a task's fault deletes the task (GenieACS)
        assert (await nbi.call("PUT", "/provisions/boom", data=boom)).status == 200
        reply = await nbi.call("POST", path, params={**CR, "timeout": "3000"},
                               body={"name": "provisions", "provisions": [["boom"]]})
        assert (reply.status, reply.reason) == (202, "Task faulted")
        fault_id = f"{dev}:task_{reply.body['_id']}"
        assert (await nbi.call("DELETE", f"/faults/{enc(fault_id)}")).status == 200
        assert (await nbi.query("faults")).body == []
        assert (await nbi.query("tasks")).body == []

        # queued without a connection request, listed, deleted
        reply = await nbi.call("POST", path, body={"name": "reboot", "expiry": 3600})
        assert reply.status == 202 and reply.body["expiry"] > reply.body["timestamp"]
        queued = await nbi.query("tasks", {"name": "reboot"}, projection="name,device")
        assert queued.body == [{"_id": reply.body["_id"], "name": "reboot", "device": dev}]
        assert (await nbi.call("DELETE", f"/tasks/{reply.body['_id']}")).status == 200
        assert (await nbi.query("tasks")).headers["total"] == "0"
        assert (await nbi.call("DELETE", f"/tasks/{reply.body['_id']}")).status == 404
        assert (await nbi.call("POST", "/tasks/0123456789abcdef01234567/retry")).status == 404

        # invalid tasks: 400 with the reason, nothing queued
        for body, reason in [
            ({"name": "getParameterValues"}, "getParameterValues needs parameterNames"),
            ({"name": "setParameterValues", "parameterValues": "x"}, "setParameterValues needs"),
            ({"name": "launchRocket"}, "unknown task 'launchRocket'"),
            ({"parameterNames": []}, "a task needs a name"),
            ([1, 2], "a task must be a JSON object"),
            ({"name": "reboot", "timestamp": "yesterday"}, "timestamp must be a date"),
        ]:
            reply = await nbi.call("POST", path, params=CR, body=body)
            assert reply.status == 400 and reason in reply.error, (body, reply.body)
        reply = await nbi.call("POST", path, data="{oops")
        assert reply.status == 400 and "not valid JSON" in reply.error
        assert (await nbi.call("POST", path)).status == 400  # no task, no connection request
        assert (await nbi.query("tasks")).body == []
        missing = await nbi.call("POST", "/devices/nope/tasks", params=CR, body={"name": "reboot"})
        assert missing.status == 404


async def test_connection_request_errors_are_reported(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine, Nbi(engine) as nbi:
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:  # its CR URL is a closed port
            status, _, _ = await cpe.send(inform("DEAD01"))
            assert status == 200
            await cpe.send(None)
        await until(lambda: engine.active_session_count() == 0)
        dev = "F1E1D0-TestGW-DEAD01"
        path = f"/devices/{enc(dev)}/tasks"
        reply = await nbi.call("POST", path, params=CR, body={"name": "reboot"})
        assert reply.status == 202 and "offline" in reply.reason.lower(), reply.reason
        assert (await nbi.query("tasks", {"device": dev})).headers["total"] == "1"
        reply = await nbi.call("POST", path, params=CR)
        assert reply.status == 504 and "offline" in reply.error.lower()

        # while the device is in session, its tasks and itself cannot be deleted: 503
        task_id = (await nbi.query("tasks", {"device": dev})).body[0]["_id"]
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            status, _, _ = await cpe.send(inform("DEAD01", events=("2 PERIODIC",)))
            assert status == 200 and engine.active_session_count() == 1
            for method, url in [("DELETE", f"/tasks/{task_id}"),
                                ("POST", f"/tasks/{task_id}/retry"),
                                ("DELETE", f"/devices/{enc(dev)}")]:
                reply = await nbi.call(method, url)
                assert reply.status == 503 and "in session" in reply.error, (url, reply.body)
            await cpe.send(None)
        await until(lambda: engine.active_session_count() == 0)
        assert (await nbi.call("DELETE", f"/tasks/{task_id}")).status == 200


async def _cli(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "acs_engine.cli", *args, cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_cli_task_and_connreq_beside_a_running_engine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    async with (
        running_engine(tmp_path, provisioning=True, script_timeout_ms=2000) as engine,
        sim_fleet(engine, 1, "CLI") as ids,
    ):
        dev, db = ids[0], str(engine.config.db_path)
        store = engine.store
        assert store is not None
        started: list[SessionStarted] = []
        engine.bus.subscribe(started.append, SessionStarted)
        gpv = json.dumps({"name": "getParameterValues", "parameterNames": ["Device.DeviceInfo.UpTime"]})

        code, out, err = await _cli("task", dev, gpv, "--db", db)
        assert code == 0, err
        task_id = re.search(r"task ([0-9a-f]{24})", out)
        assert task_id is not None and await store.get_task(task_id.group(1)) is not None

        code, out, err = await _cli("connreq", dev, "--db", db)
        assert code == 0, err
        assert "connection request" in out.lower()
        await until(lambda: any(s.device_id == dev for s in started), 10.0)
        await until(lambda: engine.active_session_count() == 0)
        await until(lambda: _gone(store, task_id.group(1)))

        started.clear()
        code, out, err = await _cli("task", dev, gpv, "--db", db, "--connection-request")
        assert code == 0, err
        await until(lambda: any(s.device_id == dev for s in started), 10.0)
        await until(lambda: engine.active_session_count() == 0)
        assert await store.list_tasks(dev) == []

        # usage errors, in this process (the same code path, without the start-up cost)
        for argv in (
            ["task", dev, '{"name": "nope"}', "--db", db],
            ["task", dev, "{bad json", "--db", db],
            ["task", "no-such-device", gpv, "--db", db],
            ["connreq", "no-such-device", "--db", db],
            ["connreq", dev, "--db", str(tmp_path / "missing.db")],
        ):
            assert await cli_tasks.run(build_parser().parse_args(argv)) == 2, argv
        assert "unknown task 'nope'" in capsys.readouterr().err
    # the simulator is gone: the device does not answer
    assert await cli_tasks.run(build_parser().parse_args(["connreq", dev, "--db", db])) == 1
    assert "offline" in capsys.readouterr().out.lower()


async def _gone(store: Any, task_id: str) -> bool:
    return await store.get_task(task_id) is None
