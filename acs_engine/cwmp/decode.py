"""Bytes -> :class:`Envelope`: the hardened, lenient half of the codec.

Reading rules (DESIGN.md, "Be lenient"): elements are matched by local name whatever their
prefix or namespace (child names case-insensitively); missing optional fields keep their
dataclass defaults; unknown elements are ignored; ``arrayType`` counts are not trusted; a
Value without ``xsi:type`` is a string; numbers, booleans and dateTimes are trimmed, strings
are not. Documents with a DOCTYPE are refused before and after parsing; entities are never
resolved and nothing is fetched.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from typing import Any, cast

from lxml import etree

from acs_engine.cwmp import rpc
from acs_engine.cwmp.envelope import CWMP_NAMESPACES, NS_CWMP_1_0, NS_XSI, Envelope
from acs_engine.cwmp.errors import CwmpParseError, UnknownMethodError
from acs_engine.cwmp.faults import fault_type
from acs_engine.cwmp.layout import LAYOUT_BY_NAME, Kind
from acs_engine.cwmp.values import normalize_type

log = logging.getLogger("fieldacs.cwmp")

Element = Any  # lxml's _Element; typed loosely because lxml ships no complete stubs

_XSI_TYPE = "{" + NS_XSI + "}type"
_KNOWN_NS = {ns.lower(): ns for ns in CWMP_NAMESPACES}
_METHODS_LOWER = {name.lower(): cls for name, cls in rpc.BY_METHOD.items()}
_FAULT_CODE_RE = re.compile(r"\b(8[0-8]\d\d|9[0-8]\d\d)\b")
_DOCTYPE_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")
_WIDE_DOCTYPE_MARKERS = tuple(
    marker.encode(codec)
    for marker in ("<!DOCTYPE", "<!ENTITY")
    for codec in ("utf-16-le", "utf-16-be")
)
_MISSING = object()

_parsers = threading.local()


def _parser(recover: bool) -> etree.XMLParser:
    """The calling thread's hardened parser (lxml parsers must not be shared across threads)."""
    name = "recover" if recover else "strict"
    parser = getattr(_parsers, name, None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False,
            remove_comments=True, remove_pis=True, collect_ids=False, recover=recover,
        )
        setattr(_parsers, name, parser)
    return parser


def parse_xml(body: bytes) -> Element:
    """Parse ``body`` with the hardened parser and return the root element.

    A document that is well-formed except for undeclared namespace prefixes (some CPE stacks
    write ``SOAP-ENV:Envelope`` without declaring it) is accepted; its tags then keep the
    ``prefix:`` in their names, which :func:`local` strips.

    Raises:
        CwmpParseError: DOCTYPE/ENTITY present, or the bytes are not well-formed XML.
    """
    # Cheap single-byte scans first: most bodies contain neither "!" nor NUL.
    if (b"!" in body and any(marker in body for marker in _DOCTYPE_MARKERS)) or (
        b"\x00" in body and any(marker in body for marker in _WIDE_DOCTYPE_MARKERS)
    ):
        raise CwmpParseError("DOCTYPE is not allowed (DTDs and entity declarations are refused)")
    try:
        root = etree.fromstring(body, _parser(False))
    except etree.XMLSyntaxError as exc:
        root = _recover_namespaces(body, exc)
    except (etree.LxmlError, ValueError, LookupError) as exc:
        raise CwmpParseError(f"cannot parse XML: {exc}") from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise CwmpParseError("DOCTYPE is not allowed (DTDs and entity declarations are refused)")
    return root


def _recover_namespaces(body: bytes, exc: etree.XMLSyntaxError) -> Element:
    """Re-parse a document whose only errors are undeclared prefixes; else raise for ``exc``."""
    parser = _parser(True)
    try:
        root = etree.fromstring(body, parser)
    except (etree.LxmlError, ValueError, LookupError):
        root = None
    errors = list(parser.error_log)
    if (
        root is not None and errors
        and all(e.domain == etree.ErrorDomains.NAMESPACE for e in errors)
    ):
        log.debug("accepting envelope with undeclared namespace prefixes: %s", errors[0].message)
        return root
    raise CwmpParseError(f"not well-formed XML: {exc.msg}") from exc


