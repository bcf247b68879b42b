"""Issue 17, "a boot storm loses nobody": CPEs booting 10 ms apart all complete their first
session on the first try; the ACS queues new sessions briefly instead of refusing them.

Bounded: 150 CPEs (benchmarks/bootstorm.py runs 1,000 and reports the waits).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from tests.helpers.engine import running_engine

COUNT = 150
GAP = 0.01


async def test_boot_storm_of_150_cpes_all_complete_their_first_session_first_try(
    tmp_path: Path,
) -> None:
    # The seeded presets run (as in a default serve); few Informs worked on at once, so
    # the storm has to queue.
    async with running_engine(
        tmp_path, provisioning=True, max_concurrent_new_sessions=10
    ) as engine:
        assert engine.cwmp is not None and engine.store is not None
        url = engine.cwmp_urls()[-1]
        base = load_model("tr098")
        cpes = [SimCpe(SimDevice(base, f"STORM{i:04d}", index=i), url) for i in range(COUNT)]

        async def boot(i: int, cpe: SimCpe) -> None:
            await asyncio.sleep(i * GAP)
            await cpe.session()  # one try: a CPE that is refused waits a whole interval

        await asyncio.gather(*(boot(i, cpe) for i, cpe in enumerate(cpes)))
        results = [cpe.results[-1] for cpe in cpes]
        failed = [(cpe.device.serial, r.error) for cpe, r in zip(cpes, results) if not r.ok]
        assert failed == []
        assert all(len(cpe.results) == 1 and not cpe.results[0].refused for cpe in cpes)
        admission = engine.cwmp.admission
        assert admission.refused_total == 0
        assert admission.queued_total > 0  # the queue carried the storm
        assert admission.waiting == 0 and admission.in_flight == 0
        assert await engine.store.count_devices() == COUNT
        print(f"\nboot storm: {COUNT} CPEs, {admission.queued_total} queued, "
              f"longest wait {admission.longest_wait:.2f} s")
