"""What goes into a sandbox run and what comes out of it.

A script run is one pass of GenieACS's replay model: the script starts from the top, every
``commit()`` it reaches (explicitly, or implicitly by reading a declared wrapper while
declarations are pending) increments a counter, and when the counter passes
``commits_done`` the run stops so the engine can sync. The engine then re-runs the script
with ``commits_done + 1`` and fresh ``data``. ``ext()`` and ``Date.now("<cron>")`` work the
same way: a cache miss stops the run and names what is needed; the engine fills the cache
and re-runs with the same ``commits_done``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from acs_engine.session.declarations import Clear, Declaration


@dataclass(frozen=True, slots=True)
class ExtCall:
    """One ``ext(file, fn, ...args)`` call; every part already converted to a string."""

    file: str
    fn: str
    args: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ScriptFault:
    """A fault raised by a script, an extension or the sandbox itself.

    Attributes:
        code: ``script.<ErrorName>``, ``script`` (a non-Error was thrown, or a virtual
            parameter returned something invalid), ``ext.<ErrorName>`` or ``timeout``.
        message: human-readable message.
        detail: ``{"name", "message", "stack"}`` for script errors; syntax errors add
            ``line`` and ``column`` (1-based).
    """

    code: str
    message: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class ScriptRun:
    """Everything one run of a provision or virtual-parameter script needs.

    Attributes:
        name: provision / virtual parameter name (used in stack traces and messages).
        source: the script text.
        args: the provision's argument list, or for a virtual parameter the four arguments
            ``[declaredAttrTimestamps, declaredAttrValues, currentAttrTimestamps,
            currentAttrValues]``.
        data: device data, path -> attributes (``value`` as ``[v, type]``, ``writable``,
            ``object``, ``notification``, ``accessList``); object paths end in ``.``.
        session_timestamp: the session timestamp in ms; ``Date.now()`` returns it.
        device_id: seeds ``Math.random`` and the per-device ``Date.now(interval)`` offset.
        commits_done: how many commits the engine has already synced (k).
        ext_cache: ``ext_key(call)`` -> the extension's JSON result.
        cron_cache: each key of an earlier ``ScriptResult.cron_needed`` ->
            ``cron_previous(key, session_timestamp)``.
        is_virtual_parameter: validate and convert the script's return value.
        data_key: optional. When set, a run whose ``data_key`` equals the previous run's
            reuses the data already inside V8 without serializing ``data`` again; change it
            whenever the data changes (e.g. a revision counter per replay round). When
            ``None`` the data is serialized and compared each run. Keyed data must be a new
            mapping per key whose changed entries are new objects (never an entry changed
            in place): V8 then receives only the entries that are not the same objects.
    """

    name: str
    source: str
    args: Any
    data: dict[str, dict[str, Any]]
    session_timestamp: int
    device_id: str
    commits_done: int = 0
    ext_cache: dict[str, Any] = field(default_factory=dict)
    cron_cache: dict[str, int] = field(default_factory=dict)
    is_virtual_parameter: bool = False
    data_key: str | int | None = None


@dataclass(slots=True)
class ScriptResult:
    """The outcome of one run.

    Attributes:
        declarations: every ``declare()`` of this run, from the start. ``defer`` is False
            when the run stopped at a commit and True when it ran to the end (GenieACS: the
            engine clears ``defer`` once every provision of the pass is done).
        clears: ``clear()`` calls made after the ``commits_done``-th commit (GenieACS records
            a clear only in the newest segment, so each is seen once across replays); their
            timestamps are capped at the session timestamp. Apply them when received.
        done: the script ran to its end without a fault.
        commits: how many ``commit()`` calls were reached (including the one that stopped).
        ext_needed: extension calls to run before re-running (same ``commits_done``).
        cron_needed: cron keys to compute with :func:`cron_previous` before re-running.
        logs: ``log()`` lines of this run (write them when ``done`` or on a fault).
        fault: set when the script failed; the other fields then describe the partial run.
        return_value: for a virtual parameter that is done: ``{"writable"?: bool,
            "value"?: [v, type]}``.
        reads: the keys of ``ScriptRun.data`` the run looked up (present or not), or None
            when it depended on the whole key set (wildcards, aliases) or is unknown. A run
            with the same inputs over data whose entries under these keys are unchanged
            gives the same result (``Date`` and ``Math.random`` depend only on the run).
        time: what the run saw of the session time: the ``Date.now(interval)`` buckets it
            used, as ``(interval, offset)`` pairs (cron times are in the cron cache), or None
            when it saw the exact time (``Date.now()``, ``new Date()``, a declared timestamp
            capped at it). A later session in the same buckets sees the same times.
    """

    declarations: list[Declaration]
    clears: list[Clear]
    done: bool
    commits: int
    ext_needed: list[ExtCall]
    cron_needed: list[str]
    logs: list[str]
    fault: ScriptFault | None
    return_value: Any = None
    reads: frozenset[str] | None = None
    time: tuple[tuple[int, int], ...] | None = None
