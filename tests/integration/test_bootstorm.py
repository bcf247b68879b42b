"""Issue 17, "a boot storm loses nobody": CPEs booting 10 ms apart all complete their first
session on the first try; the ACS queues new sessions briefly instead of refusing them.

Bounded and light on CPU: 150 CPEs whose sessions last a while (each answer 0.5 s late), and
a cap of 10 live sessions, so the storm must queue; benchmarks/bootstorm.py runs 1,000 CPEs
against a default engine with the seeded presets and reports the waits.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.sim.options import SimOptions
from tests.helpers.engine import running_engine

COUNT = 150
GAP = 0.01


async def test_boot_storm_of_150_cpes_all_complete_their_first_session_first_try(
    tmp_path: Path,
) -> None:
    async with running_engine(tmp_path, max_sessions=10) as engine:  # default wait bound
        assert engine.cwmp is not None and engine.store is not None
        url = engine.cwmp_urls()[-1]
        base = load_model("tr098")
        slow = SimOptions(latency=0.5)
        cpes = [
            SimCpe(SimDevice(base, f"STORM{i:04d}", index=i, options=slow), url)
            for i in range(COUNT)
        ]

        async def boot(i: int, cpe: SimCpe) -> None:
            await asyncio.sleep(i * GAP)
            await cpe.session()  # one try: a CPE that is refused waits a whole interval

        await asyncio.gather(*(boot(i, cpe) for i, cpe in enumerate(cpes)))
        failed = [(c.device.serial, c.results[-1].error) for c in cpes if not c.results[-1].ok]
        assert failed == []
        assert all(len(cpe.results) == 1 and not cpe.results[0].refused for cpe in cpes)
        admission = engine.cwmp.admission
        assert admission.refused_total == 0
        assert admission.queued_total > 0  # the queue carried the storm
        assert admission.waiting == 0 and admission.in_flight == 0
        assert await engine.store.count_devices() == COUNT
        print(f"\nboot storm: {COUNT} CPEs, {admission.queued_total} queued, "
              f"longest wait {admission.longest_wait:.2f} s")
