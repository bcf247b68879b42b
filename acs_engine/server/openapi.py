"""The NBI's OpenAPI 3.0 description, served at ``GET /openapi.json``.

Written by hand (a test checks that every route the NBI registers is described here).
"""

from __future__ import annotations

import copy
from typing import Any

from acs_engine import __version__
from acs_engine.server.nbi_history import HISTORY_OPENAPI
from acs_engine.server.nbi_service import service_paths

__all__ = ["openapi_document"]

_COLLECTIONS = (
    "devices", "tasks", "presets", "provisions", "virtual_parameters", "files", "faults",
    "objects",
)


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{name}"}


def _json_answer(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": schema or {"type": "object"}}},
    }


_ERROR = _json_answer("Error", {"$ref": "#/components/schemas/Error"})
_OK = _json_answer("Done")
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"},
       "description": "The object's id (percent-encoded in the URL)."}


def _list_operation(name: str, head: bool) -> dict[str, Any]:
    what = {
        "devices": "Devices in GenieACS's document shape (`_id`, `_deviceId`, `_lastInform`, "
                   "`_tags`, nested parameters with `_value`, `_type`, `_timestamp`, ...).",
        "objects": "Free-form JSON documents stored with `PUT /objects/{id}`.",
    }.get(name, f"The {name} collection in GenieACS's document shape.")
    op: dict[str, Any] = {
        "summary": f"{'Count' if head else 'Query'} {name}",
        "description": what + " The `total` header carries the number of matches.",
        "parameters": [
            {"name": "query", "in": "query", "schema": {"type": "string"},
             "description": "MongoDB-style JSON query, e.g. "
                            '`{"_deviceId._SerialNumber": "ABC", "_tags": {"$in": ["lab"]}}`. '
                            "Operators: $eq $ne $gt $gte $lt $lte $in $nin $all $exists "
                            "$regex $options $not $and $or $nor."},
            {"name": "projection", "in": "query", "schema": {"type": "string"},
             "description": "Comma-separated fields to return (`_id` always)."},
            {"name": "sort", "in": "query", "schema": {"type": "string"},
             "description": 'JSON object of field -> 1 or -1, e.g. `{"_lastInform": -1}`.'},
            {"name": "skip", "in": "query", "schema": {"type": "integer", "minimum": 0}},
            {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 0}},
        ],
        "responses": {
            "200": {
                "description": "The matching documents (no body for HEAD).",
                "headers": {"total": {"schema": {"type": "integer"},
                                      "description": "Number of matching documents."}},
                "content": {"application/json": {"schema": {
                    "type": "array", "items": {"type": "object"}}}},
            },
            "400": _ERROR,
        },
    }
    return op


