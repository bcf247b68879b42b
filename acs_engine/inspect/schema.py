"""Validate a CPE's SOAP envelope against the Broadband Forum CWMP schema of its version.

The schemas ship in ``resources/cwmp`` (unmodified BBF copies plus two small SOAP 1.1
stand-ins); an lxml resolver maps their network imports to those files, so nothing is ever
fetched. The 1.3 and 1.4 schemas keep the ``cwmp-1-2`` namespace; an envelope in the
unofficial ``cwmp-1-3`` / ``cwmp-1-4`` URNs is checked as ``cwmp-1-2`` (and reported apart).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from lxml import etree

#: Protocol version -> schema file.
SCHEMA_FILES: dict[str, str] = {
    "1.0": "cwmp-1-0.xsd", "1.1": "cwmp-1-1.xsd", "1.2": "cwmp-1-2.xsd",
    "1.3": "cwmp-1-3.xsd", "1.4": "cwmp-1-4.xsd",
}
#: The cwmp namespace of each version's schema.
SCHEMA_NAMESPACES: dict[str, str] = {
    "1.0": "urn:dslforum-org:cwmp-1-0", "1.1": "urn:dslforum-org:cwmp-1-1",
    "1.2": "urn:dslforum-org:cwmp-1-2", "1.3": "urn:dslforum-org:cwmp-1-2",
    "1.4": "urn:dslforum-org:cwmp-1-2",
}
UNOFFICIAL = ("urn:dslforum-org:cwmp-1-3", "urn:dslforum-org:cwmp-1-4")
#: Schema errors reported per message at most (a broken ParameterList repeats one error).
MAX_ERRORS = 20

_BBF_PREFIX = "http://www.broadband-forum.org/cwmp/"
_SOAP = {
    "http://schemas.xmlsoap.org/soap/envelope/": "soap-envelope.xsd",
    "http://schemas.xmlsoap.org/soap/encoding/": "soap-encoding.xsd",
}
_lock = threading.Lock()


def _folder() -> Path:
    return Path(str(resources.files("resources").joinpath("cwmp")))


class _OfflineResolver(etree.Resolver):
    def resolve(self, system_url: str, public_id: str, context: object) -> object:
        name = _SOAP.get(system_url)
        if name is None and system_url.startswith(_BBF_PREFIX):
            name = system_url[len(_BBF_PREFIX):]
        if name is None or "/" in name or name not in set(SCHEMA_FILES.values()) | set(
                _SOAP.values()):
            return None
        return self.resolve_filename(str(_folder() / name), context)


@cache
def schema_for(version: str) -> etree.XMLSchema:
    """The compiled schema of a CWMP version ("1.0" .. "1.4"; cached)."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(_OfflineResolver())
    document = etree.parse(str(_folder() / SCHEMA_FILES[version]), parser)
    return etree.XMLSchema(document)


@dataclass(frozen=True, slots=True)
class SchemaError:
    """One schema violation: the line, the element's path, libxml2's message."""

    line: int
    path: str
    message: str


def _short_path(path: str | None) -> str:
    """``/soap:Envelope/soap:Body/cwmp:Inform/Event`` -> ``Inform/Event``."""
    if not path:
        return ""
    parts = [p.split(":", 1)[-1] for p in path.strip("/").split("/")]
    while parts and parts[0] in ("Envelope", "Body", "Header") and len(parts) > 1:
        parts.pop(0)
    return "/".join(parts)


def validate(root: etree._Element, version: str) -> list[SchemaError]:
    """Validate a parsed envelope against ``version``'s schema; [] when valid.

    An envelope in an unofficial ``cwmp-1-3``/``cwmp-1-4`` namespace is validated as if it
    used ``cwmp-1-2``. At most :data:`MAX_ERRORS` errors are returned.
    """
    if version not in SCHEMA_FILES:
        raise ValueError(f"unknown CWMP version {version!r}")
    document = root
    text = etree.tostring(root)
    if any(urn.encode() in text for urn in UNOFFICIAL):
        for urn in UNOFFICIAL:
            text = text.replace(urn.encode(), SCHEMA_NAMESPACES["1.2"].encode())
        document = etree.fromstring(text, etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False))
    schema = schema_for(version)
    with _lock:  # an XMLSchema's error log is per object: one validation at a time
        if schema.validate(document):
            return []
        errors = list(schema.error_log)[:MAX_ERRORS]
    return [SchemaError(e.line, _short_path(e.path), e.message) for e in errors]
