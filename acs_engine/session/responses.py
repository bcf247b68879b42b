"""What the planner records from a CPE's answer beyond the answer itself, as GenieACS does.

The session applies every response to the tree; these add the bookkeeping on top: parameters
asked for but left out of a GetParameterValues or GetParameterAttributes answer, the objects a
GetParameterNames listed (and when), and the paths a 9005 fault names.
"""

from __future__ import annotations

import logging

from acs_engine.cwmp import rpc
from acs_engine.session.tree import DeviceTree

log = logging.getLogger("fieldacs.sync")


def record_missing_values(
    tree: DeviceTree, request: rpc.GetParameterValues, response: rpc.Message, ts: int
) -> None:
    """A parameter asked for by its full name but left out of the answer: an empty string."""
    got = (
        {pv.name for pv in response.parameters}
        if isinstance(response, rpc.GetParameterValuesResponse) else set()
    )
    for name in request.names:
        if not name.endswith(".") and name not in got:
            log.warning("missing parameter in GetParameterValuesResponse: %s", name)
            tree.set_value(name, "", "xsd:string", ts)


def record_missing_attributes(
    tree: DeviceTree, request: rpc.GetParameterAttributes, response: rpc.Message, ts: int
) -> None:
    """A parameter asked for by its full name but left out of the answer: no notification,
    an empty access list."""
    got = (
        {a.name for a in response.parameters}
        if isinstance(response, rpc.GetParameterAttributesResponse) else set()
    )
    for name in request.names:
        if not name.endswith(".") and name not in got:
            log.warning("missing parameter in GetParameterAttributesResponse: %s", name)
            tree.set_attributes(name, 0, (), ts)


def record_listed(
    tree: DeviceTree, request: rpc.GetParameterNames, response: rpc.Message, ts: int
) -> None:
    """The objects a GetParameterNames answer implies exist, and when their children were
    listed (the object asked for, and with NextLevel=false every object below it)."""
    if not isinstance(response, rpc.GetParameterNamesResponse):
        return
    base = request.parameter_path
    if base and not base.endswith("."):
        return
    tree.set_children_ts(base, ts)
    ensured: set[str] = set()  # objects made sure of (and so every one above them)
    for info in response.parameters:
        if not info.name.startswith(base):
            continue
        parent = info.name[:-1] if info.name.endswith(".") else info.name
        while True:
            cut = parent.rfind(".")
            if cut < len(base):
                break
            parent = parent[:cut]
            if parent in ensured:
                break
            ensured.add(parent)
            tree.ensure_object(parent + ".", ts)
        if not request.next_level and info.name.endswith("."):
            tree.set_children_ts(info.name, ts)


def named_paths(request: rpc.Message) -> list[str]:
    """The paths a parameter RPC names (a 9005 fault on it clears them)."""
    if isinstance(request, rpc.GetParameterNames):
        return [request.parameter_path] if request.parameter_path else []
    if isinstance(request, rpc.GetParameterValues | rpc.GetParameterAttributes):
        return list(request.names)
    if isinstance(request, rpc.SetParameterValues):
        return [pv.name for pv in request.parameters]
    if isinstance(request, rpc.SetParameterAttributes):
        return [entry.name for entry in request.parameters]
    if isinstance(request, rpc.AddObject | rpc.DeleteObject):
        return [request.object_name]
    return []