def local(tag: str) -> str:
    """Local name of a tag: ``{ns}Inform``, ``cwmp:Inform`` (recovered) and ``Inform`` alike."""
    cut = tag.rfind("}")
    if cut < 0:
        cut = tag.rfind(":")
    return tag[cut + 1:]


_keys: dict[object, str] = {}


def key_of(tag: object) -> str:
    """Lower-cased local name of a tag, cached ("" for comments and other non-elements)."""
    key = _keys.get(tag)
    if key is None:
        key = local(tag).lower() if isinstance(tag, str) else ""
        if len(_keys) < 4096:
            _keys[tag] = key
    return key


def _namespace(tag: str) -> str | None:
    if tag[:1] == "{":
        return tag[1:tag.index("}")]
    return None


def _text(el: Element) -> str:
    text = el.text
    return text if text is not None else ""


def _elements(el: Element) -> list[Element]:
    return [child for child in el if isinstance(child.tag, str)]


def _fields(el: Element) -> dict[str, Element]:
    """Child elements by lower-cased local name (the first of each name wins)."""
    out: dict[str, Element] = {}
    for child in el:
        tag = child.tag
        key = _keys.get(tag) or key_of(tag)
        if key and key not in out:
            out[key] = child
    return out


def _int(el: Element | None) -> Any:
    if el is None:
        return _MISSING
    text = _text(el).strip()
    try:
        return int(text)
    except ValueError:
        log.debug("ignoring non-integer <%s>: %r", local(el.tag), text)
        return _MISSING


def _bool(el: Element | None) -> Any:
    if el is None:
        return _MISSING
    word = _text(el).strip().lower()
    if word in ("1", "true"):
        return True
    if word in ("0", "false"):
        return False
    log.debug("ignoring non-boolean <%s>: %r", local(el.tag), word)
    return _MISSING


def _time(el: Element) -> Any:
    text = _text(el).strip()
    return text if text else _MISSING


def _str_of(fields: dict[str, Element], key: str) -> str:
    el = fields.get(key)
    return "" if el is None else _text(el)


_type_cache: dict[str | None, str] = {}


def _value_type(value_el: Element) -> str:
    raw = value_el.get(_XSI_TYPE)
    if raw is None and len(value_el.attrib):
        for key, text in value_el.attrib.items():
            if local(key) == "type":
                raw = text
                break
    kind = _type_cache.get(raw)
    if kind is None:
        kind = normalize_type(raw)
        if len(_type_cache) < 512:
            _type_cache[raw] = kind
    return kind


def _values(arr: Element) -> tuple[rpc.ParameterValue, ...]:
    # The hot path of every Inform and GPV response: written out flat on purpose.
    out: list[rpc.ParameterValue] = []
    append = out.append
    keys = _keys
    value_struct = rpc.ParameterValue
    for item in arr:
        if not isinstance(item.tag, str):
            continue
        name = ""
        value_el = None
        for part in item:
            tag = part.tag
            key = keys.get(tag) or key_of(tag)
            if key == "name":
                name = (part.text or "").strip()
            elif key == "value" and value_el is None:
                value_el = part
        if value_el is None:
            append(value_struct(name, ""))
            continue
        raw = value_el.get(_XSI_TYPE)
        kind = _type_cache.get(raw) if raw is not None else None
        if kind is None:
            kind = _value_type(value_el)
        text = value_el.text or ""
        append(value_struct(name, text if kind == "xsd:string" else text.strip(), kind))
    return tuple(out)


def _names(arr: Element) -> tuple[str, ...]:
    return tuple(_text(item).strip() for item in _elements(arr))


