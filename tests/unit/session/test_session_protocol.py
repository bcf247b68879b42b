"""The session as a protocol object (like h11's ``Connection``): bytes in, steps and events out.

No store, no bus, no handler: each test feeds the session CPE messages (parsed from the bytes a
CPE would POST), plays the handler's part by hand, and checks the steps it returns, the replies
as the CPE would read them and the events it queued for whoever publishes them.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from acs_engine.bus import (
    DeviceUpdated,
    SessionEnded,
    SessionStarted,
    SessionStateChanged,
    WireMessage,
)
from acs_engine.config import EngineConfig
from acs_engine.cwmp import codec, rpc
from acs_engine.cwmp.envelope import NS_CWMP_1_2, Envelope
from acs_engine.kinds import Direction, SessionOutcome
from acs_engine.session.handler import Outgoing
from acs_engine.session.machine import State
from acs_engine.session.session import Answer, CpeRequest, Reply, Response, Session, Turn
from acs_engine.store.model import DeviceRecord, Fault, Param
from tests.helpers.engine import inform

NOW = 1_800_000_000.0
UPTIME = "Device.DeviceInfo.UpTime"


def _device() -> DeviceRecord:
    return DeviceRecord(
        id="F1E1D0-TestGW-SN0001", manufacturer="FieldACS Test", oui="F1E1D0",
        product_class="TestGW", serial_number="SN0001", registered_ms=0,
    )


def _post(message: rpc.Message | None, cwmp_id: str | None = None) -> Envelope | None:
    """What the session gets from a CPE's POST of ``message`` (None: an empty POST)."""
    if message is None:
        return codec.parse(b"")
    return codec.parse(codec.serialize(Envelope(message, cwmp_id, NS_CWMP_1_2)))


def _read(reply: Reply) -> rpc.Message | None:
    """The message in ``reply`` as the CPE reads it off the wire (None: an empty body)."""
    if reply.envelope is None:
        return None
    envelope = codec.parse(codec.serialize(reply.envelope))
    assert envelope is not None
    return envelope.message


def _session(
    *, created: bool = True, loader_calls: list[int] | None = None,
    stored: dict[str, Param] | None = None, config: EngineConfig | None = None,
) -> Session:
    async def load_tree() -> dict[str, Param]:
        if loader_calls is not None:
            loader_calls.append(1)
        return dict(stored or {})

    envelope = _post(inform(), "1")
    assert envelope is not None
    return Session(
        session_id="0123456789abcdef", inform_envelope=envelope, device=_device(),
        created=created, namespace=NS_CWMP_1_2, cwmp_version="1.2", use_cwmp_version=None,
        config=config or EngineConfig(), load_tree=load_tree, remote="192.0.2.7",
        clock=lambda: NOW,
    )


def _begun(*, loader_calls: list[int] | None = None) -> Session:
    session = _session(loader_calls=loader_calls)
    session.begin(None)
    session.take_events()
    return session


def _states(events: list[object]) -> list[tuple[State, State]]:
    return [(e.old, e.new) for e in events if isinstance(e, SessionStateChanged)]


def test_a_whole_session_returns_steps_and_queues_typed_events() -> None:
    session = _session()
    assert session.inform_reads() is None  # a new device: nothing stored to read
    session.record(Direction.IN, rpc_name="Inform", cwmp_id="1", status=None, headers=(),
                   body=b"<x/>")
    session.begin(None)
    assert isinstance(_read(session.inform_response()), rpc.InformResponse)
    events = session.take_events()
    assert [type(e) for e in events] == [WireMessage, SessionStateChanged, SessionStarted]
    assert _states(events) == [(State.INIT, State.PROCESS)]
    assert events[1].reason == "Inform 0 BOOTSTRAP"  # type: ignore[attr-defined]
    started = events[2]
    assert isinstance(started, SessionStarted) and started.events == ("0 BOOTSTRAP",)
    assert session.take_events() == []  # taken once

    request = session.receive(_post(rpc.GetRPCMethods(), "c1"))
    assert isinstance(request, CpeRequest) and isinstance(request.message, rpc.GetRPCMethods)
    assert request.reply.status == 200 and request.reply.envelope is not None
    assert request.reply.envelope.cwmp_id == "c1"
    answer = _read(request.reply)
    assert isinstance(answer, rpc.GetRPCMethodsResponse) and "Inform" in answer.methods
    assert _states(session.take_events()) == [(State.PROCESS, State.PROCESS)]

    assert isinstance(session.receive(_post(None)), Turn)
    sent = session.send(Outgoing(rpc.GetParameterValues(names=(UPTIME,))))
    assert sent.envelope is not None and session.state is State.PENDING_RPC
    assert sent.envelope.cwmp_id == "01234567.1" and session.rpc_count == 1
    assert isinstance(_read(sent), rpc.GetParameterValues)
    assert _states(session.take_events()) == [(State.PROCESS, State.PENDING_RPC)]

    step = session.receive(_post(rpc.GetParameterValuesResponse(parameters=(
        rpc.ParameterValue(UPTIME, "7", "xsd:unsignedInt"),
    )), sent.envelope.cwmp_id))
    assert isinstance(step, Response) and step.apply and not step.full_tree
    assert isinstance(step.request, rpc.GetParameterValues)
    assert session.tree.get(UPTIME) is None  # not until the caller applies it
    session.apply_response(step.request, step.response)
    uptime = session.tree.get(UPTIME)
    assert uptime is not None and uptime.value == "7"
    assert _states(session.take_events()) == [(State.PENDING_RPC, State.RESPONSE_RECEIVED)]

    done = session.send(None)
    assert done == Reply(204) and session.state is State.COMMIT
    assert isinstance(session.receive(_post(None)), Answer)  # lingering: 204, nothing more

    commit = session.prepare_commit()
    assert commit.session is not None and commit.session.outcome is SessionOutcome.OK
    assert [p.path for p in commit.upserts if p.path == UPTIME] == [UPTIME]
    assert [t.rpc for t in commit.trace] == ["Inform"]
    session.committed(commit.session.outcome)
    assert session.state is State.END and session.finished
    events = session.take_events()
    assert _states(events) == [
        (State.RESPONSE_RECEIVED, State.COMMIT), (State.COMMIT, State.END),
    ]
    assert [type(e) for e in events][-2:] == [DeviceUpdated, SessionEnded]
    ended = events[-1]
    assert isinstance(ended, SessionEnded)
    assert (ended.outcome, ended.rpc_count) == (SessionOutcome.OK, 1)


