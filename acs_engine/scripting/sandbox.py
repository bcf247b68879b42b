"""The V8 sandbox that runs provision and virtual-parameter scripts.

mini-racer's Python callbacks are async-only, so nothing in a script calls back into Python:
the whole API (``declare``, ``clear``, ``commit``, ``ext``, ``log``, ``Date``, ``Math.random``)
lives in ``prelude.js`` and works over the device data injected as JSON. A run goes to the
end of the script or to a stop (a commit past ``commits_done``, an ``ext()`` or cron cache
miss) and reports what it declared; the engine syncs and runs the script again from the top
(GenieACS's replay model, see :mod:`acs_engine.scripting.model`).

Threading: one dedicated thread runs a private asyncio loop that owns the ``MiniRacer``; the
engine's loop hands runs to it, so V8 never blocks the engine. Runs are serialized. A run has
a time limit (the V8 execution is terminated) and the isolate a hard heap limit; a context that
hit the heap limit is thrown away and rebuilt, so one bad script never breaks the next run.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import secrets
import threading
from collections.abc import Coroutine
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, cast

from py_mini_racer import (
    JSEvalException,
    JSFunction,
    JSMappedObject,
    JSOOMException,
    JSParseException,
    JSTimeoutException,
    MiniRacer,
)

from acs_engine.scripting import convert
from acs_engine.scripting.ext import ext_call_from_key, run_extension
from acs_engine.scripting.model import ExtCall, ScriptFault, ScriptResult, ScriptRun
from acs_engine.scripting.schedule import device_hash, is_valid_cron

logger = logging.getLogger("fieldacs.scripting")

_T = TypeVar("_T")
_PARAMS = "args,declare,clear,commit,ext,log"
_URL_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]")
#: Time allowed for the sandbox's own work (loading data, compiling), in seconds.
_INTERNAL_TIMEOUT_S = 5.0
#: Time limit of a script's first run in a V8 context, ms (see Sandbox._run_worker).
COLD_RUN_MS = 1000
#: Distinct scripts compiled into one V8 context before it is rebuilt. Every edit of a
#: provision or virtual parameter is a new script; without a bound the compiled functions
#: (and ``_Engine._compiled``/``warm``) would grow for the engine's lifetime. Must stay below
#: prelude.js's own limit (2,000), past which it forgets scripts this side thinks compiled.
MAX_COMPILED_SCRIPTS = 500


#: The prelude's source files, joined in this order into one function (split by concern).
PRELUDE_PARTS = ("prelude.js", "prelude_run.js")


def _prelude_source() -> str:
    folder = resources.files("acs_engine.scripting")
    return "".join(folder.joinpath(name).read_text("utf-8") for name in PRELUDE_PARTS)


def _js_string(text: str) -> str:
    """A JavaScript string literal for ``text`` (JSON with ASCII escapes is valid JS)."""
    return json.dumps(text)


class _ContextPoisoned(Exception):
    """The V8 context hit its heap limit and must be rebuilt."""


class _Engine:
    """One MiniRacer and the prelude inside it. Lives on the sandbox's worker loop only."""

    def __init__(self, memory_limit_bytes: int, prelude: str) -> None:
        self._mr = MiniRacer()
        self._mr.set_hard_memory_limit(memory_limit_bytes)
        self._nonce = secrets.token_hex(16)
        install = cast(JSFunction, self._mr.eval(prelude))
        # ArrayBuffer memory is outside the heap limit: a run may allocate a quarter of it.
        self._inbox = cast(JSMappedObject, install(self._nonce, memory_limit_bytes // 4))
        self._compiled: set[str] = set()
        self._data_json: str | None = None
        self._data_key: str | int | None = None
        #: The data mapping inside V8, kept (by reference) for keyed runs: the next keyed
        #: run sends only the entries that are not the same objects (see :meth:`load`).
        self._data: dict[str, dict[str, Any]] | None = None
        #: Scripts that have run once in this context (their later runs get the plain limit).
        self.warm: set[str] = set()

    def close(self) -> None:
        self._mr.close()

    async def _eval(self, code: str, timeout_s: float) -> Any:
        try:
            return await asyncio.wait_for(self._mr.eval_cancelable(code), timeout_s)
        except JSOOMException as exc:
            raise _ContextPoisoned from exc
        except (TimeoutError, JSTimeoutException):
            if self._mr.was_hard_memory_limit_reached():
                raise _ContextPoisoned from None
            raise

    def _call(self, method: str, **inputs: str) -> str:
        """Put ``inputs`` into the inbox and return the (constant) code calling ``method``.

        Large strings travel as V8 string values, not as source text: unique source would be
        compiled and kept in V8's compilation cache on every run.
        """
        for name, value in inputs.items():
            self._inbox[name] = value
        return f"__fieldacs__.{method}({_js_string(self._nonce)})"

    async def check(self, source: str) -> ScriptFault | None:
        """Compile-only check; returns a ``script.SyntaxError`` (or similar) fault or None."""
        error = await self._eval(self._call("check", source=source), _INTERNAL_TIMEOUT_S)
        if error is None:
            return None
        # Locate the error: V8 reports parse errors with line and caret before running
        # anything; the leading `throw` stops a text that somehow parses from executing.
        prefix = f'throw null;(function({_PARAMS}){{"use strict";'
        try:
            await self._eval(prefix + source + "\n})", _INTERNAL_TIMEOUT_S)
        except JSParseException as exc:
            return convert.syntax_fault(str(exc), len(prefix), source)
        except JSEvalException:
            pass
        msg = str(error)
        return ScriptFault(
            "script.SyntaxError",
            msg,
            {"name": "SyntaxError", "message": msg, "stack": f"SyntaxError: {msg}"},
        )

    async def compile(self, script_id: str, name: str, source: str) -> ScriptFault | None:
        """Compile a script once; later runs of the same id reuse the function."""
        if script_id in self._compiled:
            return None
        fault = await self.check(source)
        if fault is not None:
            return fault
        url = (_URL_UNSAFE.sub("_", name) or "script")[:100]
        head = f"__fieldacs__.compile({_js_string(self._nonce)},{_js_string(script_id)},{_js_string(url)},"
        fn_prefix = f'function({_PARAMS}){{"use strict";'
        # Everything in front of the script stays on line 1 so V8's line numbers are the
        # script's own; the column shift on line 1 is passed along (space-padded to a fixed
        # width) so stack traces can be corrected.
        prefix_len = len(head) + 7 + len(fn_prefix)
        code = f"{head}{prefix_len:>6},{fn_prefix}{source}\n}})\n//# sourceURL={url}"
        try:
            await self._eval(code, _INTERNAL_TIMEOUT_S)
        except JSParseException as exc:
            return convert.syntax_fault(str(exc), prefix_len, source)
        self._compiled.add(script_id)
        return None

    async def settle(self, timeout_s: float) -> None:
        """Wait until jobs queued by the last run are done (raises TimeoutError if not).

        A job that hit the heap limit is stopped by V8 without an error reaching this eval:
        the limit flag tells, and the context is reported poisoned (charged to the run that
        queued the job, never to the next script).
        """
        await self._eval("0", timeout_s)
        if self.poisoned():
            raise _ContextPoisoned

    def poisoned(self) -> bool:
        """Whether the isolate has hit its heap limit (the context must be rebuilt)."""
        return bool(self._mr.was_hard_memory_limit_reached())

    async def load(self, run: ScriptRun) -> None:
        """Inject the device data unless the same data is already loaded.

        A keyed run (``data_key`` set) after another keyed run sends V8 only what changed:
        entries that are not the very objects loaded before, and deleted keys. That patch
        is applied by the next :meth:`run` call itself (no round trip of its own); when
        about half the entries changed the data is loaded whole instead.
        """
        if run.data_key is not None and run.data_key == self._data_key and (
            self._data_json is not None or self._data is not None
        ):
            return
        if run.data_key is not None and self._data is not None:
            delta = _delta(self._data, run.data)
            if delta is not None:
                if delta:
                    self._inbox["patch"] = delta
                self._data = run.data
                self._data_json = None
                self._data_key = run.data_key
                return
        data_json = json.dumps(run.data, separators=(",", ":"), default=str)
        if data_json != self._data_json:
            self._data_json = None
            self._data = None
            await self._eval(self._call("load", data=data_json), _INTERNAL_TIMEOUT_S)
            self._data_json = data_json
        self._data = run.data if run.data_key is not None else None
        self._data_key = run.data_key

    async def run(self, run: ScriptRun, script_id: str, timeout_s: float) -> dict[str, Any]:
        """Execute one run; returns the prelude's JSON result as a dict."""
        ext_entries = []
        for key, value in run.ext_cache.items():
            call = ext_call_from_key(key)
            if call is not None:
                ext_entries.append([[call.file, call.fn, *call.args], value])
        payload = {
            "id": script_id,
            "name": run.name,
            "args": run.args,
            "now": int(run.session_timestamp),
            "hash": device_hash(run.device_id),
            "deviceId": run.device_id,
            "commitsDone": int(run.commits_done),
            "ext": ext_entries,
            "cron": {str(k): int(v) for k, v in run.cron_cache.items()},
            "vparam": bool(run.is_virtual_parameter),
        }
        text = await self._eval(
            self._call("run", payload=json.dumps(payload, default=str)), timeout_s
        )
        return cast(dict[str, Any], json.loads(str(text)))


_MISSING = object()


def _delta(old: dict[str, dict[str, Any]], new: dict[str, dict[str, Any]]) -> str | None:
    """What turns ``old`` into ``new`` as the prelude's patch JSON ("" when nothing).

    An entry counts as unchanged only when it is the same object (keyed data is replaced
    entry by entry, never changed in place). None when about half the entries changed:
    loading the data whole is then cheaper.
    """
    if old is new:
        return ""
    changed: dict[str, dict[str, Any]] = {}
    limit = len(new) // 2 + 16
    added = 0
    for key, entry in new.items():
        before = old.get(key, _MISSING)
        if before is entry:
            continue
        if before is _MISSING:
            added += 1
        changed[key] = entry
        if len(changed) > limit:
            return None
    deleted = [key for key in old if key not in new] if len(new) - added != len(old) else []
    if not changed and not deleted:
        return ""
    return json.dumps({"set": changed, "del": deleted}, separators=(",", ":"), default=str)


def _script_id(name: str, source: str) -> str:
    return hashlib.sha256(f"{name}\0{source}".encode()).hexdigest()[:32]


class Sandbox:
    """Runs provision and virtual-parameter scripts in V8 (see the module docstring).

    Args:
        timeout_ms: time limit of one run.
        memory_limit_mb: hard heap limit of the V8 isolate.
        ext_dir: folder of ``ext()`` extension files (``<file>.py``); None disables ``ext``.
        ext_timeout_ms: time limit of one extension call.
    """

    def __init__(
        self,
        *,
        timeout_ms: int = 50,
        memory_limit_mb: int = 64,
        ext_dir: Path | None = None,
        ext_timeout_ms: int = 3000,
    ) -> None:
        self.timeout_ms = timeout_ms
        self.memory_limit_mb = memory_limit_mb
        self.ext_dir = ext_dir
        self.ext_timeout_ms = ext_timeout_ms
        self._prelude = _prelude_source()
        self._engine: _Engine | None = None
        self._lock: asyncio.Lock | None = None
        self._closed = False
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, name="fieldacs-v8", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def _submit(self, coro: Coroutine[Any, Any, _T]) -> asyncio.Future[_T]:
        if self._closed:
            coro.close()
            raise RuntimeError("Sandbox is closed")
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self._loop))

    # ---- worker-loop side -------------------------------------------------------------------
    def _get_engine(self) -> _Engine:
        if self._engine is None:
            self._engine = _Engine(self.memory_limit_mb * 1024 * 1024, self._prelude)
        return self._engine

    def _discard_engine(self, *, after_reply: bool = False) -> None:
        """Drop the current context. With ``after_reply`` it is closed only once the run's
        result has been handed back: closing waits for V8 to stop, and a built-in that does
        not check for termination (a sort with a native comparator, say) may still be busy;
        the run that overran is answered at its limit, and the next run starts after."""
        engine, self._engine = self._engine, None
        if engine is None:
            return
        if after_reply:
            self._loop.create_task(self._close_soon(engine))
            return
        self._close_engine(engine)

    @staticmethod
    def _close_engine(engine: _Engine) -> None:
        try:
            engine.close()
        except Exception:  # closing a broken context must not fail the run
            logger.exception("closing a V8 context failed")

    async def _close_soon(self, engine: _Engine) -> None:
        async with self._guarded_lock():  # after the reply; before the next run's context
            await asyncio.sleep(0)
            self._close_engine(engine)

    def _guarded_lock(self) -> asyncio.Lock:
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    def _fault_for_limit(self, kind: str) -> ScriptFault:
        if kind == "timeout":
            msg = f"Script execution timed out after {self.timeout_ms} ms"
            name = "TimeoutError"
        else:
            msg = f"Script exceeded the memory limit of {self.memory_limit_mb} MB"
            name = "MemoryError"
        return ScriptFault(
            f"script.{name}", msg, {"name": name, "message": msg, "stack": f"{name}: {msg}"}
        )

    async def _run_worker(self, run: ScriptRun) -> ScriptResult:
        async with self._guarded_lock():
            script_id = _script_id(run.name, run.source)
            try:
                engine = self._get_engine()
                if engine.poisoned() or (
                    script_id not in engine._compiled
                    and len(engine._compiled) >= MAX_COMPILED_SCRIPTS
                ):
                    self._discard_engine()
                    engine = self._get_engine()
                fault = await engine.compile(script_id, run.name, run.source)
                if fault is not None:
                    return convert.empty_result(fault)
                await engine.load(run)
                # A script's first run in a context also pays for V8's lazy compilation and
                # warm-up (tens of ms on a busy laptop): it gets COLD_RUN_MS, later runs the
                # configured limit.
                limit_ms = (
                    self.timeout_ms if script_id in engine.warm
                    else max(self.timeout_ms, COLD_RUN_MS)
                )
                raw = await engine.run(run, script_id, limit_ms / 1000)
                # Promise jobs a script queued run after its result is delivered, outside
                # any cancelable task; a runaway one would hang the isolate for good. Make
                # sure the isolate is idle again (closing the context stops such a job).
                await engine.settle(limit_ms / 1000)
                engine.warm.add(script_id)
            except _ContextPoisoned:
                logger.warning(
                    "script %r hit the memory limit; rebuilding the V8 context", run.name
                )
                self._discard_engine(after_reply=True)
                return convert.empty_result(self._fault_for_limit("memory"))
            except (TimeoutError, JSTimeoutException):
                logger.warning("script %r timed out after %d ms", run.name, self.timeout_ms)
                # The context is usable after a terminated run, but not after a runaway
                # promise job; rebuilding costs a few ms and covers both.
                self._discard_engine(after_reply=True)
                return convert.empty_result(self._fault_for_limit("timeout"))
            except JSEvalException as exc:
                # Not a script error (those are caught in JS): the sandbox itself broke.
                logger.exception("sandbox failure running %r; rebuilding the V8 context", run.name)
                self._discard_engine()
                msg = f"Sandbox failure: {exc}"
                return convert.empty_result(
                    ScriptFault("script.Error", msg, {"name": "Error", "message": msg, "stack": ""})
                )
        result = convert.script_result(raw)
        for key in result.cron_needed:
            if not is_valid_cron(key):
                expr = key.partition("|")[0]
                msg = f"Invalid cron expression: {expr}"
                return convert.empty_result(
                    ScriptFault(
                        "script.Error",
                        msg,
                        {"name": "Error", "message": msg, "stack": f"Error: {msg}"},
                    )
                )
        return result

    async def _check_worker(self, source: str) -> ScriptFault | None:
        async with self._guarded_lock():
            try:
                return await self._get_engine().check(source)
            except (_ContextPoisoned, TimeoutError, JSEvalException):
                self._discard_engine()
                msg = "The script could not be checked"
                return ScriptFault(
                    "script.Error", msg, {"name": "Error", "message": msg, "stack": ""}
                )

    async def _close_worker(self) -> None:
        async with self._guarded_lock():
            self._discard_engine()

    # ---- public API ---------------------------------------------------------------------------
    async def run(self, run: ScriptRun) -> ScriptResult:
        """Run a script once (one replay pass); see :class:`ScriptRun` / :class:`ScriptResult`."""
        return await self._submit(self._run_worker(run))

    async def run_ext(self, call: ExtCall) -> Any | ScriptFault:
        """Run one extension call in a child process (see :mod:`acs_engine.scripting.ext`)."""
        return await run_extension(self.ext_dir, call, self.ext_timeout_ms)

    def check_syntax(self, source: str) -> ScriptFault | None:
        """Compile a script without running it (for the console's editor).

        Blocks the calling thread until V8 answers (a compile takes well under a
        millisecond, but waits for a run in progress). Do not call it from inside a script
        run.

        Returns:
            None when the script compiles, else a fault whose detail has ``line`` and
            ``column`` (1-based) when V8 reports them.
        """
        future = asyncio.run_coroutine_threadsafe(self._check_worker(source), self._loop)
        return future.result(timeout=_INTERNAL_TIMEOUT_S * 4)

    async def close(self) -> None:
        """Release the V8 context and stop the worker thread. Idempotent."""
        if self._closed:
            return
        await self._submit(self._close_worker())
        self._closed = True
        self._loop.call_soon_threadsafe(self._loop.stop)
        await asyncio.to_thread(self._thread.join)
        self._loop.close()
