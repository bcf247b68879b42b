"""Fixtures for the simulator tests: a small model in the real format and a fake clock."""

from __future__ import annotations

from pathlib import Path

import pytest

from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import BaseModel, load_model
from acs_engine.sim.options import SimOptions

FIXTURE_MODEL = Path(__file__).with_name("fixture_model.json")


class FakeClock:
    """A manually advanced clock usable as both monotonic and wall clock."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def model() -> BaseModel:
    return load_model(str(FIXTURE_MODEL))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_device(model: BaseModel, clock: FakeClock):  # type: ignore[no-untyped-def]
    def factory(serial: str = "SIM000001", **options: object) -> SimDevice:
        return SimDevice(
            model, serial, index=1, options=SimOptions(**options),  # type: ignore[arg-type]
            context={"acs_url": "http://127.0.0.1:7547/", "cr_url": "http://127.0.0.1:1/x"},
            clock=clock, wallclock=clock,
        )

    return factory