def _events(arr: Element) -> tuple[rpc.EventStruct, ...]:
    out = []
    for item in _elements(arr):
        fields = _fields(item)
        out.append(rpc.EventStruct(_str_of(fields, "eventcode").strip(),
                                   _str_of(fields, "commandkey")))
    return tuple(out)


def _infos(arr: Element) -> tuple[rpc.ParameterInfo, ...]:
    out = []
    for item in _elements(arr):
        fields = _fields(item)
        writable = _bool(fields.get("writable"))
        out.append(rpc.ParameterInfo(_str_of(fields, "name").strip(), writable is True))
    return tuple(out)


def _access_list(el: Element | None) -> tuple[str, ...]:
    return () if el is None else _names(el)


def _attributes(arr: Element) -> tuple[rpc.ParameterAttribute, ...]:
    out = []
    for item in _elements(arr):
        fields = _fields(item)
        notification = _int(fields.get("notification"))
        out.append(rpc.ParameterAttribute(
            _str_of(fields, "name").strip(),
            0 if notification is _MISSING else notification,
            _access_list(fields.get("accesslist")),
        ))
    return tuple(out)


def _set_attributes(arr: Element) -> tuple[rpc.SetParameterAttributesStruct, ...]:
    out = []
    for item in _elements(arr):
        fields = _fields(item)
        notification = _int(fields.get("notification"))
        out.append(rpc.SetParameterAttributesStruct(
            name=_str_of(fields, "name").strip(),
            notification_change=_bool(fields.get("notificationchange")) is True,
            notification=0 if notification is _MISSING else notification,
            access_list_change=_bool(fields.get("accesslistchange")) is True,
            access_list=_access_list(fields.get("accesslist")),
        ))
    return tuple(out)


def _args(arr: Element) -> tuple[rpc.ArgStruct, ...]:
    out = []
    for item in _elements(arr):
        fields = _fields(item)
        out.append(rpc.ArgStruct(_str_of(fields, "name").strip(), _str_of(fields, "value")))
    return tuple(out)


def _fault_struct(el: Element) -> rpc.FaultStruct:
    fields = _fields(el)
    code = _int(fields.get("faultcode"))
    return rpc.FaultStruct(0 if code is _MISSING else code, _str_of(fields, "faultstring"))


def _device_id(el: Element) -> rpc.DeviceId:
    fields = _fields(el)
    device = rpc.DeviceId(
        manufacturer=_str_of(fields, "manufacturer"),
        oui=_str_of(fields, "oui"),
        product_class=_str_of(fields, "productclass"),
        serial_number=_str_of(fields, "serialnumber"),
    )
    if not device.serial_number.strip():
        raise CwmpParseError("Inform DeviceId without SerialNumber")
    if not device.oui.strip():
        raise CwmpParseError("Inform DeviceId without OUI")
    return device


def _du_result(el: Element) -> tuple[tuple[str, str], ...]:
    """One OpResultStruct flattened to (name, text) pairs; nested fields as ``Fault.FaultCode``."""
    pairs: list[tuple[str, str]] = []
    for child in _elements(el):
        name = local(child.tag)
        parts = _elements(child)
        if parts:
            pairs.extend((f"{name}.{local(p.tag)}", _text(p)) for p in parts)
        else:
            pairs.append((name, _text(child)))
    return tuple(pairs)


def _du_results(el: Element) -> list[tuple[tuple[str, str], ...]]:
    """A ``<Results>`` element: one result, or a SOAP array of ``*Struct`` results."""
    children = _elements(el)
    if children and all(local(c.tag).lower().endswith("struct") for c in children):
        return [_du_result(c) for c in children]
    return [_du_result(el)]


