"""The NBI's MongoDB-style query translation, run on a real store."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acs_engine.server.nbi_devices import device_document, project, typed_value
from acs_engine.server.nbi_query import QueryError, collection_to_sql, mongo_to_sql, parse_date
from acs_engine.server.nbi_sort import device_sort_sql
from acs_engine.server.ping import PingError, parse_ping_output, valid_host
from acs_engine.store import DeviceRecord, Param, SessionCommit, Store
from acs_engine.store.search import device_ids_where

SV = "Device.DeviceInfo.SoftwareVersion"
UP = "Device.DeviceInfo.UpTime"
EN = "Device.WiFi.SSID.1.Enable"
DT = "Device.Time.CurrentLocalTime"
JAN1 = parse_date("2026-01-01T00:00:00Z")
assert JAN1 is not None


def _p(path: str, value: str, xsd: str = "xsd:string", writable: bool = True) -> Param:
    return Param(path, value, xsd, 5_000, False, writable, 5_000, exist_ts_ms=5_000)


DEVICES: list[tuple[DeviceRecord, list[Param]]] = [
    (
        DeviceRecord("OUI1-GW-A1", "Acme", "OUI1", "GW", "A1", JAN1 - 10_000, JAN1 + 1_000,
                     tags={"lab", "north"}),
        [_p(SV, "1.0"), _p(UP, "50", "xsd:unsignedInt"), _p(EN, "true", "xsd:boolean"),
         _p(DT, "2026-03-01T10:00:00Z", "xsd:dateTime"), Param("Device.WiFi.", object=True)],
    ),
    (
        DeviceRecord("OUI1-GW-A2", "Acme", "OUI1", "GW", "A2", JAN1 - 5_000, JAN1 - 1_000,
                     tags={"north"}),
        [_p(SV, "2.0"), _p(UP, "7", "xsd:unsignedInt"), _p(EN, "0", "xsd:boolean")],
    ),
    (
        DeviceRecord("OUI2-Box-B1", "Other", "OUI2", "Box", "B1", JAN1 + 5, JAN1 + 9_000),
        [_p(SV, "10", writable=False), _p(UP, "300", "xsd:unsignedInt")],
    ),
    (DeviceRecord("OUI2-Box-B2", "Other", "OUI2", "Box", "B2", JAN1 + 6, None), []),
]


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await Store.open(tmp_path / "q.db")
    for device, params in DEVICES:
        await s.commit_session(SessionCommit(device=device, upserts=params))
    try:
        yield s
    finally:
        await s.close()


async def ids(store: Store, query: Any, sort: Any = None, **kw: Any) -> list[str]:
    where, params = mongo_to_sql(query)
    order, order_params = device_sort_sql(sort)
    found, total = await device_ids_where(
        store, where, params, order_sql=order, order_params=order_params, **kw
    )
    if not kw:
        assert total == len(found)
    return found


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["OUI1-GW-A1", "OUI1-GW-A2", "OUI2-Box-B1", "OUI2-Box-B2"]),
        ({"_id": "OUI1-GW-A2"}, ["OUI1-GW-A2"]),
        ({"_deviceId._SerialNumber": "B1"}, ["OUI2-Box-B1"]),
        ({"_deviceId._OUI": "OUI1", "_deviceId._ProductClass": "GW"}, ["OUI1-GW-A1", "OUI1-GW-A2"]),
        ({"_deviceId._Manufacturer": {"$ne": "Acme"}}, ["OUI2-Box-B1", "OUI2-Box-B2"]),
        ({"_tags": "lab"}, ["OUI1-GW-A1"]),
        ({"_tags": {"$in": ["lab", "north"]}}, ["OUI1-GW-A1", "OUI1-GW-A2"]),
        ({"_tags": {"$nin": ["lab"]}}, ["OUI1-GW-A2", "OUI2-Box-B1", "OUI2-Box-B2"]),
        ({"_tags": {"$ne": "north"}}, ["OUI2-Box-B1", "OUI2-Box-B2"]),
        ({"_tags": {"$all": ["lab", "north"]}}, ["OUI1-GW-A1"]),
        ({"_tags": {"$exists": False}}, ["OUI2-Box-B1", "OUI2-Box-B2"]),
        ({"_tags": {"$regex": "^nor"}}, ["OUI1-GW-A1", "OUI1-GW-A2"]),
        ({SV: "1.0"}, ["OUI1-GW-A1"]),
        ({SV + "._value": "2.0"}, ["OUI1-GW-A2"]),
        ({SV: {"$in": ["1.0", "10"]}}, ["OUI1-GW-A1", "OUI2-Box-B1"]),
        ({SV: {"$exists": True}}, ["OUI1-GW-A1", "OUI1-GW-A2", "OUI2-Box-B1"]),
        ({SV: {"$exists": False}}, ["OUI2-Box-B2"]),
        ({SV: {"$ne": "1.0"}}, ["OUI1-GW-A2", "OUI2-Box-B1", "OUI2-Box-B2"]),
        ({SV: None}, ["OUI2-Box-B2"]),
        ({SV: {"$regex": r"^\d\.0$"}}, ["OUI1-GW-A1", "OUI1-GW-A2"]),
        ({SV: {"$regex": "^V", "$options": "i"}}, []),
        ({"_deviceId._SerialNumber": {"$regex": "a", "$options": "i"}}, ["OUI1-GW-A1", "OUI1-GW-A2"]),
        # typed comparisons: numbers compare as numbers, a numeric string is coerced
        ({UP: {"$gt": 10}}, ["OUI1-GW-A1", "OUI2-Box-B1"]),
        ({UP: {"$gte": "50", "$lt": 300}}, ["OUI1-GW-A1"]),
        ({UP: "7"}, ["OUI1-GW-A2"]),
        ({UP: 7}, ["OUI1-GW-A2"]),
        ({SV: 10}, []),  # a string "10" is not the number 10 (MongoDB's typed match)
        ({EN: True}, ["OUI1-GW-A1"]),
        ({EN: False}, ["OUI1-GW-A2"]),
        ({EN: "false"}, []),  # GenieACS makes no boolean of a string (test_nbi_parity.py)
        ({DT: {"$gt": "2026-02-01T00:00:00Z"}}, ["OUI1-GW-A1"]),
        ({DT: {"$lt": "2026-02-01T00:00:00+02:00"}}, []),
        # device dates: ISO strings, epoch ms, {"$date": ...}
        ({"_lastInform": {"$gt": "2026-01-01T00:00:00Z"}}, ["OUI1-GW-A1", "OUI2-Box-B1"]),
        ({"_lastInform": {"$lt": JAN1}}, ["OUI1-GW-A2"]),
        ({"_lastInform": {"$gte": {"$date": JAN1 + 9_000}}}, ["OUI2-Box-B1"]),
        ({"_lastInform": {"$exists": False}}, ["OUI2-Box-B2"]),
        ({"_registered": {"$gte": str(JAN1)}}, ["OUI2-Box-B1", "OUI2-Box-B2"]),
        # attributes
        ({SV + "._writable": False}, ["OUI2-Box-B1"]),
        ({SV + "._type": "xsd:string"}, ["OUI1-GW-A1", "OUI1-GW-A2", "OUI2-Box-B1"]),
        ({"Device.WiFi._object": True}, ["OUI1-GW-A1"]),
        ({SV + "._timestamp": {"$gte": "1970-01-01T00:00:05Z"}}, ["OUI1-GW-A1", "OUI1-GW-A2", "OUI2-Box-B1"]),
        # logic
        ({"$or": [{"_tags": "lab"}, {"_deviceId._SerialNumber": "B2"}]}, ["OUI1-GW-A1", "OUI2-Box-B2"]),
        ({"$and": [{"_deviceId._OUI": "OUI1"}, {UP: {"$lt": 10}}]}, ["OUI1-GW-A2"]),
        ({"$nor": [{"_deviceId._OUI": "OUI1"}, {UP: 300}]}, ["OUI2-Box-B2"]),
        ({UP: {"$not": {"$gt": 10}}}, ["OUI1-GW-A2", "OUI2-Box-B2"]),
        ({"$not": {"_deviceId._OUI": "OUI1"}}, ["OUI2-Box-B1", "OUI2-Box-B2"]),
        ({"_unknownField": "x"}, []),
        ({"_unknownField": {"$exists": False}}, ["OUI1-GW-A1", "OUI1-GW-A2", "OUI2-Box-B1", "OUI2-Box-B2"]),
        ({"No.Such.Param": {"$in": []}}, []),
    ],
)
async def test_device_queries(store: Store, query: dict[str, Any], expected: list[str]) -> None:
    assert await ids(store, query) == expected


async def test_sort_skip_limit_and_total(store: Store) -> None:
    assert await ids(store, {}, {UP: -1}) == ["OUI2-Box-B1", "OUI1-GW-A1", "OUI1-GW-A2", "OUI2-Box-B2"]
    assert await ids(store, {}, {UP: 1}) == ["OUI2-Box-B2", "OUI1-GW-A2", "OUI1-GW-A1", "OUI2-Box-B1"]
    assert await ids(store, {}, {"_lastInform": -1, "_id": 1}) == [
        "OUI2-Box-B1", "OUI1-GW-A1", "OUI1-GW-A2", "OUI2-Box-B2"]
    where, params = mongo_to_sql({"_deviceId._OUI": "OUI1"})
    page, total = await device_ids_where(store, where, params, skip=1, limit=5)
    assert (page, total) == (["OUI1-GW-A2"], 2)
    page, total = await device_ids_where(store, where, params, limit=0)
    assert (page, total) == ([], 2)


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ({"_id": {"$foo": 1}}, "unknown operator $foo"),
        ({"$where": "1"}, "unknown operator $where"),
        ({"$or": []}, "non-empty array"),
        ({"$and": {"a": 1}}, "non-empty array"),
        ({"_id": {"$in": "x"}}, "needs an array"),
        ({"_id": {"$regex": "("}}, "invalid $regex"),
        ({"_id": {"$regex": "a", "$options": "q"}}, "$options"),
        ({"_id": {"$options": "i"}}, "$options needs $regex"),
        ({"_id": ["a"]}, "whole array"),
        ({"_id": {"a": 1}}, "unsupported value"),
        ({"_id": {"$gt": [1]}}, "unsupported value"),
        ({"A..B": 1}, "invalid parameter path"),
        ({"_id": {"$not": 1}}, "$not needs"),
        ({"_id": {"$eq": "a", "b": 1}}, "cannot mix"),
    ],
)
def test_bad_queries_are_explained(query: Any, reason: str) -> None:
    with pytest.raises(QueryError, match=None) as info:
        mongo_to_sql(query)
    assert reason in str(info.value)


def test_bad_sorts() -> None:
    for sort in ([1], {"_id": 2}, {"_id": True}, {"_whatever": 1}, {SV + "._type": 1}):
        with pytest.raises(QueryError):
            device_sort_sql(sort)


_SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False, width=32), st.text(max_size=12),
    st.text(alphabet="#@~€ab1", min_size=1, max_size=8),
)
_OPS = st.sampled_from(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists"])
_KEYS = st.one_of(
    st.sampled_from(
        ["_id", "_tags", "_lastInform", "_deviceId._SerialNumber", SV, UP, EN, DT, SV + "._type"]
    ),
    st.text(alphabet="#@~€ab", min_size=1, max_size=6).map(lambda k: f"X.{k}"),
)


def _clause() -> st.SearchStrategy[dict[str, Any]]:
    op_value = st.tuples(_OPS, _SCALARS).map(
        lambda ov: {ov[0]: [ov[1]] if ov[0] in ("$in", "$nin") else ov[1]}
    )
    return st.dictionaries(_KEYS, st.one_of(_SCALARS, op_value), min_size=1, max_size=3)


_QUERIES = st.recursive(
    _clause(),
    lambda inner: st.one_of(
        st.builds(lambda qs: {"$or": qs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda qs: {"$and": qs}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda qs: {"$nor": qs}, st.lists(inner, min_size=1, max_size=2)),
    ),
    max_leaves=6,
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(query=_QUERIES)
async def test_random_queries_are_parameterized_and_run(store: Store, query: dict[str, Any]) -> None:
    where, params = mongo_to_sql(query)
    assert where.count("?") == len(params)
    for value in _strings(query):
        if any(ch in value for ch in "#@~€"):  # characters the SQL text never has
            assert value not in where, (value, where)
    await device_ids_where(store, where, params)


@pytest.mark.parametrize("query", [
    {"_lastInform": 9.223372036854776e18},  # found by hypothesis: 2**63 ms as a float
    {"_lastInform": {"$lt": -1e300}},
    {"_lastInform": {"$gt": {"$date": 1e30}}},
    {"Device.X": 10**30},
    {"Device.X": {"$in": [-(10**40), 2**63]}},
])
async def test_numbers_beyond_sqlite_integers_compare_instead_of_failing(
    store: Store, query: dict[str, Any]
) -> None:
    where, params = mongo_to_sql(query)
    ids, total = await device_ids_where(store, where, params)
    assert total == len(ids)


async def test_huge_dates_keep_their_order(store: Store) -> None:
    informed = [d.id for d, _ in DEVICES if d.last_inform_ms is not None]
    assert await ids(store, {"_lastInform": {"$lt": 2.0**70}}) == informed
    assert await ids(store, {"_lastInform": {"$gt": {"$date": 2.0**70}}}) == []
    assert await ids(store, {"_lastInform": {"$gt": -(2.0**70)}}) == informed


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for k, v in node.items() for s in (*_strings(k), *_strings(v))]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def test_hostile_names_never_reach_the_sql() -> None:
    evil = "x'); DROP TABLE devices; --"
    where, params = mongo_to_sql({evil: evil, f"{evil}._type": {"$regex": evil[3:]}})
    assert "DROP" not in where and evil in params
    where, params = collection_to_sql("tasks", {"parameterNames": evil, evil: 1})
    assert "DROP" not in where
    assert where.count("?") == len(params)


def test_collection_queries_map_fields() -> None:
    where, params = collection_to_sql("faults", {"device": "d1", "retries": {"$gte": 1}})
    assert "device_id" in where and "retries" in where and params[:1] == ["d1"]
    with pytest.raises(QueryError):
        collection_to_sql("nope", {})


def test_device_document_shape_and_projection() -> None:
    device, params = DEVICES[0]
    doc = device_document(device, params)
    assert doc["_id"] == "OUI1-GW-A1"
    assert doc["_deviceId"] == {"_Manufacturer": "Acme", "_OUI": "OUI1", "_ProductClass": "GW",
                                "_SerialNumber": "A1"}
    assert doc["_lastInform"] == "2026-01-01T00:00:01.000Z"
    assert doc["_tags"] == ["lab", "north"]
    info = doc["Device"]["DeviceInfo"]
    assert info["UpTime"]["_value"] == 50 and info["UpTime"]["_type"] == "xsd:unsignedInt"
    assert info["SoftwareVersion"] == {
        "_object": False, "_writable": True, "_timestamp": "1970-01-01T00:00:05.000Z",
        "_value": "1.0", "_type": "xsd:string",
    }
    assert doc["Device"]["WiFi"]["SSID"]["1"]["Enable"]["_value"] is True
    assert doc["Device"]["WiFi"]["_object"] is True
    assert doc["Device"]["Time"]["CurrentLocalTime"]["_value"] == "2026-03-01T10:00:00.000Z"
    assert project(doc, ["_deviceId._SerialNumber", SV + "._value"]) == {
        "_id": "OUI1-GW-A1", "_deviceId": {"_SerialNumber": "A1"},
        "Device": {"DeviceInfo": {"SoftwareVersion": {"_value": "1.0"}}},
    }
    assert project(doc, ["Nope"]) == {"_id": "OUI1-GW-A1"}
    json.dumps(doc)  # JSON-serialisable as it is


def test_typed_values() -> None:
    assert typed_value("12", "xsd:int") == 12
    assert typed_value("x", "xsd:int") == "x"
    assert typed_value("1.5", "xsd:double") == 1.5
    assert typed_value("1", "xsd:boolean") is True
    assert typed_value("0001-01-01T00:00:00Z", "xsd:dateTime") == "0001-01-01T00:00:00.000Z"
    assert typed_value("abc", None) == "abc"


def test_ping_output_parsing() -> None:
    linux = (
        "PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.\n"
        "64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time=0.095 ms\n\n"
        "--- 127.0.0.1 ping statistics ---\n"
        "3 packets transmitted, 3 received, 0% packet loss, time 408ms\n"
        "rtt min/avg/max/mdev = 0.051/0.067/0.095/0.019 ms\n"
    )
    result = parse_ping_output("127.0.0.1", linux)
    assert (result.packets_transmitted, result.packets_received, result.packet_loss) == (3, 3, 0.0)
    assert (result.min, result.avg, result.max, result.mdev) == (0.051, 0.067, 0.095, 0.019)
    mac = ("3 packets transmitted, 1 packets received, 66.7% packet loss\n"
           "round-trip min/avg/max/stddev = 1.1/1.2/1.3/0.1 ms\n")
    result = parse_ping_output("h", mac)
    assert (result.packets_received, result.packet_loss, result.avg) == (1, 66.7, 1.2)
    windows = ("    Packets: Sent = 3, Received = 2, Lost = 1 (33% loss),\n"
               "    Minimum = 1ms, Maximum = 5ms, Average = 3ms\n")
    result = parse_ping_output("h", windows)
    assert (result.packets_received, result.min, result.avg, result.max) == (2, 1.0, 3.0, 5.0)
    with pytest.raises(PingError):
        parse_ping_output("h", "ping: unknown host h\n")
    assert valid_host("127.0.0.1") and valid_host("localhost") and valid_host("::1")
    assert not valid_host("-c1") and not valid_host("a b") and not valid_host("a;b")
