"""The store's in-memory device rows: copies out, write-through, never stale."""

from __future__ import annotations

from pathlib import Path

from acs_engine.store import SessionCommit, Store

from .factories import device


async def test_get_device_returns_an_independent_copy(store: Store) -> None:
    await store.commit_session(SessionCommit(device=device(tags={"a"})))
    first = await store.get_device("0011AA-Box-SN1")
    assert first is not None
    first.tags.add("mutated")
    first.last_inform_ms = 42
    second = await store.get_device("0011AA-Box-SN1")
    assert second is not None
    assert second.tags == {"a"} and second.last_inform_ms == 1_000


async def test_commits_and_tag_changes_are_seen_through_the_cache(store: Store, db_path: Path) -> None:
    await store.commit_session(SessionCommit(device=device()))
    assert await store.get_device("0011AA-Box-SN1") is not None  # now cached
    await store.commit_session(SessionCommit(device=device(last_inform_ms=5_000, registered_ms=77)))
    await store.set_tags("0011AA-Box-SN1", add=["office"])
    cached = await store.get_device("0011AA-Box-SN1")
    async with await Store.open(db_path) as fresh:
        on_disk = await fresh.get_device("0011AA-Box-SN1")
    assert cached == on_disk
    assert cached is not None and cached.last_inform_ms == 5_000
    assert cached.registered_ms == 1_000 and cached.tags == {"office"}


async def test_deleted_devices_leave_the_cache(store: Store) -> None:
    await store.commit_session(SessionCommit(device=device()))
    assert await store.get_device("0011AA-Box-SN1") is not None
    assert await store.delete_device("0011AA-Box-SN1")
    assert await store.get_device("0011AA-Box-SN1") is None
