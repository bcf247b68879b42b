"""Who holds step mode: one console at a time, the others see who.

Several consoles may watch one engine, but only one may hold sessions before each RPC and
answer the holds. A console claims step mode with a holder name (``"alice@laptop"``) and
gets a lease, a random secret it presents with every step command; the others get
:class:`StepClaimError` with the holder's name. Every change is published on the bus as
:class:`StepHolderChanged`, so every console shows who holds it.

Releasing (or taking over with ``force``, for a holder whose console is gone) turns step
mode off for the devices the holder had put in it, so no session waits for a console that
is no longer there.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from acs_engine.bus import EventBus
from acs_engine.clock import now_ms

__all__ = ["MAX_HOLDER_CHARS", "StepClaim", "StepClaimError", "StepHolderChanged"]

#: Longest holder name accepted.
MAX_HOLDER_CHARS = 100


@dataclass(frozen=True, slots=True)
class StepHolderChanged:
    """Step mode was claimed, taken over or released.

    Attributes:
        holder: who holds it now ("" when nobody does).
        previous: who held it before ("" when nobody did).
        at_ms: when (epoch milliseconds).
        forced: the previous holder's claim was taken over.
    """

    holder: str
    previous: str
    at_ms: int
    forced: bool = False


class StepClaimError(Exception):
    """A step command from a console that does not hold step mode.

    Attributes:
        holder: who holds it ("" when nobody does).
    """

    def __init__(self, message: str, holder: str) -> None:
        super().__init__(message)
        self.holder = holder


def check_holder_name(name: object) -> str:
    """``name`` stripped, or ValueError when it is not a usable holder name."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError("a holder name is required")
    name = name.strip()
    if len(name) > MAX_HOLDER_CHARS or not name.isprintable():
        raise ValueError(f"a holder name is at most {MAX_HOLDER_CHARS} printable characters")
    return name


class StepClaim:
    """The single claim on step mode of one engine.

    Args:
        bus: where :class:`StepHolderChanged` is published.
        on_release: called with no argument when the holder lets go (or is taken over), to
            turn step mode off for its devices.
        clock: wall clock in seconds.
    """

    def __init__(
        self, bus: EventBus, on_release: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._bus = bus
        self._on_release = on_release
        self._clock = clock
        self.holder = ""
        self._lease = ""

    def claim(self, holder: object, *, force: bool = False) -> str:
        """Claim step mode for ``holder``; returns the lease.

        Raises:
            StepClaimError: another console holds it (and ``force`` is not set).
            ValueError: the name is empty, too long or not printable.
        """
        name = check_holder_name(holder)
        previous = self.holder
        if previous and not force:
            raise StepClaimError(f"step mode is held by {previous}", previous)
        if previous and self._on_release is not None:
            self._on_release()
        self.holder = name
        self._lease = secrets.token_urlsafe(24)
        self._bus.publish(StepHolderChanged(name, previous, now_ms(self._clock), bool(previous)))
        return self._lease

    def check(self, lease: object) -> None:
        """Raise :class:`StepClaimError` unless ``lease`` is the current holder's."""
        if not self.holder:
            raise StepClaimError("step mode is not claimed: claim it first", "")
        if not isinstance(lease, str) or not hmac.compare_digest(
            lease.encode("utf-8", "replace"), self._lease.encode("utf-8")
        ):
            raise StepClaimError(f"step mode is held by {self.holder}", self.holder)

    def release(self, lease: object) -> None:
        """Give step mode up (the holder's lease only)."""
        self.check(lease)
        previous, self.holder, self._lease = self.holder, "", ""
        if self._on_release is not None:
            self._on_release()
        self._bus.publish(StepHolderChanged("", previous, now_ms(self._clock)))
