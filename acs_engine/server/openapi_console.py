"""OpenAPI description of the ``/fieldacs/v1`` routes (:mod:`acs_engine.server.nbi_console`)."""

from __future__ import annotations

from typing import Any

from acs_engine.server.nbi_console import CALLS, DRY_RUN_OPTIONS, STEP_ACTIONS

__all__ = ["CONSOLE_OPENAPI"]


def _answer(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description,
            "content": {"application/json": {"schema": schema or {"type": "object"}}}}


_CODEC = (
    "Values are FieldACS's codec JSON: an object with its type in `$t` (`SessionEnded`, "
    "`rpc.GetParameterValues`, `store.Preset`, ...) and its fields; tuples are arrays; bytes "
    "`{\"$b\": base64}`, lists `{\"$list\": [...]}`, sets `{\"$set\": [...]}`, paths "
    "`{\"$path\": \"...\"}` (acs_engine/server/events_codec.py)."
)
_ERROR = _answer("Error", {"$ref": "#/components/schemas/Error"})
_CONFLICT = _answer("Step mode is held by another console", {
    "type": "object", "properties": {"error": {"type": "string"}, "holder": {"type": "string"}}})
_LEASE: dict[str, Any] = {"type": "object", "required": ["lease"], "properties": {
    "lease": {"type": "string", "description": "The lease `POST /fieldacs/v1/step/claim` gave."}}}
_DEVICE = {"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


CONSOLE_OPENAPI: dict[str, Any] = {
    "/fieldacs/v1/version": {"get": {
        "summary": "Engine and console-protocol versions",
        "description": "A console refuses an engine whose `protocol` it does not speak.",
        "responses": {"200": _answer("Versions", {"type": "object", "properties": {
            "engine": {"type": "string"}, "protocol": {"type": "integer"}}})}}},
    "/fieldacs/v1/status": {"get": {
        "summary": "What a console shows without asking: counters, URLs, settings",
        "description": "Settings come without their secrets (passwords, tokens). " + _CODEC,
        "responses": {"200": _answer("Status")}}},
    "/fieldacs/v1/events": {"get": {
        "summary": "The live event stream (WebSocket)",
        "description": (
            "Upgrades to a WebSocket carrying every bus event as "
            "`{\"type\": \"event\", \"seq\": N, \"event\": <codec value>}`, after a "
            "`{\"type\": \"hello\", \"protocol\", \"engine\", \"step_holder\"}`. The bearer "
            "token goes in the `Authorization` header or, for clients that cannot set "
            "headers, in a first message `{\"type\": \"auth\", \"token\": \"...\"}` within "
            "5 s (close code 4401 when wrong); never in the URL. A client too slow to read "
            "is cut off (its queue is bounded), one sending more than 50 messages a second with 4029; "
            "client frames are at most 4 KiB. " + _CODEC),
        "responses": {"101": {"description": "Switching to the WebSocket protocol"},
                      "401": _ERROR, "503": _answer("Too many event streams")}}},
    "/fieldacs/v1/console/{method}": {"post": {
        "summary": "One call of the console interface (ConsoleEngine)",
        "description": (
            "Runs the named method of acs_engine.console_api.ConsoleEngine with the given "
            "arguments and answers its value. Methods: " + ", ".join(CALLS) + ". `dry_run` "
            "takes `device_id`, `events` and " + ", ".join(sorted(DRY_RUN_OPTIONS)) + ". "
            "Errors carry `kind`: DeviceUnknown (404), DryRunError (422), ExpressionError "
            "or ValueError (400), EngineUnavailable (503). " + _CODEC),
        "parameters": [{"name": "method", "in": "path", "required": True,
                        "schema": {"type": "string", "enum": list(CALLS)}}],
        "requestBody": _body({"type": "object", "properties": {
            "args": {"type": "object", "description": "Keyword arguments, codec values."}}}),
        "responses": {"200": _answer("The value", {"type": "object", "properties": {
            "result": {}}}), "400": _ERROR, "404": _ERROR, "422": _ERROR, "503": _ERROR}}},
    "/fieldacs/v1/step": {"get": {
        "summary": "Who holds step mode, its devices and their holds",
        "responses": {"200": _answer("Step mode", {"type": "object", "properties": {
            "holder": {"type": "string"}, "devices": {"type": "array",
                                                      "items": {"type": "string"}},
            "pending": {"type": "array", "items": {"type": "object"}}}})}}},
    "/fieldacs/v1/step/claim": {"post": {
        "summary": "Hold step mode (one console at a time)",
        "description": "Everyone sees the holder (a StepHolderChanged event). `force` takes "
                       "over from a holder whose console is gone.",
        "requestBody": _body({"type": "object", "required": ["holder"], "properties": {
            "holder": {"type": "string", "maxLength": 100}, "force": {"type": "boolean"}}}),
        "responses": {"200": _answer("The lease for step commands", {
            "type": "object", "properties": {"lease": {"type": "string"},
                                             "holder": {"type": "string"}}}),
            "400": _ERROR, "409": _CONFLICT}}},
    "/fieldacs/v1/step/release": {"post": {
        "summary": "Give step mode up (step mode is turned off for its devices)",
        "requestBody": _body(_LEASE), "responses": {"200": _answer("Released"),
                                                    "409": _CONFLICT}}},
    "/fieldacs/v1/step/devices/{id}": {"put": {
        "summary": "Turn step mode on or off for a device (the holder only)",
        "parameters": [_DEVICE],
        "requestBody": _body({**_LEASE, "properties": {**_LEASE["properties"],
                                                       "enabled": {"type": "boolean"}}}),
        "responses": {"200": _answer("Done"), "409": _CONFLICT}}},
    "/fieldacs/v1/step/devices/{id}/{action}": {"post": {
        "summary": "Answer a device's hold (the holder only)",
        "description": "send, skip, pause, resume; edit and insert take `rpc`, a codec "
                       "RPC the ACS can send (e.g. `rpc.GetParameterValues`).",
        "parameters": [_DEVICE, {"name": "action", "in": "path", "required": True,
                                 "schema": {"type": "string", "enum": list(STEP_ACTIONS)}}],
        "requestBody": _body({**_LEASE, "properties": {**_LEASE["properties"],
                                                       "rpc": {"type": "object"}}}),
        "responses": {"200": _answer("Done"), "400": _ERROR, "409": _CONFLICT}}},
}
