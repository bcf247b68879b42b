"""The event codec: every registered type round-trips, and hostile JSON is refused."""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from typing import Any

import pytest

from acs_engine.bus import (
    DeviceUpdated,
    EngineNotice,
    RequestRejected,
    SessionEnded,
    SessionStarted,
    SessionStateChanged,
    WireMessage,
)
from acs_engine.cwmp import rpc
from acs_engine.reach.connreq import ConnReqResult
from acs_engine.reach.wake import ConnectionRequestDone
from acs_engine.server.events_codec import (
    MAX_DEPTH,
    PROTOCOL_VERSION,
    TYPES,
    CodecError,
    decode,
    dumps,
    encode,
    loads,
)
from acs_engine.server.step_claim import StepHolderChanged
from acs_engine.session.step import StepPending, StepResolved
from acs_engine.store import records


def _sample(hint: Any, depth: int = 0) -> Any:
    """A non-default value of the type ``hint`` (for the generic round trip)."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if hint is Any:
        return {"k": [1, "two", None], "n": 1.5}
    if origin in (typing.Union, types.UnionType):
        real = [a for a in args if a is not type(None)]
        return _sample(real[0], depth)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return (_sample(args[0], depth + 1),)
        return tuple(_sample(a, depth + 1) for a in args)
    if origin is list:
        return [_sample(args[0], depth + 1)] if args else ["x"]
    if origin in (set, frozenset):
        return {_sample(args[0], depth + 1)}
    if origin is dict:
        return {"key": _sample(args[1], depth + 1)} if args else {"key": "v"}
    if origin is typing.Literal:
        return args[0]
    if hint is str:
        return "x\u00e9"
    if hint is bool:
        return True
    if hint is int:
        return 7
    if hint is float:
        return 1.25
    if hint is bytes:
        return b"\x00\xffbody"
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        if hint is rpc.Message or depth > 4:
            return rpc.GetRPCMethods()
        return _build(hint, depth + 1)
    return "x"


def _build(cls: type, depth: int = 0) -> Any:
    try:
        hints = typing.get_type_hints(cls)
    except NameError:  # a name imported only for type checking (bus.TaskFinished's Fault)
        hints = typing.get_type_hints(cls, localns={"Fault": records.Fault})
    kwargs = {f.name: _sample(hints[f.name], depth) for f in dataclasses.fields(cls) if f.init}
    return cls(**kwargs)


@pytest.mark.parametrize("name", sorted(TYPES))
def test_every_registered_type_round_trips(name: str) -> None:
    value = _build(TYPES[name])
    text = dumps(value)
    json.loads(text)  # plain JSON
    assert loads(text) == value
    assert type(loads(text)) is TYPES[name]


EVENTS = [
    SessionStateChanged("s1", "dev", "INIT", "PROCESS", 1500, "inform"),
    WireMessage("s1", "dev", "in", 1500, "Inform", "1", None,
                (("Content-Type", "text/xml"),), b"<soap/>\x00", "127.0.0.1:5"),
    SessionStarted("s1", "dev", 1000, "127.0.0.1", ("0 BOOTSTRAP", "1 BOOT"), "1.0"),
    SessionEnded("s1", "dev", 2000, "ok", "", 3),
    DeviceUpdated("dev", 2000, True),
    RequestRejected(1000, "10.0.0.1", 503, "busy", "dev"),
    EngineNotice(1000, "info", "ACS listening", {"urls": ["http://a"], "n": 1, "x": None}),
    ConnectionRequestDone(
        "dev", ConnReqResult(True, "sent", "ok", 200, "http", 3.5), True, 4000),
    StepPending("s1", "dev", rpc.GetParameterValues(("Device.",)), 9000, True, False),
    StepPending("s1", "dev", None, 9000),
    StepResolved("s1", "dev", "edit",
                 rpc.SetParameterValues((rpc.ParameterValue("A.B", "1", "xsd:int"),), "k"),
                 3000),
    StepHolderChanged("alice", "", 1000),
]


@pytest.mark.parametrize("event", EVENTS, ids=lambda e: type(e).__name__)
def test_bus_events_round_trip(event: Any) -> None:
    assert loads(dumps(event)) == event


def test_shapes_are_readable_json() -> None:
    data = encode(SessionEnded("s1", "dev", 2000, "ok"))
    assert data == {"$t": "SessionEnded", "session_id": "s1", "device_id": "dev", "at_ms": 2000,
                    "outcome": "ok", "detail": "", "rpc_count": 0}
    assert encode(b"ab") == {"$b": "YWI="}
    assert PROTOCOL_VERSION == 2


@pytest.mark.parametrize("bad", [
    {"$t": "os.system"},
    {"$t": "builtins.object"},
    {"$t": 5},
    {"$t": "SessionEnded", "session_id": "s"},  # missing fields
    {"$t": "DeviceUpdated", "device_id": "d", "at_ms": 1, "evil": 1},  # unknown field
    {"$b": "not base64!!"},
    {"$b": 5},
    {"$b": "YQ==", "more": 1},
    {"$set": [{"a": 1}]},  # unhashable member
    {"$list": "x"},
    {"$unknown": 1},
    {"$t": "DeviceUpdated", "device_id": "d", "at_ms": 1, "__class__": "x"},
])
def test_hostile_values_are_refused(bad: Any) -> None:
    with pytest.raises(CodecError):
        decode(bad)


def test_deep_nesting_is_refused() -> None:
    deep: Any = "x"
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    with pytest.raises(CodecError):
        decode(deep)
    with pytest.raises(CodecError):
        loads("[" * 100_000 + "]" * 100_000)


def test_not_json_and_unencodable() -> None:
    with pytest.raises(CodecError):
        loads(b"\xff{")
    with pytest.raises(CodecError):
        encode(object())
    with pytest.raises(CodecError):
        encode({1: "non-string key"})
    with pytest.raises(CodecError):
        encode({"$t": "looks like a tag"})
