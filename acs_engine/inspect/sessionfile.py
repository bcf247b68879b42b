"""Session files: one CWMP session (live, stored, captured or proxied) as one versioned file.

A session file is UTF-8 JSON (format in docs/session-files.md)::

    {"format": "fieldacs-session", "version": 1, "fieldacs_version": "0.1.0",
     "saved_at": "2026-12-07T06:00:00Z", "source": "stored", "secrets_masked": true,
     "session": {"id": ..., "device_id": ..., "started": 1765087200.123, ...},
     "messages": [{"at": ..., "direction": "in", "rpc": "Inform", "cwmp_id": "1",
                   "status": null, "headers": [["Content-Type", "text/xml"]],
                   "body": "<soap:Envelope ...", "body_encoding": "utf-8"}, ...]}

:func:`dumps` writes one (secrets masked unless ``include_secrets``), :func:`loads` reads one
back and checks every field: a file that is not a session file, is too large, too deep,
truncated or forged raises :class:`SessionFileError` with what is wrong and where, and never
half-loads. Reading a version newer than :data:`FORMAT_VERSION` is refused with a clear
message rather than guessed at.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from acs_engine import __version__
from acs_engine.secrets import MASK, mask_soap

FORMAT = "fieldacs-session"
#: The format version this code writes (and the newest it reads).
FORMAT_VERSION = 1
#: A session file larger than this is refused (the engine's trace cap is far below).
MAX_FILE_BYTES = 64 * 1024 * 1024
#: Messages per session (the engine keeps at most 2000 per trace).
MAX_MESSAGES = 5000
#: Headers per message, and the longest header name/value kept.
MAX_HEADERS = 200
MAX_HEADER_CHARS = 16 * 1024
#: The longest text field (ids, event codes, outcome detail).
MAX_TEXT = 4096
#: Where a session came from.
SOURCES = ("live", "stored", "capture", "proxy", "file")
DIRECTIONS = ("in", "out")

_DIGEST_RESPONSE_RE = re.compile(r'(\bresponse\s*=\s*"?)([^",\s]*)', re.IGNORECASE)


class SessionFileError(ValueError):
    """A session file that cannot be read: what is wrong, and where."""


@dataclass(frozen=True, slots=True)
class Message:
    """One HTTP message of a session.

    Attributes:
        at: when it was sent or received (seconds since the epoch).
        direction: "in" (the CPE's POST) or "out" (the ACS's answer).
        rpc: the SOAP method in the body ("" for an empty body).
        cwmp_id: the ``cwmp:ID`` header, or None.
        status: the HTTP status of an answer; None for a CPE's POST.
        headers: the HTTP headers, in order.
        body: the raw body.
    """

    at: float
    direction: str
    rpc: str
    cwmp_id: str | None
    status: int | None
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (any case), or None."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None


@dataclass(frozen=True, slots=True)
class SessionFile:
    """One session and what the file says about it.

    Attributes:
        session_id: the session's id ("" when unknown, as in a capture).
        device_id: the device's id ("" when unknown).
        started: its first message's time (seconds since the epoch).
        ended: when it ended, or None.
        outcome: "ok", "timeout", "fault", "aborted", "error", or "" when unknown.
        detail: why it ended that way.
        remote: the CPE's address.
        events: the Inform's event codes.
        cwmp_version: the CWMP version the CPE declared ("1.0" ... "1.4", "" unknown).
        messages: its HTTP messages in order.
        source: "live", "stored", "capture", "proxy" or "file".
        secrets_masked: True when secrets were masked when saving.
        fieldacs_version: the FieldACS that wrote the file.
        saved_at: when it was written (ISO 8601 UTC), "" before saving.
        notes: free text (where a capture came from, what was dropped).
    """

    session_id: str
    device_id: str
    started: float
    messages: tuple[Message, ...]
    ended: float | None = None
    outcome: str = ""
    detail: str = ""
    remote: str = ""
    events: tuple[str, ...] = ()
    cwmp_version: str = ""
    source: str = "stored"
    secrets_masked: bool = False
    fieldacs_version: str = __version__
    saved_at: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def masked(self) -> SessionFile:
        """This session with secrets masked: secret parameter values and element contents in
        the bodies (:func:`acs_engine.secrets.mask_soap`) and credentials in the headers."""
        if self.secrets_masked:
            return self
        messages = tuple(
            replace(m, headers=mask_headers(m.headers), body=mask_soap(m.body))
            for m in self.messages
        )
        return replace(self, messages=messages, secrets_masked=True)


def mask_header(name: str, value: str) -> str:
    """A header value with credentials masked: Basic and Bearer keep only their scheme, Digest
    keeps its fields but not its ``response`` hash (which would allow guessing the password)."""
    if name.lower() not in ("authorization", "proxy-authorization"):
        return value
    scheme = value.strip().split(" ", 1)[0]
    if scheme.lower() == "digest":
        return _DIGEST_RESPONSE_RE.sub(lambda m: m.group(1) + MASK, value)
    return f"{scheme} {MASK}".strip()


def mask_headers(headers: Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """All of ``headers`` with :func:`mask_header` applied."""
    return tuple((name, mask_header(name, value)) for name, value in headers)


# ----------------------------------------------------------------------------- writing
def _body_json(body: bytes) -> tuple[str, str]:
    try:
        return body.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), "base64"


def to_json(session: SessionFile, *, include_secrets: bool = False) -> dict[str, Any]:
    """The JSON object of ``session`` (masked unless ``include_secrets``)."""
    if not include_secrets:
        session = session.masked()
    messages = []
    for m in session.messages:
        text, encoding = _body_json(m.body)
        messages.append({
            "at": m.at, "direction": m.direction, "rpc": m.rpc, "cwmp_id": m.cwmp_id,
            "status": m.status, "headers": [list(h) for h in m.headers],
            "body": text, "body_encoding": encoding,
        })
    return {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "fieldacs_version": __version__,
        "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "source": session.source,
        "secrets_masked": session.secrets_masked,
        "session": {
            "id": session.session_id, "device_id": session.device_id,
            "started": session.started, "ended": session.ended, "outcome": session.outcome,
            "detail": session.detail, "remote": session.remote,
            "events": list(session.events), "cwmp_version": session.cwmp_version,
            "notes": list(session.notes),
        },
        "messages": messages,
    }


def dumps(session: SessionFile, *, include_secrets: bool = False) -> bytes:
    """The session file's bytes (see :func:`to_json`)."""
    return json.dumps(to_json(session, include_secrets=include_secrets), indent=1,
                      ensure_ascii=False).encode("utf-8")


