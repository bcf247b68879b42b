"""commit_session and record_session_only: upserts, subtree deletes, atomicity, group commit."""

from __future__ import annotations

import asyncio

import pytest

from acs_engine.store import Param, SessionCommit, Store, StoreError

from .factories import commit, device, param, session, trace

DEV = "0011AA-Box-SN1"


async def test_device_insert_then_update_keeps_registered(store: Store) -> None:
    await store.commit_session(commit(device(registered_ms=5, last_inform_ms=5, tags={"a"})))
    updated = device(
        registered_ms=999,
        last_inform_ms=50,
        last_boot_ms=40,
        last_bootstrap_ms=30,
        manufacturer="Acme Inc",
        remote_address="192.0.2.7",
        cwmp_version="1.2",
        tags={"b", "c"},
    )
    await store.commit_session(commit(updated))
    got = await store.get_device(DEV)
    assert got is not None
    assert got.registered_ms == 5  # only set on insert
    assert (got.last_inform_ms, got.last_boot_ms, got.last_bootstrap_ms) == (50, 40, 30)
    assert got.manufacturer == "Acme Inc"
    assert got.remote_address == "192.0.2.7"
    assert got.cwmp_version == "1.2"
    assert got.tags == {"b", "c"}
    assert await store.get_device("nope") is None


async def test_params_roundtrip_every_field(store: Store) -> None:
    full = Param(
        path="Device.ManagementServer.URL",
        value="http://acs",
        type="xsd:string",
        value_ts_ms=11,
        object=False,
        writable=True,
        writable_ts_ms=12,
        notification=2,
        access_list=("Subscriber",),
        attr_ts_ms=13,
        exist_ts_ms=14,
    )
    bare = Param("Device.Empty")
    await store.commit_session(commit(device(), upserts=[full, bare, param("Device.")]))
    params = await store.load_params(DEV)
    assert params == {"Device.": param("Device."), "Device.Empty": bare, full.path: full}
    assert list(params) == sorted(params)


async def test_upsert_replaces_whole_rows(store: Store) -> None:
    await store.commit_session(commit(device(), upserts=[param("A.B", "1", ts=1)]))
    await store.commit_session(commit(device(), upserts=[Param("A.B", "2", value_ts_ms=2)]))
    assert (await store.load_params(DEV))["A.B"] == Param("A.B", "2", value_ts_ms=2)


async def test_load_subtree_and_values(store: Store) -> None:
    paths = ["A.", "A.B.", "A.B.1", "A.B.2", "A.BC", "A.C.", "A.C.x", "Z"]
    await store.commit_session(commit(device(), upserts=[param(p) for p in paths]))
    assert list(await store.load_params(DEV, "A.B.")) == ["A.B.", "A.B.1", "A.B.2"]
    assert list(await store.load_params(DEV, "A.B")) == ["A.B.", "A.B.1", "A.B.2", "A.BC"]
    assert list(await store.load_params(DEV, "")) == paths
    assert await store.load_params("other", "") == {}
    values = await store.load_param_values(DEV, ["A.B.1", "Z", "missing", "A.B.1"])
    assert sorted(values) == ["A.B.1", "Z"]
    assert await store.load_param_values(DEV, []) == {}


async def test_delete_exact_and_subtree_with_like_wildcards_in_names(store: Store) -> None:
    paths = [
        "A.",
        "A.x%y.",
        "A.x%y.1",
        "A.x%y.1.z",
        "A.x%y2.q",  # shares a prefix but is not in the subtree
        "A.xAy.1",  # would match LIKE 'A.x%y.%'
        "A.x_y.",
        "A.x_y.v",
        "A.xzy.v",  # would match LIKE 'A.x_y.%'
        "A.x_y",
        "A.x_yy",
    ]
    await store.commit_session(commit(device(), upserts=[param(p) for p in paths]))
    await store.commit_session(commit(device(), deletes=["A.x%y.", "A.x_y.", "A.x_y", "A.nope."]))
    assert list(await store.load_params(DEV)) == ["A.", "A.x%y2.q", "A.xAy.1", "A.x_yy", "A.xzy.v"]


async def test_deletes_apply_before_upserts(store: Store) -> None:
    await store.commit_session(commit(device(), upserts=[param("A.1."), param("A.1.x", "old")]))
    await store.commit_session(
        commit(device(), deletes=["A.1."], upserts=[param("A.1."), param("A.1.y", "new")])
    )
    assert list(await store.load_params(DEV)) == ["A.1.", "A.1.y"]


async def test_param_count_and_software_version_are_maintained(store: Store) -> None:
    sv = "InternetGatewayDevice.DeviceInfo.SoftwareVersion"
    tree = [param("IGD."), param(sv, "1.0"), param("IGD.a"), param("IGD.b")]
    await store.commit_session(commit(device(), upserts=tree))
    [summary] = await store.list_devices()
    assert (summary.param_count, summary.software_version) == (3, "1.0")
    # Re-upserting existing rows does not count them again.
    await store.commit_session(commit(device(), upserts=[param(sv, "2.0"), param("IGD.a")]))
    [summary] = await store.list_devices()
    assert (summary.param_count, summary.software_version) == (3, "2.0")
    await store.commit_session(commit(device(), deletes=["IGD."]))  # IGD.a and IGD.b
    [summary] = await store.list_devices()
    assert (summary.param_count, summary.software_version) == (1, "2.0")
    await store.commit_session(commit(device(), deletes=[sv]))
    [summary] = await store.list_devices()
    assert (summary.param_count, summary.software_version) == (0, "")
    assert summary.param_count == len(await store.load_params(DEV))


