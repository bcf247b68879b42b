"""Property tests: parse never raises anything but CwmpParseError; values round-trip."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acs_engine.cwmp import codec, rpc
from acs_engine.cwmp.envelope import Envelope
from tests.unit.cwmp.samples import SAMPLES

_SEEDS = [codec.serialize(Envelope(m, cwmp_id="1")) for m in SAMPLES.values()]
_SETTINGS = settings(max_examples=100, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow])


def _parse_is_total(body: bytes) -> None:
    try:
        result = codec.parse(body)
    except codec.CwmpParseError:
        return
    assert result is None or isinstance(result, Envelope)


@_SETTINGS
@given(st.binary(max_size=2048))
def test_parse_arbitrary_bytes(body: bytes) -> None:
    _parse_is_total(body)


@st.composite
def mutated_envelopes(draw: st.DrawFn) -> bytes:
    body = bytearray(draw(st.sampled_from(_SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["delete", "insert", "flip", "duplicate", "tag"]))
        at = draw(st.integers(0, len(body)))
        if op == "delete":
            del body[at:at + draw(st.integers(1, 40))]
        elif op == "insert":
            body[at:at] = draw(st.binary(min_size=1, max_size=20))
        elif op == "flip" and at < len(body):
            body[at] = draw(st.integers(0, 255))
        elif op == "duplicate":
            body[at:at] = body[at:at + draw(st.integers(1, 60))]
        else:
            body[at:at] = draw(st.sampled_from(
                [b"<x>", b"</x>", b"<Value/>", b"&amp;", b"<![CDATA[<]]>", b"<!-- c -->",
                 b"<?pi x?>", b"<!DOCTYPE a>", b"<cwmp:Fault>", b'xsi:type="xsd:int"']))
    return bytes(body)


@_SETTINGS
@given(mutated_envelopes())
def test_parse_mutated_envelopes(body: bytes) -> None:
    _parse_is_total(body)


_XML_TEXT = st.text(
    st.characters(codec="utf-8",
                  exclude_characters="".join(map(chr, [*range(0, 9), 11, 12, *range(14, 32),
                                                       0xFFFE, 0xFFFF]))),
    max_size=60,
)


@settings(max_examples=100, deadline=None)
@given(name=_XML_TEXT.map(str.strip), value=_XML_TEXT, key=_XML_TEXT, cwmp_id=_XML_TEXT)
def test_any_xml_text_round_trips_exactly(name: str, value: str, key: str, cwmp_id: str) -> None:
    env = Envelope(rpc.SetParameterValues((rpc.ParameterValue(name, value),), key),
                   cwmp_id=cwmp_id)
    assert codec.parse(codec.serialize(env)) == env
