"""The linter's Inform, event-code and data-model rules (see :mod:`acs_engine.inspect.lint`).

The data model (TR-098 or TR-181) is chosen by the root of the Inform's parameter names;
forced parameters, types, ranges and access come from the BBF facts the project ships
(:mod:`acs_engine.datamodel.facts`). Vendor (``X_``) parameters have no facts and are not
judged.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from acs_engine.cwmp import rpc
from acs_engine.cwmp.decode import local
from acs_engine.datamodel import facts
from acs_engine.secrets import MASK, is_secret

if TYPE_CHECKING:
    from acs_engine.inspect.lint import Context

#: Forced parameters whose absence is only a warning: deprecated, or added in later model
#: versions than a CPE may implement.
_SOFT_FORCED = ("DeviceSummary", "SpecVersion", "RootDataModelVersion", "AliasBasedAddressing",
                "ExternalIPAddress")
_EVENT_SHAPES = (
    re.compile(r"^\d+( \S+)+$"), re.compile(r"^M \S+$"), re.compile(r"^X \S+ .+$"),
)
_STANDARD_EVENTS = {
    "0 BOOTSTRAP", "1 BOOT", "2 PERIODIC", "3 SCHEDULED", "4 VALUE CHANGE", "5 KICKED",
    "6 CONNECTION REQUEST", "7 TRANSFER COMPLETE", "8 DIAGNOSTICS COMPLETE",
    "9 REQUEST DOWNLOAD", "10 AUTONOMOUS TRANSFER COMPLETE", "11 DU STATE CHANGE COMPLETE",
    "12 AUTONOMOUS DU STATE CHANGE COMPLETE", "13 WAKEUP", "14 HEARTBEAT",
}
_M_EVENTS = {"M Reboot", "M ScheduleInform", "M Download", "M ScheduleDownload", "M Upload",
             "M ChangeDUState"}
#: Events that must come with another one (event -> the one it needs).
_NEEDS = {
    "M Reboot": "1 BOOT", "3 SCHEDULED": "M ScheduleInform", "M ScheduleInform": "3 SCHEDULED",
    "M Download": "7 TRANSFER COMPLETE", "M ScheduleDownload": "7 TRANSFER COMPLETE",
    "M Upload": "7 TRANSFER COMPLETE", "M ChangeDUState": "11 DU STATE CHANGE COMPLETE",
}
#: Event -> the CPE request it announces for this session.
_ANNOUNCES = {
    "7 TRANSFER COMPLETE": "TransferComplete",
    "10 AUTONOMOUS TRANSFER COMPLETE": "AutonomousTransferComplete",
    "11 DU STATE CHANGE COMPLETE": "DUStateChangeComplete",
    "12 AUTONOMOUS DU STATE CHANGE COMPLETE": "AutonomousDUStateChangeComplete",
    "9 REQUEST DOWNLOAD": "RequestDownload",
    "5 KICKED": "Kicked",
}
_BASE_TYPE = {
    "boolean": re.compile(r"^(0|1|true|false)$"),
    "int": re.compile(r"^\s*[-+]?\d+\s*$"), "long": re.compile(r"^\s*[-+]?\d+\s*$"),
    "unsignedInt": re.compile(r"^\s*\+?\d+\s*$"), "unsignedLong": re.compile(r"^\s*\+?\d+\s*$"),
    "decimal": re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)\s*$"),
    "hexBinary": re.compile(r"^([0-9A-Fa-f]{2})*$"),
}
_XSI_NAMES = {"base64": "base64Binary"}


def _model_of(names: Iterable[str]) -> facts.DataModel | None:
    for name in names:
        model = facts.facts_for_root(name)
        if model is not None:
            return model
    return None


def _raw_types(root: Any) -> dict[str, str | None]:
    """Parameter name -> the xsi:type it was sent with (None when none), from the XML."""
    out: dict[str, str | None] = {}
    if root is None:
        return out
    for struct in root.iter():
        if not isinstance(struct.tag, str) or local(struct.tag) != "ParameterValueStruct":
            continue
        name = value_type = None
        has_value = False
        for child in struct:
            if not isinstance(child.tag, str):
                continue
            tag = local(child.tag)
            if tag == "Name":
                name = (child.text or "").strip()
            elif tag == "Value":
                has_value = True
                value_type = next((v for k, v in child.attrib.items()
                                   if local(k) == "type"), None)
        if name is not None and has_value:
            out[name] = value_type
    return out


def check_values(ctx: Context, i: int, params: Iterable[rpc.ParameterValue],
                 root: Any, where: str) -> None:
    """Types and values of ``params`` against the data model (unknown/vendor ones skipped)."""
    from acs_engine.inspect.lint import Severity

    raw = _raw_types(root) if root is not None else {}
    for param in params:
        model = facts.facts_for_root(param.name)
        found = model.param(param.name) if model is not None else None
        if found is None:
            continue
        if found.hidden and param.value == "":
            continue  # a hidden parameter reads back empty (TR-069 A.3.2.1)
        if ctx.masked and param.value == MASK and is_secret(param.name):
            continue  # masked when the file was saved: the real value is unknown
        sent = raw.get(param.name, param.type) if raw else param.type
        # A list-valued parameter travels as a comma-separated string.
        expected = "string" if found.list else _XSI_NAMES.get(found.type, found.type)
        if sent is None:
            ctx.add(Severity.WARNING, "inform-type",
                    f"{where}: no xsi:type on the value (the model's type is {found.type})",
                    param.name, i)
        elif sent.rsplit(":", 1)[-1] != expected:
            ctx.add(Severity.WARNING, "inform-type",
                    f"{where}: sent as {sent}, the data model's type is {found.type}",
                    param.name, i)
        pattern = None if found.list else _BASE_TYPE.get(found.type)
        if pattern is not None and not pattern.match(param.value):
            ctx.add(Severity.ERROR, "inform-type",
                    f"{where}: {param.value[:64]!r} is not a valid {found.type}", param.name, i)
            continue
        reason = facts.check_value(param.name, param.value)
        if reason:
            ctx.add(Severity.WARNING, "inform-value",
                    f"{where}: {param.value[:64]!r} {reason}", param.name, i)


def check_inform(ctx: Context, i: int, inform: rpc.Inform, root: Any) -> None:
    """Forced parameters, value types, MaxEnvelopes and the Inform's event codes."""
    from acs_engine.inspect.lint import Severity

    names = [p.name for p in inform.parameters]
    model = _model_of(names)
    if model is None:
        ctx.add(Severity.ERROR, "inform-forced",
                "no parameter under InternetGatewayDevice. or Device.: the data model is unknown",
                "ParameterList", i)
    else:
        sent = {facts.generic_path(n) for n in names}
        for path in model.param_paths():
            found = model.param(path)
            if found is None or not found.forced_inform or path in sent:
                continue
            if "{i}" in path:
                continue  # judged below: one default WAN connection's address
            soft = path.rsplit(".", 1)[-1] in _SOFT_FORCED or found.status != "current"
            ctx.add(Severity.WARNING if soft else Severity.ERROR, "inform-forced",
                    f"forced parameter missing from the Inform ({model.name})", path, i)
        wan = [p for p in model.param_paths() if "{i}" in p and (
            (found := model.param(p)) is not None and found.forced_inform)]
        if wan and not any(p in sent for p in wan):
            ctx.add(Severity.WARNING, "inform-forced",
                    "no WAN ExternalIPAddress in the Inform (forced for the default WAN "
                    "connection)", wan[0], i)
    check_values(ctx, i, inform.parameters, root, "Inform")
    if inform.max_envelopes != 1:
        ctx.add(Severity.INFO, "inform-envelopes",
                f"MaxEnvelopes is {inform.max_envelopes}; one envelope per message is used",
                "MaxEnvelopes", i)
    _check_events(ctx, i, inform.events)


