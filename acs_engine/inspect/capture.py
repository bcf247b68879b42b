"""CWMP sessions out of a pcap/pcapng capture, each one a session file.

The capture's TCP connections are reassembled (:mod:`acs_engine.inspect.tcpstream`), their
HTTP requests and responses read (:mod:`acs_engine.inspect.httpstream`) and paired in order
(CWMP never pipelines), then grouped into sessions the way FieldACS's server groups them: a
new Inform starts a session (the Inform repeated after a 401 challenge stays in its session);
any other POST belongs to the session whose cookie it carries, else to the session last seen
on its TCP connection. A POST that matches no session starts one marked "no Inform in the
capture".

HTTPS cannot be read: a connection whose client speaks TLS is counted and reported, never
guessed at. Nothing here raises on what a capture holds except :class:`CaptureError` for a
file that is not a capture at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from acs_engine.cwmp import codec, rpc
from acs_engine.cwmp.decode import local, parse_xml
from acs_engine.cwmp.errors import CwmpParseError
from acs_engine.inspect.httpstream import (
    HttpMessage,
    cookie_pairs,
    parse_stream,
    set_cookie_pairs,
)
from acs_engine.inspect.sessionfile import Message, SessionFile
from acs_engine.inspect.tcpstream import Capture, CaptureError, read_capture, reassemble
from acs_engine.store.deviceid import make_device_id

__all__ = ["CaptureError", "CaptureImport", "import_capture", "sessions_of"]

TLS_NOTE = ("{n} HTTPS (TLS) connection{s} cannot be decrypted: FieldACS reads only plain-HTTP "
            "CWMP from a capture. Capture with the CPE on http://, or on the plain side of a "
            "TLS terminator.")


@dataclass(slots=True)
class CaptureImport:
    """What a capture held.

    Attributes:
        sessions: the CWMP sessions, in the order they started.
        notes: what the user should know (HTTPS not decrypted, gaps, dropped data).
        connections: TCP connections seen; tls_connections: of them TLS.
        packets: packets read.
    """

    sessions: list[SessionFile]
    notes: list[str] = field(default_factory=list)
    connections: int = 0
    tls_connections: int = 0
    packets: int = 0


@dataclass(slots=True)
class _Exchange:
    connection: int
    client: str
    request: HttpMessage
    request_at: float
    response: HttpMessage | None
    response_at: float


@dataclass(slots=True)
class _Session:
    index: int
    connection: int
    client: str
    messages: list[Message] = field(default_factory=list)
    inform: rpc.Inform | None = None
    version: str = ""
    notes: list[str] = field(default_factory=list)
    last_status: int | None = None


def sniff(body: bytes) -> tuple[str, str | None, rpc.Message | None, str]:
    """(method, cwmp:ID, decoded message or None, CWMP version or "") of a body."""
    if not body.strip():
        return "", None, None, ""
    try:
        env = codec.parse(body)
    except CwmpParseError:
        try:
            root = parse_xml(body)
        except CwmpParseError:
            return "", None, None, ""
        for el in root.iter():
            if isinstance(el.tag, str) and local(el.tag) == "Body":
                child = next((c for c in el if isinstance(c.tag, str)), None)
                return (local(child.tag) if child is not None else ""), None, None, ""
        return "", None, None, ""
    if env is None:
        return "", None, None, ""
    try:
        version = codec.detect_version(env)
    except CwmpParseError:
        version = ""
    return env.message.METHOD, env.cwmp_id, env.message, version


def _exchanges(capture: Capture, notes: list[str]) -> tuple[list[_Exchange], int]:
    found: list[_Exchange] = []
    tls = 0
    for conn in capture.connections:
        client, server = conn.client_first()
        up, down = reassemble(client), reassemble(server)
        if up.data[:2] == b"\x16\x03" or down.data[:2] == b"\x16\x03":
            tls += 1
            continue
        where = f"connection {conn.index + 1} ({client.src[0]}:{client.src[1]} -> " \
                f"{client.dst[0]}:{client.dst[1]})"
        for stream, what in ((up, "requests"), (down, "responses")):
            if stream.gap:
                notes.append(f"{where}: {stream.gap:,} bytes of the {what} missing from the "
                             "capture; what follows the hole is left out")
        for d in (client, server):
            if d.dropped:
                notes.append(f"{where}: {d.dropped:,} bytes beyond the import limits dropped")
        if not up.data:
            continue
        requests = parse_stream(up.data, responses=False)
        responses = parse_stream(down.data, responses=True, closed=server.fin or client.fin)
        if requests and not requests[0].method and b"HTTP/1." not in up.data[:4096]:
            continue  # not HTTP at all: some other protocol on this connection
        for i, request in enumerate(requests):
            if not request.method:
                notes.append(f"{where}: {request.notes[0] if request.notes else 'unreadable'}")
                break
            response = responses[i] if i < len(responses) else None
            if response is not None and response.status is None:
                notes.append(f"{where}: {response.notes[0] if response.notes else 'bad reply'}")
                response = None
            for message in (request, response):
                if message is not None and not message.complete:
                    notes.append(f"{where}: a message is cut short ({', '.join(message.notes)})")
            found.append(_Exchange(
                conn.index, f"{client.src[0]}:{client.src[1]}", request,
                up.time_at(max(request.end - 1, request.start)), response,
                down.time_at(max(response.end - 1, response.start)) if response else 0.0))
    found.sort(key=lambda e: (e.request_at, e.connection))
    return found, tls


def _message(http: HttpMessage, at: float, direction: str) -> tuple[Message, rpc.Message | None,
                                                                     str]:
    method, cwmp_id, decoded, version = sniff(http.body)
    return (Message(at, direction, method, cwmp_id, http.status if direction == "out" else None,
                    http.headers, http.body), decoded, version)


def sessions_of(capture: Capture, name: str = "") -> CaptureImport:
    """Group a read capture's CWMP exchanges into sessions (see the module's rules)."""
    notes: list[str] = []
    exchanges, tls = _exchanges(capture, notes)
    sessions: list[_Session] = []
    by_cookie: dict[str, _Session] = {}
    by_connection: dict[int, _Session] = {}
    for ex in exchanges:
        request, decoded, version = _message(ex.request, ex.request_at, "in")
        cookies = cookie_pairs([ex.request.header("Cookie") or ""])
        found = next((by_cookie[c] for c in cookies if c in by_cookie), None)
        if found is None:
            found = by_connection.get(ex.connection)
        if isinstance(decoded, rpc.Inform):
            retry = (found is not None and found.last_status == 401
                     and found.connection == ex.connection)
            if found is None or not retry:
                found = _Session(len(sessions), ex.connection, ex.client)
                sessions.append(found)
            found.inform, found.version = decoded, version
        elif found is None:
            found = _Session(len(sessions), ex.connection, ex.client,
                             notes=["no Inform in the capture: the session began earlier"])
            sessions.append(found)
        current: _Session = found
        by_connection[ex.connection] = current
        for cookie in cookies:
            by_cookie[cookie] = current
        current.messages.append(request)
        if ex.response is not None:
            response, _, _ = _message(ex.response, max(ex.response_at, ex.request_at), "out")
            current.messages.append(response)
            current.last_status = ex.response.status
            for cookie in set_cookie_pairs(ex.response.headers):
                by_cookie[cookie] = current
        else:
            current.last_status = None
    out = CaptureImport([], notes, len(capture.connections), tls, capture.packets)
    if tls:
        out.notes.insert(0, TLS_NOTE.format(n=tls, s="s" if tls != 1 else ""))
    for session in sessions:
        out.sessions.append(_to_file(session, name))
    return out


def _to_file(session: _Session, name: str) -> SessionFile:
    inform = session.inform
    device = ""
    if inform is not None:
        d = inform.device_id
        device = make_device_id(d.oui, d.product_class, d.serial_number)
    last = session.messages[-1] if session.messages else None
    ended = last is not None and last.direction == "out" and last.status in (200, 204) and (
        not last.body.strip())
    notes = [f"imported from {name}" if name else "imported from a capture", *session.notes]
    return SessionFile(
        session_id=f"capture-{session.index + 1}", device_id=device,
        started=session.messages[0].at if session.messages else 0.0,
        messages=tuple(session.messages), ended=last.at if ended and last else None,
        outcome="ok" if ended else "", remote=session.client,
        events=tuple(e.code for e in inform.events) if inform else (),
        cwmp_version=session.version, source="capture", notes=tuple(notes),
    )


def import_capture(path: Path) -> CaptureImport:
    """Read a pcap/pcapng file and return its CWMP sessions.

    Raises:
        CaptureError: not a capture (or one this reader cannot read).
        OSError: the file cannot be read.
    """
    return sessions_of(read_capture(path), path.name)
