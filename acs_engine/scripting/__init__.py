"""Provision and virtual-parameter scripts: the V8 sandbox, ``ext()`` and scheduling helpers."""

from acs_engine.scripting.ext import ext_key
from acs_engine.scripting.model import ExtCall, ScriptFault, ScriptResult, ScriptRun
from acs_engine.scripting.sandbox import Sandbox
from acs_engine.scripting.schedule import cron_previous, device_hash

__all__ = [
    "ExtCall",
    "Sandbox",
    "ScriptFault",
    "ScriptResult",
    "ScriptRun",
    "cron_previous",
    "device_hash",
    "ext_key",
]
