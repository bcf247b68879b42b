"""What provisions ask of a device: declarations and clears (GenieACS's model).

A provision script (or a built-in provision, a task, a preset) never sends RPCs itself. It
*declares* what it needs to know and what it wants set; the planner turns the declarations of all
provisions of a session into RPCs, and the scripts are replayed until nothing is left to do.
Timestamps are integer milliseconds since the epoch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

#: Attributes a declaration can read or set.
ATTRIBUTES = ("value", "writable", "object", "notification", "accessList")


@dataclass(frozen=True, slots=True)
class Declaration:
    """One ``declare(path, timestamps, values)`` call.

    Attributes:
        path: as written by the script; may contain ``*`` wildcards and ``[alias]`` segments.
        path_get: refresh existence / instance discovery when what is known is older (ms).
        path_set: wanted instance count: an int, or (min, max); only on a path whose last
            segment is ``*`` or an alias.
        attr_get: attribute name -> refresh when the stored attribute is older than this (ms).
        attr_set: attribute name -> wanted value. ``value`` is ``(v, xsd_type | None)``;
            ``notification`` an int; ``accessList`` a tuple of strings; ``writable``/``object``
            are not settable and are ignored by the planner.
        defer: apply only once every provision of the session has run to completion.
    """

    path: str
    path_get: int | None = None
    path_set: int | tuple[int, int] | None = None
    attr_get: dict[str, int] = field(default_factory=dict)
    attr_set: dict[str, Any] = field(default_factory=dict)
    defer: bool = False


@dataclass(frozen=True, slots=True)
class Clear:
    """One ``clear(path, timestamp, attrTimestamps)`` call: forget data older than timestamp."""

    path: str
    timestamp: int
    attr_timestamps: dict[str, int] = field(default_factory=dict)
