"""The SQL compiler: a device search returns exactly the devices the evaluator accepts.

A real database is built through ``Store`` with a few hundred varied devices; for each
expression (hand-written and hypothesis-generated) the set of ids the compiled query returns
must equal the set of devices for which ``to_bool(evaluate(...))`` is true.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acs_engine.expression import (
    Binary,
    Call,
    Case,
    ExpressionError,
    Literal,
    ParamRef,
    Unary,
    compile_sql,
    evaluate,
    make_resolver,
    parse,
    to_bool,
    to_string,
)
from acs_engine.expression.ast import Expr
from acs_engine.expression.values import float_text
from acs_engine.store import DeviceRecord, SessionCommit, Store
from acs_engine.store import Param as StoredParam

NOW = 1_700_000_000_000
HOUR = 3_600_000
IGD = "InternetGatewayDevice"
SW = f"{IGD}.DeviceInfo.SoftwareVersion"
UPTIME = f"{IGD}.DeviceInfo.UpTime"
HOSTS = f"{IGD}.LANDevice.*.Hosts.HostNumberOfEntries"
PIE = f"{IGD}.ManagementServer.PeriodicInformEnable"
TIME = f"{IGD}.Time.CurrentLocalTime"
SSID = "Device.WiFi.SSID.*.SSID"
RX = "VirtualParameters.rx"
WAN = "VirtualParameters.wan_ip"

PATHS = [
    SW, UPTIME, HOSTS, f"{IGD}.LANDevice.1.Hosts.HostNumberOfEntries", PIE, TIME, SSID,
    "Device.WiFi.SSID.2.SSID", RX, WAN, "DeviceID.ID", "DeviceID.Manufacturer", "DeviceID.OUI",
    "DeviceID.ProductClass", "DeviceID.SerialNumber", "DeviceID.*", "Events.Inform",
    "Events.1_BOOT", "Events.0_BOOTSTRAP", "Events.Registered", "Events.*", "Tags.office",
    "Tags.home", "Tags.a.b", "Tags.*", "*.DeviceInfo.SoftwareVersion", f"{IGD}.LANDevice.*",
    "Missing.Param",
]  # fmt: skip


class World:
    """The database file and what the evaluator sees for each device (a plain class: hypothesis
    prints a dataclass field by field)."""

    def __init__(
        self, path: Path, devices: dict[str, tuple[DeviceRecord, dict[str, StoredParam]]]
    ) -> None:
        self.path = path
        self.devices = devices

    def __repr__(self) -> str:
        # Short: hypothesis prints a failing example's call, and the whole world is ~1 MB
        # (which it turns into a warning, an error here, hiding the failure).
        return f"World({self.path.name!r}, {len(self.devices)} devices)"


def _maybe(rng: random.Random, values: list[Any], none: float = 0.2) -> Any:
    return None if rng.random() < none else rng.choice(values)


def _device(rng: random.Random, i: int) -> tuple[DeviceRecord, list[StoredParam]]:
    pc = rng.choice(["HG8245", "HG8245H", "", "F660", "Archer_C6", "x' OR 1=1 --"])
    dev = DeviceRecord(
        id=f"00259E-{pc or 'none'}-SN{i:04d}",
        manufacturer=rng.choice(["Huawei", "ZTE", "", "TP-Link"]),
        oui=rng.choice(["00259E", "0019C6", ""]),
        product_class=pc,
        serial_number=f"SN{i:04d}" if i % 17 else "",
        registered_ms=NOW - rng.randrange(0, 100) * HOUR,
        last_inform_ms=_maybe(rng, [NOW - k * HOUR // 2 for k in range(6)]),
        last_boot_ms=_maybe(rng, [NOW - 5 * HOUR, NOW - 50 * HOUR, 0], none=0.5),
        last_bootstrap_ms=_maybe(rng, [NOW - 100 * HOUR], none=0.7),
        tags=set(rng.sample(["office", "home", "vip", "a.b", "lab%", "x_y", "50"], rng.randint(0, 3))),
    )  # fmt: skip
    params: list[StoredParam] = []

    def add(path: str, value: str | None, xsd: str) -> None:
        params.append(StoredParam(path, value, xsd, NOW, False, True, NOW, exist_ts_ms=NOW))

    if rng.random() < 0.85:
        sw = ["V3.1", "V300R013", "v3", "V2.0", "10", "3.5", "", "V3%", "V_3", "[V]3"]
        add(SW, rng.choice(sw), "xsd:string")
    if rng.random() < 0.8:
        add(
            UPTIME,
            rng.choice(["0", "59", "3600", "86400", " 42", "-1", "abc", "1e3"]),
            "xsd:unsignedInt",
        )
    for n in range(1, rng.randint(0, 3) + 1):
        params.append(StoredParam(f"{IGD}.LANDevice.{n}.", object=True, exist_ts_ms=NOW))
        hosts = _maybe(rng, ["0", "1", "2", "5", "12", "20", "x"], none=0.15)
        add(f"{IGD}.LANDevice.{n}.Hosts.HostNumberOfEntries", hosts, "xsd:unsignedInt")
    if rng.random() < 0.7:
        add(PIE, rng.choice(["true", "1", "false", "0", "TRUE", "yes", " false "]), "xsd:boolean")
    if rng.random() < 0.7:
        times = ["2023-11-14T22:13:20Z", "2023-11-14T20:00:00.5+02:00", "0001-01-01T00:00:00Z",
                 "2024-02-30T00:00:00", "2023-11-14T24:00:00", "garbage", "2023-11-14T22:00:00",
                 "2023-01-01T00:00:00.123-14:59", "2023-01-01T00:00:00+15:00"]  # fmt: skip
        add(TIME, rng.choice(times), "xsd:dateTime")
    for n in range(1, rng.randint(0, 2) + 1):
        add(
            f"Device.WiFi.SSID.{n}.SSID",
            rng.choice(["Office", "office", "Guest", "5"]),
            "xsd:string",
        )
    if rng.random() < 0.6:
        add(RX, rng.choice(["1.5", "2", "-0.25", "abc", "12345.678"]), "xsd:double")
    if rng.random() < 0.5:
        add(WAN, _maybe(rng, ["10.0.0.1", "192.168.1.1", "100.64.0.7"]), "xsd:string")
    return dev, params


async def _build(path: Path) -> World:
    rng = random.Random(20240501)
    built = [_device(rng, i) for i in range(300)]
    store = await Store.open(path)
    try:
        for dev, params in built:
            await store.commit_session(SessionCommit(device=dev, upserts=params))
        devices = {}
        for dev, _ in built:
            loaded = await store.get_device(dev.id)
            assert loaded is not None
            devices[dev.id] = (loaded, await store.load_params(dev.id))
    finally:
        await store.close()
    return World(path, devices)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return asyncio.run(_build(tmp_path_factory.mktemp("search") / "devices.db"))


@pytest.fixture(scope="module")
def conn(world: World) -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(f"file:{world.path}?mode=ro", uri=True)
    try:
        yield connection
    finally:
        connection.close()


def search(conn: sqlite3.Connection, expr: Expr) -> set[str]:
    fragment, args = compile_sql(expr, now_ms=NOW)
    rows = conn.execute(f"SELECT d.id FROM devices AS d WHERE {fragment}", args).fetchall()
    return {row[0] for row in rows}


def evaluated(world: World, expr: Expr) -> set[str]:
    return {
        device_id
        for device_id, (dev, params) in world.devices.items()
        if to_bool(evaluate(expr, make_resolver(dev, params), now_ms=NOW))
    }


HAND_WRITTEN = [
    'DeviceID.ProductClass = "HG8245" AND Tags.office IS NOT NULL',
    f'{SW} LIKE "V3%"',
    f"{SW} NOT LIKE 'V3%'",
    f"{SW} LIKE '%[V]%' OR {SW} LIKE 'V_3' OR {SW} LIKE 'V3\\%'",
    "NOW() - Events.Inform > 3600000",
    "NOW() - Events.Inform <= 3600000 OR Events.Inform IS NULL",
    "Events.1_BOOT IS NULL",
    "Events.1_BOOT = 0",
    "Events.0_BOOTSTRAP < Events.Inform",
    "Events.* > NOW() - 1",
    f"{HOSTS} > 10",
    f"NOT {HOSTS} > 10",
    f"{HOSTS} IS NULL",
    f"{HOSTS} IS NOT NULL",
    f"{HOSTS} = 'x'",
    f"{HOSTS} + {HOSTS} = 4",
    f"{HOSTS} > 1 AND {HOSTS} < 5",
    f"CASE WHEN {HOSTS} > 10 THEN {HOSTS} END = 12",
    f"{IGD}.LANDevice.* IS NOT NULL",
    f"{UPTIME} > 60",
    f"{UPTIME} = '42'",
    f"{UPTIME} > 'a'",
    f"{UPTIME} % 7 = 3",
    f"{SW} % {UPTIME}",
    f"{UPTIME} / 60 >= 60",
    f"{PIE}",
    f"NOT {PIE}",
    f"{PIE} = TRUE",
    f"{PIE} = 'yes'",
    f"{TIME} > NOW() - 3600000",
    f"{TIME} IS NOT NULL AND {TIME} < 0",
    f"{TIME} = 'garbage' OR {TIME} LIKE '2024%'",
    f"{SSID} = 'Office'",
    f"UPPER({SSID}) = 'OFFICE'",
    f"{RX} > 1",
    f"{RX} * 2 = 3",
    f"ROUND({RX}) = 2",
    f"ROUND({RX}, 1) = 12345.7",
    f"{RX} || '' LIKE '%.%'",
    f"COALESCE({WAN}, 'none') = 'none'",
    f"{WAN} LIKE '10.%' OR {WAN} LIKE '100._4%'",
    "Tags.office",
    "Tags.home AND NOT Tags.vip",
    "Tags.a.b",
    "Tags.* AND Tags.vip IS NULL",
    "Tags.x_y OR Tags.* = 0",
    "Tags.50 = 1",
    "DeviceID.* = 'ZTE'",
    "DeviceID.SerialNumber IS NULL",
    "DeviceID.OUI || '-' || DeviceID.SerialNumber LIKE '00259E-%'",
    "LOWER(DeviceID.Manufacturer) = 'huawei'",
    "*.DeviceInfo.SoftwareVersion = '10'",
    f"{SW} = 10",
    f"{SW} > 3",
    f"{SW} = ''",
    f"{SW}",
    "Missing.Param IS NULL",
    "Missing.Param = 1 OR TRUE",
    "NOT Missing.Param = 1",
    "TRUE",
    "NULL",
    "1",
    "'0'",
    "''",
    "CASE WHEN Tags.office THEN 'x' ELSE '' END",
    "(Tags.office = 1) = (Tags.home IS NULL)",
    "-Events.Registered < -(NOW() - 50 * 3600000)",
]


@pytest.mark.parametrize("text", HAND_WRITTEN)
def test_search_equals_evaluation(world: World, conn: sqlite3.Connection, text: str) -> None:
    expr = parse(text)
    assert search(conn, expr) == evaluated(world, expr)


def test_search_finds_something(world: World, conn: sqlite3.Connection) -> None:
    # Guard against a vacuous equivalence: the data set makes searches discriminate.
    found = search(conn, parse('DeviceID.ProductClass = "HG8245" AND Tags.office IS NOT NULL'))
    assert 0 < len(found) < len(world.devices)
    assert 0 < len(search(conn, parse(f"{HOSTS} > 10"))) < len(world.devices)


def test_long_chains_stay_flat(world: World, conn: sqlite3.Connection) -> None:
    # SQLite's parser stack is shallow; a 150-term AND and a 150-term sum must still run.
    expr = parse(" AND ".join([f"{UPTIME} <> {i}" for i in range(150)]))
    assert search(conn, expr) == evaluated(world, expr)
    total = parse(" + ".join([UPTIME] * 150) + " > 1000")
    assert search(conn, total) == evaluated(world, total)


def test_injection_attempt_is_just_a_value(world: World, conn: sqlite3.Connection) -> None:
    text = 'DeviceID.ID = "x\' OR 1=1 --" OR DeviceID.ProductClass = "x\' OR 1=1 --"'
    fragment, args = compile_sql(parse(text), now_ms=NOW)
    assert "1=1" not in fragment and "x'" not in fragment
    assert "x' OR 1=1 --" in args
    found = search(conn, parse(text))
    assert found == evaluated(world, parse(text))
    assert found and all(world.devices[i][0].product_class == "x' OR 1=1 --" for i in found)
    tag = parse("Tags.a = 1 OR LOWER(\"'); DROP TABLE devices; --\") LIKE '%'")
    assert search(conn, tag) == set(world.devices)
    assert conn.execute("SELECT count(*) FROM devices").fetchone()[0] == len(world.devices)


@pytest.mark.parametrize(
    "text",
    ["EXT('a', 'b') = 1", "AUTH(USERNAME(), PASSWORD())", "REMOTE_ADDRESS() = '1.2.3.4'", "FOO()"],
)
def test_uncompilable_functions(text: str) -> None:
    with pytest.raises(ExpressionError, match="cannot be used in a device search"):
        compile_sql(parse(text), now_ms=NOW)


def test_other_uncompilable_forms() -> None:
    with pytest.raises(ExpressionError, match="constant number of digits"):
        compile_sql(parse("ROUND(1.5, Tags.x)"), now_ms=NOW)
    with pytest.raises(ExpressionError, match="alias"):
        compile_sql(parse("Device.WiFi.SSID.[SSID:x].Enable"), now_ms=NOW)


@pytest.mark.parametrize(
    "value", [2.0, 0.1 + 0.2, 1e20, 1e-5, 123456789012345.0, -0.0, 1 / 3, 1e15, 12345.678, -2.5e-7]
)
def test_float_text_matches_sqlite(value: float) -> None:
    with sqlite3.connect(":memory:") as db:
        assert db.execute("SELECT CAST(? AS TEXT)", (value,)).fetchone()[0] == float_text(value)


_LEAF_STRINGS = ["V3%", "HG8245", "10", "abc", "", "true", "Office", "5", "1.5", "x_y", "-1"]
_leaves: st.SearchStrategy[Expr] = st.one_of(
    st.sampled_from(PATHS).map(ParamRef),
    st.integers(-3, 25).map(Literal),
    st.sampled_from([0.5, 1.5, -2.25, 3600000.0]).map(Literal),
    st.sampled_from(_LEAF_STRINGS).map(Literal),
    st.sampled_from([True, False, None]).map(Literal),
    st.just(Call("NOW", ())),
)


def _extend(children: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    ops = ["OR", "AND", "=", "<>", "<", "<=", ">", ">=", "LIKE", "NOT LIKE", "||"]
    ops += ["+", "-", "*", "/", "%"]
    return st.one_of(
        st.builds(Binary, st.sampled_from(ops), children, children),
        st.builds(Unary, st.sampled_from(["NOT", "-", "IS NULL", "IS NOT NULL"]), children),
        st.builds(lambda a, b: Call("COALESCE", (a, b)), children, children),
        st.builds(lambda a: Call("UPPER", (a,)), children),
        st.builds(lambda a, d: Call("ROUND", (a, Literal(d))), children, st.integers(-1, 2)),
        st.builds(lambda c, v, e: Case(((c, v),), e), children, children, st.none() | children),
    )


@settings(
    max_examples=int(os.environ.get("FIELDACS_HYPOTHESIS_EXAMPLES", "250")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.recursive(_leaves, _extend, max_leaves=6))
def test_search_equals_evaluation_generated(
    world: World, conn: sqlite3.Connection, expr: Expr
) -> None:
    try:
        found = search(conn, expr)
    except ExpressionError as exc:  # SQLite's parser stack (see the test below)
        assert "nests too deeply" in str(exc), to_string(expr)
        return
    assert found == evaluated(world, expr), to_string(expr)


def test_a_condition_too_deep_for_sqlites_parser_is_a_clear_error(
    conn: sqlite3.Connection,
) -> None:
    """SQLite before 3.46 has a fixed parser stack: five nested ROUNDs overflowed it, and the
    search failed with the database's "parser stack overflow". It is refused when compiled,
    with a message the search box shows; four still run."""
    path = f"{IGD}.LANDevice.*.Hosts.HostNumberOfEntries"
    text = path
    for _ in range(4):
        text = f"ROUND({text}, 0)"
    search(conn, parse(f"{text} > 1"))
    with pytest.raises(ExpressionError, match="nests too deeply"):
        compile_sql(parse(f"ROUND({text}, 0) > 1"), now_ms=NOW)
