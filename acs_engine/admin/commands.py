"""A technician's edits as commands: staged in the console, reviewed, then sent to the CPE.

Commands are plain frozen dataclasses (no Qt, no I/O):

- :class:`SetValue`: set a writable parameter to a value;
- :class:`AddInstance`: add an instance to a table object (``AddObject``);
- :class:`DeleteInstance`: delete a table instance (``DeleteObject``);
- :class:`RefreshSubtree`: read a subtree (or one parameter) again from the CPE.

They are sent as GenieACS task documents (:func:`to_tasks`: ``setParameterValues``,
``addObject``, ``deleteObject``, ``refreshObject``) through the task queue (``store.add_task``);
the provisioning handler turns each task into its RPCs.

Values travel typed: the ``xsi:type`` is the stored parameter's type, else the Broadband
Forum data model's, else ``xsd:string``. Every value set in one batch goes in one
SetParameterValues (it is atomic on the CPE, TR-069 §A.3.2.1).
"""

from __future__ import annotations

import enum
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
    "RefreshSubtree",
    "SetValue",
    "StagedState",
    "describe",
    "normalise_value",
    "to_tasks",
    "value_type",
]


class StagedState(enum.StrEnum):
    """Where a staged command is: staged (not sent), pending (queued as a task), done, faulted."""

    STAGED = "staged"
    PENDING = "pending"
    DONE = "done"
    FAULTED = "faulted"


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


def to_tasks(commands: Sequence[Command], params: Mapping[str, Param]) -> list[dict[str, Any]]:
    """Turn commands into GenieACS task documents (for ``store.add_task``).

    Args:
        commands: the staged commands.
        params: the device's stored parameters (for value types).

    Returns:
        Task documents: one
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