def test_a_known_device_names_the_stored_values_its_inform_needs() -> None:
    session = _session(created=False)
    reads = session.inform_reads()
    assert reads is not None
    assert "Device.DeviceInfo.SoftwareVersion" in reads
    assert {"Device.", "Device.DeviceInfo.", "Device.ManagementServer."} <= set(reads)
    stored = {"Device.DeviceInfo.Manufacturer": Param(
        "Device.DeviceInfo.Manufacturer", "Acme", "xsd:string", 1,
    )}
    session.begin(stored)
    assert not session.tree.full
    manufacturer = session.tree.get("Device.DeviceInfo.Manufacturer")
    assert manufacturer is not None and manufacturer.value == "Acme"  # as read
    version = session.tree.get("Device.DeviceInfo.SoftwareVersion")
    assert version is not None and version.value == "1.0.0"  # from the Inform
    assert session.device.last_inform_ms == int(NOW * 1000) and session.device.last_bootstrap_ms
    assert session.device.remote_address == "192.0.2.7"


async def test_a_new_device_has_its_whole_tree_and_never_loads_it() -> None:
    calls: list[int] = []
    session = _begun(loader_calls=calls)
    assert session.tree.full
    await session.ensure_full_tree()
    assert calls == []


async def test_a_names_response_asks_for_the_whole_tree_loaded_once() -> None:
    calls: list[int] = []
    stored = {"Device.X.": Param("Device.X.", object=True)}
    session = _session(created=False, loader_calls=calls, stored=stored)
    session.begin({})
    session.receive(_post(None))
    sent = session.send(Outgoing(rpc.GetParameterNames(parameter_path="Device.", next_level=True)))
    assert sent.envelope is not None
    step = session.receive(_post(rpc.GetParameterNamesResponse(
        parameters=(rpc.ParameterInfo("Device.DeviceInfo.", False),),
    ), sent.envelope.cwmp_id))
    assert isinstance(step, Response) and step.full_tree and step.apply
    tree = await session.ensure_full_tree()
    await session.ensure_full_tree()
    assert calls == [1] and tree.full and tree.get("Device.X.") is not None


def test_a_wrong_response_is_a_fault_the_tree_never_sees() -> None:
    session = _begun()
    session.receive(_post(None))
    sent = session.send(Outgoing(rpc.GetParameterValues(names=(UPTIME,))))
    assert sent.envelope is not None
    step = session.receive(_post(rpc.SetParameterValuesResponse(status=0), sent.envelope.cwmp_id))
    assert isinstance(step, Response) and not step.apply and not step.gave_up
    assert isinstance(step.response, rpc.Fault) and step.response.code == 9002
    assert session.state is State.RESPONSE_RECEIVED and session.pending is None


def test_a_cpe_fault_goes_to_the_handler_unapplied() -> None:
    session = _begun()
    session.receive(_post(None))
    sent = session.send(Outgoing(rpc.Reboot(command_key="r")))
    assert sent.envelope is not None
    step = session.receive(_post(rpc.Fault(code=9001, string="no"), sent.envelope.cwmp_id))
    assert isinstance(step, Response) and not step.apply
    assert isinstance(step.response, rpc.Fault) and step.response.code == 9001


def test_an_empty_post_instead_of_a_response_is_a_fault_for_the_handler() -> None:
    session = _begun()
    session.receive(_post(None))
    session.send(Outgoing(rpc.Reboot(command_key="r")))
    step = session.receive(_post(None))
    assert isinstance(step, Response) and step.gave_up and not step.apply
    assert isinstance(step.response, rpc.Fault) and step.response.code == 9002
    reasons = [e.reason for e in session.take_events() if isinstance(e, SessionStateChanged)]
    assert reasons[-1] == "empty POST"


