"""The CWMP session state machine: one table, every transition in it.

Rules (TR-069 §3.7 and DESIGN.md):
- A session starts with an Inform and nothing else: INIT --inform--> PROCESS.
- In PROCESS the CPE may send its own requests (TransferComplete, GetRPCMethods, ...); each is
  answered and the state stays PROCESS. Its empty POST hands the turn to the ACS.
- The ACS then sends one RPC at a time: PROCESS/RESPONSE_RECEIVED --rpc_sent--> PENDING_RPC, and
  the CPE's answer (response or SOAP Fault) moves PENDING_RPC --response--> RESPONSE_RECEIVED.
- When the handler has nothing more to send: --done--> COMMIT; the session's changes are written
  in one transaction, then --committed--> END and the ACS answers 204.
- A CPE that was told HoldRequests may still have requests when it gets that 204 (TR-069: it
  closes only when it has none left). Such a session lingers in COMMIT briefly, and a CPE request
  reopens it: COMMIT --cpe_request--> PROCESS.
- Anything that breaks the session (timeout, malformed XML, the CPE vanishing, a failed commit)
  goes --abort--> FAULTED from any live state. END and FAULTED are final.
"""

from __future__ import annotations

import enum


class State(enum.StrEnum):
    INIT = "INIT"
    PROCESS = "PROCESS"
    PENDING_RPC = "PENDING_RPC"
    RESPONSE_RECEIVED = "RESPONSE_RECEIVED"
    COMMIT = "COMMIT"
    END = "END"
    FAULTED = "FAULTED"


class Trigger(enum.StrEnum):
    INFORM = "inform"
    CPE_REQUEST = "cpe_request"
    RPC_SENT = "rpc_sent"
    RESPONSE = "response"
    DONE = "done"
    COMMITTED = "committed"
    ABORT = "abort"


FINAL_STATES = frozenset({State.END, State.FAULTED})

TRANSITIONS: dict[tuple[State, Trigger], State] = {
    (State.INIT, Trigger.INFORM): State.PROCESS,
    (State.PROCESS, Trigger.CPE_REQUEST): State.PROCESS,
    (State.PROCESS, Trigger.RPC_SENT): State.PENDING_RPC,
    (State.PROCESS, Trigger.DONE): State.COMMIT,
    # A CPE request instead of the awaited response: answered, the RPC stays pending.
    (State.PENDING_RPC, Trigger.CPE_REQUEST): State.PENDING_RPC,
    (State.PENDING_RPC, Trigger.RESPONSE): State.RESPONSE_RECEIVED,
    (State.RESPONSE_RECEIVED, Trigger.RPC_SENT): State.PENDING_RPC,
    (State.RESPONSE_RECEIVED, Trigger.DONE): State.COMMIT,
    (State.RESPONSE_RECEIVED, Trigger.CPE_REQUEST): State.RESPONSE_RECEIVED,
    (State.COMMIT, Trigger.COMMITTED): State.END,
    (State.COMMIT, Trigger.CPE_REQUEST): State.PROCESS,
}
for _state in State:
    if _state not in FINAL_STATES:
        TRANSITIONS[(_state, Trigger.ABORT)] = State.FAULTED


#: Triggers that a message of the CPE fires; the others are the ACS's own doing.
CPE_TRIGGERS = frozenset({Trigger.INFORM, Trigger.CPE_REQUEST, Trigger.RESPONSE})


class TransitionError(RuntimeError):
    """A trigger that the current state does not allow (base of the two kinds below)."""

    def __init__(self, state: State, trigger: Trigger) -> None:
        super().__init__(f"{trigger.value!r} is not allowed in state {state.value}")
        self.state = state
        self.trigger = trigger


class RemoteProtocolError(TransitionError):
    """The CPE sent a message its session's state does not allow (like h11's): answered with
    a 4xx and a one-line log, never a traceback."""


class LocalProtocolError(TransitionError):
    """The ACS itself tried a transition the table refuses: a bug of ours (answered 500)."""


def next_state(state: State, trigger: Trigger) -> State:
    """The state ``trigger`` leads to from ``state``.

    Raises:
        RemoteProtocolError: a CPE-fired trigger (:data:`CPE_TRIGGERS`) is not allowed.
        LocalProtocolError: an ACS-fired trigger is not allowed.
    """
    try:
        return TRANSITIONS[(state, trigger)]
    except KeyError:
        kind = RemoteProtocolError if trigger in CPE_TRIGGERS else LocalProtocolError
        raise kind(state, trigger) from None


def allowed(state: State, trigger: Trigger) -> bool:
    """True when ``trigger`` is allowed in ``state``."""
    return (state, trigger) in TRANSITIONS
