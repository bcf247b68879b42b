"""detect_version and negotiate."""

from __future__ import annotations

import pytest

from acs_engine.cwmp import codec, rpc
from acs_engine.cwmp.envelope import (
    NS_CWMP_1_0,
    NS_CWMP_1_1,
    NS_CWMP_1_2,
    NS_CWMP_1_3,
    NS_CWMP_1_4,
    Envelope,
)

_INFORM = rpc.Inform(device_id=rpc.DeviceId("A", "001122", "P", "S"))


@pytest.mark.parametrize(
    ("namespace", "session_timeout", "supported", "expected"),
    [
        (NS_CWMP_1_0, None, (), "1.0"),
        (NS_CWMP_1_1, None, (), "1.1"),
        (NS_CWMP_1_2, None, (), "1.2"),
        (NS_CWMP_1_2, 30, (), "1.3"),
        (NS_CWMP_1_2, 30, ("1.0", "1.4"), "1.4"),
        (NS_CWMP_1_2, None, ("1.2", "1.3"), "1.3"),
        (NS_CWMP_1_2, None, ("1.0", "1.7"), "1.4"),
        (NS_CWMP_1_2, None, ("junk",), "1.2"),
        (NS_CWMP_1_3, None, (), "1.3"),
        (NS_CWMP_1_4, None, (), "1.4"),
    ],
)
def test_detect_version(namespace: str, session_timeout: int | None,
                        supported: tuple[str, ...], expected: str) -> None:
    env = Envelope(_INFORM, namespace=namespace, session_timeout=session_timeout,
                   supported_versions=supported)
    assert codec.detect_version(env) == expected


@pytest.mark.parametrize(
    ("namespace", "supported", "expected"),
    [
        (NS_CWMP_1_0, (), (NS_CWMP_1_0, None)),
        (NS_CWMP_1_2, (), (NS_CWMP_1_2, None)),
        (NS_CWMP_1_2, ("1.0", "1.1", "1.2", "1.3", "1.4"), (NS_CWMP_1_2, "1.4")),
        (NS_CWMP_1_2, ("1.4", "1.5", "2.0"), (NS_CWMP_1_2, "1.4")),
        (NS_CWMP_1_2, ("1.3",), (NS_CWMP_1_2, "1.3")),
        (NS_CWMP_1_4, ("1.2", "1.4"), (NS_CWMP_1_4, "1.4")),
    ],
)
def test_negotiate(namespace: str, supported: tuple[str, ...],
                   expected: tuple[str, str | None]) -> None:
    env = Envelope(_INFORM, namespace=namespace, supported_versions=supported)
    assert codec.negotiate(env) == expected


def test_negotiate_mismatch() -> None:
    env = Envelope(_INFORM, cwmp_id="i", namespace=NS_CWMP_1_2, supported_versions=("2.0",))
    with pytest.raises(codec.VersionMismatch) as info:
        codec.negotiate(env)
    assert info.value.cwmp_id == "i"


def test_negotiated_reply_round_trip() -> None:
    inform = Envelope(_INFORM, cwmp_id="n1", namespace=NS_CWMP_1_2, session_timeout=30,
                      supported_versions=("1.2", "1.3", "1.4"))
    parsed = codec.parse(codec.serialize(inform))
    assert parsed == inform
    namespace, use = codec.negotiate(parsed)
    reply = Envelope(rpc.InformResponse(), cwmp_id=parsed.cwmp_id, namespace=namespace,
                     use_cwmp_version=use)
    wire = codec.serialize(reply)
    assert b'<cwmp:UseCWMPVersion soap-env:mustUnderstand="1">1.4</cwmp:UseCWMPVersion>' in wire
    assert codec.parse(wire) == reply
