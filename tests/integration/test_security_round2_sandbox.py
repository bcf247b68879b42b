"""Security, round two (issue 11), findings 5, 8, 9, 11, 12: each attack carried out against a
live engine on 127.0.0.1 (real sockets, the real SQLite file, the real V8 sandbox), and
shown to fail now. The threat model is docs/security.md."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

from acs_engine.server.controller import Engine
from acs_engine.store.search import device_ids_where
from tests.helpers.engine import RawCpe, inform, running_engine
from tests.helpers.nbi import Nbi

#: The review's pattern: exponential under a backtracking engine (2^n paths on n characters).
HOSTILE = "^.{4}(.|.)*Q$"
#: A device serial long enough that ``re`` would need ~2^70 steps on its id.
LONG_SERIAL = "S" * 70


async def _session(engine: Engine, serial: str) -> None:
    """One whole CWMP session (Inform, empty POST) of a raw CPE; asserts both answers."""
    async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
        status, reply, _ = await cpe.send(inform(serial))
        assert status == 200 and reply is not None
        status, _, _ = await cpe.send(None)
        assert status == 204


async def test_attack_redos_regex_query_answers_and_cwmp_commits(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine, Nbi(engine) as nbi:
        assert engine.store is not None
        await _session(engine, LONG_SERIAL)
        # The hostile query and a new device's session, at the same time.
        query = asyncio.create_task(nbi.query("devices", {"_id": {"$regex": HOSTILE}}))
        session = asyncio.create_task(_session(engine, "MEANWHILE1"))
        reply = await asyncio.wait_for(query, 60)
        await asyncio.wait_for(session, 60)
        assert reply.status == 200, reply.body
        assert reply.body == [] and reply.headers["total"] == "0"  # no id ends in Q
        device = await engine.store.get_device("F1E1D0-TestGW-MEANWHILE1")
        assert device is not None and device.last_inform is not None
        # The same search with a match proves the regex really ran over the ids.
        found = await nbi.query("devices", {"_id": {"$regex": "^.{4}(.|.)*S$"}}, projection="_id")
        assert [d["_id"] for d in found.body] == [f"F1E1D0-TestGW-{LONG_SERIAL}"]


async def test_attack_regex_features_that_need_backtracking_get_400(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine, Nbi(engine) as nbi:
        for pattern in (r"^(a+)\1$", "^(?=a)a", "(?<!x)y"):
            reply = await nbi.query("devices", {"_id": {"$regex": pattern}})
            assert reply.status == 400, pattern
            assert "invalid $regex" in reply.error and "linear-time" in reply.error
        reply = await nbi.query("tasks", {"name": {"$regex": "a", "$options": "x"}})
        assert reply.status == 400 and "$options" in reply.error


async def test_attack_slow_nbi_search_does_not_hold_cwmp_commits(tmp_path: Path) -> None:
    """A search that keeps SQLite busy (held here by a gate inside the query itself) runs on
    the read connection: a CWMP session started meanwhile commits before it ends."""
    async with running_engine(tmp_path) as engine:
        store = engine.store
        assert store is not None
        entered, release = threading.Event(), threading.Event()

        def gate() -> int:
            entered.set()
            release.wait(60)
            return 1

        await store._reader.create_function("test_gate", 0, gate)
        await _session(engine, "SEED000001")  # one device for the search to visit
        search = asyncio.create_task(device_ids_where(store, "test_gate() = 1"))
        try:
            await asyncio.to_thread(entered.wait, 30)
            assert entered.is_set()
            await asyncio.wait_for(_session(engine, "DURING0001"), 60)
            device = await store.get_device("F1E1D0-TestGW-DURING0001")
            assert device is not None and device.last_inform is not None
            assert not search.done()  # the search is still inside SQLite
        finally:
            release.set()
        ids, total = await search
        assert ids == ["F1E1D0-TestGW-SEED000001"] and total == 1  # its snapshot
