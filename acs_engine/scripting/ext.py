"""``ext()``: run a function of a Python extension file in a child process.

An extension is ``<ext_dir>/<file>.py``; ``ext("file", "fn", "a", 1)`` in a script calls
``fn("a", "1")`` (every argument is a string, as in GenieACS) in a fresh Python process with a
time limit, and the JSON-serializable return value goes back to the script through the
engine's ``ext_cache``. A fresh process per call keeps a misbehaving extension from touching
the engine; it costs a Python start-up (~20-50 ms), which only happens on a cache miss.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from acs_engine.scripting.model import ExtCall, ScriptFault

logger = logging.getLogger("fieldacs.scripting")

_CHILD = Path(__file__).with_name("ext_child.py")
_FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_FN_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
#: Largest result accepted from an extension (bytes of JSON).
MAX_RESULT_BYTES = 4 * 1024 * 1024


def ext_key(call: ExtCall) -> str:
    """Return the ``ext_cache`` key of a call: the JSON list ``[file, fn, *args]``."""
    return json.dumps([call.file, call.fn, *call.args], ensure_ascii=False, separators=(",", ":"))


def ext_call_from_key(key: str) -> ExtCall | None:
    """Parse an ``ext_cache`` key back into its call, or None if it is not one."""
    try:
        parts = json.loads(key)
    except ValueError:
        return None
    if not isinstance(parts, list) or len(parts) < 2 or not all(isinstance(p, str) for p in parts):
        return None
    return ExtCall(parts[0], parts[1], tuple(parts[2:]))


def _child_command() -> list[str]:
    """The command that runs ``ext_child.py``; its arguments follow.

    In a PyInstaller bundle (installer/) ``sys.executable`` is a FieldACS program, not Python:
    the bundle's console ``fieldacs-engine`` (or else this program) runs the child through the
    hidden ``--run-ext-child`` switch of its entry script.
    """
    if getattr(sys, "frozen", False):
        exe = Path(sys.executable)
        engine = exe.with_name("fieldacs-engine" + (".exe" if sys.platform == "win32" else ""))
        return [str(engine if engine.is_file() else exe), "--run-ext-child"]
    return [sys.executable, "-I", str(_CHILD)]


#: Environment variables an extension's process keeps (names compared upper-case): what
#: Python and the OS need to start, find temp folders and the time zone, and the system's
#: proxy settings. Everything else, FIELDACS_* passwords and tokens included, is dropped.
_ENV_KEEP = frozenset({
    "PATH", "SYSTEMROOT", "SYSTEMDRIVE", "WINDIR", "COMSPEC", "PATHEXT", "TEMP", "TMP",
    "TMPDIR", "HOME", "USERPROFILE", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ",
    "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR",
})


def child_environment(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The scrubbed environment an extension runs with: only ``_ENV_KEEP`` names."""
    source = os.environ if environ is None else environ
    return {k: v for k, v in source.items() if k.upper() in _ENV_KEEP}


def _resolve(ext_dir: Path, call: ExtCall) -> Path | ScriptFault:
    name = call.file[:-3] if call.file.endswith(".py") else call.file
    if not _FILE_NAME.match(name) or ".." in name:
        return ScriptFault("ext.Error", f"Invalid extension file name: {call.file!r}", {})
    if not _FN_NAME.match(call.fn):
        return ScriptFault("ext.Error", f"Invalid extension function name: {call.fn!r}", {})
    path = (ext_dir / f"{name}.py").resolve()
    if path.parent != ext_dir.resolve():
        return ScriptFault("ext.Error", f"Invalid extension file name: {call.file!r}", {})
    if not path.is_file():
        return ScriptFault("ext.FileNotFoundError", f"Extension file not found: {name}.py", {})
    return path


async def run_extension(ext_dir: Path | None, call: ExtCall, timeout_ms: int) -> Any | ScriptFault:
    """Run one extension call in a child Python process.

    Args:
        ext_dir: folder holding the extension files; None disables extensions.
        call: the call to make.
        timeout_ms: wall-clock limit for the whole child process.

    Returns:
        The function's JSON result, or a :class:`ScriptFault`: ``timeout`` "Extension timed
        out", ``ext.<ErrorName>`` for an exception raised by the extension, ``ext.Error`` for a
        missing folder or a broken child.
    """
    if ext_dir is None:
        return ScriptFault("ext.Error", "No extensions folder is configured", {})
    path = _resolve(ext_dir, call)
    if isinstance(path, ScriptFault):
        return path
    proc = await asyncio.create_subprocess_exec(
        *_child_command(),
        str(path),
        call.fn,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=str(ext_dir),
        env=child_environment(),
    )
    try:
        stdout, stderr = await asyncio.wait_for(
            proc.communicate(json.dumps(list(call.args)).encode()), timeout_ms / 1000
        )
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        logger.warning("extension %s.%s timed out after %d ms", call.file, call.fn, timeout_ms)
        return ScriptFault("timeout", "Extension timed out", {"file": call.file, "fn": call.fn})
    except asyncio.CancelledError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await asyncio.shield(proc.wait())
        raise
    if stderr:
        logger.debug(
            "extension %s.%s stderr: %s",
            call.file,
            call.fn,
            stderr[-2000:].decode("utf-8", "replace"),
        )
    if len(stdout) > MAX_RESULT_BYTES:
        return ScriptFault("ext.Error", "Extension result is too large", {})
    try:
        reply = json.loads(stdout)
    except ValueError:
        return ScriptFault(
            "ext.Error", f"Extension process failed (exit code {proc.returncode})", {}
        )
    if isinstance(reply, dict) and "ok" in reply:
        return reply["ok"]
    error = reply.get("error") if isinstance(reply, dict) else None
    if not isinstance(error, dict):
        return ScriptFault("ext.Error", "Extension process sent an invalid reply", {})
    name = str(error.get("name") or "Error")
    message = str(error.get("message") or "")
    return ScriptFault(f"ext.{name}", message, {"name": name, "message": message})
