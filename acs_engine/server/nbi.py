"""The northbound API: GenieACS's NBI routes (port 7557) over FieldACS's store.

Existing GenieACS NBI scripts work unchanged (behaviour reference §11)::

    GET|HEAD /<collection>/?query=<JSON>&projection=a,b&sort=<JSON>&skip=N&limit=N
    PUT|DELETE /presets/<id>, /objects/<id>, /provisions/<id>, /virtual_parameters/<id>
    POST|DELETE /devices/<id>/tags/<tag>        DELETE /devices/<id>
    POST /devices/<id>/tasks[?connection_request][&timeout=ms]
    DELETE /tasks/<id>    POST /tasks/<id>/retry    DELETE /faults/<id>
    PUT|DELETE /files/<name>    GET /ping/<host>    GET /openapi.json

Collections: devices, tasks, presets, provisions, virtual_parameters, files, faults and
objects (free-form JSON documents). Queries are translated by :mod:`acs_engine.server.nbi_query`.

Errors are JSON ``{"error": reason}``: 400 for a malformed query, body, script or task
(with ``position`` for a bad precondition, ``line``/``column`` for a bad script), 404 for
an unknown route or object, 503 when the device is in session, 401 without the bearer
token when ``nbi_token`` is configured, 403 for what only a web browser sends (a
cross-origin ``Origin`` header; a non-loopback ``Host`` while listening on loopback). Deleting a preset, provision, virtual parameter or
fault that does not exist is not an error (GenieACS answers 200 too).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

from aiohttp import web

from acs_engine.bus import DeviceUpdated
from acs_engine.clock import now_ms
from acs_engine.expression import ExpressionError, parse
from acs_engine.policy.presets import legacy_precondition_to_expression, schedule_due
from acs_engine.reach.files import FileNameError, FileStore, FileTooLargeError
from acs_engine.scripting import Sandbox
from acs_engine.server.guard import ConnectionGuard, GuardedSite, keepalive_for, limits_for
from acs_engine.server.nbi_auth import bearer_auth_middleware, is_loopback_host, open_nbi_problem
from acs_engine.server.nbi_devices import collection_document, iter_device_documents, project
from acs_engine.server.nbi_history import add_history_routes
from acs_engine.server.nbi_query import QueryError, collection_to_sql, mongo_to_sql
from acs_engine.server.nbi_service import add_service_routes
from acs_engine.server.nbi_sort import (
    collection_sort,
    device_sort_sql,
    parse_json_param,
    parse_projection,
)
from acs_engine.server.nbi_tasks import submit_task
from acs_engine.server.openapi import openapi_document
from acs_engine.server.ping import PingError, ping
from acs_engine.store.db import Store
from acs_engine.store.errors import StoreError
from acs_engine.store.genieacs import preset_from_genieacs
from acs_engine.store.records import FileRecord, Provision, VirtualParameter, fault_id
from acs_engine.store.search import device_ids_where

if TYPE_CHECKING:
    from acs_engine.config import EngineConfig
    from acs_engine.server.controller import Engine

__all__ = ["COLLECTIONS", "NbiServer", "check_nbi_config"]

log = logging.getLogger("fieldacs.nbi")

#: The collections ``GET /<collection>/`` serves.
COLLECTIONS = (
    "devices", "tasks", "presets", "provisions", "virtual_parameters", "files", "faults",
    "objects",
)
_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def check_nbi_config(config: EngineConfig) -> None:
    """Raise ValueError when the NBI settings cannot work or are unsafe.

    A too short token, or a non-loopback address without a token (an open NBI on the
    network: see :func:`~acs_engine.server.nbi_auth.open_nbi_problem`).
    """
    problem = open_nbi_problem(config.nbi_host, config.nbi_token, enabled=config.nbi_enabled)
    if problem is not None:
        raise ValueError(problem)
    if config.nbi_enabled and config.nbi_token is not None:
        bearer_auth_middleware(config.nbi_token)


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


def _not_found(message: str) -> web.HTTPNotFound:
    return web.HTTPNotFound(
        text=json.dumps({"error": message}), content_type="application/json"
    )


def _busy(device_id: str) -> web.HTTPServiceUnavailable:
    return web.HTTPServiceUnavailable(
        text=json.dumps({"error": f"device {device_id} is in session"}),
        content_type="application/json", reason="Device is in session",
    )


def _int_param(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None or not raw.strip():
        return None
    try:
        value = int(raw)
    except ValueError as exc:
        raise QueryError(f"{name} must be a whole number, not {raw!r}") from exc
    if value < 0:
        raise QueryError(f"{name} must not be negative")
    return value


def _browser_guard(config: EngineConfig) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Refuse what only a web browser sends: a cross-origin ``Origin`` (a page POSTing a task
    to 127.0.0.1 without the user knowing) and, when listening on loopback, a ``Host`` that
    is not a loopback name (DNS rebinding). NBI scripts (curl, requests, node) send neither.
    """
    loopback_only = is_loopback_host(config.nbi_host)

    @web.middleware
    async def guard(request: web.Request, handler: _Handler) -> web.StreamResponse:
        host = (request.url.host or "").lower()
        if loopback_only and not is_loopback_host(host):
            return _error(403, f"the NBI only answers requests for 127.0.0.1, not {host!r}")
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"{request.scheme}://{request.host}":
            return _error(403, "cross-origin requests from web pages are not allowed")
        return await handler(request)

    return guard


