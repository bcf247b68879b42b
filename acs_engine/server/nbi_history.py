"""The NBI's parameter history and tree diff routes (FieldACS's own; GenieACS has none).

``GET /devices/{id}/history?parameter=P[&parameter=Q][&from=T][&to=T][&limit=N]``
    the device's recorded changes of those parameters (of every parameter without
    ``parameter``), oldest first, as JSON.
``GET /devices/{id}/diff?a=POINT&b=POINT[&all=1][&format=text]``
    the tree compared at two points (see :mod:`acs_engine.admin.treediff`).

Times are ISO 8601 or epoch milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from acs_engine.admin.treediff import PointError, compare, parse_time, render_text, resolve_point
from acs_engine.store.db import Store
from acs_engine.store.history import NodeState

__all__ = ["HISTORY_OPENAPI", "add_history_routes"]


def _state(state: NodeState | None) -> dict[str, Any] | None:
    if state is None:
        return None
    return {"value": state[0], "type": state[1], "writable": state[2]}


def _time(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_time(raw)
    except ValueError as exc:
        raise ValueError(f"{name}: {exc}") from None


def _not_found(device_id: str) -> web.Response:
    return web.json_response({"error": f"no device {device_id!r}"}, status=404)


def add_history_routes(router: web.UrlDispatcher, store: Callable[[], Store]) -> None:
    """Register the history and diff routes; ``store`` gives the running store."""

    async def history(request: web.Request) -> web.StreamResponse:
        device_id = request.match_info["id"]
        db = store()
        if await db.get_device(device_id) is None:
            return _not_found(device_id)
        params = [p for raw in request.query.getall("parameter", []) for p in raw.split(",") if p]
        since, until = _time(request, "from"), _time(request, "to")
        raw_limit = request.query.get("limit", "100000")
        if not raw_limit.isdigit():
            raise ValueError(f"limit must be a whole number, not {raw_limit!r}")
        limit = int(raw_limit)
        if params:
            rows = await db.param_history(device_id, params, since, until, limit)
        else:
            rows = list(reversed(await db.device_history(device_id, since, until, limit)))
        return web.json_response({
            "device": device_id,
            "parameters": params,
            "from": since,
            "to": until,
            "changes": [r.to_json() for r in rows],
        })

    async def diff(request: web.Request) -> web.StreamResponse:
        device_id = request.match_info["id"]
        db = store()
        if await db.get_device(device_id) is None:
            return _not_found(device_id)
        try:
            a = await resolve_point(db, device_id, request.query.get("a", "before-download"))
            b = await resolve_point(db, device_id, request.query.get("b", "now"))
        except PointError as exc:
            raise ValueError(str(exc)) from None
        entries = compare(a.tree.nodes, b.tree.nodes)
        changed_only = request.query.get("all", "0") in ("", "0", "false")
        if request.query.get("format") == "text":
            text = render_text(entries, device_id, a, b, changed_only=changed_only)
            return web.Response(text=text, content_type="text/plain", charset="utf-8")
        return web.json_response({
            "device": device_id,
            "a": {"label": a.label, "complete": a.tree.complete},
            "b": {"label": b.label, "complete": b.tree.complete},
            "entries": [
                {"path": e.path, "kind": e.kind, "fields": list(e.fields),
                 "a": _state(e.old), "b": _state(e.new)}
                for e in entries
                if not (changed_only and e.kind == "same")
            ],
        })

    router.add_get("/devices/{id}/history", history, allow_head=False)
    router.add_get("/devices/{id}/diff", diff, allow_head=False)


_ERR = {"description": "Error", "content": {"application/json": {
    "schema": {"$ref": "#/components/schemas/Error"}}}}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"},
       "description": "The device id (percent-encoded in the URL)."}
_STATE = {"type": "object", "nullable": True, "properties": {
    "value": {"type": "string", "nullable": True}, "type": {"type": "string", "nullable": True},
    "writable": {"type": "boolean", "nullable": True}}}
_TIME = {"type": "string"}

#: The OpenAPI paths of these routes (merged into ``openapi.openapi_document``).
HISTORY_OPENAPI: dict[str, Any] = {
    "/devices/{id}/history": {"get": {
        "summary": "A device's parameter history",
        "description": "Every recorded change (value, type or writability; a node added or "
                       "removed) of the given parameters, oldest first. A session records a "
                       "change only when something differs from the stored tree.",
        "parameters": [
            _ID,
            {"name": "parameter", "in": "query", "schema": {"type": "string"},
             "description": "A parameter path; repeat it or separate paths with commas. "
                            "Absent: every parameter of the device."},
            {"name": "from", "in": "query", "schema": _TIME,
             "description": "Only changes at or after this time (ISO 8601 or epoch ms)."},
            {"name": "to", "in": "query", "schema": _TIME,
             "description": "Only changes at or before this time (ISO 8601 or epoch ms)."},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0}},
        ],
        "responses": {
            "200": {"description": "The changes", "content": {"application/json": {"schema": {
                "type": "object", "properties": {
                    "device": {"type": "string"},
                    "parameters": {"type": "array", "items": {"type": "string"}},
                    "from": {"type": "integer", "nullable": True},
                    "to": {"type": "integer", "nullable": True},
                    "changes": {"type": "array", "items": {"type": "object", "properties": {
                        "at": {"type": "integer", "description": "Commit time, epoch ms."},
                        "session": {"type": "string", "nullable": True},
                        "path": {"type": "string"},
                        "kind": {"type": "string", "enum": ["changed", "added", "removed"]},
                        "old": _STATE, "new": _STATE}}}}}}}},
            "400": _ERR, "404": _ERR,
        },
    }},
    "/devices/{id}/diff": {"get": {
        "summary": "Compare a device's tree at two points",
        "description": "Points: `now`, `before-download`, `after-download`, `session:ID`, "
                       "`snapshot:NAME`, `time:WHEN` (ISO 8601 or epoch ms).",
        "parameters": [
            _ID,
            {"name": "a", "in": "query", "schema": {"type": "string",
                                                     "default": "before-download"}},
            {"name": "b", "in": "query", "schema": {"type": "string", "default": "now"}},
            {"name": "all", "in": "query", "schema": {"type": "string"},
             "description": "1: unchanged paths too (default: only what changed)."},
            {"name": "format", "in": "query", "schema": {"type": "string", "enum": ["text"]},
             "description": "`text`: the plain-text diff a vendor can read."},
        ],
        "responses": {
            "200": {"description": "The differences (JSON, or text/plain with format=text)",
                    "content": {"application/json": {"schema": {"type": "object"}},
                                "text/plain": {"schema": {"type": "string"}}}},
            "400": _ERR, "404": _ERR,
        },
    }},
}
