"""A CPE message its session's state refuses is the CPE's error (RemoteProtocolError)."""

from __future__ import annotations

from pathlib import Path

import pytest

from acs_engine.bus import EventBus
from acs_engine.config import EngineConfig
from acs_engine.cwmp import rpc
from acs_engine.cwmp.envelope import NS_CWMP_1_2, Envelope
from acs_engine.session.handler import RpcQueue
from acs_engine.session.machine import RemoteProtocolError, State
from acs_engine.session.session import Session
from acs_engine.store.db import Store
from acs_engine.store.model import DeviceRecord
from tests.helpers.engine import inform


async def test_cpe_request_before_the_inform_is_a_remote_error(tmp_path: Path) -> None:
    device = DeviceRecord(
        id="F1E1D0-TestGW-SN0001", manufacturer="FieldACS Test", oui="F1E1D0",
        product_class="TestGW", serial_number="SN0001", registered=0,
    )
    store = await Store.open(tmp_path / "s.db")
    session = Session(
        session_id="0123456789abcdef",
        inform_envelope=Envelope(inform(), "1", NS_CWMP_1_2),
        device=device, created=True, namespace=NS_CWMP_1_2, cwmp_version="1.2",
        use_cwmp_version=None, store=store, handler=RpcQueue(),
        bus=EventBus(), config=EngineConfig(),
    )
    # The server never hands a session a message before its Inform was processed; were it
    # to, the state machine says whose fault it is.
    with pytest.raises(RemoteProtocolError):
        await session.handle(Envelope(rpc.GetRPCMethods(), "2", NS_CWMP_1_2))
    assert session.state is State.INIT
    await store.close()
