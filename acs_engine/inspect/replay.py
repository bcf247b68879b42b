"""Replay a session file against an engine: the CPE's recorded messages, the engine's new RPCs.

:class:`Replayer` plays the CPE of a recorded session: it POSTs the recorded Inform, then
answers each RPC the engine sends with the CPE's recorded answer to the RPC recorded at that
point (its ``cwmp:ID`` rewritten to the new request's), sends the CPE's own recorded requests
(TransferComplete, ...) where they came, and its empty POSTs. Each ACS message is compared
with the recorded one at the same step; the first that differs stops the replay and says
where (:class:`ReplayResult`). A technician can so try a preset or provision change on the
same CPE behaviour, offline, and see the new RPCs beside the old ones.

:func:`replay_offline` runs it against a throw-away engine on 127.0.0.1 whose database is a
copy of a given one (SQLite's backup API, safe while that database is in use), so that the
real database is never changed.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from acs_engine.cwmp import codec
from acs_engine.cwmp.errors import CwmpParseError
from acs_engine.inspect.sessionfile import Message, SessionFile
from acs_engine.secrets import mask_soap

_ID_RE = re.compile(rb"(<(?:[\w.-]+:)?ID\b[^>]*>)(.*?)(</(?:[\w.-]+:)?ID\s*>)", re.S)
#: Steps replayed at most (a recording is at most 5000 messages).
MAX_STEPS = 5000


@dataclass(frozen=True, slots=True)
class Step:
    """One ACS message of the replay beside the recorded one.

    Attributes:
        index: the step (0: the answer to the Inform).
        recorded: the recorded ACS message's RPC ("" for an empty answer), with its status.
        replayed: what the engine sent now.
        same: whether they match (method and arguments; the cwmp:ID aside).
        detail: how they differ.
    """

    index: int
    recorded: str
    replayed: str
    same: bool
    detail: str = ""


@dataclass(slots=True)
class ReplayResult:
    """How a replay went: the steps side by side, and where it stopped."""

    steps: list[Step] = field(default_factory=list)
    diverged_at: int | None = None
    error: str = ""

    @property
    def ok(self) -> bool:
        """True when every ACS message matched the recording to its end."""
        return self.diverged_at is None and not self.error

    def summary(self) -> str:
        """One line: matched to the end, or where it diverged."""
        if self.error:
            return f"replay stopped: {self.error}"
        if self.diverged_at is None:
            return f"the engine sent the same {len(self.steps)} message(s) as recorded"
        step = self.steps[self.diverged_at]
        return (f"diverged at step {step.index + 1}: recorded {step.recorded}, "
                f"now {step.replayed}" + (f" ({step.detail})" if step.detail else ""))


def _describe(message: Message | None, status: int | None = None, body: bytes = b"") -> str:
    if message is not None:
        status, body, method = message.status, message.body, message.rpc
    else:
        method = _method(body)
    what = method or ("(empty: session ends)" if status in (200, 204) else "(empty)")
    return f"{what} [HTTP {status}]" if status not in (200, None) else what


def _method(body: bytes) -> str:
    try:
        env = codec.parse(body)
    except CwmpParseError:
        return "(unreadable)"
    return env.message.METHOD if env is not None else ""


def _decoded(body: bytes) -> object:
    try:
        env = codec.parse(body)
    except CwmpParseError:
        return body
    return env.message if env is not None else None


def _with_id(body: bytes, cwmp_id: str | None) -> bytes:
    if cwmp_id is None:
        return body
    return _ID_RE.sub(lambda m: m.group(1) + cwmp_id.encode() + m.group(3), body, count=1)


class Replayer:
    """Plays a recorded session's CPE against an ACS URL (see the module)."""

    def __init__(self, session: SessionFile) -> None:
        """Replay ``session`` (its CPE messages; the ACS's are the reference)."""
        self.session = session
        self.messages = list(session.messages)

    def _script(self) -> list[tuple[Message, Message | None]]:
        """(CPE message, the ACS's recorded answer) in order; 401 exchanges left out."""
        pairs: list[tuple[Message, Message | None]] = []
        pending: Message | None = None
        for m in self.messages:
            if m.direction == "in":
                if pending is not None:
                    pairs.append((pending, None))
                pending = m
            elif pending is not None:
                if m.status != 401:
                    pairs.append((pending, m))
                pending = None
        if pending is not None:
            pairs.append((pending, None))
        return pairs[:MAX_STEPS]

    async def run(self, url: str) -> ReplayResult:
        """Replay against ``url``; never raises for what the engine answers."""
        result = ReplayResult()
        script = self._script()
        if not script or script[0][0].rpc != "Inform":
            result.error = "the recording does not start with an Inform"
            return result
        jar = aiohttp.CookieJar(unsafe=True)
        connector = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(cookie_jar=jar, connector=connector) as http:
            acs_id: str | None = None
            for index, (cpe, recorded) in enumerate(script):
                body = cpe.body
                if cpe.rpc.endswith("Response") or cpe.rpc == "Fault":
                    body = _with_id(body, acs_id)
                headers = {k: v for k, v in cpe.headers if k.lower() in (
                    "content-type", "soapaction", "content-encoding")}
                try:
                    async with http.post(url, data=body, headers=headers,
                                         skip_auto_headers=("Content-Type",)) as resp:
                        status, answer = resp.status, await resp.read()
                except aiohttp.ClientError as exc:
                    result.error = f"step {index + 1}: {exc}"
                    return result
                now = _describe(None, status, answer)
                if recorded is None:
                    result.steps.append(Step(index, "(no answer recorded)", now, False,
                                             "the recording ends here"))
                    result.diverged_at = index
                    return result
                # A file saved with secrets masked is compared masked (a derived password
                # reads "********" in the recording).
                after = _decoded(mask_soap(answer) if self.session.secrets_masked else answer)
                before = _decoded(recorded.body)
                same = (status == recorded.status or {status, recorded.status} <= {200, 204}) \
                    and before == after
                detail = "" if same else (
                    "other arguments" if recorded.rpc == _method(answer) and recorded.rpc
                    else "another message")
                result.steps.append(Step(index, _describe(recorded), now, same, detail))
                if not same:
                    result.diverged_at = index
                    return result
                try:
                    env = codec.parse(answer)
                except CwmpParseError:
                    env = None
                acs_id = env.cwmp_id if env is not None else None
        return result


def copy_database(source: Path, target: Path) -> None:
    """Copy a SQLite database with the backup API (consistent while it is in use)."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


async def replay_offline(session: SessionFile, database: Path | None = None,
                         **config: object) -> ReplayResult:
    """Replay ``session`` against a throw-away engine on 127.0.0.1 whose database is a copy
    of ``database`` (its presets, provisions and the device as stored; None: an empty one).
    ``config`` overrides :class:`~acs_engine.config.EngineConfig` fields."""
    from acs_engine.config import EngineConfig
    from acs_engine.server.controller import Engine

    with tempfile.TemporaryDirectory(prefix="fieldacs-replay-") as tmp:
        db = Path(tmp) / "replay.db"
        if database is not None:
            await asyncio.to_thread(copy_database, database, db)
        settings = {"db_path": db, "cwmp_host": "127.0.0.1", "cwmp_port": 0,
                    "fs_host": "127.0.0.1", "fs_port": 0, "nbi_enabled": False,
                    "fs_enabled": False, **config}
        engine = Engine(EngineConfig(**settings))  # type: ignore[arg-type]
        await engine.start()
        try:
            return await Replayer(session).run(engine.cwmp_urls()[-1])
        finally:
            await engine.stop()