def test_what_the_session_answers_by_itself() -> None:
    session = _begun()
    # An ACS method from the CPE: fault 8000, nothing for anyone else to do.
    step = session.receive(_post(rpc.GetParameterValues(names=(UPTIME,)), "x"))
    assert isinstance(step, Answer)
    fault = _read(step.reply)
    assert isinstance(fault, rpc.Fault) and fault.code == 8000
    # A response nobody asked for: fault 8003.
    step = session.receive(_post(rpc.RebootResponse(), "y"))
    assert isinstance(step, Answer)
    fault = _read(step.reply)
    assert isinstance(fault, rpc.Fault) and fault.code == 8003
    assert session.state is State.PROCESS and session.take_events() == []


def test_a_cpe_request_while_lingering_is_still_answered() -> None:
    session = _begun()
    session.receive(_post(None))
    session.send(Outgoing(rpc.Reboot(command_key="r"), hold_requests=True))
    assert session.hold_requests_sent and session.hold_requests_ever
    session.receive(_post(rpc.RebootResponse(), "01234567.1"))
    assert session.send(None) == Reply(204) and not session.hold_requests_sent
    session.linger_until_ms = int(NOW * 1000) + 5000
    step = session.receive(_post(rpc.TransferComplete(command_key="k"), "t"))
    assert isinstance(step, CpeRequest) and session.linger_until_ms is None
    assert isinstance(_read(step.reply), rpc.TransferCompleteResponse)


def test_the_turn_after_the_session_ended_sends_nothing() -> None:
    session = _begun()
    assert session.abort(SessionOutcome.ABORTED, "stopped") is not None
    # The handler was still working when the session was aborted: nothing goes out.
    assert session.send(Outgoing(rpc.Reboot())) == Reply(204, close=True)
    assert session.rpc_count == 0


def test_abort_gives_the_record_once_and_ended_the_events() -> None:
    session = _begun()
    record = session.abort(SessionOutcome.TIMEOUT, "silent")
    assert record is not None and record.outcome is SessionOutcome.TIMEOUT
    assert record.detail == "silent" and record.ended_ms == int(NOW * 1000)
    assert session.state is State.FAULTED
    assert _states(session.take_events()) == [(State.PROCESS, State.FAULTED)]
    assert session.abort(SessionOutcome.ERROR, "again") is None
    session.ended()
    assert [type(e) for e in session.take_events()] == [DeviceUpdated, SessionEnded]


def test_a_recorded_fault_makes_the_commit_a_fault() -> None:
    session = _begun()
    session.device.tags.add("new")
    session.commit_extras.faults_put.append(Fault(
        id=f"{session.device_id}:default", device_id=session.device_id, channel="default",
        timestamp_ms=1, code="cwmp.9002", message="internal error",
    ))
    session.receive(_post(None))
    session.send(None)
    commit = session.prepare_commit()
    assert commit.session is not None and commit.session.outcome is SessionOutcome.FAULT
    assert commit.session.detail == "cwmp.9002: internal error (channel default)"
    assert commit.tags_add == {"new"} and commit.tags_remove == set()
    assert session.state is State.COMMIT  # until the caller says it is written


def test_the_trace_keeps_what_the_config_allows() -> None:
    session = _session(config=replace(EngineConfig(), trace_enabled=False))
    session.record(Direction.IN, rpc_name="Inform", cwmp_id="1", status=None, headers=(),
                   body=b"<x/>")
    assert session.trace == []
    [event] = session.take_events()
    assert isinstance(event, WireMessage) and event.body == b"<x/>"  # published all the same


def test_an_inform_is_never_a_later_message() -> None:
    session = _begun()
    with pytest.raises(RuntimeError):
        session.receive(_post(inform(), "2"))


def test_the_session_module_holds_no_store_and_no_bus() -> None:
    import acs_engine.session.session as module

    # lint-imports keeps store.db out of its imports; the bus's events are data, the bus is not.
    assert not {"EventBus", "Store", "SessionDriver"} & set(vars(module))
    assert not {"store", "bus", "handler"} & set(vars(_session()))


def test_an_inform_with_no_events_is_told_as_just_inform() -> None:
    """The state line reads "(Inform)", not "(Inform )", for an Inform with an empty EventCode
    list (a CPE stack does send one)."""
    envelope = _post(inform(events=()), "1")
    assert envelope is not None
    session = Session(
        session_id="0123456789abcdef", inform_envelope=envelope, device=_device(),
        created=True, namespace=NS_CWMP_1_2, cwmp_version="1.2", use_cwmp_version=None,
        config=EngineConfig(), remote="192.0.2.7", clock=lambda: NOW,
    )
    session.begin(None)
    reasons = [e.reason for e in session.take_events() if isinstance(e, SessionStateChanged)]
    assert reasons == ["Inform"]
