"""``GET /health`` and ``GET /metrics`` on the NBI listener, for running the engine as a service.

Both sit behind the NBI's bearer token when one is configured, like every NBI route: a
request without it gets 401, which already tells a prober that the process answers; with it,
``/health`` says more. Nothing here is open, so a token-protected NBI on a network address
gives away nothing (not even the version) to whoever can reach the port.

``/health`` answers 200 ``{"status": "ok", ...}`` while the engine serves, and 503 with
``"status": "draining"`` while it shuts down (finishing its sessions, refusing new ones) or
``"status": "error"`` when the database does not answer (within :data:`HEALTH_DB_TIMEOUT`).
``/health`` asks the database (it queues behind the sessions' commits); ``/metrics`` never
does, so a scrape stays fast under load.

``/metrics`` is Prometheus's text exposition format (see :mod:`acs_engine.server.metrics`).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from acs_engine import __version__
from acs_engine.server.metrics import Sample, render
from acs_engine.store.errors import StoreError

if TYPE_CHECKING:
    from acs_engine.server.controller import Engine

__all__ = ["add_service_routes", "database_bytes", "service_paths"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
#: Seconds ``/health`` waits for the database to answer before it reports an error.
HEALTH_DB_TIMEOUT = 10.0


def database_bytes(db_path: Path) -> int:
    """Bytes the database takes on disk: the file, its write-ahead log and shared memory."""
    total = 0
    for suffix in ("", "-wal", "-shm"):
        try:
            total += db_path.with_name(db_path.name + suffix).stat().st_size
        except OSError:
            continue
    return total


def service_paths() -> dict[str, Any]:
    """The OpenAPI 3.0 paths of ``/health`` and ``/metrics`` (a fresh copy)."""
    health = {"type": "object", "properties": {
        "status": {"type": "string", "enum": ["ok", "draining", "error"]},
        "version": {"type": "string"}, "uptime_seconds": {"type": "number"},
        "sessions_active": {"type": "integer"}, "devices": {"type": "integer"},
        "error": {"type": "string"}}}
    answer = {"application/json": {"schema": health}}
    return {
        "/health": {"get": {
            "summary": "Whether the engine serves (behind the token when one is set)",
            "responses": {
                "200": {"description": "Serving", "content": answer},
                "503": {"description": "Shutting down (draining) or the database does not "
                                       "answer", "content": answer},
            },
        }},
        "/metrics": {"get": {
            "summary": "Prometheus metrics, text exposition format 0.0.4",
            "responses": {"200": {"description": "Metrics", "content": {
                "text/plain": {"schema": {"type": "string"}}}}},
        }},
    }


def add_service_routes(router: web.UrlDispatcher, engine: Engine) -> None:
    """Register ``/health`` and ``/metrics`` for ``engine`` on an NBI router."""

    async def health(request: web.Request) -> web.Response:
        store = engine.store
        status, problem = "ok", ""
        devices = 0
        if store is None:
            status, problem = "error", "the engine is not running"
        else:
            try:
                async with asyncio.timeout(HEALTH_DB_TIMEOUT):
                    devices = await store.count_devices()
            except StoreError as exc:
                status, problem = "error", f"database error: {exc}"
            except TimeoutError:
                status = "error"
                problem = f"the database did not answer within {HEALTH_DB_TIMEOUT:g} s"
        if status == "ok" and engine.draining:
            status = "draining"
        body = {
            "status": status,
            "version": __version__,
            "uptime_seconds": round(time.time() - engine.metrics.started_at, 3),
            "sessions_active": engine.active_session_count(),
            "devices": devices,
        }
        if problem:
            body["error"] = problem
        return web.json_response(body, status=200 if status == "ok" else 503)

    async def metrics(request: web.Request) -> web.Response:
        # Nothing here waits for the database: a scrape during a boot storm must not queue
        # behind the sessions' commits (the devices count is kept in memory).
        families = engine.metrics.families()
        devices = engine.device_count
        families += [
            Sample("fieldacs_sessions_active", "gauge", "CWMP sessions in flight.",
                   [({}, engine.active_session_count())]),
            Sample("fieldacs_draining", "gauge",
                   "1 while the engine shuts down (new sessions refused), else 0.",
                   [({}, 1 if engine.draining else 0)]),
            Sample("fieldacs_devices", "gauge",
                   "Devices in the database at start plus those registered since "
                   "(deletions show at the next start).", [({}, devices)]),
            Sample("fieldacs_database_bytes", "gauge",
                   "Size of the SQLite database on disk (file, WAL and shared memory).",
                   [({}, database_bytes(engine.config.db_path))]),
            Sample("fieldacs_uptime_seconds", "gauge", "Seconds since the engine was made.",
                   [({}, round(time.time() - engine.metrics.started_at, 3))]),
            Sample("fieldacs_build_info", "gauge", "The engine's version.",
                   [({"version": __version__}, 1)]),
        ]
        return web.Response(body=render(families).encode("utf-8"),
                            headers={"Content-Type": CONTENT_TYPE})

    router.add_get("/health", health, allow_head=False)
    router.add_get("/metrics", metrics, allow_head=False)