async def test_failure_rolls_back_everything(store: Store) -> None:
    await store.commit_session(
        commit(device(last_inform_ms=1), "s1", upserts=[param("A.x", "1")], n_trace=2)
    )
    bad = commit(
        device(last_inform_ms=2, tags={"new"}),
        "s2",
        started=2_000,
        upserts=[param("A.y", "2"), Param("A.z", object())],  # type: ignore[arg-type]
        deletes=["A.x"],
        n_trace=2,
    )
    with pytest.raises(StoreError, match="could not store session s2"):
        await store.commit_session(bad)
    got = await store.get_device(DEV)
    assert got is not None and got.last_inform_ms == 1 and got.tags == set()
    assert list(await store.load_params(DEV)) == ["A.x"]
    assert [s.id for s in await store.list_sessions(DEV)] == ["s1"]
    assert await store.load_trace("s2") == []
    # The store is still usable.
    await store.commit_session(commit(device(last_inform_ms=3), "s3", started=3_000))
    assert [s.id for s in await store.list_sessions(DEV)] == ["s3", "s1"]


async def test_group_commit_isolates_a_bad_commit(store: Store) -> None:
    commits = [
        commit(device(f"D-{i}"), f"s{i}", upserts=[param("A.v", str(i))], n_trace=1)
        for i in range(40)
    ]
    commits[17].upserts.append(Param("A.bad", object()))  # type: ignore[arg-type]
    results = await asyncio.gather(
        *(store.commit_session(c) for c in commits), return_exceptions=True
    )
    failed = [i for i, r in enumerate(results) if isinstance(r, BaseException)]
    assert failed == [17]
    assert isinstance(results[17], StoreError)
    assert await store.count_devices() == 39
    assert await store.get_device("D-17") is None
    for i in (0, 16, 18, 39):
        assert (await store.load_params(f"D-{i}"))["A.v"].value == str(i)
        assert len(await store.load_trace(f"s{i}")) == 1


async def test_concurrent_commits_of_one_device_apply_in_order(store: Store) -> None:
    commits = [commit(device(last_inform_ms=i), upserts=[param("A.v", str(i))]) for i in range(10)]
    await asyncio.gather(*(store.commit_session(c) for c in commits))
    got = await store.get_device(DEV)
    assert got is not None and got.last_inform_ms == 9
    assert (await store.load_params(DEV))["A.v"].value == "9"


async def test_cancelled_waiter_is_not_written(store: Store) -> None:
    first = asyncio.ensure_future(store.commit_session(commit(device("D-1"), "s1")))
    second = asyncio.ensure_future(store.commit_session(commit(device("D-2"), "s2")))
    await asyncio.sleep(0)
    second.cancel()
    await first
    with pytest.raises(asyncio.CancelledError):
        await second
    third = commit(device("D-3"), "s3")
    await store.commit_session(third)
    ids = {d.id for d in await store.list_devices()}
    assert "D-1" in ids and "D-3" in ids


async def test_sessions_and_trace_roundtrip(store: Store) -> None:
    rec = session(
        "s1",
        DEV,
        100,
        ended_ms=200,
        outcome="ok",
        detail="fine",
        remote="192.0.2.1:1234",
        events=("0 BOOTSTRAP", "1 BOOT"),
        rpc_count=3,
        cwmp_version="1.4",
    )
    entries = trace(4, 100)
    await store.commit_session(SessionCommit(device=device(), session=rec, trace=entries))
    assert await store.list_sessions(DEV) == [rec]
    assert await store.load_trace("s1") == entries


async def test_trace_pruning_per_device(store: Store) -> None:  # the fixture keeps 3
    for n in range(6):
        await store.commit_session(commit(device(), f"a{n}", started=1_000 + n, n_trace=2))
    for n in range(2):
        await store.commit_session(commit(device("OTHER"), f"b{n}", started=500 + n, n_trace=2))
    assert [s.id for s in await store.list_sessions(DEV)] == ["a5", "a4", "a3"]
    assert [s.id for s in await store.list_sessions("OTHER")] == ["b1", "b0"]
    for n in range(3):
        assert await store.load_trace(f"a{n}") == []
    assert len(await store.load_trace("a3")) == 2
    assert [s.id for s in await store.list_sessions(DEV, limit=2)] == ["a5", "a4"]
    rows = list(await store._conn.execute_fetchall("SELECT count(*) FROM trace"))
    assert rows == [((3 + 2) * 2,)]


async def test_record_session_only(store: Store) -> None:
    await store.commit_session(commit(device(), upserts=[param("A.x", "1")]))
    rec = session("s9", DEV, 5_000, outcome="timeout", detail="no response")
    await store.record_session_only(device(last_inform_ms=5_000), rec, trace(3, 5_000))
    got = await store.get_device(DEV)
    assert got is not None and got.last_inform_ms == 5_000
    assert list(await store.load_params(DEV)) == ["A.x"]
    assert (await store.list_sessions(DEV))[0].outcome == "timeout"
    assert len(await store.load_trace("s9")) == 3
    # A brand-new device whose first session broke still gets its row.
    await store.record_session_only(device("NEW"), session("s10", "NEW", 6_000), [])
    assert await store.get_device("NEW") is not None
