"""Where a GenieACS NBI script could tell FieldACS from GenieACS (issue 14): each test states
the GenieACS behaviour it follows and checks it against a live engine over the NBI."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from acs_engine.sim.options import SimOptions
from tests.helpers.engine import RawCpe, inform, running_engine
from tests.helpers.nbi import Nbi, enc, sim_fleet, until

PII = "Device.ManagementServer.PeriodicInformInterval"
SV = "Device.DeviceInfo.SoftwareVersion"
CR = {"connection_request": ""}


async def _ids(nbi: Nbi, query: Any, **params: str) -> list[str]:
    reply = await nbi.query("devices", query, projection="_id", **params)
    assert reply.status == 200, reply.body
    return [d["_id"] for d in reply.body]


async def test_limit_zero_means_no_limit(tmp_path: Path) -> None:
    """GenieACS passes ``limit`` to MongoDB's cursor, where 0 means "no limit"
    (lib/nbi.ts; MongoDB's cursor.limit(0)): ``?limit=0`` lists every match."""
    async with (
        running_engine(tmp_path, provisioning=True, script_timeout_ms=2000) as engine,
        sim_fleet(engine, 3, "LIM") as ids,
        Nbi(engine) as nbi,
    ):
        assert sorted(await _ids(nbi, None, limit="0")) == sorted(ids)
        assert len(await _ids(nbi, None, limit="2")) == 2
        reply = await nbi.query("presets", limit="0")
        assert reply.status == 200 and len(reply.body) == 3  # the seeded presets


async def test_inform_parents_are_objects(tmp_path: Path) -> None:
    """After a CPE's first Inform GenieACS stores ``Device``, ``Device.DeviceInfo`` and
    ``Device.ManagementServer`` as objects (observed side by side, issue 14; saveDevice in
    lib/cwmp/db.ts writes ``_object`` for every node it knows), so
    ``{"Device.DeviceInfo._object": true}`` finds the device before any GetParameterNames."""
    async with running_engine(tmp_path) as engine, Nbi(engine) as nbi:
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            status, reply, _ = await cpe.send(inform("OBJ1"))
            assert status == 200 and reply is not None
            assert (await cpe.send(None))[0] == 204
        device = "F1E1D0-TestGW-OBJ1"
        assert await _ids(nbi, {"Device.DeviceInfo._object": True}) == [device]
        assert await _ids(nbi, {"Device.ManagementServer._object": True}) == [device]
        assert await _ids(nbi, {"Device._object": True}) == [device]
        assert await _ids(nbi, {SV + "._object": False}) == [device]
        doc = (await nbi.query("devices", {"_id": device})).body[0]
        assert doc["Device"]["DeviceInfo"]["_object"] is True
        # a second Inform keeps what is stored (the objects are loaded, not recreated)
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            assert (await cpe.send(inform("OBJ1", events=("2 PERIODIC",))))[0] == 200
            assert (await cpe.send(None))[0] == 204
        assert await _ids(nbi, {"Device.ManagementServer._object": True}) == [device]


async def test_set_parameter_values_keeps_the_parameter_type(tmp_path: Path) -> None:
    """Run side by side (issue 14), GenieACS 1.3 answered a task that wrote
    ``["…PeriodicInformInterval", "1200", "xsd:string"]`` by sending the parameter's own type
    (xsd:unsignedInt) and storing the number 1200, so a numeric query still finds the device
    (lib/session.ts generateSetRpcRequest types each value with sanitizeParameterValue).
    FieldACS takes the type from the BBF data model where it defines the parameter, else the
    stored type, else the one written."""
    async with (
        running_engine(tmp_path, provisioning=True, script_timeout_ms=2000) as engine,
        sim_fleet(engine, 1, "SPV") as (dev,),
        Nbi(engine) as nbi,
    ):
        # the seeded "inform" preset would set the interval back to 300
        assert (await nbi.call("DELETE", "/presets/inform")).status == 200
        task = {"name": "setParameterValues", "parameterValues": [[PII, "1200", "xsd:string"]]}
        reply = await nbi.call("POST", f"/devices/{enc(dev)}/tasks", params=CR, body=task)
        assert reply.status == 200, (reply.status, reply.reason, reply.body)
        assert await _ids(nbi, {PII: {"$gt": 500}}) == [dev]
        node = (await nbi.query("devices", {"_id": dev}, projection=PII)).body[0]
        leaf = node["Device"]["ManagementServer"]["PeriodicInformInterval"]
        assert leaf["_value"] == 1200 and leaf["_type"] == "xsd:unsignedInt"
        # the CPE got the number too: re-read it
        task = {"name": "getParameterValues", "parameterNames": [PII]}
        assert (await nbi.call("POST", f"/devices/{enc(dev)}/tasks", params=CR, body=task)).status == 200
        assert await _ids(nbi, {PII: 1200}) == [dev]


async def test_fault_detail_keeps_genieacs_json_types(tmp_path: Path) -> None:
    """GenieACS keeps a CPE fault's detail as the SOAP texts it parsed (lib/soap.ts
    faultStruct): ``faultCode`` is a string such as ``"9000"``, and a fault without
    SetParameterValuesFault entries has ``setParameterValuesFault: null`` (an unset field)."""
    fault_methods: dict[str, int] = {}  # shared with the simulated CPE: filled in below
    async with (
        running_engine(tmp_path, provisioning=True, script_timeout_ms=2000) as engine,
        sim_fleet(engine, 1, "FLT", SimOptions(fault_methods=fault_methods)) as (dev,),
        Nbi(engine) as nbi,
    ):
        fault_methods["GetParameterValues"] = 9002
        # The seeded bootstrap read every value; a getParameterValues task refreshes values
        # older than the current second (GenieACS's refresh period of 1 s), so let it pass.
        await asyncio.sleep(1.1)
        task = {"name": "getParameterValues", "parameterNames": ["Device.DeviceInfo.ModelName"]}
        reply = await nbi.call("POST", f"/devices/{enc(dev)}/tasks", params=CR, body=task)
        assert reply.status == 202 and reply.reason == "Task faulted"
        faults = (await nbi.query("faults", {"device": dev})).body
        assert len(faults) == 1, faults
        detail = faults[0]["detail"]
        assert faults[0]["code"] == "cwmp.9002"
        assert detail["faultCode"] == "9002"
        assert detail["setParameterValuesFault"] is None
        assert isinstance(detail["faultString"], str) and detail["faultString"]


async def test_delete_unknown_device_is_200(tmp_path: Path) -> None:
    """GenieACS's ``DELETE /devices/<id>`` answers 200 with an empty body whether or not the
    device exists (lib/nbi.ts deletes by id; observed side by side, issue 14), so NBI client
    libraries that treat non-2xx as an error do not fail."""
    async with running_engine(tmp_path) as engine, Nbi(engine) as nbi:
        reply = await nbi.call("DELETE", "/devices/NO-SUCH-DEVICE")
        assert reply.status == 200 and reply.body is None


async def test_objects_are_stored_queried_and_deleted(tmp_path: Path) -> None:
    """GenieACS's NBI has ``PUT /objects/<id>`` (the JSON body stored with ``_id`` from the
    URL), ``DELETE /objects/<id>`` and ``GET /objects/?query=`` over its ``objects``
    collection (lib/nbi.ts; behaviour reference §11)."""
    async with running_engine(tmp_path) as engine, Nbi(engine) as nbi:
        for oid, body in (("wifi-a", {"ssid": "lab", "channel": 6, "tags": ["x", "y"]}),
                          ("wifi-b", {"ssid": "office", "channel": 11, "_id": "ignored"})):
            reply = await nbi.call("PUT", f"/objects/{enc(oid)}", body=body)
            assert reply.status == 200 and reply.body == {"_id": oid}
        every = await nbi.query("objects")
        assert every.headers["total"] == "2"
        assert every.body == [
            {"_id": "wifi-a", "ssid": "lab", "channel": 6, "tags": ["x", "y"]},
            {"_id": "wifi-b", "ssid": "office", "channel": 11},
        ]
        assert [o["_id"] for o in (await nbi.query("objects", {"channel": {"$gt": 6}})).body] == [
            "wifi-b"]
        assert [o["_id"] for o in (await nbi.query("objects", {"ssid": "lab"})).body] == ["wifi-a"]
        # replacing keeps one document
        assert (await nbi.call("PUT", "/objects/wifi-a", body={"ssid": "lab2"})).status == 200
        assert (await nbi.query("objects", {"_id": "wifi-a"})).body == [
            {"_id": "wifi-a", "ssid": "lab2"}]
        assert (await nbi.call("PUT", "/objects/bad", data="[1, 2]")).status == 400
        assert (await nbi.call("DELETE", "/objects/wifi-a")).status == 200
        assert (await nbi.call("DELETE", "/objects/wifi-a")).status == 200
        assert [o["_id"] for o in (await nbi.query("objects")).body] == ["wifi-b"]


async def test_query_strings_are_normalised_as_genieacs(tmp_path: Path) -> None:
    """GenieACS's device-query normalisation (lib/query.ts, used by lib/nbi.ts for
    ``devices``) turns a string value into alternatives: the string, the number and the date
    it spells, ``/re/flags`` as that regular expression, and a string holding ``*`` as a
    wildcard (anchored at an end without ``*``). It makes no boolean of ``"true"``."""
    async with (
        running_engine(tmp_path, provisioning=True, script_timeout_ms=2000) as engine,
        sim_fleet(engine, 2, "NRM") as ids,
        Nbi(engine) as nbi,
    ):
        serial = "_deviceId._SerialNumber"
        assert await _ids(nbi, {serial: "NRM*"}) == ids
        assert await _ids(nbi, {serial: "*0002"}) == [ids[1]]
        assert await _ids(nbi, {serial: "N*1"}) == [ids[0]]
        assert await _ids(nbi, {serial: "RM*"}) == []  # anchored at the start
        assert await _ids(nbi, {serial: "/^nrm0+1$/i"}) == [ids[0]]
        assert await _ids(nbi, {serial: "/^nrm0+1$/"}) == []
        assert await _ids(nbi, {serial: {"$in": ["x", "*2"]}}) == [ids[1]]
        assert await _ids(nbi, {serial: {"$ne": "*2"}}) == [ids[0]]
        assert await _ids(nbi, {serial: "NRM000001"}) == [ids[0]]  # literal still matches
        assert await _ids(nbi, {"_id": ids[0].replace("NRM", "*")}) == [ids[0]]
        # booleans: a JSON boolean matches, the string "true" does not
        enable = "Device.ManagementServer.PeriodicInformEnable"
        assert await _ids(nbi, {enable: True}) == ids
        assert await _ids(nbi, {enable: "true"}) == []
        # patterns only stand in for equality: $gt compares the string
        assert await _ids(nbi, {serial: {"$gt": "NRM*"}}) == ids


async def test_timestamp_only_on_refreshed_nodes(tmp_path: Path) -> None:
    """In GenieACS a node's ``_timestamp`` is its value's refresh time (a leaf) or the time
    its children were listed (an object); saveDevice in lib/cwmp/db.ts writes it with the
    value. A parameter known only from GetParameterNames has no ``_timestamp``."""
    async with (
        running_engine(tmp_path, provisioning=True, script_timeout_ms=2000) as engine,
        Nbi(engine) as nbi,
    ):
        # the seeded bootstrap preset reads every value: without it, only names are read
        assert (await nbi.call("DELETE", "/presets/bootstrap")).status == 200
        async with sim_fleet(engine, 1, "TSP") as (dev,):
            await _names_only(nbi, dev)


async def _names_only(nbi: Nbi, dev: str) -> None:
    script = 'declare("Device.DeviceInfo.*", {path: Date.now()});'
    assert (await nbi.call("PUT", "/provisions/names-only", data=script)).status == 200
    task = {"name": "provisions", "provisions": [["names-only"]]}
    assert (await nbi.call(
        "POST", f"/devices/{enc(dev)}/tasks", params=CR, body=task)).status == 200
    model = "Device.DeviceInfo.ModelName"
    doc = (await nbi.query("devices", {"_id": dev}, projection=model)).body[0]
    leaf = doc["Device"]["DeviceInfo"]["ModelName"]
    assert "_writable" in leaf and "_value" not in leaf
    assert "_timestamp" not in leaf
    assert await _ids(nbi, {model + "._timestamp": {"$exists": True}}) == []
    assert await _ids(nbi, {model + "._writable": {"$exists": True}}) == [dev]
    # the object whose children were listed, and a leaf with a value, have one
    assert await _ids(nbi, {"Device.DeviceInfo._timestamp": {"$exists": True}}) == [dev]
    assert await _ids(nbi, {SV + "._timestamp": {"$exists": True}}) == [dev]


async def test_empty_root_names_keep_the_inform_roots(tmp_path: Path) -> None:
    """A CPE that answers ``GetParameterNames("")`` with an empty list makes GenieACS clear
    every root it knew (lib/session.ts clears the children a GetParameterNames did not
    report; seen in the wild, issue 14). FieldACS keeps a root the CPE reported in this
    session's Inform, and records a fault that says what the CPE did."""
    async with (
        running_engine(tmp_path, provisioning=True, script_timeout_ms=2000) as engine,
        Nbi(engine) as nbi,
    ):
        async with sim_fleet(engine, 1, "EMP") as (dev,):
            before = (await nbi.query("devices", {"_id": dev})).body[0]
        known = _leaves(before)
        assert len(known) > 20
        assert (await nbi.query("faults", {"device": dev})).body == []

        # The same CPE comes back (a new simulator) and now answers GetParameterNames("")
        # with nothing, when a preset lists the root. The bootstrap preset is dropped: its
        # clear() would forget the cached data model on purpose.
        assert (await nbi.call("DELETE", "/presets/bootstrap")).status == 200
        script = 'declare("*", {path: Date.now()});'
        assert (await nbi.call("PUT", "/provisions/root-scan", data=script)).status == 200
        preset = {"weight": 0, "channel": "scan", "precondition": "", "events": {},
                  "configurations": [{"type": "provision", "name": "root-scan", "args": None}]}
        assert (await nbi.call("PUT", "/presets/root-scan", body=preset)).status == 200

        async def faulted() -> bool:
            return bool((await nbi.query("faults", {"device": dev})).body)

        async with sim_fleet(engine, 1, "EMP", SimOptions(empty_root_gpn=True)):
            await until(faulted)
            await until(lambda: engine.active_session_count() == 0)
        after = (await nbi.query("devices", {"_id": dev})).body[0]
        assert _leaves(after) >= known, sorted(known - _leaves(after))
        assert after["Device"]["ManagementServer"]["_object"] is True
        faults = (await nbi.query("faults", {"device": dev})).body
        assert {f["code"] for f in faults} == {"cpe_inconsistent"}, faults
        message = faults[0]["message"]
        assert 'GetParameterNames("") with 0 names' in message and "Device." in message
        assert "this session's Inform" in message and "were kept" in message


def _leaves(doc: dict[str, Any], prefix: str = "") -> set[str]:
    """The paths of the parameters (nodes with a ``_writable`` or ``_value``) of a document."""
    out: set[str] = set()
    for key, value in doc.items():
        if key.startswith("_") or not isinstance(value, dict):
            continue
        path = prefix + key
        if "_value" in value or value.get("_object") is False:
            out.add(path)
        out |= _leaves(value, path + ".")
    return out
