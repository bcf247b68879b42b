"""Virtual parameters in the sync: which one to set, and storing what a script returned.

A virtual parameter lives in the tree at ``VirtualParameters.<name>``. The planner asks its
script for the attributes the declarations need (a ``VirtualParameterAction`` with ``get``)
or gives it a value to set (``set``, see :func:`value_to_set`); the script returns
``{writable?, value?}`` (``value`` either a bare value or ``[value, type]``), which
:func:`store_result` checks and writes to the tree as GenieACS does.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from acs_engine.session.coerce import sanitize, stored_text
from acs_engine.session.index import Index
from acs_engine.session.sync import SyncFault, SyncState, VirtualParameterAction
from acs_engine.session.tree import DeviceTree

#: The types a virtual parameter's value may have.
VALID_TYPES = frozenset(
    {"xsd:int", "xsd:unsignedInt", "xsd:boolean", "xsd:string", "xsd:dateTime",
     "xsd:base64", "xsd:hexBinary"}
)


def value_to_set(state: SyncState, index: Index) -> tuple[str, dict[str, Any]] | None:
    """The first writable virtual parameter whose declared value differs from the known one.

    Returns:
        Its name and what to give its script (``{"value": [typed value, type]}``), or None.
    """
    for name, (value, kind) in state.vparam_set.items():
        node = index.get(f"VirtualParameters.{name}")
        if node is None or node.writable is not True or node.value is None:
            continue
        kind = kind or node.type or "xsd:string"
        typed = sanitize(value, kind)
        if typed != node.typed() or kind != node.type:
            return name, {"value": [typed, kind]}
    return None


def store_result(
    tree: DeviceTree, name: str, result: Any, pending: VirtualParameterAction | None, ts: int
) -> None:
    """Store what the virtual parameter script ``name`` returned (``{writable?, value?}``).

    Args:
        tree: the session's tree.
        name: the virtual parameter.
        result: the script's return value.
        pending: the action the script ran for (what was asked and set), if any.
        ts: the timestamp of what is stored (an attribute that was set gets ``ts + 1``).

    Raises:
        SyncFault: ``script`` when the result lacks what was asked or is malformed.
    """
    asked = dict(pending.get) if pending and pending.name == name else {}
    wanted = dict(pending.set) if pending and pending.name == name else {}
    if not isinstance(result, dict):
        raise SyncFault("script", "Invalid virtual parameter return value")
    key = f"VirtualParameters.{name}"
    writable: bool | None = None
    if result.get("writable") is not None:
        writable = bool(result["writable"])
    elif "writable" in asked or "writable" in wanted:
        raise SyncFault(
            "script", f"Virtual parameter '{name}' must provide 'writable' attribute"
        )
    value: Any = None
    kind = ""
    if result.get("value") is not None:
        raw = result["value"]
        if isinstance(raw, list | tuple):
            value = raw[0] if raw else None
            kind = raw[1] if len(raw) > 1 and raw[1] else ""
        else:
            value = raw
        if not kind:
            if isinstance(value, bool):
                kind = "xsd:boolean"
            elif isinstance(value, int | float):
                kind = "xsd:int"
            elif isinstance(value, datetime):
                kind = "xsd:dateTime"
            else:
                kind = "xsd:string"
        if value is None or kind not in VALID_TYPES:
            raise SyncFault("script", "Invalid virtual parameter value attribute")
    elif "value" in asked or "value" in wanted:
        raise SyncFault("script", f"Virtual parameter '{name}' must provide 'value' attribute")
    tree.ensure_object("VirtualParameters.", ts)
    param = tree.touch(key)
    param.object = False
    param.exist_ts_ms = ts
    if writable is not None:
        param.writable = writable
        param.writable_ts_ms = ts + (1 if "writable" in wanted else 0)
    if value is not None:
        typed = sanitize(value, kind)
        param.value = stored_text(typed, kind)
        param.type = kind
        param.value_ts_ms = ts + (1 if "value" in wanted else 0)
