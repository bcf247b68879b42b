"""Faults per device and channel, with GenieACS's retry rules (done the right way round).

A channel that fails gets a fault (code, message, detail, the channel's provisions); the first
has ``retries`` 0, a channel that fails again while retrying gets ``retries + 1``. The channel
may run again once ``now >= timestamp + retry_delay_ms * 2**retries`` (all in ms). Until then its
presets are skipped; when due, that channel runs alone with its saved provisions. A channel
that completes clears its fault. Expired faults (``expiry`` in the past) are dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from acs_engine.store.records import Fault, fault_id

if TYPE_CHECKING:
    from acs_engine.session.session import Session
    from acs_engine.store.db import Store


class ProvisionFault(Exception):
    """A failure of provisioning work: a GenieACS fault code, a message and a detail."""

    def __init__(
        self, code: str, message: str, detail: Any = None, *, channel: str | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.detail = detail
        #: The channel of the provision that failed, when one provision is to blame.
        self.channel = channel


def retry_at(fault: Fault, retry_delay_ms: int) -> int:
    """When (ms) the fault's channel may run again."""
    return fault.timestamp_ms + retry_delay_ms * (2 ** fault.retries)


@dataclass(slots=True)
class FaultRecorder:
    """The faults of one session's device: read at the start, written with the session."""

    session: Session
    retry_delay_ms: int
    now: int
    existing: dict[str, Fault] = field(default_factory=dict)  # channel -> stored fault
    raised: dict[str, Fault] = field(default_factory=dict)  # channel -> fault of this session

    async def load(self, store: Store) -> None:
        self.add_existing(await store.list_faults(self.session.device_id, now_ms=self.now))

    def add_existing(self, faults: list[Fault]) -> None:
        """The device's stored (unexpired) faults."""
        for fault in faults:
            self.existing[fault.channel] = fault

    def has(self, channel: str) -> bool:
        """The channel has a fault (stored or raised in this session)."""
        return channel in self.existing or channel in self.raised

    def due_channel(self) -> str | None:
        """A preset channel whose fault is due for a retry now (the oldest first)."""
        due = [
            f for f in self.existing.values()
            if not f.channel.startswith("task_") and retry_at(f, self.retry_delay_ms) <= self.now
            and f.channel not in self.raised
        ]
        return min(due, key=lambda f: f.timestamp_ms).channel if due else None

    def blocked_channels(self) -> dict[str, str]:
        """Channels whose presets are skipped: faults not yet due, or raised in this session."""
        blocked: dict[str, str] = {}
        for channel, f in self.existing.items():
            when = retry_at(f, self.retry_delay_ms)
            if when > self.now:
                blocked[channel] = f"channel has fault {f.code}; next retry in {(when - self.now) // 1000} s"
        for channel, f in self.raised.items():
            blocked[channel] = f"channel faulted in this session ({f.code})"
        return blocked

    def saved_provisions(self, channel: str) -> list[list[Any]]:
        fault = self.existing.get(channel)
        return [list(p) for p in fault.provisions] if fault else []

    def fail(
        self, channels: list[str] | dict[str, list[list[Any]]], error: ProvisionFault,
        provisions: list[list[Any]] | None = None,
        *, expiry: int | None = None, precondition: bool = False,
    ) -> None:
        """Record ``error`` on every channel in ``channels``.

        ``channels`` maps each channel to its own provisions (saved for the retry), or is a
        list of channels that all save ``provisions``.
        """
        extras = self.session.commit_extras
        if not isinstance(channels, dict):
            channels = {c: list(provisions or []) for c in channels}
        for channel, saved in channels.items():
            previous = self.existing.get(channel)
            fault = Fault(
                id=fault_id(self.session.device_id, channel),
                device_id=self.session.device_id,
                channel=channel,
                timestamp_ms=self.now,
                code=error.code,
                message=error.message,
                detail=error.detail,
                retries=previous.retries + 1 if previous is not None else 0,
                expiry_ms=expiry,
                provisions=[list(p) for p in saved],
                precondition=precondition,
            )
            self.raised[channel] = fault
            extras.faults_put = [f for f in extras.faults_put if f.id != fault.id] + [fault]
            if fault.id in extras.faults_deleted:
                extras.faults_deleted.remove(fault.id)

    def clear(self, channel: str) -> None:
        """The channel completed: its stored fault goes."""
        if channel in self.raised:
            return
        if channel in self.existing:
            fid = fault_id(self.session.device_id, channel)
            if fid not in self.session.commit_extras.faults_deleted:
                self.session.commit_extras.faults_deleted.append(fid)
