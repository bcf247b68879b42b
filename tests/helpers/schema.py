"""Validate CWMP envelopes against the Broadband Forum schemas, offline.

The BBF schemas (tests/data/bbf/cwmp-1-*.xsd) import the SOAP 1.1 envelope and encoding
schemas from the network and 1-3/1-4 include their predecessors from the Forum's web site. A
resolver maps those locations to local files: the BBF copies and two small stand-ins for the
SOAP schemas. The stand-in envelope schema checks Header entries, the Body entry and a Fault's
detail entry *strictly*, so validating the whole envelope validates every cwmp element in it.

Usage::

    from tests.helpers.schema import validate
    validate(codec.serialize(env), "1.2")      # raises SchemaViolation with the reasons
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lxml import etree

DATA = Path(__file__).resolve().parent.parent / "data" / "bbf"

#: Protocol version -> schema file (1.3 and 1.4 keep the cwmp-1-2 namespace).
SCHEMA_FILES: dict[str, str] = {
    "1.0": "cwmp-1-0.xsd",
    "1.1": "cwmp-1-1.xsd",
    "1.2": "cwmp-1-2.xsd",
    "1.3": "cwmp-1-3.xsd",
    "1.4": "cwmp-1-4.xsd",
}

#: Protocol version -> the namespace its schema defines.
SCHEMA_NAMESPACES: dict[str, str] = {
    "1.0": "urn:dslforum-org:cwmp-1-0",
    "1.1": "urn:dslforum-org:cwmp-1-1",
    "1.2": "urn:dslforum-org:cwmp-1-2",
    "1.3": "urn:dslforum-org:cwmp-1-2",
    "1.4": "urn:dslforum-org:cwmp-1-2",
}

_UNOFFICIAL = (b"urn:dslforum-org:cwmp-1-3", b"urn:dslforum-org:cwmp-1-4")

_LOCATIONS = {
    "http://schemas.xmlsoap.org/soap/envelope/": DATA / "soap-envelope.xsd",
    "http://schemas.xmlsoap.org/soap/encoding/": DATA / "soap-encoding.xsd",
}
_BBF_PREFIX = "http://www.broadband-forum.org/cwmp/"


class SchemaViolation(AssertionError):
    """An envelope that does not validate; the message lists libxml2's reasons."""


class _OfflineResolver(etree.Resolver):
    def resolve(self, system_url: str, public_id: str, context: object) -> object:
        local = _LOCATIONS.get(system_url)
        if local is None and system_url.startswith(_BBF_PREFIX):
            local = DATA / system_url[len(_BBF_PREFIX):]
        if local is None:
            return None
        return self.resolve_filename(str(local), context)


@cache
def schema_for(version: str) -> etree.XMLSchema:
    """The compiled schema of a CWMP version (cached)."""
    parser = etree.XMLParser(no_network=True)
    parser.resolvers.add(_OfflineResolver())
    document = etree.parse(str(DATA / SCHEMA_FILES[version]), parser)
    return etree.XMLSchema(document)


@cache
def declared_elements(version: str) -> frozenset[str]:
    """Names of the global cwmp elements (RPCs, responses, headers) a version's schema has."""
    names: set[str] = set()
    xs = "{http://www.w3.org/2001/XMLSchema}"
    files = [SCHEMA_FILES[version]]
    if version in ("1.3", "1.4"):
        files += ["cwmp-1-2.xsd", "cwmp-1-3.xsd"]
    for name in files:
        root = etree.parse(str(DATA / name)).getroot()
        names.update(el.get("name") for el in root.iterchildren(f"{xs}element"))
    return frozenset(names)


def errors(envelope: bytes, version: str) -> list[str]:
    """Validation errors of a serialized envelope against ``version``'s schema ([] if valid).

    An envelope in the unofficial ``cwmp-1-3``/``cwmp-1-4`` namespaces is checked as if it
    used ``cwmp-1-2``, the namespace the 1.3/1.4 schemas define.
    """
    if version in ("1.3", "1.4"):
        for urn in _UNOFFICIAL:
            envelope = envelope.replace(urn, b"urn:dslforum-org:cwmp-1-2")
    document = etree.fromstring(envelope, etree.XMLParser(resolve_entities=False,
                                                         no_network=True))
    schema = schema_for(version)
    if schema.validate(document):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def validate(envelope: bytes, version: str) -> None:
    """Assert that a serialized envelope is valid for CWMP ``version`` ("1.0" .. "1.4").

    Raises:
        SchemaViolation: with every validation error and the document.
    """
    problems = errors(envelope, version)
    if problems:
        listing = "\n  ".join(problems)
        raise SchemaViolation(
            f"envelope is not valid CWMP {version}:\n  {listing}\n{envelope.decode(errors='replace')}"
        )
