"""export-genieacs against a hostile or broken target (a real HTTP server on loopback), and
the mapping rules for presets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web

from acs_engine.admin.export_genieacs import (
    ExportError,
    ExportItem,
    ExportPlan,
    _preset_problem,
    check_nbi_url,
    run_export,
)
from acs_engine.store.records import Preset


@asynccontextmanager
async def _target(handler: Callable[[web.Request], Any]) -> AsyncIterator[str]:
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


def _plan() -> ExportPlan:
    return ExportPlan(items=[ExportItem("provisions", "p/../x", "log(1);", b"log(1);")])


@pytest.mark.parametrize("answer", [
    web.Response(text="<html>not json</html>"),
    web.json_response({"not": "a list"}),
    web.Response(status=500, text="boom"),
    web.Response(status=401, text="nope"),
])
async def test_unreadable_target_is_a_clear_error_and_nothing_is_written(
    answer: web.Response,
) -> None:
    puts: list[str] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.method == "PUT":
            puts.append(request.path)
            return web.json_response({})
        return answer

    async with _target(handler) as url:
        with pytest.raises(ExportError) as info:
            await run_export(_plan(), url)
    assert "GET" in str(info.value)
    assert puts == []


async def test_junk_in_listings_is_ignored_and_failed_writes_are_reported() -> None:
    seen: list[tuple[str, str]] = []

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.method == "GET":
            return web.json_response([1, "x", None, {"no": "id"},
                                      {"_id": "p/../x", "script": 5}])
        seen.append((request.raw_path, (await request.read()).decode()))
        return web.Response(status=500, text="disk full")

    async with _target(handler) as url:
        plan = await run_export(_plan(), url)
    item = plan.items[0]
    # The name stays one path segment: no way out of /provisions/.
    assert seen == [("/provisions/p%2F..%2Fx", "log(1);")]
    assert item.action == "failed" and "500" in item.error and "disk full" in item.error


async def test_unreachable_target() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response()

    async with _target(handler) as url:
        pass  # closed again: nothing listens there now
    with pytest.raises(ExportError):
        await run_export(_plan(), url)


@pytest.mark.parametrize("url", ["", "ftp://x/", "x:7557", "http:///nohost",
                                 "http://u:p@h/", "http://h/?q=1", "http://h/#f"])
def test_bad_nbi_urls(url: str) -> None:
    with pytest.raises(ExportError):
        check_nbi_url(url)


def test_good_nbi_url_loses_its_trailing_slash() -> None:
    assert check_nbi_url(" https://acs.example:7557/ ") == "https://acs.example:7557"


@pytest.mark.parametrize(("preset", "reason"), [
    (Preset("a", precondition="NOW() > 0 AND LOWER(X) = 'y'"), None),
    (Preset("b", precondition="(((("), "does not parse"),
    (Preset("c", precondition="EXT('f') = 1"), "EXT()"),
    (Preset("d", provisions=[["refresh", "Device"]]), None),  # a built-in
    (Preset("e", provisions=[["mine"]]), None),
    (Preset("f", provisions=[["gone"]]), "'gone'"),
    (Preset("g", provisions=[["mine", ["FUNC", "CONNECTION_REQUEST_PASSWORD"]]]),
     "CONNECTION_REQUEST_PASSWORD()"),
    (Preset("h", provisions=[[5]]), "malformed"),
])
def test_preset_mapping_rules(preset: Preset, reason: str | None) -> None:
    problem = _preset_problem(preset, {"mine"})
    if reason is None:
        assert problem is None
    else:
        assert problem is not None and reason in problem
