"""Turn what the JavaScript prelude reports into the engine's types."""

from __future__ import annotations

import re
from typing import Any

from acs_engine.scripting.model import ExtCall, ScriptFault, ScriptResult
from acs_engine.session.declarations import Clear, Declaration

_PARSE_HEAD = re.compile(r"^[^\n]*?:(\d+): (\w+): ([^\n]*)")


def _int(value: Any) -> int:
    return int(value)


def _attr_value(name: str, value: Any) -> Any:
    if name == "value":
        if isinstance(value, list) and value:
            v = value[0]
            t = value[1] if len(value) > 1 and isinstance(value[1], str) and value[1] else None
            return (v, t)
        return (None, None)
    if name == "accessList":
        if isinstance(value, list):
            return tuple(str(v) for v in value)
        if isinstance(value, str):
            return tuple(p.strip() for p in value.split(",") if p.strip())
        return ()
    if (
        name == "notification"
        and isinstance(value, (int, float, str))
        and not isinstance(value, bool)
    ):
        try:
            return int(value)
        except ValueError:
            return value
    return value


def declaration(raw: dict[str, Any], *, defer: bool) -> Declaration:
    """Build a Declaration from the prelude's record of one ``declare()`` call."""
    path_set_raw = raw.get("pathSet")
    path_set: int | tuple[int, int] | None
    if isinstance(path_set_raw, list):
        path_set = (_int(path_set_raw[0]), _int(path_set_raw[1]))
    elif path_set_raw is None:
        path_set = None
    else:
        path_set = _int(path_set_raw)
    return Declaration(
        path=str(raw["path"]),
        path_get=_int(raw.get("pathGet") or 1),
        path_set=path_set,
        attr_get={str(k): _int(v) for k, v in (raw.get("attrGet") or {}).items()},
        attr_set={str(k): _attr_value(str(k), v) for k, v in (raw.get("attrSet") or {}).items()},
        defer=defer,
    )


def script_fault(raw: dict[str, Any]) -> ScriptFault:
    """Build a ScriptFault from the prelude's fault record."""
    detail = raw.get("detail")
    return ScriptFault(
        code=str(raw.get("code") or "script"),
        message=str(raw.get("message") or ""),
        detail=dict(detail) if isinstance(detail, dict) else {},
    )


def empty_result(fault: ScriptFault | None = None) -> ScriptResult:
    """A result with nothing in it but (optionally) a fault."""
    return ScriptResult(
        declarations=[],
        clears=[],
        done=False,
        commits=0,
        ext_needed=[],
        cron_needed=[],
        logs=[],
        fault=fault,
    )


def script_result(raw: dict[str, Any]) -> ScriptResult:
    """Build a ScriptResult from the JSON object returned by the prelude's ``run``."""
    status = raw.get("status")
    done = status == "done"
    decls = [declaration(d, defer=done) for d in raw.get("declarations") or []]
    clears = [
        Clear(
            path=str(c["path"]),
            timestamp=_int(c.get("timestamp") or 0),
            attr_timestamps={str(k): _int(v) for k, v in (c.get("attrs") or {}).items()},
        )
        for c in raw.get("clears") or []
    ]
    ext_raw = raw.get("ext")
    ext_needed = []
    if status == "ext" and isinstance(ext_raw, list) and len(ext_raw) >= 2:
        ext_needed.append(
            ExtCall(str(ext_raw[0]), str(ext_raw[1]), tuple(str(a) for a in ext_raw[2:]))
        )
    cron_raw = raw.get("cron")
    cron_needed = [str(cron_raw)] if status == "cron" and cron_raw is not None else []
    fault_raw = raw.get("fault")
    reads_raw = raw.get("reads")
    time_raw = raw.get("time")
    return ScriptResult(
        declarations=decls,
        clears=clears,
        done=done,
        commits=_int(raw.get("commits") or 0),
        ext_needed=ext_needed,
        cron_needed=cron_needed,
        logs=[str(line) for line in raw.get("logs") or []],
        fault=script_fault(fault_raw) if isinstance(fault_raw, dict) else None,
        return_value=raw.get("ret") if done else None,
        reads=frozenset(str(k) for k in reads_raw) if isinstance(reads_raw, list) else None,
        time=_buckets(time_raw),
    )


def _buckets(raw: Any) -> tuple[tuple[int, int], ...] | None:
    """The prelude's ``"interval|offset"`` strings, sorted; None for the exact time."""
    if not isinstance(raw, list):
        return None
    try:
        return tuple(sorted({(int(a), int(b)) for a, _, b in (str(x).partition("|") for x in raw)}))
    except ValueError:
        return None


def syntax_fault(message: str, prefix_len: int, source: str) -> ScriptFault:
    """Build a ``script.SyntaxError`` fault from a V8 parse-exception message.

    V8 reports ``<origin>:<line>: SyntaxError: <msg>``, then the source line and a caret line.
    The script text starts ``prefix_len`` characters into line 1 of what was compiled, so
    columns on line 1 are shifted back by that much.

    Args:
        message: the exception text from mini-racer.
        prefix_len: length of the wrapper text in front of the script on line 1.
        source: the script text; a position in the wrapper's closing text (e.g. "Unexpected
            end of input") is moved to the end of the script.

    Returns:
        The fault, with 1-based ``line`` and ``column`` in its detail when V8 gave them.
    """
    head = _PARSE_HEAD.match(message)
    if head is None:
        text = message.strip().splitlines()[-1] if message.strip() else "Invalid script"
        name, _, msg = text.partition(": ")
        name = name if name.isidentifier() and msg else "SyntaxError"
        msg = msg or text
        return ScriptFault(
            f"script.{name}", msg, {"name": name, "message": msg, "stack": f"{name}: {msg}"}
        )
    line = int(head.group(1))
    name = head.group(2)
    msg = head.group(3)
    lines = message.split("\n")
    column = 1
    if len(lines) >= 3 and "^" in lines[2]:
        column = lines[2].index("^") + 1
    if line == 1:
        column = max(1, column - prefix_len)
    source_lines = source.split("\n")
    if line > len(source_lines):
        line = len(source_lines)
        column = len(source_lines[-1]) + 1
    stack = f"{name}: {msg}\n    at line {line}, column {column}"
    return ScriptFault(
        f"script.{name}",
        f"{msg} (line {line}, column {column})",
        {"name": name, "message": msg, "stack": stack, "line": line, "column": column},
    )