def save(path: Path, session: SessionFile, *, include_secrets: bool = False) -> None:
    """Write ``session`` to ``path`` atomically (a temporary file, then a rename)."""
    data = dumps(session, include_secrets=include_secrets)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)


# ----------------------------------------------------------------------------- reading
def _need(cond: bool, where: str, what: str) -> None:
    if not cond:
        raise SessionFileError(f"{where}: {what}")


def _text(obj: Mapping[str, Any], key: str, where: str, *, optional: bool = False,
          limit: int = MAX_TEXT) -> str:
    value = obj.get(key)
    if value is None and optional:
        return ""
    if not isinstance(value, str):
        raise SessionFileError(f"{where}.{key}: must be a string")
    _need(len(value) <= limit, f"{where}.{key}", f"longer than {limit} characters")
    return value


def _number(obj: Mapping[str, Any], key: str, where: str, *, optional: bool = False
            ) -> float | None:
    value = obj.get(key)
    if value is None and optional:
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value < 1e11:
        raise SessionFileError(f"{where}.{key}: must be a time in seconds since 1970")
    return float(value)


def _message(raw: Any, where: str) -> Message:
    _need(isinstance(raw, dict), where, "must be an object")
    direction = _text(raw, "direction", where)
    _need(direction in DIRECTIONS, f"{where}.direction", 'must be "in" or "out"')
    status = raw.get("status")
    if status is not None:
        _need(isinstance(status, int) and not isinstance(status, bool)
              and 100 <= status <= 599, f"{where}.status", "must be an HTTP status or null")
    cwmp_id = raw.get("cwmp_id")
    _need(cwmp_id is None or (isinstance(cwmp_id, str) and len(cwmp_id) <= MAX_TEXT),
          f"{where}.cwmp_id", "must be a string or null")
    headers_raw = raw.get("headers", [])
    _need(isinstance(headers_raw, list), f"{where}.headers", "must be a list")
    _need(len(headers_raw) <= MAX_HEADERS, f"{where}.headers",
          f"more than {MAX_HEADERS} headers")
    headers: list[tuple[str, str]] = []
    for i, pair in enumerate(headers_raw):
        ok = (isinstance(pair, list) and len(pair) == 2
              and all(isinstance(p, str) and len(p) <= MAX_HEADER_CHARS for p in pair))
        _need(ok, f"{where}.headers[{i}]", "must be [name, value] strings")
        _need(all("\r" not in p and "\n" not in p for p in pair), f"{where}.headers[{i}]",
              "contains a line break")
        headers.append((pair[0], pair[1]))
    body_text = raw.get("body", "")
    _need(isinstance(body_text, str), f"{where}.body", "must be a string")
    encoding = raw.get("body_encoding", "utf-8")
    if encoding == "utf-8":
        body = body_text.encode("utf-8", "surrogatepass")
    elif encoding == "base64":
        try:
            body = base64.b64decode(body_text, validate=True)
        except (binascii.Error, ValueError):
            raise SessionFileError(f"{where}.body: not valid base64") from None
    else:
        raise SessionFileError(f'{where}.body_encoding: must be "utf-8" or "base64"')
    at = _number(raw, "at", where)
    assert at is not None
    return Message(at, direction, _text(raw, "rpc", where, optional=True, limit=256),
                   cwmp_id, status, tuple(headers), body)


