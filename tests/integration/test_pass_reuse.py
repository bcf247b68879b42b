"""Answering a repeated planner pass from the earlier one changes nothing a CPE or the store
can see.

Two proofs, over both data models and over the seeded presets and the imported GenieACS-style
corpus (the sessions of ``test_memo``: a bootstrap discovering the whole tree, quiet periodic
sessions, the clock passing the hourly and the daily refresh, an edited provision, tags,
a new preset, a value changed on the CPE):

- at every planning step, the work list the planner was handed (reused or not) plans what a
  new pass over the same view would plan;
- the same sessions run with reuse on and off send the same RPCs and store the same data.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from acs_engine.session import planner as planner_module
from acs_engine.session.declarations import Declaration
from acs_engine.session.index import Index
from acs_engine.session.reads import LastPass, Pass
from acs_engine.session.sync import SyncState
from tests.integration.test_memo import _scenario


def _fields(state: SyncState) -> list[tuple[str, Any]]:
    """Every field, dicts as ordered item lists (the order decides which RPC goes first)."""
    out: list[tuple[str, Any]] = []
    for f in dataclasses.fields(state):
        value = getattr(state, f.name)
        out.append((f.name, list(value.items()) if isinstance(value, dict) else value))
    return out


def _queued(planner: planner_module.Planner, state: SyncState) -> list[tuple[str, Any]]:
    """``state`` as the planner's read phase leaves it (it adds the listings it implies)."""
    state = copy.deepcopy(state)
    planner._queue_gpn(state)
    return _fields(state)


@pytest.mark.parametrize(
    "model,corpus", [("tr098", False), ("tr181", False), ("tr098", True), ("tr181", True)]
)
async def test_a_reused_pass_plans_what_a_new_pass_plans(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: str, corpus: bool
) -> None:
    checked = 0
    original = LastPass.run
    planners: dict[int, planner_module.Planner] = {}
    original_init = planner_module.Planner.__init__

    def remembering_init(self: planner_module.Planner, *args: Any, **kwargs: Any) -> None:
        original_init(self, *args, **kwargs)
        planners[id(self._last_pass)] = self

    def checking_run(
        self: LastPass, index: Index, key: object, session_timestamp: int,
        declarations: Sequence[Declaration],
    ) -> SyncState:
        nonlocal checked
        state = original(self, index, key, session_timestamp, declarations)
        fresh = Pass(index, session_timestamp).run(declarations)
        planner = planners[id(self)]
        assert _queued(planner, state) == _queued(planner, fresh)
        checked += 1
        return state

    monkeypatch.setattr(planner_module.Planner, "__init__", remembering_init)
    monkeypatch.setattr(LastPass, "run", checking_run)
    # Memoizing off: every session plans (a memoized session plans nothing).
    await _scenario(tmp_path, monkeypatch, model, corpus, False)
    reused = sum(p._last_pass.reused for p in planners.values())
    assert checked > 20
    assert reused > 0


@pytest.mark.parametrize(
    "model,corpus", [("tr098", False), ("tr181", False), ("tr181", True), ("tr098", True)]
)
async def test_reusing_passes_sends_the_same_rpcs_and_stores_the_same_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model: str, corpus: bool
) -> None:
    (tmp_path / "on").mkdir()
    (tmp_path / "off").mkdir()
    monkeypatch.setattr(LastPass, "enabled", True)
    on = await _scenario(tmp_path / "on", monkeypatch, model, corpus, False)
    monkeypatch.setattr(LastPass, "enabled", False)
    off = await _scenario(tmp_path / "off", monkeypatch, model, corpus, False)
    assert len(on[0]) == len(off[0])
    for i, (a, b) in enumerate(zip(on[0], off[0], strict=True)):
        assert a == b, f"session {i} differs"
    assert on[1:5] == off[1:5]  # stored parameters, faults, tags, preset verdicts
