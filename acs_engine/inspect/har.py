"""HAR 1.2 export of a session file, for browser dev tools and HAR viewers.

In CWMP the CPE is the HTTP client: each of its POSTs ("in") is a HAR entry's request and the
ACS's answer that follows ("out") is that entry's response. A POST with no answer in the
session (the connection dropped) gets a response with status 0, as browsers record aborted
requests. Secrets are masked as in the session file unless asked otherwise.
"""

from __future__ import annotations

import base64
import http
import json
import time
from typing import Any

from acs_engine import __version__
from acs_engine.inspect.sessionfile import Message, SessionFile

HAR_VERSION = "1.2"


def _iso(at: float) -> str:
    ms = round(at * 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def _headers(message: Message) -> list[dict[str, str]]:
    return [{"name": n, "value": v} for n, v in message.headers]


def _cookies(message: Message, request: bool) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for name, value in message.headers:
        if request and name.lower() == "cookie":
            for part in value.replace(",", ";").split(";"):
                key, _, val = part.strip().partition("=")
                if key and key.lower() not in ("path", "domain", "$path", "$version"):
                    out.append({"name": key, "value": val})
        elif not request and name.lower() == "set-cookie":
            key, _, rest = value.partition("=")
            out.append({"name": key.strip(), "value": rest.split(";", 1)[0]})
    return out


def _text(body: bytes) -> tuple[str, str | None]:
    try:
        return body.decode("utf-8"), None
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), "base64"


def _url(message: Message) -> str:
    host = message.header("Host") or "acs"
    return f"http://{host}/"


def _entry(request: Message, response: Message | None) -> dict[str, Any]:
    req_type = request.header("Content-Type") or "text/xml"
    req_text, req_enc = _text(request.body)
    post: dict[str, Any] = {"mimeType": req_type, "text": req_text}
    if req_enc:
        post["encoding"] = req_enc  # not in HAR 1.2 for postData; viewers ignore it
    wait = 0.0
    if response is None:
        resp: dict[str, Any] = {
            "status": 0, "statusText": "no answer in this session", "httpVersion": "HTTP/1.1",
            "headers": [], "cookies": [], "content": {"size": 0, "mimeType": ""},
            "redirectURL": "", "headersSize": -1, "bodySize": -1,
        }
    else:
        wait = max(0.0, (response.at - request.at) * 1000.0)
        status = response.status or 200
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        text, enc = _text(response.body)
        content: dict[str, Any] = {
            "size": len(response.body), "mimeType": response.header("Content-Type") or "",
            "text": text,
        }
        if enc:
            content["encoding"] = enc
        resp = {
            "status": status, "statusText": phrase, "httpVersion": "HTTP/1.1",
            "headers": _headers(response), "cookies": _cookies(response, False),
            "content": content, "redirectURL": response.header("Location") or "",
            "headersSize": -1, "bodySize": len(response.body),
        }
    comment = request.rpc or "(empty POST)"
    if response is not None:
        comment += f" -> {response.rpc or '(empty)'}"
    return {
        "startedDateTime": _iso(request.at),
        "time": wait,
        "request": {
            "method": "POST", "url": _url(request), "httpVersion": "HTTP/1.1",
            "headers": _headers(request), "cookies": _cookies(request, True),
            "queryString": [], "postData": post, "headersSize": -1,
            "bodySize": len(request.body),
        },
        "response": resp,
        "cache": {},
        "timings": {"send": 0, "wait": wait, "receive": 0},
        "comment": comment,
    }


def to_har(session: SessionFile, *, include_secrets: bool = False) -> dict[str, Any]:
    """The HAR 1.2 log of ``session``."""
    if not include_secrets:
        session = session.masked()
    entries: list[dict[str, Any]] = []
    pending: Message | None = None
    for message in session.messages:
        if message.direction == "in":
            if pending is not None:
                entries.append(_entry(pending, None))
            pending = message
        elif pending is not None:
            entries.append(_entry(pending, message))
            pending = None
    if pending is not None:
        entries.append(_entry(pending, None))
    title = f"{session.device_id or 'CPE'} session {session.session_id}".strip()
    page_id = session.session_id or "session"
    return {
        "log": {
            "version": HAR_VERSION,
            "creator": {"name": "FieldACS", "version": __version__},
            "pages": [{
                "startedDateTime": _iso(session.started), "id": page_id, "title": title,
                "pageTimings": {},
            }],
            "entries": [dict(e, pageref=page_id) for e in entries],
            "comment": f"CWMP session, source: {session.source}; secrets "
                       f"{'masked' if session.secrets_masked else 'included'}",
        }
    }


def dumps_har(session: SessionFile, *, include_secrets: bool = False) -> bytes:
    """The HAR file's bytes."""
    return json.dumps(to_har(session, include_secrets=include_secrets), indent=1,
                      ensure_ascii=False).encode("utf-8")
