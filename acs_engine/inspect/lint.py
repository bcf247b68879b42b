"""The CPE linter: check every message a CPE sent against TR-069 and the BBF data models.

:func:`lint_session` takes a session (live, stored, from a file or a capture) and returns
:class:`Finding` s, each with a severity, a message, the element it is about, the rule and
the TR-069 reference. It never raises on what the CPE sent: an unreadable message is itself
a finding. No Qt; the console's Lint tab and ``fieldacs-engine lint`` show the same list.

Rules (ids in :data:`RULES`; the full table is in docs/cpe-lint.md):

- ``soap-parse`` / ``soap-method``: the body is well-formed XML with a known CWMP method;
- ``cwmp-xsd``: the envelope is valid against the CWMP schema of the version it declared;
- ``session-order``: Inform first, answers only to ACS requests, the right response;
- ``cwmp-id``: a response echoes its request's ``cwmp:ID``;
- ``http-*``: Content-Type, the empty POST, SOAPAction, cookies returned;
- ``inform-*`` and ``event-*``: forced parameters, value types, event-code rules
  (:mod:`acs_engine.inspect.lint_inform`);
- ``fault-*``: CPE fault codes in their ranges and of the right Client/Server type;
- ``writable``: GetParameterNames' Writable flags against the data model.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from acs_engine.cwmp import codec, rpc
from acs_engine.cwmp.decode import parse_xml
from acs_engine.cwmp.envelope import Envelope
from acs_engine.cwmp.errors import CwmpParseError
from acs_engine.inspect import schema
from acs_engine.inspect.sessionfile import Message, SessionFile
from acs_engine.secrets import MASK

#: Findings kept per message and rule (a ParameterList of 10 000 bad values says it once).
MAX_PER_RULE = 100


class Severity(enum.StrEnum):
    """How bad a finding is: an error breaks a MUST; a warning a SHOULD or a common slip."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