_PATHS: dict[str, dict[str, Any]] = {
    "/presets/{id}": {
        "put": {
            "summary": "Create or replace a preset",
            "parameters": [_ID],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": _ref("schemas/Preset")}}},
            "responses": {"200": _OK, "400": _json_answer(
                "Malformed preset, or a precondition that does not parse (with `position`)",
                {"$ref": "#/components/schemas/Error"})},
        },
        "delete": {"summary": "Delete a preset", "parameters": [_ID],
                   "responses": {"200": _OK}},
    },
    "/objects/{id}": {
        "put": {
            "summary": "Create or replace a free-form object (GenieACS's `objects`)",
            "parameters": [_ID],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"type": "object"}}}},
            "responses": {"200": _OK, "400": _ERROR},
        },
        "delete": {"summary": "Delete an object", "parameters": [_ID],
                   "responses": {"200": _OK}},
    },
    "/provisions/{id}": {
        "put": {
            "summary": "Create or replace a provision script",
            "parameters": [_ID],
            "requestBody": {"required": True, "content": {"application/javascript": {
                "schema": {"type": "string"}}}},
            "responses": {"200": _OK, "400": _json_answer(
                "The script does not compile (with `line` and `column`)",
                {"$ref": "#/components/schemas/Error"})},
        },
        "delete": {"summary": "Delete a provision", "parameters": [_ID],
                   "responses": {"200": _OK}},
    },
    "/virtual_parameters/{id}": {
        "put": {
            "summary": "Create or replace a virtual parameter script",
            "parameters": [_ID],
            "requestBody": {"required": True, "content": {"application/javascript": {
                "schema": {"type": "string"}}}},
            "responses": {"200": _OK, "400": _ERROR},
        },
        "delete": {"summary": "Delete a virtual parameter", "parameters": [_ID],
                   "responses": {"200": _OK}},
    },
    "/devices/{id}": {
        "delete": {"summary": "Delete a device with its parameters, tasks and faults "
                              "(an unknown device is no error: 200, as in GenieACS)",
                   "parameters": [_ID],
                   "responses": {"200": {"description": "Done (empty body)"},
                                 "503": _json_answer("The device is in session")}},
    },
    "/devices/{id}/tags/{tag}": {
        "post": {"summary": "Tag a device", "parameters": [_ID, {
            "name": "tag", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _OK, "404": _ERROR}},
        "delete": {"summary": "Untag a device", "parameters": [_ID, {
            "name": "tag", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _OK, "404": _ERROR}},
    },
    "/devices/{id}/tasks": {
        "post": {
            "summary": "Queue a task, optionally waking the device to run it now",
            "description": (
                "Without `connection_request`: 202 and the task. With it: 200 and the task "
                "when the device ran it in the session the connection request started; 202 "
                "with the status text `Task faulted`, `Task queued but not processed` or the "
                "connection-request error otherwise. With `connection_request` and no body: "
                "the connection request alone, 200 or 504 with the error text."
            ),
            "parameters": [
                _ID,
                {"name": "connection_request", "in": "query", "allowEmptyValue": True,
                 "schema": {"type": "string"}},
                {"name": "timeout", "in": "query", "schema": {"type": "integer"},
                 "description": "Milliseconds to wait for the session to start "
                                "(default: device_online_threshold_ms)."},
            ],
            "requestBody": {"required": False, "content": {"application/json": {
                "schema": _ref("schemas/Task")}}},
            "responses": {
                "200": _json_answer("Task done", {"$ref": "#/components/schemas/Task"}),
                "202": _json_answer("Task queued (see the status text)",
                                    {"$ref": "#/components/schemas/Task"}),
                "400": _json_answer("Invalid task (the reason)",
                                    {"$ref": "#/components/schemas/Error"}),
                "404": _json_answer("Unknown device", {"$ref": "#/components/schemas/Error"}),
                "504": _json_answer("Connection request failed",
                                    {"$ref": "#/components/schemas/Error"}),
            },
        },
    },
    "/tasks/{id}": {
        "delete": {"summary": "Delete a task and its fault", "parameters": [_ID],
                   "responses": {"200": _OK, "404": _ERROR,
                                 "503": _json_answer("The device is in session")}},
    },
    "/tasks/{id}/retry": {
        "post": {"summary": "Retry a faulted task (its fault is deleted)", "parameters": [_ID],
                 "responses": {"200": _OK, "404": _ERROR,
                               "503": _json_answer("The device is in session")}},
    },
    "/faults/{id}": {
        "delete": {"summary": "Delete a fault (a task's fault deletes the task too)",
                   "parameters": [_ID], "responses": {"200": _OK}},
    },
    "/files/{name}": {
        "put": {
            "summary": "Store a file for CPEs to download",
            "parameters": [
                {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}},
                {"name": "fileType", "in": "header", "schema": {"type": "string"},
                 "description": 'TR-069 FileType, e.g. "1 Firmware Upgrade Image".'},
                {"name": "oui", "in": "header", "schema": {"type": "string"}},
                {"name": "productClass", "in": "header", "schema": {"type": "string"}},
                {"name": "version", "in": "header", "schema": {"type": "string"}},
            ],
            "requestBody": {"required": True, "content": {"application/octet-stream": {
                "schema": {"type": "string", "format": "binary"}}}},
            "responses": {"201": _json_answer("Stored"), "400": _ERROR,
                          "413": _json_answer("Larger than the size limit")},
        },
        "delete": {"summary": "Delete a file", "parameters": [
            {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _OK, "404": _ERROR}},
    },
    "/ping/{host}": {
        "get": {
            "summary": "Ping a host three times",
            "parameters": [{"name": "host", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": {
                "200": _json_answer("Packet statistics and round-trip times (ms)"),
                "400": _ERROR,
                "404": _json_answer("No answer"),
                "503": _json_answer("The ping program is not installed"),
            },
        },
    },
    "/openapi.json": {
        "get": {"summary": "This document", "responses": {"200": _json_answer("OpenAPI 3.0")}},
    },
}

_COMPONENTS: dict[str, Any] = {
    "schemas": {
        "Error": {"type": "object", "required": ["error"], "properties": {
            "error": {"type": "string"},
            "position": {"type": "integer", "description": "0-based offset in a precondition"},
            "line": {"type": "integer"}, "column": {"type": "integer"}}},
        "Task": {"type": "object", "required": ["name"], "properties": {
            "name": {"type": "string", "enum": [
                "getParameterValues", "setParameterValues", "refreshObject", "reboot",
                "factoryReset", "download", "addObject", "deleteObject", "provisions"]},
            "parameterNames": {"type": "array", "items": {"type": "string"}},
            "parameterValues": {"type": "array", "items": {"type": "array"}},
            "objectName": {"type": "string"},
            "fileType": {"type": "string"}, "fileName": {"type": "string"},
            "targetFileName": {"type": "string"},
            "provisions": {"type": "array", "items": {"type": "array"}},
            "timestamp": {"type": "string", "format": "date-time"},
            "expiry": {"description": "Seconds after timestamp, or a date"}}},
        "Preset": {"type": "object", "properties": {
            "weight": {"type": "integer"}, "channel": {"type": "string"},
            "events": {"type": "object", "additionalProperties": {"type": "boolean"}},
            "schedule": {"type": "string"}, "precondition": {"type": "string"},
            "configurations": {"type": "array", "items": {"type": "object"}},
            "provisions": {"type": "array", "items": {"type": "array"}}}},
    },
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                   "description": "Only when an NBI token is configured."}},
}


def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.0 document of the NBI (a fresh copy)."""
    paths: dict[str, Any] = {}
    for name in _COLLECTIONS:
        for path in (f"/{name}", f"/{name}/"):
            paths[path] = {"get": _list_operation(name, False),
                           "head": _list_operation(name, True)}
    paths.update(copy.deepcopy(_PATHS))
    paths.update(service_paths())  # /health, /metrics (nbi_service.py)
    paths.update(copy.deepcopy(HISTORY_OPENAPI))
    from acs_engine.server.openapi_console import CONSOLE_OPENAPI  # (import cycle)

    paths.update(copy.deepcopy(CONSOLE_OPENAPI))
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "FieldACS NBI",
            "version": __version__,
            "description": "GenieACS-compatible northbound API of FieldACS.",
        },
        "servers": [{"url": "http://127.0.0.1:7557"}],
        "security": [{}, {"bearer": []}],
        "paths": paths,
        "components": copy.deepcopy(_COMPONENTS),
    }
