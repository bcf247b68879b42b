"""Step mode's single claim: one holder, leases checked, changes published."""

from __future__ import annotations

import pytest

from acs_engine.bus import EventBus
from acs_engine.remote.link import backoff
from acs_engine.server.step_claim import (
    MAX_HOLDER_CHARS,
    StepClaim,
    StepClaimError,
    StepHolderChanged,
)


def _claim() -> tuple[StepClaim, list[StepHolderChanged], list[str]]:
    bus = EventBus()
    seen: list[StepHolderChanged] = []
    bus.subscribe(seen.append, StepHolderChanged)
    released: list[str] = []
    return StepClaim(bus, on_release=lambda: released.append("off"), clock=lambda: 5.0), \
        seen, released


def test_one_holder_at_a_time_and_the_others_see_who() -> None:
    claim, seen, released = _claim()
    lease = claim.claim("alice")
    claim.check(lease)
    with pytest.raises(StepClaimError) as refused:
        claim.claim("bob")
    assert refused.value.holder == "alice"
    with pytest.raises(StepClaimError):
        claim.check("forged-lease")
    with pytest.raises(StepClaimError):
        claim.release("forged-lease")
    claim.release(lease)
    assert claim.holder == "" and released == ["off"]
    assert [(e.holder, e.previous) for e in seen] == [("alice", ""), ("", "alice")]


def test_force_takes_over_and_turns_the_old_holders_step_mode_off() -> None:
    claim, seen, released = _claim()
    old = claim.claim("alice")
    new = claim.claim("bob", force=True)
    assert seen[-1] == StepHolderChanged("bob", "alice", 5000, True)
    assert released == ["off"]
    with pytest.raises(StepClaimError):
        claim.check(old)
    claim.check(new)


@pytest.mark.parametrize("lease", [None, "", 5, ["x"], "x" * 10_000])
def test_nothing_but_the_lease_passes(lease: object) -> None:
    claim, _, _ = _claim()
    with pytest.raises(StepClaimError):
        claim.check(lease)  # nobody holds it
    claim.claim("alice")
    with pytest.raises(StepClaimError):
        claim.check(lease)


@pytest.mark.parametrize("name", [None, "", "   ", 5, "a" * (MAX_HOLDER_CHARS + 1), "a\nb",
                                  "\x1b[31mred"])
def test_holder_names_are_checked(name: object) -> None:
    claim, _, _ = _claim()
    with pytest.raises(ValueError):
        claim.claim(name)


def test_reconnection_backoff_doubles_up_to_its_cap() -> None:
    delays = [backoff(n, first=1.0, longest=8.0) for n in range(1, 8)]
    assert 0.8 <= delays[0] <= 1.2
    assert 1.6 <= delays[1] <= 2.4
    assert all(d <= 8.0 * 1.2 for d in delays)
    assert delays[-1] >= 8.0 * 0.8
