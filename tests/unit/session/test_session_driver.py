"""The driver does a session's I/O: the store's reads and writes, the handler's calls, the bus.

A fake store records what it is asked; a handler notes what the bus had published by the time
it was called (the step mode's console must see a state before the handler holds in it).
"""

from __future__ import annotations

from typing import cast

from acs_engine.bus import EventBus, SessionEnded, SessionStarted, SessionStateChanged
from acs_engine.config import EngineConfig
from acs_engine.cwmp import rpc
from acs_engine.cwmp.envelope import NS_CWMP_1_2, Envelope
from acs_engine.kinds import SessionOutcome
from acs_engine.session.driver import SessionDriver
from acs_engine.session.handler import Handler, Outgoing
from acs_engine.session.machine import State
from acs_engine.session.session import Session
from acs_engine.store.db import Store
from acs_engine.store.model import DeviceRecord, Param, SessionCommit, SessionRecord, TraceEntry
from tests.helpers.engine import inform


class FakeStore:
    def __init__(self, *, fail_commit: bool = False) -> None:
        self.fail_commit = fail_commit
        self.reads: list[list[str]] = []
        self.commits: list[SessionCommit] = []
        self.aborted: list[SessionRecord] = []

    async def load_param_values(self, device_id: str, names: list[str]) -> dict[str, Param]:
        self.reads.append(list(names))
        return {}

    async def commit_session(self, commit: SessionCommit) -> None:
        if self.fail_commit:
            raise OSError("disk full")
        self.commits.append(commit)

    async def record_session_only(
        self, device: DeviceRecord, record: SessionRecord, trace: list[TraceEntry]
    ) -> None:
        self.aborted.append(record)


class Watching(Handler):
    """Sends ``rpcs`` in turn; notes the last state the bus had shown at each call."""

    def __init__(self, bus: EventBus, rpcs: list[rpc.Message]) -> None:
        self.rpcs = list(rpcs)
        self.state: State | None = None
        self.started = False
        self.seen: list[tuple[str, State | None]] = []
        self.ended: list[SessionOutcome] = []
        bus.subscribe(self._on_event)

    def _on_event(self, event: object) -> None:
        if isinstance(event, SessionStateChanged):
            self.state = event.new
        elif isinstance(event, SessionStarted):
            self.started = True

    async def on_inform(self, session: Session) -> None:
        assert self.started
        self.seen.append(("inform", self.state))

    async def on_cpe_request(self, session: Session, request: rpc.Message) -> None:
        self.seen.append((request.METHOD, self.state))

    async def on_response(
        self, session: Session, request: rpc.Message, response: rpc.Message
    ) -> None:
        self.seen.append((response.METHOD, self.state))

    async def next_rpc(self, session: Session) -> Outgoing | None:
        self.seen.append(("next", self.state))
        return Outgoing(self.rpcs.pop(0)) if self.rpcs else None

    async def on_end(self, session: Session, outcome: SessionOutcome) -> None:
        self.ended.append(outcome)


def _driver(
    store: FakeStore, rpcs: list[rpc.Message], *, created: bool = False
) -> tuple[SessionDriver, Watching, list[object]]:
    bus = EventBus()
    published: list[object] = []
    bus.subscribe(published.append)
    handler = Watching(bus, rpcs)
    device = DeviceRecord(
        id="F1E1D0-TestGW-SN0001", manufacturer="FieldACS Test", oui="F1E1D0",
        product_class="TestGW", serial_number="SN0001", registered_ms=0,
    )
    session = Session(
        session_id="0123456789abcdef", inform_envelope=Envelope(inform(), "1", NS_CWMP_1_2),
        device=device, created=created, namespace=NS_CWMP_1_2, cwmp_version="1.2",
        use_cwmp_version=None, config=EngineConfig(),
    )
    return SessionDriver(session, cast(Store, store), handler, bus), handler, published


async def test_the_handler_is_called_after_the_bus_saw_each_state() -> None:
    store = FakeStore()
    driver, handler, published = _driver(store, [rpc.Reboot(command_key="r")])
    reply = await driver.start()
    assert isinstance(reply.envelope and reply.envelope.message, rpc.InformResponse)
    assert len(store.reads) == 1 and "Device.DeviceInfo.SoftwareVersion" in store.reads[0]
    reply = await driver.handle(Envelope(rpc.TransferComplete(command_key="k"), "t", NS_CWMP_1_2))
    assert isinstance(reply.envelope and reply.envelope.message, rpc.TransferCompleteResponse)
    reply = await driver.handle(None)
    assert reply.envelope is not None and isinstance(reply.envelope.message, rpc.Reboot)
    reply = await driver.handle(Envelope(rpc.RebootResponse(), reply.envelope.cwmp_id, NS_CWMP_1_2))
    assert reply.status == 204 and driver.session.state is State.COMMIT
    assert handler.seen == [
        ("inform", State.PROCESS),
        ("TransferComplete", State.PROCESS),
        ("next", State.PROCESS),
        ("RebootResponse", State.RESPONSE_RECEIVED),
        ("next", State.RESPONSE_RECEIVED),
    ]
    assert handler.state is State.COMMIT  # published with the reply
    assert driver.session.take_events() == []  # everything went out on the bus

    await driver.commit()
    assert [c.session.outcome for c in store.commits if c.session] == [SessionOutcome.OK]
    assert handler.ended == [SessionOutcome.OK] and handler.state is State.END
    assert isinstance(published[-1], SessionEnded)


async def test_a_failed_commit_keeps_the_record_and_ends_in_error() -> None:
    store = FakeStore(fail_commit=True)
    driver, handler, published = _driver(store, [], created=True)
    await driver.start()
    assert store.reads == []  # a new device: nothing to read
    assert (await driver.handle(None)).status == 204
    await driver.commit()
    assert [r.outcome for r in store.aborted] == [SessionOutcome.ERROR]
    assert store.aborted[0].detail == "commit failed: disk full"
    assert driver.session.state is State.FAULTED and handler.state is State.FAULTED
    assert handler.ended == [SessionOutcome.ERROR]
    ended = [e for e in published if isinstance(e, SessionEnded)]
    assert [e.outcome for e in ended] == [SessionOutcome.ERROR]


async def test_abort_is_done_once() -> None:
    store = FakeStore()
    driver, handler, _ = _driver(store, [])
    await driver.start()
    await driver.abort(SessionOutcome.TIMEOUT, "silent")
    await driver.abort(SessionOutcome.ABORTED, "again")
    assert [r.outcome for r in store.aborted] == [SessionOutcome.TIMEOUT]
    assert handler.ended == [SessionOutcome.TIMEOUT]


async def test_a_hook_failing_after_the_commit_does_not_fail_the_session(caplog) -> None:
    """The session is written when on_end runs: a hook that raises there is logged, and the
    commit returns normally (the server then answers the CPE's last POST with its 204, not a
    500 that left the device "already in a session" until the timeout)."""

    class Failing(Watching):
        async def on_end(self, session: Session, outcome: SessionOutcome) -> None:
            raise RuntimeError("hook broke")

    store = FakeStore()
    driver, _, _ = _driver(store, [])
    driver.handler = Failing(driver.bus, [])
    await driver.start()
    assert (await driver.handle(None)).status == 204
    await driver.commit()  # does not raise
    assert [c.session.outcome for c in store.commits if c.session] == [SessionOutcome.OK]
    assert driver.session.state is State.END
    assert "handler failed on end" in caplog.text
