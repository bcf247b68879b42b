"""Virtual parameter scripts run for a session's provisioning (GenieACS's model).

A virtual parameter is evaluated by replaying its script like a provision: its declarations
are planned (one level of virtual-parameter nesting) until it runs to its end and returns
``{value, writable}``. Before the first one of a pass is evaluated, the scripts of every
virtual parameter the pass must read run once, and their reads are planned together with the
provisions', so that one GetParameterValues carries them all (as GenieACS batches them).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from acs_engine.cwmp import rpc
from acs_engine.policy.faults import ProvisionFault
from acs_engine.session.declarations import Declaration
from acs_engine.session.sync import RpcAction, SyncFault

if TYPE_CHECKING:
    from acs_engine.policy.provisioning import _SessionRun

#: Script re-runs for one planning step (ext/cron fills, commits) before giving up.
MAX_REPLAYS = 512


def script_args(
    run: _SessionRun, name: str, get: dict[str, int], wanted: dict[str, Any]
) -> list[Any]:
    """A virtual parameter script's ``args``: what to read, what to set, the current value."""
    assert run.planner is not None
    current = run.planner.snapshot().get(f"VirtualParameters.{name}", {})
    return [get, wanted, {}, {k: v for k, v in current.items() if k in ("value", "writable")}]


async def batched_reads(run: _SessionRun, declarations: list[Declaration]) -> rpc.Message | None:
    """A read RPC for the provisions' declarations and those of every virtual parameter
    due to be read (each script run as it would be next), or None when none is needed."""
    planner = run.planner
    assert planner is not None
    extra: list[Declaration] = []
    for name, get in planner.vparams_due.items():
        source = run.config.vparams.get(name)
        if source is None:
            continue
        vp = run.vparam_run(name)
        result = await run._run_script(
            vp, source, planner.snapshot(), run._data_key(),
            vparam_args=script_args(run, name, get, {}),
        )
        extra.extend(replace(d, defer=False) for d in result.declarations)
    if not extra:
        return None
    return planner.plan_reads([*declarations, *extra])


async def evaluate(
    run: _SessionRun, name: str, get: dict[str, int], wanted: dict[str, Any]
) -> rpc.Message | None:
    """Evaluate one virtual parameter; an RPC its own declarations need, or None when done.

    The script is replayed like a provision: its declarations are planned (one level of
    virtual-parameter nesting) until it runs to its end and returns ``{value, writable}``.
    """
    planner = run.planner
    assert planner is not None
    source = run.config.vparams.get(name)
    if source is None:
        raise ProvisionFault("script", f"virtual parameter {name!r} does not exist")
    vp = run.vparam_run(name)
    args = script_args(run, name, get, wanted)
    for _ in range(MAX_REPLAYS):
        snapshot = planner.snapshot()
        result = await run._run_script(
            vp, source, snapshot, run._data_key(), vparam_args=args
        )
        # Its own declarations (reads, and the sets a writable one makes) come first.
        try:
            action = planner.plan(
                [replace(d, defer=False) for d in result.declarations], result.clears,
                vparam_depth=1,
            )
        except SyncFault as exc:
            raise ProvisionFault(exc.code, exc.message) from exc
        if isinstance(action, RpcAction):
            return action.message
        if action is not None:
            raise ProvisionFault(
                "deeply_nested_vparams",
                f"virtual parameter {name!r} reads another virtual parameter",
            )
        if result.done:
            try:
                planner.apply_virtual_parameter(name, result.return_value)
            except SyncFault as exc:
                raise ProvisionFault(exc.code, exc.message) from exc
            del run._vparam_runs[name]
            run.data_version += 1
            return None
        vp.commits_done += 1
    raise ProvisionFault("too_many_commits", "Too many commit iterations")
