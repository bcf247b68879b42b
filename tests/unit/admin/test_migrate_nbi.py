"""Asking the new ACS whether devices arrived, when it answers badly (a real HTTP server on
loopback stands in for it): clear errors, no confirmation from junk, bounded reads."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web

from acs_engine.admin import migrate
from acs_engine.admin.migrate import MigrationError, _ms, _seen_at_new_acs


@asynccontextmanager
async def _new_acs(answer: Callable[[web.Request], Any]) -> AsyncIterator[str]:
    async def handler(request: web.Request) -> web.StreamResponse:
        return answer(request)

    app = web.Application()
    app.router.add_get("/devices/", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


@pytest.mark.parametrize(("answer", "message"), [
    (lambda r: web.Response(status=401, text="no"), "HTTP 401"),
    (lambda r: web.Response(text="<html>"), "did not answer JSON"),
    (lambda r: web.Response(body=b"[" + b" " * (2 * 1024 * 1024) + b"]"), "more than"),
])
async def test_bad_answers_are_clear_errors(answer: Callable[[web.Request], Any],
                                            message: str) -> None:
    async with _new_acs(answer) as url:
        with pytest.raises(MigrationError, match=message):
            await _seen_at_new_acs(url, "token", ["A"], 10)


async def test_junk_confirms_nothing_and_ids_are_asked_in_batches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(migrate, "NBI_BATCH", 2)
    queries: list[str] = []

    def answer(request: web.Request) -> web.Response:
        queries.append(request.query["query"])
        assert request.headers["Authorization"] == "Bearer tok"
        return web.json_response([1, None, {"_id": 5}, {"_id": "A", "_lastInform": "junk"},
                                  {"_id": "B", "_lastInform": "2026-12-07T06:00:00.000Z"},
                                  {"_id": "C", "_lastInform": True},
                                  {"_id": "NOT-ASKED", "_lastInform": 99}])

    async with _new_acs(answer) as url:
        seen = await _seen_at_new_acs(url, "tok", ["A", "B", "C"], 10)
    assert len(queries) == 2 and '"$in": ["A", "B"]' in queries[0]
    assert set(seen) == {"A", "B", "C"}  # only what was asked, once per batch
    assert seen["A"] == 0 and seen["C"] == 0 and seen["B"] == _ms("2026-12-07T06:00:00Z") > 0
