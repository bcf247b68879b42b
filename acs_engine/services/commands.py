"""A technician's edits as commands: staged in the console, reviewed, then sent to the CPE.

Commands are plain frozen dataclasses (no Qt, no I/O):

- :class:`SetValue`: set a writable parameter to a value;
- :class:`AddInstance`: add an instance to a table object (``AddObject``);
- :class:`DeleteInstance`: delete a table instance (``DeleteObject``);
- :class:`RefreshSubtree`: read a subtree (or one parameter) again from the CPE.

Two ways to send them:

- :func:`plan` / :func:`to_rpcs`: RPCs for the engine's manual queue (``engine.manual.put``),
  sent in the device's next session. :func:`plan` also says which command(s) each RPC
  carries, and :func:`outcome` reads a CPE answer as done or faulted per command.
- :func:`to_tasks`: GenieACS task documents (``setParameterValues``, ``addObject``,
  ``deleteObject``, ``refreshObject``) for the task queue (``store.add_task``).

Values travel typed: the ``xsi:type`` is the stored parameter's type, else the Broadband
Forum data model's, else ``xsd:string``. Every value set in one batch goes in one
SetParameterValues (it is atomic on the CPE, TR-069 §A.3.2.1); an added instance is followed
by a re-read of its table so the new instance's parameters are known afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from acs_engine.cwmp import rpc
from acs_engine.datamodel import facts
from acs_engine.store.model import Param

__all__ = [
    "AddInstance",
    "Command",
    "DeleteInstance",
    "Outcome",
    "PlannedRpc",
    "RefreshSubtree",
    "SetValue",
    "describe",
    "normalise_value",
    "outcome",
    "plan",
    "to_rpcs",
    "to_tasks",
    "value_type",
]


@dataclass(frozen=True, slots=True)
class SetValue:
    """Set a parameter to a value.

    Attributes:
        path: the parameter's full path (not ending in '.').
        value: the value as text, as it travels on the wire.
        type: the ``xsi:type`` to send, or None to take it from the stored parameter or the
            data model (see :func:`value_type`).
    """

    path: str
    value: str
    type: str | None = None


@dataclass(frozen=True, slots=True)
class AddInstance:
    """Add an instance to a table.

    Attributes:
        table: the table object's path, ending in '.' (``Device.WiFi.SSID.``).
    """

    table: str


@dataclass(frozen=True, slots=True)
class DeleteInstance:
    """Delete a table instance.

    Attributes:
        instance: the instance's path, ending in '.' (``Device.WiFi.SSID.3.``).
    """

    instance: str


@dataclass(frozen=True, slots=True)
class RefreshSubtree:
    """Read a subtree's names and values (or one parameter's value) from the CPE again.

    Attributes:
        path: an object path ending in '.', or a parameter path.
    """

    path: str


Command = SetValue | AddInstance | DeleteInstance | RefreshSubtree


@dataclass(frozen=True, slots=True)
class PlannedRpc:
    """One RPC of a plan and the commands it carries.

    Attributes:
        message: the RPC to queue.
        commands: indexes (into the planned command list) of the commands it settles.
        follow_up: True for an RPC that only completes another (the re-read after an
            AddObject): its answer does not decide the command's outcome.
    """

    message: rpc.Message
    commands: tuple[int, ...]
    follow_up: bool = False


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a CPE answer means for one command.

    Attributes:
        ok: True when the CPE did it.
        message: plain words: what was done, or the CPE's fault code and text.
        fault_code: the CWMP fault code when the CPE refused, else None.
    """

    ok: bool
    message: str
    fault_code: int | None = None


def _object_path(path: str) -> str:
    return path if path.endswith(".") else path + "."


def describe(command: Command) -> str:
    """One line for the review list, e.g. ``Set Device.WiFi.SSID.1.SSID to "lab"``."""
    if isinstance(command, SetValue):
        return f'Set {command.path} to "{command.value}"'
    if isinstance(command, AddInstance):
        return f"Add an instance to {_object_path(command.table)}"
    if isinstance(command, DeleteInstance):
        return f"Delete {_object_path(command.instance)}"
    return f"Refresh {command.path}"


def value_type(path: str, params: Mapping[str, Param]) -> str:
    """The ``xsi:type`` a value of ``path`` travels with.

    Args:
        path: the parameter.
        params: the device's stored parameters.

    Returns:
        The stored type, else the Broadband Forum data model's, else ``xsd:string``.
    """
    stored = params.get(path)
    if stored is not None and stored.type:
        return stored.type
    known = facts.lookup(path)
    if isinstance(known, facts.ParamFacts):
        return known.xsd_type
    return "xsd:string"


def normalise_value(value: str, xsd_type: str) -> str:
    """The wire form of a typed value: booleans as ``true``/``false``, numbers trimmed.

    Values the type does not recognise are returned unchanged (the CPE judges them).
    """
    kind = xsd_type.rsplit(":", 1)[-1]
    if kind == "boolean":
        lowered = value.strip().lower()
        if lowered in ("true", "1"):
            return "true"
        if lowered in ("false", "0"):
            return "false"
        return value
    if kind in ("int", "unsignedInt", "long", "unsignedLong", "decimal", "float", "double"):
        return value.strip()
    return value


def _set_value(command: SetValue, params: Mapping[str, Param]) -> rpc.ParameterValue:
    kind = command.type or value_type(command.path, params)
    return rpc.ParameterValue(command.path, normalise_value(command.value, kind), kind)