@web.middleware
async def _errors(request: web.Request, handler: _Handler) -> web.StreamResponse:
    """JSON errors for every failure; a debug line per request (no headers, no bodies)."""
    started = time.monotonic()
    response: web.StreamResponse
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        response = _error(exc.status, exc.reason)
        for header in ("Allow", "WWW-Authenticate"):
            if header in exc.headers:
                response.headers[header] = exc.headers[header]
    except (QueryError, ValueError) as exc:
        response = _error(400, str(exc))
    except StoreError as exc:
        log.error("NBI %s %s: %s", request.method, request.path, exc)
        response = _error(500, f"database error: {exc}")
    log.debug("NBI %s %s -> %s (%.1f ms)", request.method, request.path, response.status,
              (time.monotonic() - started) * 1000)
    return response


class NbiServer:
    """The NBI's aiohttp application and listener, over a running :class:`Engine`.

    Args:
        engine: the engine whose store, bus, file store and connection requests it uses.
        config: the settings of the listener (address, token, body limit); default the
            engine's (the engine passes new ones while it checks that they work).
        name: the listener's name (``nbi``; ``nbi_tls`` for the HTTPS one, a second server
            over the same engine and the same step-mode claim).
    """

    def __init__(
        self, engine: Engine, *, config: EngineConfig | None = None, name: str = "nbi"
    ) -> None:
        self.engine = engine
        self.port: int | None = None
        self._runner: web.AppRunner | None = None
        self._own_sandbox: Sandbox | None = None
        self._own_files: FileStore | None = None
        config = config if config is not None else engine.config
        self._config = config
        #: Caps and times the NBI's connections (see guard.py).
        self.guard = ConnectionGuard(name, limits_for(config, name))
        middlewares: list[Any] = [_browser_guard(config)]
        from acs_engine.server.events_ws import EVENTS_PATH  # console_api imports this module

        token = self.token = config.nbi_token
        if token is not None:
            middlewares.append(bearer_auth_middleware(token, self_authenticating=(EVENTS_PATH,)))
        middlewares.append(_errors)
        self.app = web.Application(
            client_max_size=config.max_body_bytes, middlewares=middlewares
        )
        self._add_routes(self.app.router)

    # ------------------------------------------------------------------ lifecycle
    async def start(self, host: str, port: int, ssl_context: Any = None) -> int:
        """Listen on ``host:port`` (0: a free port; with ``ssl_context``: HTTPS); returns
        the port.

        Raises:
            OSError: the address cannot be bound (the caller reports it).
        """
        await self._sync_file_records()
        runner = web.AppRunner(
            self.app, access_log=None, handle_signals=False,
            keepalive_timeout=keepalive_for(self._config, "nbi"),
        )
        await runner.setup()
        site = GuardedSite(runner, host, port, self.guard, ssl_context=ssl_context)
        try:
            await site.start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        self.console.start()
        self.port = int(runner.addresses[0][1]) if runner.addresses else port
        log.info("NBI listening on %s:%s%s", host, self.port, " (HTTPS)" if ssl_context else "")
        return self.port

    async def stop(self) -> None:
        """Close the listener and the NBI's own sandbox. Safe to call twice."""
        await self.console.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._own_sandbox is not None:
            await self._own_sandbox.close()
            self._own_sandbox = None
        self.port = None

    @property
    def store(self) -> Store:
        store = self.engine.store
        if store is None:
            raise web.HTTPServiceUnavailable(reason="The engine is not running")
        return store

    @property
    def files(self) -> FileStore:
        if self.engine.files is not None:
            return self.engine.files
        if self._own_files is None:
            config = self.engine.config
            self._own_files = FileStore.beside_db(config.db_path, max_size=config.max_file_bytes)
        return self._own_files

    async def _sync_file_records(self) -> None:
        """Give every file on disk a record in the store (files put there by other means)."""
        store = self.engine.store
        if store is None:
            return
        known = {r.name for r in await store.list_file_records()}
        for info in await self.files.list():
            if info.name not in known:
                await store.put_file_record(FileRecord(
                    info.name, info.size, info.md5, info.file_type, info.oui,
                    info.product_class, info.version, int(info.uploaded.timestamp() * 1000),
                ))

    # ------------------------------------------------------------------ routes
    def _add_routes(self, router: web.UrlDispatcher) -> None:
        for name in COLLECTIONS:
            handler = self._collection_handler(name)
            router.add_get(f"/{name}", handler)
            router.add_get(f"/{name}/", handler)
        router.add_put("/presets/{id}", self.put_preset)
        router.add_delete("/presets/{id}", self.delete_preset)
        router.add_put("/provisions/{id}", self.put_provision)
        router.add_delete("/provisions/{id}", self.delete_provision)
        router.add_put("/objects/{id}", self.put_object)
        router.add_delete("/objects/{id}", self.delete_object)
        router.add_put("/virtual_parameters/{id}", self.put_virtual_parameter)
        router.add_delete("/virtual_parameters/{id}", self.delete_virtual_parameter)
        router.add_post("/devices/{id}/tags/{tag}", self.add_tag)
        router.add_delete("/devices/{id}/tags/{tag}", self.delete_tag)
        router.add_delete("/devices/{id}", self.delete_device)
        router.add_post("/devices/{id}/tasks", self.post_task)
        router.add_delete("/tasks/{id}", self.delete_task)
        router.add_post("/tasks/{id}/retry", self.retry_task)
        router.add_delete("/faults/{id}", self.delete_fault)
        router.add_put("/files/{name}", self.put_file)
        router.add_delete("/files/{name}", self.delete_file)
        router.add_get("/ping/{host}", self.ping, allow_head=False)
        router.add_get("/openapi.json", self.openapi, allow_head=False)
        add_service_routes(router, self.engine)  # /health, /metrics
        add_history_routes(router, lambda: self.store)
        from acs_engine.server.nbi_console import add_console_routes  # (import cycle)

        self.console = add_console_routes(router, self)  # /fieldacs/v1 (nbi_console.py)

    def _collection_handler(self, name: str) -> _Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            return await self.list_collection(request, name)

        return handler

    async def list_collection(self, request: web.Request, name: str) -> web.StreamResponse:
        """``GET|HEAD /<collection>/``: a JSON array and the ``total`` header."""
        query = parse_json_param(request.query.get("query"), "query")
        if query is not None and not isinstance(query, dict):
            raise QueryError("query must be a JSON object")
        sort = parse_json_param(request.query.get("sort"), "sort")
        projection = parse_projection(request.query.get("projection"))
        skip = _int_param(request, "skip") or 0
        # MongoDB (and so GenieACS) reads limit=0 as "no limit".
        limit = _int_param(request, "limit") or None
        head = request.method == "HEAD"
        docs: list[dict[str, Any]] = []
        if name == "devices":
            where, params = mongo_to_sql(query)
            order, order_params = device_sort_sql(sort)
            ids, total = await device_ids_where(
                self.store, where, params, order_sql=order, order_params=order_params,
                skip=skip, limit=0 if head else limit,
            )
            if not head:
                return await self._stream_devices(request, ids, projection, total)
        else:
            where, params = collection_to_sql(name, query)
            if name == "faults":  # expired faults are gone (GenieACS's TTL)
                where = f"({where}) AND (expiry IS NULL OR expiry >= ?)"
                params.append(time.time_ns() // 1_000_000)
            rows, total = await self.store.query_collection(
                name, where_sql=where, params=params, sort=collection_sort(name, sort),
                skip=skip, limit=0 if head else limit,
            )
            docs = [project(collection_document(name, row), projection) for row in rows]
        headers = {"total": str(total)}
        if head:
            return web.Response(headers=headers, content_type="application/json")
        return web.json_response(docs, headers=headers)

    async def _stream_devices(
        self, request: web.Request, ids: list[str], projection: list[str] | None, total: int
    ) -> web.StreamResponse:
        """Write the device array one document at a time (a fleet's parameters never sit
        in memory at once)."""
        response = web.StreamResponse(headers={"total": str(total)})
        response.content_type = "application/json"
        response.charset = "utf-8"
        await response.prepare(request)
        await response.write(b"[")
        first = True
        try:
            async for doc in iter_device_documents(self.store, ids, projection):
                chunk = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
                await response.write((chunk if first else "," + chunk).encode("utf-8"))
                first = False
        except StoreError as exc:  # the status is sent: end with a truncated (invalid) array
            log.error("NBI %s: reading devices failed mid-answer: %s", request.path, exc)
            await response.write_eof()
            return response
        await response.write(b"]")
        await response.write_eof()
        return response

    # ------------------------------------------------------------------ presets & scripts
    async def _json_body(self, request: web.Request) -> Any:
        raw = await request.read()
        try:
            return json.loads(raw.decode("utf-8"))
        except ValueError as exc:
            raise QueryError(f"the body is not valid JSON: {exc}") from exc

    async def put_preset(self, request: web.Request) -> web.Response:
        """``PUT /presets/<id>``: a GenieACS preset (``configurations`` or ``provisions``)."""
        preset_id = request.match_info["id"]
        doc = await self._json_body(request)
        if not isinstance(doc, dict):
            raise QueryError("a preset must be a JSON object")
        preset = preset_from_genieacs(doc, preset_id=preset_id)
        text = preset.precondition.strip()
        if text:
            try:
                if preset.legacy_precondition:
                    text = legacy_precondition_to_expression(text)
                parse(text)
            except ExpressionError as exc:
                return _error(400, f"invalid precondition: {exc}", position=exc.position)
            except ValueError as exc:
                return _error(400, f"invalid precondition: {exc}")
        if preset.schedule:
            schedule_due(preset.schedule, time.time_ns() // 1_000_000)
        await self.store.put_preset(preset)
        log.info("NBI: preset %s stored", preset_id)
        return web.json_response({"_id": preset_id})

    async def delete_preset(self, request: web.Request) -> web.Response:
        await self.store.delete_preset(request.match_info["id"])
        return web.json_response({})

    async def script_error(self, source: str) -> web.Response | None:
        """A 400 answer when ``source`` does not compile as a script, else None."""
        sandbox = self.engine.sandbox
        if sandbox is None:
            if self._own_sandbox is None:
                config = self.engine.config
                self._own_sandbox = Sandbox(
                    timeout_ms=config.script_timeout_ms, memory_limit_mb=config.script_memory_mb
                )
            sandbox = self._own_sandbox
        fault = await asyncio.to_thread(sandbox.check_syntax, source)
        if fault is None:
            return None
        where = {k: fault.detail[k] for k in ("line", "column") if k in fault.detail}
        return _error(400, f"{fault.code}: {fault.message}", **where)

    async def _script_body(self, request: web.Request) -> str:
        raw = await request.read()
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise QueryError("the script is not UTF-8 text") from exc

    async def put_provision(self, request: web.Request) -> web.Response:
        """``PUT /provisions/<id>``: the body is the script; it must compile."""
        script = await self._script_body(request)
        bad = await self.script_error(script)
        if bad is not None:
            return bad
        await self.store.put_provision(Provision(request.match_info["id"], script))
        return web.json_response({"_id": request.match_info["id"]})

    async def delete_provision(self, request: web.Request) -> web.Response:
        await self.store.delete_provision(request.match_info["id"])
        return web.json_response({})

    async def put_virtual_parameter(self, request: web.Request) -> web.Response:
        """``PUT /virtual_parameters/<id>``: the body is the script; it must compile."""
        name = request.match_info["id"]
        if not name or "." in name:
            raise QueryError(f"invalid virtual parameter name {name!r} (no dots)")
        script = await self._script_body(request)
        bad = await self.script_error(script)
        if bad is not None:
            return bad
        await self.store.put_virtual_parameter(VirtualParameter(name, script))
        return web.json_response({"_id": name})

    async def put_object(self, request: web.Request) -> web.Response:
        """``PUT /objects/<id>``: a JSON object stored as given, ``_id`` from the URL (as
        GenieACS's NBI does); listed and queried with ``GET /objects/``."""
        doc = await self._json_body(request)
        if not isinstance(doc, dict):
            raise QueryError("an object must be a JSON object")
        await self.store.put_object(request.match_info["id"], doc)
        return web.json_response({"_id": request.match_info["id"]})

    async def delete_object(self, request: web.Request) -> web.Response:
        await self.store.delete_object(request.match_info["id"])
        return web.json_response({})

    async def delete_virtual_parameter(self, request: web.Request) -> web.Response:
        await self.store.delete_virtual_parameter(request.match_info["id"])
        return web.json_response({})

    # ------------------------------------------------------------------ devices
    async def _device(self, request: web.Request) -> str:
        device_id = request.match_info["id"]
        if await self.store.get_device(device_id) is None:
            raise _not_found(f"no device {device_id!r}")
        return device_id

    async def add_tag(self, request: web.Request) -> web.Response:
        device_id = await self._device(request)
        tags = await self.store.set_tags(device_id, add=[request.match_info["tag"]])
        return web.json_response({"_id": device_id, "_tags": sorted(tags)})

    async def delete_tag(self, request: web.Request) -> web.Response:
        device_id = await self._device(request)
        tags = await self.store.set_tags(device_id, remove=[request.match_info["tag"]])
        return web.json_response({"_id": device_id, "_tags": sorted(tags)})

    def _in_session(self, device_id: str) -> bool:
        cwmp = self.engine.cwmp
        return bool(cwmp and cwmp.session_of_device(device_id))

    async def delete_device(self, request: web.Request) -> web.Response:
        """``DELETE /devices/<id>``: 200 with an empty body, also for an unknown device
        (GenieACS's answer); 503 while the device is in session."""
        device_id = request.match_info["id"]
        if self._in_session(device_id):
            raise _busy(device_id)
        if await self.store.delete_device(device_id):
            self.engine.bus.publish(DeviceUpdated(device_id, now_ms(), deleted=True))
        return web.Response(status=200)

    async def post_task(self, request: web.Request) -> web.Response:
        """``POST /devices/<id>/tasks`` (see :mod:`acs_engine.server.nbi_tasks`)."""
        body = await request.read()
        return await submit_task(
            self.engine, request.match_info["id"], body,
            connection_request="connection_request" in request.query,
            timeout_ms=_int_param(request, "timeout"),
        )

    # ------------------------------------------------------------------ tasks & faults
    async def delete_task(self, request: web.Request) -> web.Response:
        """``DELETE /tasks/<id>``: the task and its fault; 503 while its device is in session."""
        task = await self.store.get_task(request.match_info["id"])
        if task is None:
            raise _not_found("Task not found")
        if self._in_session(task.device_id):
            raise _busy(task.device_id)
        await self.store.delete_task(task.id)
        await self.store.delete_fault(fault_id(task.device_id, task.channel))
        return web.json_response({})

    async def retry_task(self, request: web.Request) -> web.Response:
        """``POST /tasks/<id>/retry``: delete the task's fault so the next session runs it."""
        task = await self.store.get_task(request.match_info["id"])
        if task is None:
            raise _not_found("Task not found")
        if self._in_session(task.device_id):
            raise _busy(task.device_id)
        await self.store.delete_fault(fault_id(task.device_id, task.channel))
        return web.json_response({})

    async def delete_fault(self, request: web.Request) -> web.Response:
        """``DELETE /faults/<id>``; a task's fault takes its task with it (as in GenieACS)."""
        fid = request.match_info["id"]
        fault = await self.store.get_fault(fid)
        await self.store.delete_fault(fid)
        if fault is not None and fault.channel.startswith("task_"):
            await self.store.delete_task(fault.channel[len("task_"):])
        return web.json_response({})

    # ------------------------------------------------------------------ files
    async def put_file(self, request: web.Request) -> web.Response:
        """``PUT /files/<name>``: the body streamed to disk, metadata from the headers; 201."""
        name = request.match_info["name"]

        async def chunks() -> AsyncIterator[bytes]:
            async for chunk in request.content.iter_chunked(256 * 1024):
                yield chunk

        headers = request.headers
        try:
            info = await self.files.put(
                name, chunks(), file_type=headers.get("fileType", ""),
                oui=headers.get("oui", ""), product_class=headers.get("productClass", ""),
                version=headers.get("version", ""),
            )
        except FileNameError as exc:
            return _error(400, str(exc))
        except FileTooLargeError as exc:
            return _error(413, str(exc))
        await self.store.put_file_record(FileRecord(
            info.name, info.size, info.md5, info.file_type, info.oui, info.product_class,
            info.version, int(info.uploaded.timestamp() * 1000),
        ))
        log.info("NBI: file %s stored (%d bytes)", name, info.size)
        return web.json_response(
            collection_document("files", {
                "name": info.name, "size": info.size, "md5": info.md5,
                "file_type": info.file_type, "oui": info.oui,
                "product_class": info.product_class, "version": info.version,
                "uploaded": int(info.uploaded.timestamp() * 1000),
            }),
            status=201,
        )

    async def delete_file(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        on_disk = await self.files.delete(name)
        recorded = await self.store.delete_file_record(name)
        if not (on_disk or recorded):
            raise _not_found("File not found")
        return web.json_response({})

    # ------------------------------------------------------------------ misc
    async def ping(self, request: web.Request) -> web.Response:
        """``GET /ping/<host>``: ``ping -c 3`` statistics; 404 when nothing answered."""
        host = request.match_info["host"]
        try:
            result = await ping(host)
        except PingError as exc:
            return _error(404 if "not installed" not in str(exc) else 503, str(exc))
        return web.json_response(result.to_json(), status=200 if result.packets_received else 404)

    async def openapi(self, request: web.Request) -> web.Response:
        return web.json_response(openapi_document())
