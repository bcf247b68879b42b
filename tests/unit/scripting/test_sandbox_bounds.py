"""Memory bounds of the V8 sandbox: what it keeps per script does not grow without limit."""

from __future__ import annotations

import pytest

from acs_engine.scripting import Sandbox
from acs_engine.scripting import sandbox as sandbox_module

from .conftest import make_run


def test_bound_is_below_the_preludes_own_limit() -> None:
    # prelude.js forgets its compiled scripts past 2,000; the Python side must rebuild first.
    assert 0 < sandbox_module.MAX_COMPILED_SCRIPTS < 2000


async def test_compiled_scripts_are_bounded_and_old_ones_still_run(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox_module, "MAX_COMPILED_SCRIPTS", 4)
    for i in range(13):  # every edit of a provision is a new script
        result = await sandbox.run(make_run(f"log('v{i}');", name=f"edit{i}"))
        assert result.fault is None, result.fault
        engine = sandbox._engine
        assert engine is not None
        assert len(engine._compiled) <= 4
        assert len(engine.warm) <= 4
    first = await sandbox.run(make_run("log('v0');", name="edit0"))
    assert first.fault is None, first.fault
    assert any("v0" in line for line in first.logs)


async def test_a_script_run_again_does_not_rebuild(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox_module, "MAX_COMPILED_SCRIPTS", 2)
    await sandbox.run(make_run("1;", name="a"))
    await sandbox.run(make_run("2;", name="b"))
    engine = sandbox._engine
    for _ in range(5):
        assert (await sandbox.run(make_run("1;", name="a"))).fault is None
    assert sandbox._engine is engine