_DECODERS: dict[Kind, Callable[[Element], Any]] = {
    Kind.STR: _text,
    Kind.INT: _int,
    Kind.BOOL: _bool,
    Kind.TIME: _time,
    Kind.DEVICE_ID: _device_id,
    Kind.FAULT_STRUCT: _fault_struct,
    Kind.EVENTS: _events,
    Kind.VALUES: _values,
    Kind.NAMES: _names,
    Kind.INFOS: _infos,
    Kind.ATTRIBUTES: _attributes,
    Kind.SET_ATTRIBUTES: _set_attributes,
    Kind.ARGS: _args,
}


_Decoder = Callable[[Element], Any]
_Constructor = Callable[..., rpc.Message]

#: Per message class: lower-cased child name -> (attribute, decoder or None for DU results).
_FIELD_DECODERS: dict[type[rpc.Message], dict[str, tuple[str, _Decoder | None]]] = {
    cls: {
        key: (attr, None if kind is Kind.DU_RESULTS else _DECODERS[kind])
        for key, (attr, kind) in fields.items()
    }
    for cls, fields in LAYOUT_BY_NAME.items()
}


def decode_message(cls: type[rpc.Message], el: Element) -> rpc.Message:
    """Build a message of class ``cls`` from its Body element ``el``."""
    layout = _FIELD_DECODERS[cls]
    kwargs: dict[str, Any] = {}
    du_results: list[tuple[tuple[str, str], ...]] | None = None
    for child in el:
        tag = child.tag
        spec = layout.get(_keys.get(tag) or key_of(tag))
        if spec is None:
            continue
        attr, decoder = spec
        if decoder is None:
            du_results = (du_results or []) + _du_results(child)
            continue
        if attr in kwargs:
            continue
        value = decoder(child)
        if value is not _MISSING:
            kwargs[attr] = value
    if du_results is not None:
        kwargs["results"] = tuple(du_results)
    if cls is rpc.Inform and "device_id" not in kwargs:
        raise CwmpParseError("Inform without DeviceId")
    return cast(_Constructor, cls)(**kwargs)


def _soap_faultcode(text: str) -> str | None:
    word = text.strip().rpartition(":")[2].lower()
    if word.startswith(("client", "sender")):
        return "Client"
    if word.startswith(("server", "receiver")):
        return "Server"
    return None


def decode_fault(el: Element) -> tuple[rpc.Fault, Element | None]:
    """Read a SOAP Fault (or a bare cwmp:Fault) into :class:`rpc.Fault`.

    Returns:
        The fault and the cwmp:Fault element it came from (None when there was no detail).
    """
    soap = {local(c.tag): c for c in reversed(_elements(el))}
    cwmp_fault: Element | None = None
    if "FaultCode" in soap and "faultcode" not in soap and "detail" not in soap:
        cwmp_fault = el
    else:
        detail = soap.get("detail")
        if detail is None:
            detail = soap.get("Detail")
        if detail is not None:
            inner = _elements(detail)
            cwmp_fault = next((c for c in inner if local(c.tag).lower() == "fault"),
                              inner[0] if inner else None)
    faultcode_text = _text(soap["faultcode"]) if "faultcode" in soap else ""
    faultstring = _text(soap["faultstring"]) if "faultstring" in soap else ""
    soap_code = _soap_faultcode(faultcode_text)
    spv: list[rpc.SetParameterValuesFault] = []
    if cwmp_fault is not None:
        fields = _fields(cwmp_fault)
        code = _int(fields.get("faultcode"))
        string = _str_of(fields, "faultstring")
        for item in _elements(cwmp_fault):
            if local(item.tag).lower() != "setparametervaluesfault":
                continue
            parts = _fields(item)
            item_code = _int(parts.get("faultcode"))
            spv.append(rpc.SetParameterValuesFault(
                _str_of(parts, "parametername").strip(),
                9002 if item_code is _MISSING else item_code,
                _str_of(parts, "faultstring"),
            ))
    else:
        found = _FAULT_CODE_RE.search(faultstring) or _FAULT_CODE_RE.search(faultcode_text)
        code = int(found.group(1)) if found else _MISSING
        string = "" if faultstring.strip() == "CWMP fault" else faultstring
        log.debug("SOAP Fault without cwmp:Fault detail (faultstring %r)", faultstring)
    if code is _MISSING:
        code = 9002
    fault = rpc.Fault(
        code=code, string=string, faultcode=soap_code or fault_type(code),
        set_parameter_values_faults=tuple(spv),
    )
    return fault, cwmp_fault


