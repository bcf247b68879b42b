"""A planner driven against the simulated CPE: plan -> CPE -> tree -> planner, until done."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from acs_engine.config import EngineConfig
from acs_engine.cwmp import rpc
from acs_engine.session.declarations import Clear, Declaration
from acs_engine.session.planner import Planner
from acs_engine.session.sync import ResponseResult, RpcAction, VirtualParameterAction
from acs_engine.session.tree import DeviceTree
from acs_engine.sim.device import SimDevice
from acs_engine.store.model import DeviceRecord

T0 = 1_700_000_000_000
HOUR = 3_600_000


def undefer(declarations: Sequence[Declaration]) -> list[Declaration]:
    """What the handler passes once every provision has run to the end."""
    return [dataclasses.replace(d, defer=False) for d in declarations]


class Harness:
    """One simulated CPE and the ACS's view of it, across sessions."""

    def __init__(self, serial: str = "SIM0001", **config: object) -> None:
        self.cpe = SimDevice("tr181", serial)
        self.tree = DeviceTree(full=True)
        self.device = DeviceRecord(
            id=f"464643-{serial}", manufacturer="FieldACS", oui="464643",
            product_class="Sim", serial_number=serial, registered_ms=T0,
        )
        self.config = EngineConfig().replace(**config)
        self.sent: list[rpc.Message] = []
        self.results: list[ResponseResult] = []
        self.planner: Planner | None = None
        self.answer: Callable[[rpc.Message], rpc.Message] = self.cpe.handle

    def session(self, ts: int, **planner_args: object) -> Planner:
        """Start a session at ``ts``: the Inform's parameters, a new planner."""
        self.tree.apply_inform(self.cpe.make_inform(), ts)
        self.device.last_inform_ms = ts
        self.planner = Planner(self.tree, self.device, self.config, ts, **planner_args)  # type: ignore[arg-type]
        self.now = ts
        self.sent = []
        return self.planner

    def run(
        self,
        declarations: Sequence[Declaration] | Callable[[], Sequence[Declaration]],
        clears: Sequence[Clear] = (),
        limit: int = 300,
    ) -> list[rpc.Message]:
        """Plan and answer until nothing is left (or a fault ends the session).

        Returns:
            Every RPC sent in this session so far.
        """
        assert self.planner is not None
        for _ in range(limit):
            decs = declarations() if callable(declarations) else declarations
            action = self.planner.plan(decs, clears)
            if action is None:
                return self.sent
            assert isinstance(action, RpcAction), action
            response = self.send(action.message)
            if isinstance(response, rpc.Fault) and not self.results[-1].fault_cleared:
                return self.sent  # the handler ends the session with the fault
        raise AssertionError("planner did not finish")

    def send(self, message: rpc.Message) -> rpc.Message:
        """Send one RPC to the CPE and feed the answer back as the session does."""
        assert self.planner is not None
        self.sent.append(message)
        response = self.answer(message)
        self.now += 1
        if not isinstance(response, rpc.Fault):
            self.tree.apply_response(message, response, self.now)
        self.results.append(self.planner.handle_response(message, response))
        return response


def kinds(messages: Sequence[rpc.Message]) -> list[str]:
    """The method names of ``messages``."""
    return [m.METHOD for m in messages]


__all__ = ["HOUR", "T0", "Harness", "VirtualParameterAction", "kinds", "undefer"]
