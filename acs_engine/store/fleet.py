"""The fleet view: one parameter across every device, now and over time.

"Now" reads each device's stored value by primary key (one seek per device, no index on
``params.path`` to pay for on every write); the software version comes from
``devices.software_version``, which triggers keep. "Over time" starts from the values now and
walks each device's recorded changes backwards (``history_device_path``: one seek per
device), so it needs no snapshot of the fleet. The whole computation runs on the store's
thread in one hop: the caller's event loop (the console's) only awaits it.
"""

from __future__ import annotations

import sqlite3
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from acs_engine import clock

from .base import StoreBase
from .history_schema import KIND_ADDED
from .schema import SOFTWARE_VERSION_PATHS

__all__ = ["ABSENT", "FleetMixin", "FleetView"]

#: The value shown for a device that lacks the parameter.
ABSENT = "(none)"
_REGISTERED = -1  # a pseudo-change: the device's registration

#: The most samples a fleet time series has (each costs a list per value on the store's
#: thread; the console asks for 48).
MAX_POINTS = 2000


@dataclass(frozen=True, slots=True)
class FleetView:
    """A parameter's values across the fleet.

    Attributes:
        paths: the parameter's paths (a TR-098 and a TR-181 one, for the software version).
        devices: how many devices there are.
        now: (value, devices) pairs, most common first.
        times: the sample times of ``series`` (ms), oldest first; the last one is now.
        series: value -> devices having it at each of ``times``.
        elapsed_ms: how long the query took on the store's thread (wall clock).
        cpu_ms: the CPU time it took there (the machine's load does not count).
    """

    paths: tuple[str, ...]
    devices: int
    now: list[tuple[str, int]]
    times: list[int]
    series: dict[str, list[int]]
    elapsed_ms: float
    cpu_ms: float = 0.0


class FleetMixin(StoreBase):
    """The fleet part of ``Store``."""

    async def fleet_view(
        self,
        paths: Sequence[str] = SOFTWARE_VERSION_PATHS,
        *,
        since: int | None = None,
        points: int = 48,
        now: int | None = None,
    ) -> FleetView:
        """The distribution of a parameter now and at ``points`` times from ``since`` to now.

        Args:
            paths: the parameter (several paths: a device's first one found counts).
            since: the start of the time series (ms); default a week ago. When the first
                device registered later, the series starts a second before it did.
            points: samples in the series (2 to :data:`MAX_POINTS`).
            now: the time taken as now (ms); default the clock.
        """
        now_ms = clock.now_ms() if now is None else now
        start = now_ms - 7 * 86_400_000 if since is None else since
        n = min(max(2, points), MAX_POINTS)  # a remote console's ask is bounded
        wanted = tuple(dict.fromkeys(paths))

        def compute(db: sqlite3.Connection) -> FleetView:
            began, began_cpu = time.perf_counter(), time.thread_time()
            current: dict[str, str] = {}
            registered = dict(db.execute("SELECT id, registered FROM devices"))
            ids = list(registered)
            # Nothing to show before the first device was known: start there instead.
            first = min(registered.values(), default=start)
            begin = min(max(start, first - 1000), now_ms - 1000)
            times = [begin + (now_ms - begin) * i // (n - 1) for i in range(n)]
            if set(wanted) == set(SOFTWARE_VERSION_PATHS):
                for device_id, version in db.execute("SELECT id, software_version FROM devices"):
                    current[device_id] = version or ABSENT
            else:
                for path in reversed(wanted):  # the first path wins: it is read last
                    for device_id, value in db.execute(
                        "SELECT p.device_id, p.value FROM devices d CROSS JOIN params p "
                        "ON p.device_id = d.id AND p.path = ?",
                        (path,),
                    ):
                        current[device_id] = ABSENT if value is None else str(value)
            # Changes after the first sample, newest first per device.
            changes: dict[str, list[tuple[int, int, str | None]]] = {}
            for path in wanted:
                for device_id, at, kind, old in db.execute(
                    "SELECT h.device_id, h.at, h.kind, h.old_value FROM devices d "
                    "CROSS JOIN history h ON h.device_id = d.id AND h.path = ? AND h.at > ?",
                    (path, times[0]),
                ):
                    changes.setdefault(device_id, []).append((at, kind, old))
            # A device registered after the first sample is not counted before it was.
            for device_id, at in registered.items():
                if at > times[0]:
                    changes.setdefault(device_id, []).append((at, _REGISTERED, None))
            # Each device's value holds over a run of samples: add +1/-1 at the run's ends
            # (a difference array per value), then one prefix sum per value.
            base = Counter(current.get(d, ABSENT) for d in ids)
            diffs: dict[str, list[int]] = {}
            for device_id, rows in changes.items():
                held: str | None = current.get(device_id, ABSENT)
                base[held or ABSENT] -= 1
                rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
                end = n
                for at, kind, old in rows:
                    lo = bisect_left(times, at)  # samples at or after the change: ``held``
                    if lo < end and held is not None:
                        d = diffs.setdefault(held, [0] * (n + 1))
                        d[lo] += 1
                        d[end] -= 1
                    end = min(end, lo)
                    if kind == _REGISTERED:
                        held = None  # not known to the ACS before
                        break
                    held = ABSENT if kind == KIND_ADDED or old is None else old
                if end > 0 and held is not None:
                    d = diffs.setdefault(held, [0] * (n + 1))
                    d[0] += 1
                    d[end] -= 1
            series: dict[str, list[int]] = {}
            for value in set(base) | set(diffs):
                steps = diffs.get(value)
                row = [base[value]] * n
                if steps is not None:
                    running = 0
                    for k in range(n):
                        running += steps[k]
                        row[k] += running
                if any(row):
                    series[value] = row
            now_counts = sorted(
                ((v, row[-1]) for v, row in series.items() if row[-1]), key=lambda x: (-x[1], x[0])
            )
            return FleetView(
                wanted, len(ids), now_counts, times, series,
                (time.perf_counter() - began) * 1000, (time.thread_time() - began_cpu) * 1000,
            )

        return await self._run(compute)