def _header_fields(header: Element | None) -> tuple[dict[str, Any], list[Element]]:
    kwargs: dict[str, Any] = {}
    seen: list[Element] = []
    if header is None:
        return kwargs, seen
    for child in _elements(header):
        seen.append(child)
        key = local(child.tag).lower()
        text = _text(child)
        if key == "id":
            kwargs.setdefault("cwmp_id", text)
        elif key == "holdrequests":
            value = _bool(child)
            if value is not _MISSING:
                kwargs["hold_requests"] = value
        elif key == "nomorerequests":
            kwargs["no_more_requests"] = _bool(child) is True
        elif key == "sessiontimeout":
            value = _int(child)
            if value is not _MISSING:
                kwargs["session_timeout"] = value
        elif key == "supportedcwmpversions":
            kwargs["supported_versions"] = tuple(
                v.strip() for v in text.split(",") if v.strip()
            )
        elif key == "usecwmpversion":
            kwargs["use_cwmp_version"] = text.strip() or None
    return kwargs, seen


def _cwmp_namespace(candidates: list[Element], fallback: Element) -> str:
    """The cwmp namespace of the message: first known URN among element tags, then in scope."""
    for el in candidates:
        ns = _namespace(el.tag)
        if ns is not None:
            known = _KNOWN_NS.get(ns.lower())
            if known is not None:
                return known
    for uri in fallback.nsmap.values():
        known = _KNOWN_NS.get(uri.lower()) if uri else None
        if known is not None:
            return known
    return NS_CWMP_1_0


def decode_envelope(root: Element) -> Envelope:
    """Read a parsed SOAP envelope into an :class:`Envelope`.

    Raises:
        UnknownMethodError: the Body holds a method not in :data:`rpc.BY_METHOD`.
        CwmpParseError: not a SOAP envelope, no Body, an empty Body, an Inform without DeviceId.
    """
    root_name = local(root.tag)
    if root_name != "Envelope":
        raise CwmpParseError(f"not a SOAP envelope: root element is <{root_name}>")
    header = body = None
    for child in root:
        tag = child.tag
        if not isinstance(tag, str):
            continue
        key = local(tag).lower()
        if key == "body" and body is None:
            body = child
        elif key == "header" and header is None:
            header = child
    if body is None:
        raise CwmpParseError("no SOAP Body")
    rpc_el = next((c for c in body if isinstance(c.tag, str)), None)
    headers, header_els = _header_fields(header)
    cwmp_id = headers.get("cwmp_id")
    if rpc_el is None:
        raise CwmpParseError("empty SOAP Body (no CWMP message)", cwmp_id=cwmp_id)
    method = local(rpc_el.tag)
    if method.lower() == "fault":
        fault, inner = decode_fault(rpc_el)
        namespace = _cwmp_namespace([*([inner] if inner is not None else []), *header_els],
                                    inner if inner is not None else rpc_el)
        return Envelope(message=fault, namespace=namespace, **headers)
    namespace = _cwmp_namespace([rpc_el, *header_els], rpc_el)
    cls = rpc.BY_METHOD.get(method) or _METHODS_LOWER.get(method.lower())
    if cls is None:
        raise UnknownMethodError(method, cwmp_id=cwmp_id, namespace=namespace)
    try:
        message = decode_message(cls, rpc_el)
    except CwmpParseError as exc:
        exc.cwmp_id, exc.namespace, exc.method = cwmp_id, namespace, cls.METHOD
        raise
    return Envelope(message=message, namespace=namespace, **headers)
