"""The store's side of issue 11: the database files are private (finding 11), and a client's
search is time-limited on its own connection (finding 5)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from acs_engine.store import Store
from acs_engine.store.base import QueryTooSlow
from acs_engine.store.errors import StoreError
from acs_engine.store.search import device_ids_where

from .factories import commit, device, param

posix_only = pytest.mark.skipif(os.name == "nt", reason="POSIX file modes")


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@posix_only
async def test_attack_new_database_files_are_private(db_path: Path) -> None:
    old = os.umask(0o022)  # a usual umask: files would be 0644
    try:
        store = await Store.open(db_path)
        try:
            await store.commit_session(commit(device(), upserts=[param("A.Password", "s3cret")]))
            files = [db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")]
            for path in files:
                assert path.exists(), path
                assert _mode(path) == 0o600, (path, oct(_mode(path)))
        finally:
            await store.close()
    finally:
        os.umask(old)


@posix_only
async def test_attack_existing_world_readable_database_is_made_private(db_path: Path) -> None:
    store = await Store.open(db_path)
    await store.commit_session(commit(device()))
    await store.close()
    wal, shm = Path(f"{db_path}-wal"), Path(f"{db_path}-shm")
    for path in (db_path, wal, shm):
        path.touch()
        path.chmod(0o644)  # as an older FieldACS left them
    store = await Store.open(db_path)
    try:
        assert await store.get_device(device().id) is not None  # nothing lost
        for path in (db_path, wal, shm):
            assert _mode(path) == 0o600, path
    finally:
        await store.close()


async def test_attack_runaway_search_is_stopped_and_commits_go_on(db_path: Path) -> None:
    store = await Store.open(db_path, read_limit_s=0.2)
    try:
        await store.commit_session(commit(device()))
        endless = (
            "(WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
            "SELECT count(*) FROM c) > 0"
        )
        with pytest.raises(QueryTooSlow, match=r"longer than 0\.2 s") as caught:
            await device_ids_where(store, endless)
        assert isinstance(caught.value, ValueError) and isinstance(caught.value, StoreError)
        # The read connection is usable again, and the writer was never involved.
        assert await device_ids_where(store) == ([device().id], 1)
        await store.commit_session(commit(device("0011AA-Box-SN2")))
        assert (await device_ids_where(store))[1] == 2
    finally:
        await store.close()


async def test_the_read_connection_cannot_write(store: Store) -> None:
    await store.commit_session(commit(device()))

    def write(db: object) -> None:
        db.execute("DELETE FROM devices")  # type: ignore[attr-defined]

    with pytest.raises(StoreError):
        await store._read(write)
    assert await store.count_devices() == 1
