"""What the planner hands back, what it keeps between RPCs, and its faults.

The planner (:mod:`acs_engine.session.planner`) turns declarations into one
:class:`RpcAction` at a time, or a :class:`VirtualParameterAction` when a virtual parameter
script must run first, or None when every declaration is satisfied. :class:`SyncState` is the
work list one pass over the declarations produces (GenieACS's ``syncState``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from acs_engine.cwmp import rpc


class SyncFault(Exception):
    """A session fault raised by the planner (GenieACS's fault codes).

    Attributes:
        code: ``too_many_commits``, ``too_many_rpcs``, ``deeply_nested_vparams`` or ``script``.
        message: GenieACS's message for it.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class RpcAction:
    """Send ``message`` to the CPE, then pass its response to ``Planner.handle_response``."""

    message: rpc.Message


@dataclass(frozen=True, slots=True)
class VirtualParameterAction:
    """Run the virtual parameter script ``name``, then call ``Planner.apply_virtual_parameter``.

    Attributes:
        name: the virtual parameter (``VirtualParameters.<name>``).
        get: attribute -> timestamp to refresh (``value``/``writable``): the script's
            ``args[0]``.
        set: attribute -> wanted value (``{"value": [v, type]}``): the script's ``args[1]``.
    """

    name: str
    get: dict[str, int]
    set: dict[str, Any]


Action = RpcAction | VirtualParameterAction


@dataclass(frozen=True, slots=True)
class DownloadOperation:
    """A Download the CPE accepted with Status 1: completed by a later TransferComplete.

    Keep it (keyed by ``command_key``) until the TransferComplete arrives, then pass both to
    :func:`acs_engine.session.special.transfer_complete`.
    """

    command_key: str
    instance: str
    file_type: str
    file_name: str
    target_file_name: str
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class ResponseResult:
    """What ``Planner.handle_response`` found.

    Attributes:
        fault_cleared: the response was a 9005 fault the planner recovered from (the named
            paths were cleared): do not record a fault, just plan again.
        operation: a Download the CPE will finish later (Status 1).
    """

    fault_cleared: bool = False
    operation: DownloadOperation | None = None


@dataclass(slots=True)
class SyncState:
    """The work one pass over the declarations found (names have no trailing '.').

    Sets are dicts (insertion-ordered). ``gpn_patterns`` maps a pattern's segments to the
    bits of its undiscovered depths (see :mod:`acs_engine.session.gpn`).
    """

    exist: dict[str, None] = field(default_factory=dict)
    object: dict[str, None] = field(default_factory=dict)
    writable: dict[str, None] = field(default_factory=dict)
    value: dict[str, None] = field(default_factory=dict)
    notification: dict[str, None] = field(default_factory=dict)
    access_list: dict[str, None] = field(default_factory=dict)
    gpn: dict[str, None] = field(default_factory=dict)
    gpn_patterns: dict[tuple[str, ...], int] = field(default_factory=dict)
    spv: dict[str, tuple[Any, str | None]] = field(default_factory=dict)
    spa: dict[str, dict[str, Any]] = field(default_factory=dict)
    tags: dict[str, bool] = field(default_factory=dict)
    reboot: int = 0
    factory_reset: int = 0
    instances_to_delete: dict[str, dict[str, None]] = field(default_factory=dict)
    instances_to_create: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    downloads_to_create: list[dict[str, str]] = field(default_factory=list)
    downloads_to_delete: dict[str, None] = field(default_factory=dict)
    downloads_values: dict[str, Any] = field(default_factory=dict)
    downloads_download: dict[str, int] = field(default_factory=dict)
    vparam_get: dict[str, dict[str, int]] = field(default_factory=dict)
    vparam_set: dict[str, Any] = field(default_factory=dict)

    def add_gpn(self, name: str, pattern: tuple[str, ...], flags: int) -> None:
        """Queue a GetParameterNames on ``name`` with a discovery pattern for the estimate."""
        self.gpn[name] = None
        self.gpn_patterns[pattern] = self.gpn_patterns.get(pattern, 0) | flags
