"""The write phase's parameter RPCs: what SetParameterValues and SetParameterAttributes a pass's
work list asks for, pure and synchronous.

The :class:`~acs_engine.session.planner.Planner` calls these after DeleteObject and AddObject
(strictly in that order, GenieACS's); a value or attribute already as declared is not sent, and
one RPC carries at most ``gpv_batch_size`` of them, in the tree's order.
"""

from __future__ import annotations

from acs_engine.config import EngineConfig
from acs_engine.cwmp import rpc
from acs_engine.datamodel import facts
from acs_engine.session.coerce import sanitize, wire_text
from acs_engine.session.index import Index, Node
from acs_engine.session.sync import SyncState


def write_type(name: str, stored: str | None, declared: str | None) -> str:
    """The type a SetParameterValues sends: the data model's, else the stored one (as
    GenieACS, which keeps the parameter's type whatever the caller wrote), else the one
    declared, else xsd:string."""
    known = facts.lookup(name)
    if isinstance(known, facts.ParamFacts):
        return known.xsd_type
    return stored or declared or "xsd:string"


def can_write(node: Node | None, config: EngineConfig) -> bool:
    """Whether the planner may write ``node``: known, and writable (unless the check is off)."""
    if node is None:
        return False
    return config.skip_writable_check or node.writable is True


def set_values(
    state: SyncState, index: Index, config: EngineConfig
) -> rpc.SetParameterValues | None:
    """The SetParameterValues for the values ``state`` wants that differ from the known ones."""
    params: list[rpc.ParameterValue] = []
    for name in sorted(state.spv, key=index.position):
        value, kind = state.spv[name]
        node = index.get(name)
        if node is None or node.value is None or not can_write(node, config):
            continue
        kind = write_type(name, node.type, kind)
        typed = sanitize(value, kind)
        if (kind == "xsd:dateTime" and not config.datetime_milliseconds
                and isinstance(typed, int) and not isinstance(typed, bool)):
            typed -= typed % 1000
        current = node.typed()
        if typed == current and type(typed) is type(current) and kind == node.type:
            continue
        text = wire_text(
            typed, kind, boolean_literal=config.boolean_literal,
            datetime_ms=config.datetime_milliseconds,
        )
        params.append(rpc.ParameterValue(name, text, kind))
        if len(params) >= config.gpv_batch_size:
            break
    return rpc.SetParameterValues(parameters=tuple(params)) if params else None


def set_attributes(
    state: SyncState, index: Index, batch: int
) -> rpc.SetParameterAttributes | None:
    """The SetParameterAttributes for the notification and access list ``state`` wants, where
    the known ones differ (an attribute not read yet is not written)."""
    entries: list[rpc.SetParameterAttributesStruct] = []
    for name in sorted(state.spa, key=index.position):
        wanted = state.spa[name]
        node = index.get(name)
        if node is None:
            continue
        notification = wanted.get("notification")
        if notification is not None and (
            node.notification is None or notification == node.notification
        ):
            notification = None
        access = wanted.get("accessList")
        if access is not None and (node.access_list is None or access == node.access_list):
            access = None
        if notification is None and access is None:
            continue
        entries.append(rpc.SetParameterAttributesStruct(
            name=name,
            notification_change=notification is not None,
            notification=int(notification or 0),
            access_list_change=access is not None,
            access_list=tuple(access or ()),
        ))
        if len(entries) >= batch:
            break
    return rpc.SetParameterAttributes(parameters=tuple(entries)) if entries else None
