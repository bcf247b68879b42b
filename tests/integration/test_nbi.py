"""The NBI end to end: the real engine, simulated CPEs, GenieACS's routes over HTTP."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

import aiohttp
import pytest

from acs_engine.bus import DeviceUpdated, EngineNotice, EventBus
from acs_engine.config import EngineConfig
from acs_engine.server.controller import Engine, EngineStartError
from tests.helpers.engine import running_engine
from tests.helpers.nbi import Nbi, enc, sim_fleet

SV = "Device.DeviceInfo.SoftwareVersion"
PII = "Device.ManagementServer.PeriodicInformInterval"


async def test_device_queries_projection_sort_and_paging(tmp_path: Path) -> None:
    async with (
        running_engine(tmp_path, provisioning=True, script_timeout_ms=2000) as engine,
        sim_fleet(engine, 3, "QRY") as ids,
        Nbi(engine) as nbi,
    ):
        everything = await nbi.query("devices")
        assert everything.status == 200
        assert everything.headers["total"] == "3"
        assert sorted(d["_id"] for d in everything.body) == sorted(ids)
        doc = next(d for d in everything.body if d["_id"] == ids[0])
        assert doc["_deviceId"]["_SerialNumber"] == "QRY000001"
        assert set(doc["_deviceId"]) == {"_Manufacturer", "_OUI", "_ProductClass", "_SerialNumber"}
        for key in ("_lastInform", "_lastBoot", "_lastBootstrap", "_registered"):
            assert doc[key].endswith("Z"), key
        node = doc["Device"]["DeviceInfo"]["SoftwareVersion"]
        assert {"_value", "_type", "_timestamp", "_object"} <= set(node)
        assert node["_object"] is False and node["_type"] == "xsd:string"
        assert doc["Device"]["ManagementServer"]["_object"] is True
        assert doc["Device"]["ManagementServer"]["URL"]["_writable"] is True
        assert doc["Device"]["ManagementServer"]["PeriodicInformInterval"]["_value"] == 300
        version = node["_value"]

        async def found(query: object, **params: str) -> list[str]:
            reply = await nbi.query("devices", query, projection="_id", **params)
            assert reply.status == 200, reply.body
            assert int(reply.headers["total"]) >= len(reply.body)
            return [d["_id"] for d in reply.body]

        assert await found({"_deviceId._SerialNumber": "QRY000002"}) == [ids[1]]
        assert await found({"_id": ids[2]}) == [ids[2]]
        assert await found({SV: version}) == ids
        assert await found({SV + "._value": {"$ne": version}}) == []
        assert await found({PII: 300}) == ids
        assert await found({PII: "300"}) == ids  # a numeric string matches the number
        assert await found({PII: {"$gt": 300}}) == []
        assert await found({"_deviceId._SerialNumber": {"$in": ["QRY000001", "QRY000003"]}}) == [
            ids[0], ids[2]]
        assert await found({"_deviceId._SerialNumber": {"$regex": "0+2$"}}) == [ids[1]]
        assert await found({"_lastInform": {"$gt": "2000-01-01T00:00:00Z"}}) == ids
        assert await found({"_lastInform": {"$lt": 946684800000}}) == []
        assert await found({"$or": [{"_id": ids[0]}, {"_deviceId._SerialNumber": "QRY000003"}]}) == [
            ids[0], ids[2]]

        # tags
        for device_id in (ids[0], ids[2]):
            reply = await nbi.call("POST", f"/devices/{enc(device_id)}/tags/lab")
            assert reply.status == 200 and "lab" in reply.body["_tags"]
        assert await found({"_tags": "lab"}) == [ids[0], ids[2]]
        assert (await nbi.call("DELETE", f"/devices/{enc(ids[2])}/tags/lab")).status == 200
        assert await found({"_tags": {"$in": ["lab", "other"]}}) == [ids[0]]
        assert await found({"_tags": {"$ne": "lab"}}) == [ids[1], ids[2]]
        assert (await nbi.call("POST", "/devices/nope/tags/lab")).status == 404

        # projection: only what was asked (and _id)
        reply = await nbi.query("devices", {"_id": ids[0]}, projection="_deviceId._SerialNumber,_tags")
        assert reply.body == [{"_id": ids[0], "_deviceId": {"_SerialNumber": "QRY000001"},
                               "_tags": ["lab"]}]
        reply = await nbi.query("devices", {"_id": ids[0]}, projection=SV + "._value")
        assert reply.body == [{"_id": ids[0], "Device": {"DeviceInfo": {
            "SoftwareVersion": {"_value": version}}}}]
        reply = await nbi.query("devices", {"_id": ids[0]}, projection="Device.ManagementServer")
        management = reply.body[0]["Device"]["ManagementServer"]
        assert "URL" in management and "DeviceInfo" not in reply.body[0]["Device"]

        # sort, skip, limit, total
        reply = await nbi.query("devices", None, projection="_id", skip="1", limit="1",
                                sort=json.dumps({"_deviceId._SerialNumber": -1}))
        assert [d["_id"] for d in reply.body] == [ids[1]] and reply.headers["total"] == "3"
        reply = await nbi.query("devices", None, projection="_id", sort=json.dumps({SV: 1}))
        assert len(reply.body) == 3
        head = await nbi.call("HEAD", "/devices/", params={"query": json.dumps({"_tags": "lab"})})
        assert head.status == 200 and head.headers["total"] == "1" and head.body is None

        # bad input: 400 with the reason, never a 500
        for params, reason in [
            ({"query": "{not json"}, "query is not valid JSON"),
            ({"query": json.dumps({"_id": {"$bogus": 1}})}, "unknown operator $bogus"),
            ({"query": "[1]"}, "query must be a JSON object"),
            ({"sort": json.dumps({"_id": 5})}, "sort direction"),
            ({"skip": "-1"}, "skip must not be negative"),
            ({"limit": "ten"}, "limit must be a whole number"),
            ({"query": json.dumps({"_id": {"$regex": "("}})}, "invalid $regex"),
        ]:
            reply = await nbi.call("GET", "/devices/", params=params)
            assert reply.status == 400, (params, reply.body)
            assert reason in reply.error, (reason, reply.error)
        reply = await nbi.call("GET", "/nothing/here")
        assert reply.status == 404 and reply.error
        assert (await nbi.call("PATCH", "/presets/x")).status in (404, 405)

        # the other collections
        presets = await nbi.query("presets", {"_id": "inform"})
        assert presets.headers["total"] == "1" and presets.body[0]["_id"] == "inform"
        assert presets.body[0]["configurations"]
        reply = await nbi.query("presets", None, projection="_id,weight", sort='{"_id": -1}')
        assert [p["_id"] for p in reply.body] == sorted((p["_id"] for p in reply.body), reverse=True)
        assert all(set(p) <= {"_id", "weight"} for p in reply.body)
        assert (await nbi.query("provisions", {"_id": {"$exists": True}})).status == 200
        objects = await nbi.query("objects")
        assert objects.body == [] and objects.headers["total"] == "0"
        assert (await nbi.query("faults")).body == []

        # delete a device: the engine's count (console, /metrics) and the bus follow
        count = engine.device_count
        told: list[DeviceUpdated] = []
        engine.bus.subscribe(told.append, DeviceUpdated)
        assert (await nbi.call("DELETE", f"/devices/{enc(ids[1])}")).status == 200
        assert (await nbi.query("devices")).headers["total"] == "2"
        assert engine.device_count == count - 1
        assert [(e.device_id, e.deleted) for e in told] == [(ids[1], True)]
        # GenieACS answers 200 for a device it does not know (test_nbi_parity.py)
        again = await nbi.call("DELETE", f"/devices/{enc(ids[1])}")
        assert again.status == 200 and again.body is None
        assert engine.device_count == count - 1 and len(told) == 1  # nothing deleted twice


async def test_presets_provisions_and_virtual_parameters(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine, Nbi(engine) as nbi:
        preset = {
            "weight": 5, "channel": "wifi", "events": {"1 BOOT": True},
            "precondition": 'DeviceID.ProductClass = "SimGW-181"',
            "configurations": [{"type": "value", "name": "Device.WiFi.SSID.1.SSID", "value": "x"},
                               {"type": "add_tag", "tag": "seen"}],
        }
        assert (await nbi.call("PUT", "/presets/wifi", body=preset)).status == 200
        reply = await nbi.query("presets", {"_id": "wifi"})
        stored = reply.body[0]
        assert stored["weight"] == 5 and stored["channel"] == "wifi"
        assert stored["precondition"] == preset["precondition"]
        assert stored["configurations"] == preset["configurations"]
        assert (await nbi.query("presets", {"channel": "wifi", "weight": {"$gte": 5}})).headers[
            "total"] == "1"
        modern = {"precondition": "", "provisions": [["refresh", "Device.DeviceInfo."]]}
        assert (await nbi.call("PUT", "/presets/modern", body=modern)).status == 200
        reply = await nbi.query("presets", {"_id": "modern"})
        assert reply.body[0]["configurations"][0]["name"] == "refresh"

        bad = await nbi.call("PUT", "/presets/bad", body={"precondition": "DeviceID.ID = = 1"})
        assert bad.status == 400 and "precondition" in bad.error
        assert isinstance(bad.body["position"], int)
        for body, reason in [
            ("{oops", "not valid JSON"),
            ("[1, 2]", "must be a JSON object"),
            (json.dumps({"schedule": "60 nonsense"}), "schedule"),
            (json.dumps({"configurations": [{"type": "weird"}]}), "Unknown configuration type"),
        ]:
            reply = await nbi.call("PUT", "/presets/bad", data=body)
            assert reply.status == 400 and reason in reply.error, (body, reply.body)
        assert (await nbi.query("presets", {"_id": "bad"})).body == []
        assert (await nbi.call("DELETE", "/presets/wifi")).status == 200
        assert (await nbi.query("presets", {"_id": "wifi"})).body == []
        assert (await nbi.call("DELETE", "/presets/wifi")).status == 200  # idempotent

        script = 'const v = declare("Device.DeviceInfo.UpTime", {value: Date.now()});\n'
        assert (await nbi.call("PUT", "/provisions/uptime", data=script)).status == 200
        reply = await nbi.query("provisions", {"_id": "uptime"})
        assert reply.body == [{"_id": "uptime", "script": script}]
        broken = await nbi.call("PUT", "/provisions/broken", data='log("a");\ndeclare("x", {value: 1};\n')
        assert broken.status == 400 and "SyntaxError" in broken.error
        assert broken.body["line"] == 2 and isinstance(broken.body["column"], int)
        assert (await nbi.query("provisions", {"_id": "broken"})).body == []
        assert (await nbi.call("DELETE", "/provisions/uptime")).status == 200
        assert (await nbi.query("provisions", {"_id": "uptime"})).body == []

        vscript = 'return {writable: false, value: ["field", "xsd:string"]};'
        assert (await nbi.call("PUT", "/virtual_parameters/site", data=vscript)).status == 200
        reply = await nbi.query("virtual_parameters", {"script": {"$regex": "field"}})
        assert [v["_id"] for v in reply.body] == ["site"]
        assert (await nbi.call("PUT", "/virtual_parameters/a.b", data=vscript)).status == 400
        assert (await nbi.call("PUT", "/virtual_parameters/bad", data="return {")).status == 400
        assert (await nbi.call("DELETE", "/virtual_parameters/site")).status == 200
        assert (await nbi.query("virtual_parameters")).headers["total"] == "0"


async def test_files_through_the_nbi_and_the_file_server(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine, Nbi(engine) as nbi:
        data = bytes(range(256)) * 1000
        headers = {"fileType": "1 Firmware Upgrade Image", "oui": "F1E1D0",
                   "productClass": "SimGW-181", "version": "2.0"}
        reply = await nbi.call("PUT", "/files/fw-2.0.bin", data=data, headers=headers)
        assert reply.status == 201 and reply.body["length"] == len(data)
        listed = await nbi.query("files", {"metadata.fileType": "1 Firmware Upgrade Image"})
        assert listed.headers["total"] == "1"
        doc = listed.body[0]
        assert doc["_id"] == doc["filename"] == "fw-2.0.bin"
        assert doc["metadata"] == {"fileType": "1 Firmware Upgrade Image", "oui": "F1E1D0",
                                   "productClass": "SimGW-181", "version": "2.0"}
        assert (await nbi.query("files", {"length": {"$gt": len(data)}})).body == []
        url = f"http://127.0.0.1:{engine.fs_port}/fw-2.0.bin"
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as resp:
                assert resp.status == 200 and await resp.read() == data
            assert (await nbi.call("PUT", "/files/.hidden", data=b"x")).status == 400
            assert (await nbi.call("DELETE", "/files/fw-2.0.bin")).status == 200
            async with http.get(url) as resp:
                assert resp.status == 404
        assert (await nbi.query("files")).body == []
        assert (await nbi.call("DELETE", "/files/fw-2.0.bin")).status == 404


async def test_bearer_token(tmp_path: Path) -> None:
    token = "nbi-test-token-42"
    async with running_engine(tmp_path, nbi_token=token) as engine:
        async with Nbi(engine) as anonymous:
            reply = await anonymous.query("devices")
            assert reply.status == 401 and "Bearer" in reply.headers["WWW-Authenticate"]
        async with Nbi(engine, token="wrong-token-000") as wrong:
            assert (await wrong.query("devices")).status == 401
        async with Nbi(engine, token=token) as nbi:
            reply = await nbi.query("devices")
            assert reply.status == 200 and reply.body == []
    with pytest.raises(EngineStartError):
        async with running_engine(tmp_path / "short", nbi_token="short"):
            pass


async def test_openapi_describes_every_route_and_ping(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine, Nbi(engine) as nbi:
        reply = await nbi.call("GET", "/openapi.json")
        assert reply.status == 200 and reply.body["openapi"].startswith("3.0")
        paths = reply.body["paths"]
        assert engine.nbi is not None
        for route in engine.nbi.app.router.routes():
            path = route.resource.canonical if route.resource else ""
            assert path in paths, path
            assert route.method.lower() in paths[path], (route.method, path)

        reply = await nbi.call("GET", "/ping/127.0.0.1")
        if shutil.which("ping") is None:
            assert reply.status == 503 and "not installed" in reply.error
        else:
            assert reply.status == 200, reply.body
            assert reply.body["packetsTransmitted"] == 3 and reply.body["packetsReceived"] == 3
            assert reply.body["avg"] is not None
        assert (await nbi.call("GET", "/ping/-c1")).status == 400

        # what only a browser sends is refused: a cross-origin page, DNS rebinding
        task = {"name": "factoryReset"}
        reply = await nbi.call("POST", "/devices/x/tasks", body=task,
                               headers={"Origin": "http://evil.example"})
        assert reply.status == 403 and "cross-origin" in reply.error
        reply = await nbi.call("GET", "/devices/", headers={"Host": f"evil.example:{engine.nbi_port}"})
        assert reply.status == 403
        for host in ("localhost", "127.0.0.1"):
            reply = await nbi.call("GET", "/devices/", headers={"Host": f"{host}:{engine.nbi_port}"})
            assert reply.status == 200, host


async def test_a_busy_nbi_port_is_a_warning(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        notices: list[EngineNotice] = []
        bus = EventBus()
        bus.subscribe(notices.append, EngineNotice)
        engine = Engine(EngineConfig(
            db_path=tmp_path / "f.db", cwmp_host="127.0.0.1", cwmp_port=0, fs_host="127.0.0.1",
            fs_port=0, nbi_port=port, provisioning=False,
        ), bus=bus)
        await engine.start()
        try:
            assert engine.running and engine.nbi is None and engine.nbi_port is None
            warning = [n for n in notices if n.level == "warning"]
            assert warning and "NBI not started" in warning[0].message
            assert f"Port {port} is in use" in warning[0].message
        finally:
            await engine.stop()
