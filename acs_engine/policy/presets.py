"""Which provisions a session runs: presets matched per device, tasks turned into provisions.

A preset matches when its events, schedule and precondition all hold (GenieACS's
``applyPresets``). :func:`match_presets` also explains every verdict in words so the console
can show why a preset did or didn't apply to a device's last session.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from acs_engine.expression import ExpressionError, evaluate, parse, to_bool
from acs_engine.expression.genieacs import is_expression, to_text
from acs_engine.scripting import cron_previous
from acs_engine.session.coerce import sanitize
from acs_engine.session.declarations import Declaration
from acs_engine.session.index import Index
from acs_engine.session.paths import PathError, match_source
from acs_engine.session.paths import parse as parse_path
from acs_engine.store.records import Preset, PresetVerdict, Task

log = logging.getLogger("fieldacs.presets")

#: One provision call: ``[name, *args]``.
ProvisionCall = list[Any]


@dataclass(slots=True)
class PresetMatch:
    """The outcome of matching every preset for one session."""

    #: channel -> provision calls (arguments evaluated), in preset weight order.
    channels: dict[str, list[ProvisionCall]] = field(default_factory=dict)
    verdicts: list[PresetVerdict] = field(default_factory=list)
    #: channel -> the error that made a preset unusable (bad precondition, bad argument).
    errors: dict[str, str] = field(default_factory=dict)


def _event_present(name: str, events: Iterable[str]) -> bool:
    wanted = name.replace("_", " ").strip().upper()
    return any(e.replace("_", " ").strip().upper() == wanted for e in events)


def schedule_due(schedule: str, now_ms: int) -> tuple[bool, str]:
    """Whether ``"<duration s> <cron>"`` holds at ``now_ms`` (previous fire + duration > now)."""
    duration_text, _, cron = schedule.strip().partition(" ")
    try:
        duration_ms = float(duration_text) * 1000
        previous = cron_previous(cron.strip(), now_ms)
    except ValueError as exc:
        raise ValueError(f"invalid schedule {schedule!r}: {exc}") from exc
    if previous + duration_ms > now_ms:
        return True, "inside its schedule window"
    return False, "outside its schedule window"


def legacy_precondition_to_expression(text: str) -> str:
    """A GenieACS 1.1 Mongo-style precondition (``{"_tags": "x", "A.B": "v"}``) as an expression."""
    query = json.loads(text)
    parts: list[str] = []
    for key, value in query.items():
        if key == "_tags":
            tags = value if isinstance(value, list) else [value]
            parts.extend(f"Tags.{t} IS NOT NULL" for t in tags)
            continue
        path = {"_id": "DeviceID.ID", "_deviceId._OUI": "DeviceID.OUI",
                "_deviceId._ProductClass": "DeviceID.ProductClass",
                "_deviceId._SerialNumber": "DeviceID.SerialNumber",
                "_deviceId._Manufacturer": "DeviceID.Manufacturer"}.get(key, key)
        if path.endswith("._value"):
            path = path[: -len("._value")]
        if isinstance(value, dict):
            ops = {"$ne": "<>", "$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
            for op, operand in value.items():
                if op not in ops:
                    raise ValueError(f"unsupported operator {op!r} in legacy precondition")
                parts.append(f"{path} {ops[op]} {json.dumps(operand)}")
        else:
            parts.append(f"{path} = {json.dumps(value)}")
    return " AND ".join(parts) or "TRUE"


def match_presets(
    presets: Sequence[Preset],
    *,
    events: Sequence[str],
    now_ms: int,
    resolve: Callable[[str], list[Any]],
    functions: Mapping[str, Callable[..., Any]] | None = None,
    channels_blocked: Mapping[str, str] | None = None,
    only_channel: str | None = None,
) -> PresetMatch:
    """Match presets for one session, in weight order (ties by id).

    Args:
        presets: every preset.
        events: the Inform's event codes.
        now_ms: the session timestamp.
        resolve: path -> values of the matching parameters (for preconditions and arguments).
        functions: extra expression functions (e.g. REMOTE_ADDRESS).
        channels_blocked: channel -> why its presets are skipped (a fault not yet due).
        only_channel: when retrying a fault, only this channel's presets are considered.

    Returns:
        The channels' provision calls and a verdict per preset.
    """
    out = PresetMatch()
    blocked = channels_blocked or {}
    for preset in sorted(presets, key=lambda p: (p.weight, p.id)):
        def verdict(matched: bool, reason: str, p: Preset = preset) -> None:
            out.verdicts.append(PresetVerdict(p.id, p.channel, matched, reason))

        if only_channel is not None and preset.channel != only_channel:
            verdict(False, f"only channel {only_channel!r} is being retried this session")
            continue
        if preset.channel in blocked:
            verdict(False, blocked[preset.channel])
            continue
        missing = [
            name for name, want in preset.events.items()
            if bool(want) != _event_present(name, events)
        ]
        if missing:
            details = ", ".join(
                f"{n} {'absent' if preset.events[n] else 'present'}" for n in missing
            )
            verdict(False, f"events do not match ({details})")
            continue
        if preset.schedule:
            try:
                due, why = schedule_due(preset.schedule, now_ms)
            except ValueError as exc:
                out.errors[preset.channel] = str(exc)
                verdict(False, str(exc))
                continue
            if not due:
                verdict(False, why)
                continue
        text = preset.precondition.strip()
        if text:
            try:
                if preset.legacy_precondition:
                    text = legacy_precondition_to_expression(text)
                result = evaluate(parse(text), resolve, now_ms=now_ms, functions=functions)
            except (ExpressionError, ValueError) as exc:
                out.errors[preset.channel] = f"precondition of preset {preset.id!r}: {exc}"
                verdict(False, f"precondition error: {exc}")
                continue
            if not to_bool(result):
                verdict(False, "precondition is " + ("NULL" if result is None else "false"))
                continue
        calls: list[ProvisionCall] = []
        try:
            for entry in preset.provisions:
                if not entry:
                    continue
                name, *arg_exprs = entry
                args = [
                    _argument(a, resolve, now_ms, functions) for a in arg_exprs
                ]
                calls.append([str(name), *args])
        except (ExpressionError, ValueError) as exc:
            out.errors[preset.channel] = f"argument of preset {preset.id!r}: {exc}"
            verdict(False, f"provision argument error: {exc}")
            continue
        out.channels.setdefault(preset.channel, []).extend(calls)
        verdict(True, "matched")
    return out


def _argument(
    arg: Any, resolve: Callable[[str], list[Any]], now_ms: int,
    functions: Mapping[str, Callable[..., Any]] | None,
) -> Any:
    """A provision argument, evaluated per device.

    As GenieACS stores them: an expression is a JSON array (``["PARAM", "DeviceID.ID"]``,
    ``["||", "a", ["PARAM", ...]]``) and is evaluated; any other JSON value is a literal.
    """
    if not is_expression(arg):
        return arg
    return _plain(evaluate(parse(to_text(arg)), resolve, now_ms=now_ms, functions=functions))


def _plain(value: Any) -> Any:
    if hasattr(value, "timestamp") and callable(value.timestamp):
        return int(value.timestamp() * 1000)
    return value


def task_provisions(task: Task) -> list[ProvisionCall]:
    """The provision calls that carry out a task (GenieACS §7).

    Raises:
        ValueError: the task is not valid (the message says why).
    """
    args = task.args
    name = task.name
    if name == "getParameterValues":
        names = args.get("parameterNames")
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise ValueError("getParameterValues needs parameterNames: a list of paths")
        return [["refresh", n] for n in names]
    if name == "setParameterValues":
        values = args.get("parameterValues")
        if not isinstance(values, list) or not values:
            raise ValueError("setParameterValues needs parameterValues: [[name, value, type?], ...]")
        calls: list[ProvisionCall] = []
        for entry in values:
            if not isinstance(entry, list) or len(entry) not in (2, 3) or not isinstance(entry[0], str):
                raise ValueError(f"invalid parameterValues entry {entry!r}")
            if len(entry) == 3 and entry[2]:
                calls.append(["__typed_value", entry[0], entry[1], str(entry[2])])
            else:
                calls.append(["value", entry[0], entry[1]])
        return calls
    if name == "refreshObject":
        obj = args.get("objectName")
        if not isinstance(obj, str) or not obj.rstrip("."):
            raise ValueError("refreshObject needs objectName")
        return [["refresh", obj.rstrip(".")]]  # "Device.WiFi." and "Device.WiFi" alike
    if name == "reboot":
        return [["reboot"]]
    if name == "factoryReset":
        return [["reset"]]
    if name == "download":
        file_type, file_name = args.get("fileType"), args.get("fileName")
        if not isinstance(file_type, str) or not isinstance(file_name, str):
            raise ValueError("download needs fileType and fileName")
        target = args.get("targetFileName") or ""
        return [["download", file_type, file_name, target] if target else ["download", file_type, file_name]]
    if name == "addObject":
        obj = args.get("objectName")
        if not isinstance(obj, str) or not obj:
            raise ValueError("addObject needs objectName")
        keys = args.get("parameterValues") or []
        alias = ",".join(f"{k}:{v}" for k, v, *_ in keys) if keys else ""
        base = obj.rstrip(".")
        return [["instances", f"{base}.[{alias}]" if alias else f"{base}.*", "+1"]]
    if name == "deleteObject":
        obj = args.get("objectName")
        if not isinstance(obj, str) or not obj:
            raise ValueError("deleteObject needs objectName")
        return [["instances", obj.rstrip("."), 0]]
    if name == "provisions":
        provisions = args.get("provisions")
        if not isinstance(provisions, list) or not all(
            isinstance(p, list) and p and isinstance(p[0], str) for p in provisions
        ):
            raise ValueError("provisions needs provisions: [[name, ...args], ...]")
        return [list(p) for p in provisions]
    raise ValueError(f"unknown task {name!r}")


TASK_NAMES = (
    "getParameterValues", "setParameterValues", "refreshObject", "reboot", "factoryReset",
    "download", "addObject", "deleteObject", "provisions",
)


# --------------------------------------------------------------------------- skipped values

#: Why a declared value was not sent to the device.
NOT_WRITABLE = "not writable: skipped"


@dataclass(frozen=True, slots=True)
class SkippedValue:
    """A value a provision declared that the session did not send, and why.

    Attributes:
        channel: the channel of the provision.
        provision: the provision's name.
        path: the parameter.
        value: the value declared.
        current: the device's value.
        reason: why it was not sent (:data:`NOT_WRITABLE`).
    """

    channel: str
    provision: str
    path: str
    value: Any
    current: str
    reason: str = NOT_WRITABLE

    @property
    def note(self) -> str:
        """One line for a verdict, a log or the dry run."""
        return (
            f"{self.path} = {_shown(self.value)} (provision {self.provision}; the device has "
            f"{_shown(self.current)}): {self.reason}"
        )


def _shown(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)


def skipped_values(
    declared: Iterable[tuple[str, str, Declaration]], index: Index
) -> list[SkippedValue]:
    """The declared values the planner leaves out because their parameter is known not to
    be writable, while the device's value differs (GenieACS leaves them out silently).

    Args:
        declared: (channel, provision, declaration) of one finished provision run.
        index: the session's view of the device after it.
    """
    out: list[SkippedValue] = []
    seen: set[tuple[str, str, str]] = set()
    for channel, provision, declaration in declared:
        wanted = declaration.attr_set.get("value")
        if wanted is None:
            continue
        value, kind = wanted if isinstance(wanted, tuple) else (wanted, None)
        path = declaration.path
        if "*" in path or "[" in path:
            try:
                names = match_source(parse_path(path), index)
            except PathError:
                continue
        else:
            names = [path]
        for name in names:
            node = index.get(name)
            if node is None or node.writable is not False or node.value is None:
                continue
            try:
                same = sanitize(value, kind or node.type or "xsd:string") == node.typed()
            except (TypeError, ValueError):
                same = False
            key = (channel, provision, name)
            if same or key in seen:
                continue
            seen.add(key)
            out.append(SkippedValue(channel, provision, name, value, node.value))
    return out


def note_skipped(
    verdicts: Sequence[PresetVerdict], presets: Sequence[Preset], skipped: Sequence[SkippedValue]
) -> list[PresetVerdict]:
    """``verdicts`` with each skipped value noted on the matched preset(s) of its channel
    that run its provision."""
    runs = {p.id: {str(call[0]) for call in p.provisions if call} for p in presets}
    out: list[PresetVerdict] = []
    for verdict in verdicts:
        notes = [
            s.note for s in skipped
            if verdict.matched and s.channel == verdict.channel
            and s.provision in runs.get(verdict.preset, ())
        ]
        new = tuple(n for n in notes if n not in verdict.notes)
        out.append(
            PresetVerdict(verdict.preset, verdict.channel, verdict.matched, verdict.reason,
                          verdict.notes + new)
            if new else verdict
        )
    return out


# --------------------------------------------------------------------------- who sets what

@dataclass(frozen=True, slots=True)
class PresetSetting:
    """A preset whose provision sets a parameter (what a preset will set).

    Attributes:
        preset: the preset's id.
        provision: the provision (script or built-in) that declares the value.
        channel: the preset's channel.
        path: the parameter.
        value: the value it sets, as text.
    """

    preset: str
    provision: str
    channel: str
    path: str
    value: str

    @property
    def words(self) -> str:
        """``preset inform (provision inform) manages this parameter and will set it back
        to 300``."""
        return (
            f"preset {self.preset} (provision {self.provision}) manages this parameter "
            f"and will set it back to {self.value}"
        )


def declared_values(
    declared: Iterable[tuple[str, str, Declaration]], expand: Callable[[str], list[str]]
) -> list[tuple[str, str, str, str]]:
    """(channel, provision, parameter, value as text) of every value the runs declared.

    Args:
        declared: (channel, provision, declaration) of provision runs.
        expand: the parameter names a path with wildcards or aliases matches.
    """
    out: list[tuple[str, str, str, str]] = []
    for channel, provision, declaration in declared:
        value = declaration.attr_set.get("value")
        if value is None:
            continue
        raw = value[0] if isinstance(value, tuple) else value
        text = str(raw).lower() if isinstance(raw, bool) else str(raw)
        path = declaration.path
        names = expand(path) if ("*" in path or "[" in path) else [path]
        out.extend((channel, provision, name, text) for name in names)
    return out


def preset_settings(
    values: Iterable[tuple[str, str, str, str]],
    verdicts: Sequence[PresetVerdict],
    presets: Sequence[Preset],
    paths: Iterable[str],
) -> list[PresetSetting]:
    """Which matched presets declare a value for ``paths`` (the last declaration wins).

    Args:
        values: :func:`declared_values` of a session's provision runs.
        verdicts: the session's preset verdicts (only matched presets count).
        presets: the presets (their provision lists).
        paths: the parameters asked about.
    """
    wanted = set(paths)
    runs = {p.id: {str(call[0]) for call in p.provisions if call} for p in presets}
    found: dict[tuple[str, str], PresetSetting] = {}
    for channel, provision, name, text in values:
        if name not in wanted:
            continue
        for verdict in verdicts:
            if (verdict.matched and verdict.channel == channel
                    and provision in runs.get(verdict.preset, ())):
                found[(verdict.preset, name)] = PresetSetting(
                    verdict.preset, provision, channel, name, text
                )
    return list(found.values())
