"""The sans-IO SOAP codec: bytes <-> :class:`~acs_engine.cwmp.envelope.Envelope`.

``parse`` reads what a CPE (or an ACS, for the simulator) sends, leniently and safely;
``serialize`` writes schema-valid envelopes; ``detect_version`` and ``negotiate`` settle the
CWMP version of a session from its Inform.

Example:
    >>> env = parse(body)                      # None for the CPE's empty POST
    >>> namespace, use = negotiate(env)        # answer in the CPE's namespace
    >>> reply = Envelope(InformResponse(), cwmp_id=env.cwmp_id, namespace=namespace,
    ...                  use_cwmp_version=use)
    >>> serialize(reply)
"""

from __future__ import annotations

import logging

from acs_engine.cwmp.decode import decode_envelope, parse_xml
from acs_engine.cwmp.encode import encode_envelope
from acs_engine.cwmp.envelope import (
    NS_CWMP_1_0,
    NS_CWMP_1_1,
    NS_CWMP_1_2,
    NS_CWMP_1_3,
    NS_CWMP_1_4,
    VERSIONS,
    Envelope,
)
from acs_engine.cwmp.errors import CwmpParseError, UnknownMethodError, VersionMismatch

__all__ = [
    "CwmpParseError",
    "UnknownMethodError",
    "VersionMismatch",
    "detect_version",
    "negotiate",
    "parse",
    "serialize",
]

log = logging.getLogger("fieldacs.cwmp")

_BOM = b"\xef\xbb\xbf"
_NAMESPACE_VERSION = {
    NS_CWMP_1_0: "1.0",
    NS_CWMP_1_1: "1.1",
    NS_CWMP_1_3: "1.3",
    NS_CWMP_1_4: "1.4",
}
_OURS: dict[tuple[int, int], str] = {}
for _v in VERSIONS:
    _major, _minor = _v.split(".")
    _OURS[int(_major), int(_minor)] = _v


def parse(body: bytes | bytearray | memoryview) -> Envelope | None:
    """Parse one HTTP body into an :class:`Envelope`.

    The XML declaration's encoding is honoured; UTF-8 without a declaration and a leading
    byte-order mark are accepted. DTDs are refused outright and entities are never expanded.

    Args:
        body: the raw HTTP request or response body (bytes-like).

    Returns:
        The envelope, or None for an empty or whitespace-only body (the CPE's empty POST).

    Raises:
        UnknownMethodError: the Body holds a method not in :data:`rpc.BY_METHOD`; carries
            ``method``, ``cwmp_id`` and ``namespace`` for a fault reply.
        CwmpParseError: anything else that makes the body unreadable, with a short reason.
    """
    if not isinstance(body, bytes):
        body = bytes(body)
    if not body or body.isspace() or (body.startswith(_BOM) and not body[3:].strip()):
        return None
    return decode_envelope(parse_xml(body))


def serialize(env: Envelope) -> bytes:
    """Serialize an envelope to UTF-8 bytes, valid against the BBF schema of its namespace.

    Args:
        env: the envelope; ``env.namespace`` selects the cwmp namespace written.

    Returns:
        The XML document, with an XML declaration.

    Raises:
        ValueError: a string holds characters XML 1.0 cannot carry.
        TypeError: the message is not a CWMP message class.
    """
    return encode_envelope(env)


def _version_key(text: str) -> tuple[int, int] | None:
    major, dot, minor = text.strip().partition(".")
    if not dot or not major.isdigit() or not minor.isdigit():
        return None
    return int(major), int(minor)


def _highest(versions: tuple[str, ...]) -> tuple[int, int] | None:
    keys = [k for k in map(_version_key, versions) if k is not None]
    return max(keys) if keys else None


def detect_version(env: Envelope) -> str:
    """The CWMP version a (CPE) envelope speaks: ``"1.0"`` .. ``"1.4"``.

    ``cwmp-1-0`` -> 1.0 and ``cwmp-1-1`` -> 1.1. ``cwmp-1-2`` is shared by 1.2, 1.3 and 1.4:
    the highest of SupportedCWMPVersions when that header is present (capped at 1.4),
    else 1.3 when a SessionTimeout header is present, else 1.2. The unofficial ``cwmp-1-3`` /
    ``cwmp-1-4`` URNs give 1.3 / 1.4.

    Raises:
        CwmpParseError: the envelope's namespace is not a cwmp URN.
    """
    version = _NAMESPACE_VERSION.get(env.namespace)
    if version is not None:
        return version
    if env.namespace != NS_CWMP_1_2:
        raise CwmpParseError(f"unrecognised CWMP namespace {env.namespace!r}")
    highest = _highest(env.supported_versions)
    if highest is not None:
        if highest >= (1, 4):
            return "1.4"
        if highest >= (1, 2) and highest in _OURS:
            return _OURS[highest]
    return "1.3" if env.session_timeout is not None else "1.2"


def negotiate(inform_env: Envelope) -> tuple[str, str | None]:
    """Choose how to answer an Inform.

    Args:
        inform_env: the parsed Inform envelope.

    Returns:
        ``(namespace, use_cwmp_version)``: the namespace to answer in (the CPE's own) and,
        when the CPE sent SupportedCWMPVersions, the highest version both sides support, to
        send back as ``cwmp:UseCWMPVersion``; otherwise None.

    Raises:
        VersionMismatch: the CPE listed versions but none of them is one we speak (the
            server answers with fault 8006).
    """
    if not inform_env.supported_versions:
        return inform_env.namespace, None
    common = [
        key for key in map(_version_key, inform_env.supported_versions)
        if key is not None and key in _OURS
    ]
    if not common:
        raise VersionMismatch(
            "no common CWMP version: CPE supports "
            f"{','.join(inform_env.supported_versions)}, ACS supports {','.join(VERSIONS)}",
            cwmp_id=inform_env.cwmp_id, namespace=inform_env.namespace,
            method=inform_env.message.METHOD,
        )
    chosen = _OURS[max(common)]
    log.debug("negotiated CWMP %s with CPE offering %s", chosen, inform_env.supported_versions)
    return inform_env.namespace, chosen
