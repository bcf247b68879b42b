"""How responsive the console stays while simulated CPEs run sessions against its engine.

The real console runs offscreen in this process, as ``fieldacs`` runs it: one QApplication, a
qasync loop, the :class:`~acs_engine.server.controller.Engine` on 127.0.0.1 (free ports) and
the :class:`~app.window.MainWindow` shown. The load is ``fieldacs-engine sim`` in a separate
process (its CPU is not the console's work): ``--count`` TR-181 devices with a periodic
inform every ``--periodic`` seconds for ``--duration`` seconds.

A precise QTimer fires every 10 ms; each firing records (actual interval - 10 ms), the time
the Qt event loop was late because something else held it. Reports p50/p99/max lag, the
lag over the bootstrap burst (first 10 s) and after it, sessions completed, and the console
process's CPU time. ``--profile FILE`` writes a cProfile of the console process.

Garbage collection runs as in ``fieldacs`` (on the GUI thread, from app/collector.py) unless
``--gc auto`` leaves it to the interpreter; either way every collection is timed, by
generation, since a full collection holds the loop like any other work. Usage::

    python benchmarks/gui_responsiveness.py [--count 200] [--periodic 5] [--duration 60]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

INTERVAL_MS = 10
BURST_S = 10.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(lags: list[float]) -> str:
    if not lags:
        return "no samples"
    return (
        f"p50 {percentile(lags, 0.50):6.1f} ms  p99 {percentile(lags, 0.99):6.1f} ms  "
        f"max {max(lags):6.1f} ms  mean {statistics.fmean(lags):5.1f} ms  "
        f"({len(lags)} ticks)"
    )


async def measure(app: object, args: argparse.Namespace, db: Path) -> dict[str, object]:
    from PySide6.QtCore import QSettings, Qt, QTimer

    from acs_engine.config import EngineConfig
    from acs_engine.server.controller import Engine
    from app.bridge import EngineBridge
    from app.window import MainWindow

    config = EngineConfig(
        db_path=db, cwmp_host="127.0.0.1", cwmp_port=0, fs_host="127.0.0.1", fs_port=0,
        nbi_host="127.0.0.1", nbi_port=0,
    )
    engine = Engine(config)
    bridge = EngineBridge(engine.bus)
    settings = QSettings(str(db.with_suffix(".ini")), QSettings.Format.IniFormat)
    window = MainWindow(engine, bridge, settings)
    ended: list[str] = []
    bridge.sessionEnded.connect(lambda event: ended.append(event.outcome))
    await engine.start()
    window.set_acs_urls([f"http://127.0.0.1:{engine.cwmp_port}/"])
    window.show()
    await asyncio.sleep(0.5)  # let the first paint and the panels' first loads finish
    if args.gc == "gui":
        args.collector.freeze_startup()

    samples: list[tuple[float, float]] = []  # (seconds since the sim started, lag ms)
    state = {"last": 0.0, "t0": 0.0}

    def tick() -> None:
        now = time.perf_counter()
        samples.append((now - state["t0"], (now - state["last"]) * 1000.0 - INTERVAL_MS))
        state["last"] = now

    rejected: list[object] = []
    bridge.requestRejected.connect(rejected.append)
    url = f"http://127.0.0.1:{engine.cwmp_port}/"
    # The simulator logs every failed session: to a file, never to a pipe nobody reads
    # while it runs (a full pipe would stall the simulator).
    sim_log = db.with_name("sim.log").open("wb")
    sim = subprocess.Popen(
        [
            sys.executable, "-m", "acs_engine.cli", "sim", "--acs", url,
            "--count", str(args.count), "--model", "tr181", "--periodic", str(args.periodic),
            "--duration", str(args.duration), "--no-connreq",
        ],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=sim_log,
    )
    timer = QTimer()
    timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.setInterval(INTERVAL_MS)
    timer.timeout.connect(tick)
    cpu0 = time.process_time()
    state["t0"] = state["last"] = time.perf_counter()
    timer.start()
    try:
        while sim.poll() is None:
            await asyncio.sleep(0.2)
            if time.perf_counter() - state["t0"] > args.duration + 30:
                sim.send_signal(signal.SIGINT)
    finally:
        timer.stop()
        wall = time.perf_counter() - state["t0"]
        cpu = time.process_time() - cpu0
        if sim.poll() is None:
            sim.kill()
        sim.wait()
        sim_log.close()
        err = db.with_name("sim.log").read_text(errors="replace")
        window.close()
        bridge.detach()
        await engine.stop()
        window.deleteLater()
    return {
        "samples": samples, "ended": ended, "wall": wall, "cpu": cpu,
        "devices": args.count, "sim_rc": sim.returncode, "sim_err": err[-2000:],
        "rejected": len(rejected), "sim_503": err.count("HTTP 503"),
    }


class GcTimer:
    """Times every garbage collection (gc.callbacks), by generation."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.pauses[info["generation"]].append((time.perf_counter() - self._start) * 1000)

    def report(self) -> str:
        parts = []
        for generation, pauses in self.pauses.items():
            worst = max(pauses) if pauses else 0.0
            parts.append(f"gen{generation} {len(pauses)}× (max {worst:.1f} ms)")
        return ", ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--periodic", type=float, default=5)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--profile", type=Path, default=None, metavar="FILE")
    parser.add_argument("--gc", choices=("gui", "auto"), default="gui",
                        help="gui: collect on the GUI thread as fieldacs does; auto: CPython's")
    args = parser.parse_args()

    from app import bootstrap
    from app.collector import GuiThreadCollector

    app = bootstrap.create_application(["gui_responsiveness"])
    gc_timer = GcTimer()
    gc.callbacks.append(gc_timer)
    if args.gc == "gui":
        collector = GuiThreadCollector(app)
        collector.start()
        args.collector = collector
    with tempfile.TemporaryDirectory(prefix="fieldacs-guibench-") as tmp:
        db = Path(tmp) / "bench.db"
        if args.profile is not None:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
            result = bootstrap.run_on_qasync(app, measure(app, args, db))
            profiler.disable()
            profiler.dump_stats(str(args.profile))
        else:
            result = bootstrap.run_on_qasync(app, measure(app, args, db))

    samples: list[tuple[float, float]] = result["samples"]  # type: ignore[assignment]
    ended: list[str] = result["ended"]  # type: ignore[assignment]
    lags = [lag for _, lag in samples]
    burst = [lag for t, lag in samples if t < BURST_S]
    steady = [lag for t, lag in samples if t >= BURST_S]
    wall = float(result["wall"])  # type: ignore[arg-type]
    cpu = float(result["cpu"])  # type: ignore[arg-type]
    ok = sum(1 for outcome in ended if outcome == "ok")
    print(f"devices {args.count}, periodic {args.periodic:g} s, run {wall:.1f} s")
    print(f"sessions completed: {len(ended)} ({ok} ok), {len(ended) / wall:.1f}/s")
    print(f"requests turned away (503 busy): {result['rejected']} "
          f"(the simulator saw {result['sim_503']})")
    print(f"console CPU: {cpu:.1f} s ({100 * cpu / wall:.0f} % of one core)")
    print(f"event-loop lag, whole run : {summary(lags)}")
    print(f"  first {BURST_S:.0f} s (bootstrap): {summary(burst)}")
    print(f"  after               : {summary(steady)}")
    over = sum(1 for lag in lags if lag > 50)
    print(f"ticks late by > 50 ms: {over} ({100 * over / max(1, len(lags)):.2f} %)")
    print(f"garbage collections ({args.gc}): {gc_timer.report()}")
    p99 = percentile(lags, 0.99)
    print(f"target p99 < 50 ms: {'met' if p99 < 50 else 'NOT met'} ({p99:.1f} ms)")
    if result["sim_rc"] not in (0, None):
        print(f"simulator exit code {result['sim_rc']}: {result['sim_err']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
