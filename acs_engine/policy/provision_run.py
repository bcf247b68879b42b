"""Running one session's provisions: built-ins in Python, scripts in the V8 sandbox.

:class:`ProvisionRunner` is the part of the provisioning handler's per-session state
(``provisioning._SessionRun``) that runs one provision call: a built-in, a user script (with
its ``ext()`` and cron look-ups), or a virtual parameter's script. A script run is a function
of its inputs, so a replay whose inputs are all unchanged returns the last run's result
(:class:`Replay`) instead of running the script again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from acs_engine.policy.faults import ProvisionFault
from acs_engine.policy.memo import to_json
from acs_engine.scripting import (
    ExtCall,
    ScriptFault,
    ScriptResult,
    ScriptRun,
    cron_previous,
    ext_key,
)
from acs_engine.session import builtins
from acs_engine.session.declarations import Declaration
from acs_engine.session.paths import PathError
from acs_engine.session.planner import Planner
from acs_engine.session.session import Session

if TYPE_CHECKING:
    from acs_engine.policy.provisioning import ProvisioningHandler

__all__ = ["ProvisionRunner", "Replay", "RunningProvision"]

log = logging.getLogger("fieldacs.provisioning")

_json = to_json


@dataclass(slots=True)
class RunningProvision:
    """One provision call being replayed in this session."""

    channel: str
    name: str
    args: list[Any]
    commits_done: int = 0
    done: bool = False
    ext_cache: dict[str, Any] = field(default_factory=dict)
    cron_cache: dict[str, int] = field(default_factory=dict)
    current: int | None = None  # instances(): count before the provision changed anything


@dataclass(frozen=True, slots=True)
class Replay:
    """A finished script run of this session, kept to skip replays that cannot differ.

    A run is a function of its inputs (``Date`` is the session time, ``Math.random`` is
    seeded with the device id), so a run with the same script, arguments, commit count,
    ext/cron caches and the same data under every key it looked up gives the same result.
    How many times a script is replayed is not part of GenieACS's contract either.
    """

    source: str
    ext: str
    cron: str
    data_key: str
    #: data key -> its entry as JSON when the run looked it up (None: depends on every key).
    reads: dict[str, str] | None
    result: ScriptResult


class ProvisionRunner:
    """Runs provision calls for one session (a mixin of the provisioning handler's session
    state, which sets these attributes)."""

    owner: ProvisioningHandler
    session: Session
    now: int
    planner: Planner | None
    _vparam_runs: dict[str, RunningProvision]
    #: (name, virtual parameter?, args JSON, commits done) -> the last such run.
    _replays: dict[tuple[str, bool, str, int], Replay]

    def vparam_run(self, name: str) -> RunningProvision:
        """The replay state of the virtual parameter ``name`` in this session."""
        vp = self._vparam_runs.get(name)
        if vp is None:
            vp = self._vparam_runs[name] = RunningProvision("vparam", name, [])
        return vp

    def builtin_call(
        self, channel: str, name: str, args: list[Any]
    ) -> tuple[list[Declaration], bool]:
        """The declarations of a built-in provision call, and whether it is done."""
        return self._builtin(RunningProvision(channel, name, args))

    def _builtin(self, p: RunningProvision) -> tuple[list[Declaration], bool]:
        if p.name == "__typed_value":  # setParameterValues task with an explicit type
            path, value, xsd_type = p.args
            return [Declaration(
                path=str(path), path_get=1, attr_get={"value": 1},
                attr_set={"value": (value, xsd_type)}, defer=True,
            )], True
        function = builtins.BUILTINS.get(p.name)
        if function is None:
            log.warning("unknown provision %r ignored (device %s)", p.name, self.session.device_id)
            return [], True
        try:
            if p.name == "instances":
                relative = len(p.args) == 2 and isinstance(p.args[1], str) and p.args[1][:1] in "+-"
                decls = builtins.instances(p.args, self.now, self.session.device_id, current=p.current)
                return decls, not relative or p.current is not None
            return function(p.args, self.now, self.session.device_id), True
        except (ValueError, PathError) as exc:
            raise ProvisionFault(
                "script.Error", str(exc) if isinstance(exc, PathError) else "Invalid arguments",
                {"provision": p.name, "args": p.args},
            ) from exc

    def _data_key(self) -> str:
        """Names the data of the planner's last snapshot, unique across sessions (the sandbox
        skips loading data it already has)."""
        assert self.planner is not None
        return f"{self.session.id}:{self.planner.data_version}"

    async def _run_script(
        self, p: RunningProvision, source: str, snapshot: dict[str, dict[str, Any]], data_key: str,
        *, vparam_args: Any = None,
    ) -> Any:
        sandbox = self.owner.sandbox
        args = vparam_args if vparam_args is not None else p.args
        key = (p.name, vparam_args is not None, _json(args), p.commits_done)
        known = self._replays.get(key) if self.owner.skip_replays else None
        if known is not None and self._same_inputs(known, p, source, snapshot, data_key):
            self.owner.replays_skipped += 1
            return known.result
        for _ in range(64):
            self.owner.script_runs += 1
            result = await sandbox.run(ScriptRun(
                name=p.name, source=source, args=args,
                data=snapshot, session_timestamp=self.now, device_id=self.session.device_id,
                commits_done=p.commits_done, ext_cache=p.ext_cache, cron_cache=p.cron_cache,
                is_virtual_parameter=vparam_args is not None, data_key=data_key,
            ))
            if result.fault is not None:
                raise _script_fault(result.fault, p.name)
            if result.ext_needed or result.cron_needed:
                for call in result.ext_needed:
                    await self._fill_ext(p, call)
                for expr in result.cron_needed:
                    try:
                        p.cron_cache[expr] = cron_previous(expr, self.now)
                    except ValueError as exc:
                        raise ProvisionFault("script.Error", str(exc)) from exc
                continue
            self._replays[key] = Replay(
                source=source, ext=_json(p.ext_cache), cron=_json(p.cron_cache),
                data_key=data_key,
                reads=(
                    None if result.reads is None
                    else {k: _json(snapshot.get(k)) for k in result.reads}
                ),
                result=result,
            )
            return result
        raise ProvisionFault("script", f"script {p.name!r} kept asking for extensions")

    @staticmethod
    def _same_inputs(
        known: Replay, p: RunningProvision, source: str, snapshot: dict[str, dict[str, Any]],
        data_key: str,
    ) -> bool:
        """True when a run now would see exactly what the ``known`` run saw."""
        if (
            known.source != source
            or known.ext != _json(p.ext_cache)
            or known.cron != _json(p.cron_cache)
        ):
            return False
        if known.data_key == data_key:
            return True
        if known.reads is None:
            return False
        return all(_json(snapshot.get(k)) == text for k, text in known.reads.items())

    async def _fill_ext(self, p: RunningProvision, call: ExtCall) -> None:
        value = await self.owner.sandbox.run_ext(call)
        if isinstance(value, ScriptFault):
            raise ProvisionFault(value.code, value.message, value.detail)
        p.ext_cache[ext_key(call)] = value


def _script_fault(fault: ScriptFault, name: str) -> ProvisionFault:
    detail = dict(fault.detail)
    detail.setdefault("provision", name)
    return ProvisionFault(fault.code, fault.message, detail)