def _check_events(ctx: Context, i: int, events: tuple[rpc.EventStruct, ...]) -> None:
    from acs_engine.inspect.lint import Severity

    codes = [e.code for e in events]
    present = set(codes)
    if not codes:
        ctx.add(Severity.ERROR, "event-code", "the Inform has no event", "Event", i)
    for code, count in Counter(codes).items():
        if count > 1 and (code[:2] not in ("M ", "X ") or code == "M Reboot"):
            ctx.add(Severity.ERROR, "event-code", f"{code!r} appears {count} times", code, i)
    for event in events:
        code = event.code
        if not any(shape.match(code) for shape in _EVENT_SHAPES):
            ctx.add(Severity.ERROR, "event-code", f"{code!r} is not an event code", code, i)
        elif code[0].isdigit() and code not in _STANDARD_EVENTS:
            ctx.add(Severity.WARNING, "event-code", f"{code!r} is not a standard event", code, i)
        elif code.startswith("M ") and code not in _M_EVENTS and not code.startswith("M X_"):
            ctx.add(Severity.WARNING, "event-code",
                    f"{code!r}: vendor method events are named M X_...", code, i)
        if code.startswith("M ") and code in _M_EVENTS and not event.command_key:
            ctx.add(Severity.INFO, "event-commandkey",
                    f"{code} with an empty CommandKey (only right if the ACS sent none)",
                    code, i)
        elif not code.startswith(("M ", "X ")) and event.command_key:
            ctx.add(Severity.WARNING, "event-commandkey",
                    f"{code} carries CommandKey {event.command_key!r}; only M events have one",
                    code, i)
        need = _NEEDS.get(code)
        if need and need not in present:
            ctx.add(Severity.ERROR, "event-pair", f"{code} without {need}", code, i)
    if "14 HEARTBEAT" in present and len(present) > 1:
        ctx.add(Severity.WARNING, "event-pair", "14 HEARTBEAT is sent alone", "14 HEARTBEAT", i)
    if ctx.first_contact is True and "0 BOOTSTRAP" not in present:
        ctx.add(Severity.WARNING, "event-bootstrap",
                "first contact with this ACS without 0 BOOTSTRAP", "Event", i)
    elif ctx.first_contact is False and "0 BOOTSTRAP" in present:
        ctx.add(Severity.INFO, "event-bootstrap",
                "0 BOOTSTRAP from a known device: it was reset or its ACS URL changed",
                "0 BOOTSTRAP", i)