def from_json(doc: Any) -> SessionFile:
    """The session a parsed session file describes; raises :class:`SessionFileError`."""
    _need(isinstance(doc, dict), "file", "is not a JSON object")
    _need(doc.get("format") == FORMAT, "format", f'is not "{FORMAT}": not a session file')
    version = doc.get("version")
    _need(isinstance(version, int) and not isinstance(version, bool) and version >= 1,
          "version", "must be a positive integer")
    if version > FORMAT_VERSION:
        raise SessionFileError(
            f"version: the file is format version {version}, written by FieldACS "
            f"{doc.get('fieldacs_version', '?')}; this FieldACS reads up to version "
            f"{FORMAT_VERSION}: update FieldACS to open it"
        )
    source = _text(doc, "source", "file", optional=True) or "file"
    _need(source in SOURCES, "source", f"must be one of {', '.join(SOURCES)}")
    masked = doc.get("secrets_masked", False)
    _need(isinstance(masked, bool), "secrets_masked", "must be true or false")
    info = doc.get("session")
    _need(isinstance(info, dict), "session", "must be an object")
    events = info.get("events", [])
    _need(isinstance(events, list) and len(events) <= 256
          and all(isinstance(e, str) and len(e) <= 256 for e in events),
          "session.events", "must be a list of event codes")
    notes = info.get("notes", [])
    _need(isinstance(notes, list) and len(notes) <= 256
          and all(isinstance(n, str) and len(n) <= MAX_TEXT for n in notes),
          "session.notes", "must be a list of strings")
    raw_messages = doc.get("messages")
    _need(isinstance(raw_messages, list), "messages", "must be a list")
    _need(len(raw_messages) <= MAX_MESSAGES, "messages",
          f"more than {MAX_MESSAGES} messages")
    messages = tuple(_message(m, f"messages[{i}]") for i, m in enumerate(raw_messages))
    started = _number(info, "started", "session", optional=True)
    if started is None:
        started = messages[0].at if messages else 0.0
    return SessionFile(
        session_id=_text(info, "id", "session", optional=True),
        device_id=_text(info, "device_id", "session", optional=True),
        started=started,
        ended=_number(info, "ended", "session", optional=True),
        outcome=_text(info, "outcome", "session", optional=True, limit=64),
        detail=_text(info, "detail", "session", optional=True),
        remote=_text(info, "remote", "session", optional=True, limit=256),
        events=tuple(events),
        cwmp_version=_text(info, "cwmp_version", "session", optional=True, limit=16),
        messages=messages,
        source=source,
        secrets_masked=masked,
        fieldacs_version=_text(doc, "fieldacs_version", "file", optional=True, limit=64),
        saved_at=_text(doc, "saved_at", "file", optional=True, limit=64),
        notes=tuple(notes),
    )


def loads(data: bytes | str) -> SessionFile:
    """Read a session file's bytes; raises :class:`SessionFileError` on anything wrong."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if len(data) > MAX_FILE_BYTES:
        raise SessionFileError(
            f"file: {len(data):,} bytes, more than the {MAX_FILE_BYTES:,} a session file may be"
        )
    try:
        doc = json.loads(data)
    except RecursionError:
        raise SessionFileError("file: nested too deeply to be a session file") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SessionFileError(f"file: not JSON (truncated or damaged?): {exc}") from None
    return from_json(doc)


def load(path: Path) -> SessionFile:
    """Read the session file at ``path``; raises :class:`SessionFileError` (or OSError)."""
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise SessionFileError(
            f"file: {size:,} bytes, more than the {MAX_FILE_BYTES:,} a session file may be"
        )
    return loads(path.read_bytes())


def from_messages(
    messages: Sequence[Message], *, source: str, session_id: str = "", device_id: str = "",
    **info: Any,
) -> SessionFile:
    """A session from its messages (``started`` defaults to the first message's time)."""
    started = info.pop("started", messages[0].at if messages else 0.0)
    return SessionFile(session_id=session_id, device_id=device_id, started=started,
                       messages=tuple(messages), source=source, **info)
