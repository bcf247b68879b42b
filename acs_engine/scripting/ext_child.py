"""Child process for ``ext()``: load ``<file>.py`` and call one of its functions.

Run as ``python ext_child.py <module_path> <function>`` with the JSON list of string
arguments on stdin. Writes one JSON object to stdout: ``{"ok": result}`` or
``{"error": {"name": ..., "message": ...}}``. Anything the extension prints goes to stderr.
This file is executed by path, never imported by the engine.

Only functions defined in the extension file itself may be called; the engine starts this
process with a scrubbed environment (see ``acs_engine.scripting.ext.child_environment``).
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import json
import os
import sys
from typing import Any


def _call(module_path: str, fn_name: str, args: list[str]) -> Any:
    sys.path.insert(0, os.path.dirname(module_path))
    spec = importlib.util.spec_from_file_location("fieldacs_extension", module_path)
    if spec is None or spec.loader is None:
        raise ImportError(f"Cannot load extension {module_path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    fn = getattr(module, fn_name, None)
    # Only a function the extension itself defines (def or async def in this file): not a
    # name it imported (``from subprocess import check_output``), a class, or a builtin.
    if (
        not inspect.isfunction(fn)
        or getattr(fn, "__module__", None) != module.__name__
        or fn_name.startswith("_")
    ):
        raise AttributeError(f"Extension has no function {fn_name!r} of its own")
    result = fn(*args)
    if inspect.isawaitable(result):
        result = asyncio.run(_await(result))
    return result


async def _await(awaitable: Any) -> Any:
    return await awaitable


def main() -> int:
    """Run the call named on the command line; always exits 0 unless the protocol breaks."""
    out = sys.stdout
    sys.stdout = sys.stderr
    try:
        args = json.loads(sys.stdin.read() or "[]")
        result = _call(sys.argv[1], sys.argv[2], [str(a) for a in args])
        text = json.dumps({"ok": result}, allow_nan=False)
    except BaseException as exc:  # report everything, including SystemExit from the extension
        text = json.dumps({"error": {"name": type(exc).__name__, "message": str(exc)}})
    out.write(text)
    out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