def check_session_events(ctx: Context, count: int) -> None:
    """Announced CPE requests were sent, sent ones were announced, CommandKeys agree."""
    from acs_engine.inspect.lint import Severity

    codes = {e.code for e in ctx.events}
    sent = {m.METHOD for m in ctx.cpe_requests}
    for code, method in _ANNOUNCES.items():
        if code in codes and method not in sent and ctx.complete:
            severity = Severity.ERROR if code == "7 TRANSFER COMPLETE" else Severity.WARNING
            ctx.add(severity, "event-transfer",
                    f"the Inform announced {code} but the CPE never sent {method}", code)
        if method in sent and code not in codes:
            ctx.add(Severity.ERROR, "event-transfer",
                    f"{method} sent without {code} in the Inform", method)
    keys = {m.command_key for m in ctx.cpe_requests if isinstance(m, rpc.TransferComplete)}
    for event in ctx.events:
        if event.code in ("M Download", "M Upload", "M ScheduleDownload") and keys and (
                event.command_key not in keys):
            ctx.add(Severity.WARNING, "event-commandkey",
                    f"{event.code} CommandKey {event.command_key!r} matches no TransferComplete",
                    event.code)


def check_writable(ctx: Context, i: int, response: rpc.GetParameterNamesResponse) -> None:
    """GetParameterNames' Writable flags against the data model's access."""
    from acs_engine.inspect.lint import Severity

    for info in response.parameters:
        found = facts.lookup(info.name)
        if found is None:
            continue
        if info.writable and not found.writable:
            ctx.add(Severity.WARNING, "writable",
                    "reported writable; the data model says read-only", info.name, i)
        elif not info.writable and found.writable and not info.name.endswith("."):
            ctx.add(Severity.INFO, "writable",
                    "reported read-only; the data model allows writing", info.name, i)