#: Rule id -> (what it checks, TR-069 reference).
RULES: dict[str, tuple[str, str]] = {
    "soap-parse": ("the body is well-formed XML", "TR-069 §3.5 (SOAP)"),
    "soap-method": ("the body holds one known CWMP method", "TR-069 Annex A"),
    "cwmp-xsd": ("valid against the CWMP schema of the declared version",
                 "TR-069 Annex A; cwmp-1-N.xsd"),
    "session-order": ("the message may come at this point of the session",
                      "TR-069 §3.7 (transaction sessions)"),
    "cwmp-id": ("a response echoes its request's cwmp:ID", "TR-069 §3.5 (SOAP header ID)"),
    "http-content-type": ("a SOAP POST is sent as text/xml", "TR-069 §3.4.1 (SOAP over HTTP)"),
    "http-empty-post": ("the empty POST has no body, no SOAPAction and no Content-Type",
                        "TR-069 §3.4.1 (SOAP over HTTP)"),
    "http-soapaction": ("a POST carrying a response or fault has an empty SOAPAction",
                        "TR-069 §3.4.1 (SOAP over HTTP)"),
    "http-cookie": ("cookies the ACS set are returned for the rest of the session",
                    "TR-069 §3.4 (HTTP cookies)"),
    "inform-forced": ("the Inform carries its data model's forced parameters",
                      "TR-069 A.3.3.1; TR-098 / TR-181 forced inform parameters"),
    "inform-type": ("xsi:type and value match the data model's type",
                    "TR-069 A.3.2.1 (ParameterValueStruct); BBF data model"),
    "inform-value": ("values are within the data model's ranges and enumerations",
                     "BBF data model (TR-098 / TR-181)"),
    "inform-envelopes": ("MaxEnvelopes is 1", "TR-069 A.3.3.1 (Inform)"),
    "event-code": ("event codes have a known shape and appear once",
                   "TR-069 A.3.3.1 (Inform event codes)"),
    "event-pair": ("events that go together are sent together",
                   "TR-069 A.3.3.1 (Inform event codes)"),
    "event-bootstrap": ("BOOTSTRAP on first contact", "TR-069 A.3.3.1 (0 BOOTSTRAP)"),
    "event-commandkey": ("M events carry the CommandKey, others none",
                         "TR-069 A.3.3.1 (CommandKey)"),
    "event-transfer": ("7 TRANSFER COMPLETE and TransferComplete go together",
                       "TR-069 A.3.3.1, A.3.3.2 (TransferComplete)"),
    "fault-range": ("CPE fault codes are 9000-9899", "TR-069 A.5 (fault codes)"),
    "fault-type": ("faultcode Client/Server matches the fault code",
                   "TR-069 A.5 (fault codes); §3.5 (SOAP Fault)"),
    "fault-shape": ("faultstring and SetParameterValuesFault as specified",
                    "TR-069 §3.5 (SOAP Fault)"),
    "writable": ("Writable flags agree with the data model",
                 "TR-069 A.3.2.3 (GetParameterNames); BBF data model access"),
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing a CPE did wrong (or oddly).

    Attributes:
        severity: error, warning or info.
        message: what is wrong, in plain words.
        element: the element, parameter or header it is about ("" for the session).
        rule: the rule's id (a key of :data:`RULES`).
        index: the message's index in the session (-1 for the session as a whole).
    """

    severity: Severity
    message: str
    element: str
    rule: str
    index: int = -1

    @property
    def reference(self) -> str:
        """The TR-069 (or data model) reference of the rule."""
        return RULES.get(self.rule, ("", ""))[1]

    def to_json(self) -> dict[str, Any]:
        """The finding as JSON (for ``lint --json``)."""
        return {"severity": self.severity.value, "message": self.message,
                "element": self.element, "rule": self.rule, "reference": self.reference,
                "message_index": self.index}

    def line(self) -> str:
        """One line for a terminal."""
        where = f"#{self.index + 1} " if self.index >= 0 else ""
        element = f" [{self.element}]" if self.element else ""
        return (f"{self.severity.value.upper():<7} {where}{self.rule}: {self.message}"
                f"{element} ({self.reference})")


@dataclass(slots=True)
class Context:
    """What the linter knows while walking a session.

    Attributes:
        findings: found so far.
        version: the CWMP version the CPE declared ("" until known).
        first_contact: True/False when known (the device had no earlier session), else None.
        complete: the session's messages run to its end (the ACS's closing answer).
        pending: the ACS request awaiting the CPE's answer (method, cwmp:ID), or None.
        cookies: cookies the ACS set in this session (name -> value).
        events: the Inform's events.
        cpe_requests: the CPE's requests this session (method -> their messages).
    """

    findings: list[Finding] = field(default_factory=list)
    version: str = ""
    first_contact: bool | None = None
    complete: bool = False
    pending: tuple[str, str | None] | None = None
    hold_requests: bool = False
    cookies: dict[str, str] = field(default_factory=dict)
    events: tuple[rpc.EventStruct, ...] = ()
    cpe_requests: list[rpc.Message] = field(default_factory=list)
    seen_inform: bool = False
    masked: bool = False

    counts: Counter[tuple[int, str]] = field(default_factory=Counter)

    def add(self, severity: Severity, rule: str, message: str, element: str = "",
            index: int = -1) -> None:
        """Record a finding (at most :data:`MAX_PER_RULE` per message and rule)."""
        key = (index, rule)
        self.counts[key] += 1
        if self.counts[key] <= MAX_PER_RULE:
            self.findings.append(Finding(severity, message, element, rule, index))

    def summarise(self) -> None:
        """Say how many findings each capped (message, rule) left out."""
        for (index, rule), count in sorted(self.counts.items()):
            if count > MAX_PER_RULE:
                self.findings.append(Finding(
                    Severity.INFO, f"{count - MAX_PER_RULE} more {rule} findings not listed",
                    "", rule, index))


def _cookie_pairs(value: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in value.replace(",", ";").split(";"):
        key, eq, val = part.strip().partition("=")
        if eq and key and key.lower() not in ("path", "domain", "expires", "max-age",
                                              "$path", "$version", "$domain"):
            out.setdefault(key, val.strip())
    return out


def _check_http(ctx: Context, i: int, m: Message) -> None:
    empty = not m.body.strip()
    if empty:
        length = m.header("Content-Length")
        if length is not None and length.strip() not in ("0", ""):
            ctx.add(Severity.ERROR, "http-empty-post",
                    f"empty POST with Content-Length {length}", "Content-Length", i)
        for name in ("SOAPAction", "Content-Type"):
            if m.header(name) is not None:
                ctx.add(Severity.ERROR, "http-empty-post",
                        f"the empty POST carries a {name} header", name, i)
    else:
        content_type = (m.header("Content-Type") or "").strip().lower()
        if not content_type.startswith("text/xml"):
            ctx.add(Severity.WARNING, "http-content-type",
                    f"SOAP body sent as {content_type or 'no Content-Type'!r}, not text/xml",
                    "Content-Type", i)
        action = m.header("SOAPAction")
        is_answer = m.rpc == "Fault" or m.rpc.endswith("Response")
        if is_answer and action is not None and action.strip():
            quoted = action.strip() == '""'
            ctx.add(Severity.WARNING if quoted else Severity.ERROR, "http-soapaction",
                    f"SOAPAction {action!r} on a {m.rpc}: it must have no value"
                    + (" (not even quotes)" if quoted else ""), "SOAPAction", i)
    sent = _cookie_pairs(m.header("Cookie") or "")
    for name, value in ctx.cookies.items():
        if name not in sent:
            ctx.add(Severity.ERROR, "http-cookie",
                    f"the cookie {name} the ACS set is not returned", "Cookie", i)
        elif sent[name] != value:
            ctx.add(Severity.ERROR, "http-cookie",
                    f"the cookie {name} comes back with another value", "Cookie", i)


def _parse(ctx: Context, i: int, m: Message) -> tuple[Any, Envelope | None]:
    """The lxml root and the decoded envelope (either None when unreadable; reported)."""
    try:
        root = parse_xml(m.body)
    except CwmpParseError as exc:
        ctx.add(Severity.ERROR, "soap-parse", str(exc), "", i)
        return None, None
    try:
        env = codec.parse(m.body)
    except CwmpParseError as exc:
        ctx.add(Severity.ERROR, "soap-method", str(exc), "Body", i)
        return root, None
    return root, env


def _version_of(env: Envelope) -> str:
    try:
        return codec.detect_version(env)
    except CwmpParseError:
        return ""


def _check_schema(ctx: Context, i: int, root: Any) -> None:
    if not ctx.version:
        return
    for error in schema.validate(root, ctx.version):
        if ctx.masked and f"'{MASK}'" in error.message:
            continue  # a secret masked when the file was saved: its real value is unknown
        ctx.add(Severity.ERROR, "cwmp-xsd",
                f"CWMP {ctx.version} schema, line {error.line}: {error.message}",
                error.path, i)
    namespace = root.nsmap.get("cwmp") or ""
    if namespace in schema.UNOFFICIAL:
        ctx.add(Severity.WARNING, "cwmp-xsd",
                f"unofficial namespace {namespace}: 1.3 and 1.4 use urn:dslforum-org:cwmp-1-2",
                "Envelope", i)


def _check_order(ctx: Context, i: int, m: Message, env: Envelope | None) -> None:
    message = env.message if env is not None else None
    method = m.rpc or (message.METHOD if message is not None else "")
    if method == "Inform":
        ctx.pending = None
        return
    if not ctx.seen_inform:
        ctx.add(Severity.ERROR, "session-order",
                f"{method or 'an empty POST'} before any Inform: a session starts with one",
                method, i)
        return
    cls = rpc.BY_METHOD.get(method)
    if ctx.pending is not None:
        asked, asked_id = ctx.pending
        if not method:
            ctx.add(Severity.ERROR, "session-order",
                    f"empty POST while the ACS's {asked} awaits an answer", "", i)
            return
        if cls is not None and cls.CPE_REQUEST and not method.endswith("Response"):
            return  # a CPE request instead of the answer: allowed (the RPC stays pending)
        if method != "Fault" and method != f"{asked}Response":
            ctx.add(Severity.ERROR, "session-order",
                    f"{method} in answer to {asked}", method, i)
        if env is not None and asked_id and env.cwmp_id != asked_id:
            ctx.add(Severity.WARNING, "cwmp-id",
                    f"cwmp:ID {env.cwmp_id!r} does not echo the request's {asked_id!r}",
                    "ID", i)
        ctx.pending = None
        return
    if method == "Fault" or (method.endswith("Response") and method):
        ctx.add(Severity.ERROR, "session-order",
                f"{method} with no ACS request to answer", method, i)
    elif cls is not None and cls.CPE_REQUEST and ctx.hold_requests:
        ctx.add(Severity.ERROR, "session-order",
                f"{method} sent although the ACS asked HoldRequests", method, i)


# ----------------------------------------------------------------------------- faults
#: CPE fault codes the reference gives as Client faults (the rest of 9000-9032 are Server).
_CLIENT_CODES = frozenset({9003, 9005, 9006, 9007, 9008, 9021, 9022, 9023, 9024, 9025, 9026,
                           9028, 9029, 9030, 9031, 9032})


def _check_fault(ctx: Context, i: int, fault: rpc.Fault, answered: str) -> None:
    code = fault.code
    if 8000 <= code <= 8899:
        ctx.add(Severity.ERROR, "fault-range",
                f"fault {code} is an ACS fault code; a CPE answers with 9000-9899",
                "FaultCode", i)
    elif not 9000 <= code <= 9899:
        ctx.add(Severity.ERROR, "fault-range",
                f"fault {code} is outside the CPE range 9000-9899", "FaultCode", i)
    elif 9033 <= code <= 9799:
        ctx.add(Severity.WARNING, "fault-range",
                f"fault {code} is in the reserved range 9033-9799", "FaultCode", i)
    if 9000 <= code <= 9032:
        expected = "Client" if code in _CLIENT_CODES else "Server"
        given = (fault.faultcode or "").rsplit(":", 1)[-1]
        if given and given != expected:
            ctx.add(Severity.WARNING, "fault-type",
                    f"faultcode {given} for {code}; the code is a {expected} fault",
                    "faultcode", i)
    if fault.set_parameter_values_faults and answered not in ("SetParameterValues", ""):
        ctx.add(Severity.WARNING, "fault-shape",
                f"SetParameterValuesFault entries in a fault answering {answered}",
                "SetParameterValuesFault", i)
    for entry in fault.set_parameter_values_faults:
        if entry.code == 9004 or not 9000 <= entry.code <= 9899:
            ctx.add(Severity.WARNING, "fault-shape",
                    f"{entry.name}: fault {entry.code} for one parameter (9005-9008 expected)",
                    entry.name, i)


def _check_transfer_fault(ctx: Context, i: int, struct: rpc.FaultStruct, where: str) -> None:
    code = struct.code
    if code != 0 and not 9000 <= code <= 9899:
        ctx.add(Severity.ERROR, "fault-range",
                f"{where} FaultCode {code}: 0 for success, else 9000-9899", "FaultCode", i)


# ----------------------------------------------------------------------------- driver
def lint_messages(
    messages: Sequence[Message], *, cwmp_version: str = "", first_contact: bool | None = None,
    masked: bool = False,
) -> list[Finding]:
    """Lint the CPE's messages of one session (the ACS's give the context).

    Args:
        messages: the session's HTTP messages in order.
        cwmp_version: the CWMP version the CPE declared, when known ("" to detect it).
        first_contact: True when the device had never had a session before this one,
            False when it had, None when unknown (the BOOTSTRAP rule is then skipped).
        masked: the secrets were masked (a saved file): masked values are not judged.

    Returns:
        The findings, in message order.
    """
    from acs_engine.inspect import lint_inform

    ctx = Context(version=cwmp_version if cwmp_version in schema.SCHEMA_FILES else "",
                  first_contact=first_contact, masked=masked)
    last = messages[-1] if messages else None
    ctx.complete = bool(last is not None and last.direction == "out"
                        and last.status in (200, 204) and not last.body.strip())
    for i, m in enumerate(messages):
        if m.direction == "out":
            _on_acs_message(ctx, m)
            continue
        _check_http(ctx, i, m)
        env = None
        if m.body.strip():
            root, env = _parse(ctx, i, m)
            if env is not None and isinstance(env.message, rpc.Inform) and not ctx.version:
                ctx.version = _version_of(env)
            if root is not None:
                _check_schema(ctx, i, root)
        pending = ctx.pending
        _check_order(ctx, i, m, env)
        if env is None:
            continue
        message = env.message
        if isinstance(message, rpc.Inform):
            if ctx.seen_inform and ctx.events and message.events != ctx.events:
                ctx.cookies.clear()  # a new session on the same connection
            ctx.seen_inform = True
            ctx.events = message.events
            lint_inform.check_inform(ctx, i, message, root)
        elif isinstance(message, rpc.Fault):
            _check_fault(ctx, i, message, pending[0] if pending else "")
        elif isinstance(message, rpc.GetParameterNamesResponse):
            lint_inform.check_writable(ctx, i, message)
        elif isinstance(message, rpc.GetParameterValuesResponse):
            lint_inform.check_values(ctx, i, message.parameters, None, "GetParameterValues")
        if isinstance(message, (rpc.TransferComplete, rpc.AutonomousTransferComplete)):
            _check_transfer_fault(ctx, i, message.fault, message.METHOD)
        cls = type(message)
        if cls.CPE_REQUEST and not isinstance(message, rpc.Inform):
            ctx.cpe_requests.append(message)
    lint_inform.check_session_events(ctx, len(messages))
    ctx.summarise()
    return sorted(ctx.findings, key=lambda f: f.index if f.index >= 0 else len(messages))


def _on_acs_message(ctx: Context, m: Message) -> None:
    for name, value in m.headers:
        if name.lower() == "set-cookie":
            key, _, rest = value.partition("=")
            if key.strip():
                ctx.cookies[key.strip()] = rest.split(";", 1)[0].strip()
    ctx.hold_requests = False
    if not m.body.strip():
        return
    try:
        env = codec.parse(m.body)
    except CwmpParseError:
        return
    if env is None:
        return
    ctx.hold_requests = bool(env.hold_requests)
    cls = type(env.message)
    if cls.ACS_REQUEST:
        ctx.pending = (cls.METHOD, env.cwmp_id)


def lint_session(session: SessionFile, *, first_contact: bool | None = None) -> list[Finding]:
    """Lint a session's CPE messages (see :func:`lint_messages`)."""
    return lint_messages(session.messages, cwmp_version=session.cwmp_version,
                         first_contact=first_contact, masked=session.secrets_masked)


def has_errors(findings: Sequence[Finding]) -> bool:
    """True when a finding is an error."""
    return any(f.severity is Severity.ERROR for f in findings)
