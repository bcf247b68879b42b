"""Boot storm: N simulated CPEs boot GAP seconds apart against a default `fieldacs-engine serve`.

After a power cut every CPE sends its BOOT (here: first BOOTSTRAP) Inform within seconds; many
CPE stacks do not try again before their next periodic inform when refused. Each simulated CPE
makes exactly one attempt (no retry on 503, like those stacks) and waits up to 30 s for each
answer. The server runs in its own process pinned to one core with the seeded presets and the
settings of a default `serve` (as a user runs it), on a fresh database; the CPEs run in this
process on the other core. ``--set NAME=VALUE`` changes one engine setting (JSON value), e.g.
``--set max_connections_per_address=2048``: every simulated CPE comes from 127.0.0.1, which
real CPEs do not. ``--server-tree DIR`` runs the server from another checkout (e.g. the tree
before a change, for a before/after comparison in one sitting; the CPEs stay the same).

Reports how many completed their first session on the first try, how many were refused (503)
or failed, the longest and p99 wait for the InformResponse (the ACS's admission queue), session
durations, how long the storm took, the server's CPU and peak RSS. Usage::

    python benchmarks/bootstorm.py [--count 1000] [--gap 0.01] [--model tr098]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from acs_engine.sim.client import SessionResult, SimCpe  # noqa: E402
from acs_engine.sim.device import SimDevice  # noqa: E402
from acs_engine.sim.model import load_model  # noqa: E402
from acs_engine.sim.options import SimOptions  # noqa: E402
from benchmarks.sessions import (  # noqa: E402
    free_port,
    proc_cpu_ms,
    proc_peak_rss_mb,
    wait_for_port,
)


async def storm(url: str, count: int, gap: float, model: str) -> tuple[list[SessionResult], float]:
    base = load_model(model)
    options = SimOptions(http_timeout=30.0)
    cpes = [
        SimCpe(SimDevice(base, f"STORM{i:06d}", index=i, options=options), url)
        for i in range(count)
    ]

    async def boot(i: int, cpe: SimCpe) -> SessionResult:
        await asyncio.sleep(i * gap)
        return await cpe.session()  # one try

    started = time.perf_counter()
    results = await asyncio.gather(*(boot(i, cpe) for i, cpe in enumerate(cpes)))
    return list(results), time.perf_counter() - started


#: The engine as `serve` starts it, with setting overrides (argv: db, port, JSON overrides).
SERVER = """
import asyncio, json, signal, sys
from pathlib import Path
from acs_engine.config import EngineConfig
from acs_engine.server.controller import Engine

async def main():
    config = EngineConfig(db_path=Path(sys.argv[1]), cwmp_host="127.0.0.1", fs_host="127.0.0.1",
                          cwmp_port=int(sys.argv[2]), fs_port=0, nbi_port=0,
                          **json.loads(sys.argv[3]))
    engine = Engine(config)
    await engine.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGINT, stop.set)
    await stop.wait()
    await engine.stop()

asyncio.run(main())
"""


def _setting(text: str) -> tuple[str, object]:
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError("expected NAME=VALUE")
    return name, json.loads(value)


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * q))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--gap", type=float, default=0.01, help="seconds between boots")
    parser.add_argument("--model", default="tr098")
    parser.add_argument("--server-tree", type=Path, default=ROOT,
                        help="checkout whose acs_engine the server runs (default: this one)")
    parser.add_argument("--no-pin", action="store_true",
                        help="do not pin the server and the CPEs to one core each")
    parser.add_argument("--set", action="append", type=_setting, default=[],
                        metavar="NAME=VALUE", help="an engine setting (JSON value; repeatable)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="fieldacs-storm-"))
    try:
        port = free_port()
        log_file = (workdir / "server.log").open("wb")  # a pipe nobody reads would block it
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER, str(workdir / "s.db"), str(port),
             json.dumps(dict(args.set))],
            cwd=args.server_tree, stdout=subprocess.DEVNULL, stderr=log_file,
            env={**os.environ, "PYTHONPATH": str(args.server_tree.resolve())},
        )
        try:
            cpus = sorted(os.sched_getaffinity(0))
            if len(cpus) >= 2 and not args.no_pin:
                os.sched_setaffinity(server.pid, {cpus[0]})
                os.sched_setaffinity(0, {cpus[1]})
            wait_for_port(port)
            load_before = os.getloadavg()[0]
            cpu_before = proc_cpu_ms(server.pid)
            client_before = time.process_time()
            results, elapsed = asyncio.run(
                storm(f"http://127.0.0.1:{port}/", args.count, args.gap, args.model))
            cpu_after = proc_cpu_ms(server.pid)
            client_cpu = time.process_time() - client_before
            peak = proc_peak_rss_mb(server.pid)
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
            log_file.close()
        ok = [r for r in results if r.ok]
        refused = [r for r in results if r.refused]
        failed = [r for r in results if not r.ok and not r.refused]
        waits = [r.inform_seconds for r in ok]
        durations = [r.duration for r in ok]
        print(f"boot storm: {args.count} CPEs ({args.model}), one every {args.gap * 1000:g} ms"
              f"{'; settings ' + json.dumps(dict(args.set)) if args.set else ''}; "
              f"load average before {load_before:.1f}, after {os.getloadavg()[0]:.1f}")
        print(f"first session on the first try: {len(ok)} of {args.count}")
        print(f"refused (503): {len(refused)}; failed: {len(failed)}")
        for r in failed[:5]:
            print(f"  failed: {r.error}")
        if waits:
            print(f"wait for InformResponse: p50 {statistics.median(waits):.2f} s, "
                  f"p99 {_pct(waits, 0.99):.2f} s, longest {max(waits):.2f} s")
            print(f"session duration: p50 {statistics.median(durations):.2f} s, "
                  f"longest {max(durations):.2f} s")
        print(f"storm over after {elapsed:.1f} s")
        logged = (workdir / "server.log").read_text(errors="replace").splitlines()
        print(f"server log: {len(logged)} lines" + (f", last: {logged[-1][:120]}" if logged else ""))
        print(f"server CPU: {(cpu_after - cpu_before) / 1000:.1f} s "
              f"({(cpu_after - cpu_before) / max(len(ok), 1):.0f} ms per session); "
              f"peak RSS {peak:.0f} MB; CPEs' CPU: {client_cpu:.1f} s")
        return 0 if len(ok) == args.count else 1
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
