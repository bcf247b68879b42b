"""A CPE message its session's state refuses is the CPE's error (RemoteProtocolError)."""

from __future__ import annotations

import pytest

from acs_engine.config import EngineConfig
from acs_engine.cwmp import rpc
from acs_engine.cwmp.envelope import NS_CWMP_1_2, Envelope
from acs_engine.session.machine import RemoteProtocolError, State
from acs_engine.session.session import Session
from acs_engine.store.model import DeviceRecord
from tests.helpers.engine import inform


def test_cpe_request_before_the_inform_is_a_remote_error() -> None:
    device = DeviceRecord(
        id="F1E1D0-TestGW-SN0001", manufacturer="FieldACS Test", oui="F1E1D0",
        product_class="TestGW", serial_number="SN0001", registered_ms=0,
    )
    session = Session(
        session_id="0123456789abcdef",
        inform_envelope=Envelope(inform(), "1", NS_CWMP_1_2),
        device=device, created=True, namespace=NS_CWMP_1_2, cwmp_version="1.2",
        use_cwmp_version=None, config=EngineConfig(),
    )
    # The server never hands a session a message before its Inform was processed; were it
    # to, the state machine says whose fault it is.
    with pytest.raises(RemoteProtocolError):
        session.receive(Envelope(rpc.GetRPCMethods(), "2", NS_CWMP_1_2))
    assert session.state is State.INIT
