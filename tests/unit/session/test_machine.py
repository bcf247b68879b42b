"""The session's transition table, checked cell by cell: every allowed and refused transition."""

from __future__ import annotations

import itertools

import pytest

from acs_engine.session.machine import (
    CPE_TRIGGERS,
    FINAL_STATES,
    TRANSITIONS,
    LocalProtocolError,
    RemoteProtocolError,
    State,
    TransitionError,
    Trigger,
    allowed,
    next_state,
)

S, T = State, Trigger

#: The whole table as the rules comment of machine.py states it.
EXPECTED: dict[tuple[State, Trigger], State] = {
    (S.INIT, T.INFORM): S.PROCESS,
    (S.PROCESS, T.CPE_REQUEST): S.PROCESS,
    (S.PROCESS, T.RPC_SENT): S.PENDING_RPC,
    (S.PROCESS, T.DONE): S.COMMIT,
    (S.PENDING_RPC, T.CPE_REQUEST): S.PENDING_RPC,
    (S.PENDING_RPC, T.RESPONSE): S.RESPONSE_RECEIVED,
    (S.RESPONSE_RECEIVED, T.RPC_SENT): S.PENDING_RPC,
    (S.RESPONSE_RECEIVED, T.DONE): S.COMMIT,
    (S.RESPONSE_RECEIVED, T.CPE_REQUEST): S.RESPONSE_RECEIVED,
    (S.COMMIT, T.COMMITTED): S.END,
    (S.COMMIT, T.CPE_REQUEST): S.PROCESS,
    (S.INIT, T.ABORT): S.FAULTED,
    (S.PROCESS, T.ABORT): S.FAULTED,
    (S.PENDING_RPC, T.ABORT): S.FAULTED,
    (S.RESPONSE_RECEIVED, T.ABORT): S.FAULTED,
    (S.COMMIT, T.ABORT): S.FAULTED,
}


def test_table_is_exactly_the_rules() -> None:
    assert TRANSITIONS == EXPECTED


@pytest.mark.parametrize(("state", "trigger"), sorted(EXPECTED, key=str))
def test_allowed_transition(state: State, trigger: Trigger) -> None:
    assert allowed(state, trigger)
    assert next_state(state, trigger) is EXPECTED[(state, trigger)]


REFUSED = [
    pair for pair in itertools.product(State, Trigger) if pair not in EXPECTED
]


@pytest.mark.parametrize(("state", "trigger"), REFUSED)
def test_refused_transition(state: State, trigger: Trigger) -> None:
    assert not allowed(state, trigger)
    kind = RemoteProtocolError if trigger in CPE_TRIGGERS else LocalProtocolError
    with pytest.raises(kind) as caught:
        next_state(state, trigger)
    assert isinstance(caught.value, TransitionError)
    assert (caught.value.state, caught.value.trigger) == (state, trigger)
    assert state.value in str(caught.value)


def test_final_states_have_no_way_out() -> None:
    for state, trigger in itertools.product(FINAL_STATES, Trigger):
        assert not allowed(state, trigger)


def test_cpe_triggers_are_the_ones_a_message_fires() -> None:
    assert {T.INFORM, T.CPE_REQUEST, T.RESPONSE} == CPE_TRIGGERS