def _refresh(path: str) -> list[rpc.Message]:
    if not path.endswith("."):
        return [rpc.GetParameterValues(names=(path,))]
    return [
        rpc.GetParameterNames(parameter_path=path, next_level=False),
        rpc.GetParameterValues(names=(path,)),
    ]


def plan(
    commands: Sequence[Command], params: Mapping[str, Param], *, parameter_key: str = ""
) -> list[PlannedRpc]:
    """Turn commands into RPCs, remembering which command each RPC carries.

    Order: one SetParameterValues with every value (a later value for the same path
    replaces an earlier one), then AddObject (each followed by a re-read of its table) and
    DeleteObject in the order given, then the refreshes.

    Args:
        commands: the staged commands.
        params: the device's stored parameters (for value types).
        parameter_key: the ParameterKey sent with SetParameterValues/AddObject/DeleteObject.

    Returns:
        The RPCs in sending order.
    """
    planned: list[PlannedRpc] = []
    values: dict[str, tuple[int, rpc.ParameterValue]] = {}
    set_indexes: list[int] = []
    for index, command in enumerate(commands):
        if isinstance(command, SetValue):
            values[command.path] = (index, _set_value(command, params))
            set_indexes.append(index)
    if values:
        planned.append(
            PlannedRpc(
                rpc.SetParameterValues(
                    parameters=tuple(pv for _, pv in values.values()),
                    parameter_key=parameter_key,
                ),
                tuple(set_indexes),
            )
        )
    for index, command in enumerate(commands):
        if isinstance(command, AddInstance):
            table = _object_path(command.table)
            planned.append(
                PlannedRpc(rpc.AddObject(object_name=table, parameter_key=parameter_key), (index,))
            )
            planned.extend(PlannedRpc(m, (index,), follow_up=True) for m in _refresh(table))
        elif isinstance(command, DeleteInstance):
            instance = _object_path(command.instance)
            planned.append(
                PlannedRpc(
                    rpc.DeleteObject(object_name=instance, parameter_key=parameter_key), (index,)
                )
            )
    for index, command in enumerate(commands):
        if isinstance(command, RefreshSubtree):
            planned.extend(PlannedRpc(m, (index,)) for m in _refresh(command.path))
    return planned


def to_rpcs(
    commands: Sequence[Command], params: Mapping[str, Param], *, parameter_key: str = ""
) -> list[rpc.Message]:
    """The RPCs of :func:`plan`, without the bookkeeping."""
    return [p.message for p in plan(commands, params, parameter_key=parameter_key)]


def to_tasks(commands: Sequence[Command], params: Mapping[str, Param]) -> list[dict[str, Any]]:
    """Turn commands into GenieACS task documents (for ``store.add_task``).

    Args:
        commands: the staged commands.
        params: the device's stored parameters (for value types).

    Returns:
        Task documents in the same order as :func:`plan` sends RPCs: one
        ``setParameterValues`` with every value, then ``addObject``/``deleteObject``, then
        ``refreshObject``. Object names carry no trailing '.', as GenieACS writes them.
    """
    tasks: list[dict[str, Any]] = []
    values: dict[str, list[str]] = {}
    for command in commands:
        if isinstance(command, SetValue):
            pv = _set_value(command, params)
            values[pv.name] = [pv.name, pv.value, pv.type]
    if values:
        tasks.append({"name": "setParameterValues", "parameterValues": list(values.values())})
    for command in commands:
        if isinstance(command, AddInstance):
            tasks.append({"name": "addObject", "objectName": command.table.rstrip(".")})
        elif isinstance(command, DeleteInstance):
            tasks.append({"name": "deleteObject", "objectName": command.instance.rstrip(".")})
    for command in commands:
        if isinstance(command, RefreshSubtree):
            tasks.append({"name": "refreshObject", "objectName": command.path.rstrip(".")})
    return tasks


def _fault_words(code: int, text: str) -> str:
    return f"CPE fault {code}: {text}" if text else f"CPE fault {code}"


def outcome(command: Command, request: rpc.Message, response: rpc.Message) -> Outcome:
    """Read the CPE's answer to one RPC of a command's plan.

    Args:
        command: the command the RPC carried.
        request: the RPC sent.
        response: what the CPE answered (a response, or an ``rpc.Fault``).

    Returns:
        Done or faulted, in words. For a failed SetParameterValues the fault of the
        command's own parameter is reported when the CPE names it.
    """
    if isinstance(response, rpc.Fault):
        if isinstance(command, SetValue):
            for item in response.set_parameter_values_faults:
                if item.name == command.path:
                    return Outcome(False, _fault_words(item.code, item.string), item.code)
        return Outcome(False, _fault_words(response.code, response.string), response.code)
    if isinstance(response, rpc.SetParameterValuesResponse):
        extra = " (the CPE applies it after a reboot)" if response.status == 1 else ""
        return Outcome(True, f"Set{extra}")
    if isinstance(response, rpc.AddObjectResponse):
        table = _object_path(getattr(command, "table", ""))
        return Outcome(True, f"Added {table}{response.instance_number}.")
    if isinstance(response, rpc.DeleteObjectResponse):
        return Outcome(True, "Deleted")
    if isinstance(response, rpc.GetParameterValuesResponse):
        return Outcome(True, f"Refreshed ({len(response.parameters)} values)")
    if isinstance(response, rpc.GetParameterNamesResponse):
        return Outcome(True, f"{len(response.parameters)} names read")
    return Outcome(True, f"{response.METHOD or type(response).__name__} received")
