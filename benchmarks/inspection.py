"""Benchmark of issue 12's tools: the CPE linter, capture import and proxy mode's overhead.

Run: ``.venv/bin/python benchmarks/inspection.py [--sessions 20]``

- lint: a TR-181 bootstrap with full discovery (GetParameterNames of the whole tree, then
  GetParameterValues of every parameter: ~1,000 values in one response), linted whole;
- import: each capture of tests/data/captures, and a synthetic one of 200 copies of the
  TR-181 bootstrap connections (ms per capture, MB/s);
- proxy: the same simulated CPE sessions straight to an engine, then through a second engine
  in proxy mode, one after another (mean ms per session; the difference is what the proxy
  adds on loopback).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from acs_engine.config import EngineConfig
from acs_engine.cwmp import rpc
from acs_engine.inspect import sources
from acs_engine.inspect.capture import import_capture, sessions_of
from acs_engine.inspect.lint import lint_session
from acs_engine.inspect.tcpstream import parse_capture
from acs_engine.server.controller import Engine
from acs_engine.session.handler import RpcQueue
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.store.db import Store
from acs_engine.store.deviceid import make_device_id

CAPTURES = Path(__file__).resolve().parent.parent / "tests" / "data" / "captures"


def config(folder: Path, **extra: object) -> EngineConfig:
    return EngineConfig(db_path=folder / "db.sqlite", cwmp_host="127.0.0.1", cwmp_port=0,
                        fs_host="127.0.0.1", fs_port=0, nbi_enabled=False, **extra)  # type: ignore[arg-type]


async def bench_lint(folder: Path) -> None:
    queue = RpcQueue()
    engine = Engine(config(folder / "lint", provisioning=False), handler=queue)
    await engine.start()
    base = load_model("tr181")
    dev = make_device_id(base.oui, base.product_class, "BENCH0001")
    queue.put(dev, rpc.GetParameterNames(parameter_path="Device.", next_level=False))
    queue.put(dev, rpc.GetParameterValues(names=("Device.",)))
    assert (await SimCpe(SimDevice(base, "BENCH0001"), engine.cwmp_urls()[-1]).session()).ok
    await engine.stop()
    async with await Store.open(folder / "lint" / "db.sqlite") as store:
        session = await sources.load_stored(store, dev)
    size = sum(len(m.body) for m in session.messages)
    times = []
    for _ in range(5):
        start = time.perf_counter()
        findings = lint_session(session)
        times.append(time.perf_counter() - start)
    print(f"lint: TR-181 bootstrap with full discovery, {len(session.messages)} messages, "
          f"{size / 1024:.0f} KB: median {statistics.median(times) * 1000:.0f} ms "
          f"({len(findings)} findings)")


def bench_import() -> None:
    for path in sorted(CAPTURES.glob("*.pcap*")):
        times = []
        for _ in range(5):
            start = time.perf_counter()
            result = import_capture(path)
            times.append(time.perf_counter() - start)
        print(f"import {path.name} ({path.stat().st_size / 1024:.0f} KB, "
              f"{len(result.sessions)} sessions): median {statistics.median(times) * 1000:.1f} ms")
    # 200 copies of sim-http.pcap's records (each copy's ports shifted: new connections).
    import dpkt

    with (CAPTURES / "sim-http.pcap").open("rb") as fh:
        reader = dpkt.pcap.Reader(fh)
        packets = list(reader)
    import io

    out = io.BytesIO()
    writer = dpkt.pcap.Writer(out, linktype=1)
    for copy in range(200):
        for ts, frame in packets:
            eth = dpkt.ethernet.Ethernet(frame)
            tcp = eth.data.data
            if tcp.sport > 30000:
                tcp.sport = (tcp.sport + copy * 97) % 60000 + 1024
            else:
                tcp.dport = (tcp.dport + copy * 97) % 60000 + 1024
            writer.writepkt(bytes(eth), ts + copy)
    data = out.getvalue()
    start = time.perf_counter()
    result = sessions_of(parse_capture(data))
    took = time.perf_counter() - start
    print(f"import synthetic ({len(data) / 1024 / 1024:.1f} MB, {len(packets) * 200:,} packets): "
          f"{took * 1000:.0f} ms, {len(result.sessions)} sessions, "
          f"{len(data) / 1024 / 1024 / took:.1f} MB/s")


async def bench_proxy(folder: Path, sessions: int) -> None:
    async def run(url: str, serial: str) -> list[float]:
        times = []
        device = SimCpe(SimDevice(load_model("tr181"), serial), url)
        for _ in range(sessions):
            start = time.perf_counter()
            result = await device.session()
            times.append(time.perf_counter() - start)
            assert result.ok, result.error
        return times

    upstream = Engine(config(folder / "up"))
    await upstream.start()
    proxy = Engine(config(folder / "px", proxy_upstream=upstream.cwmp_urls()[-1]))
    await proxy.start()
    try:
        direct = await run(upstream.cwmp_urls()[-1], "DIRECT001")
        through = await run(proxy.cwmp_urls()[-1], "PROXY0001")
    finally:
        await proxy.stop()
        await upstream.stop()
    d, p = statistics.mean(direct[1:]), statistics.mean(through[1:])
    print(f"proxy: {sessions} TR-181 sessions each (first, the bootstrap, left out): direct "
          f"{d * 1000:.1f} ms, through the proxy {p * 1000:.1f} ms (+{(p - d) * 1000:.1f} ms)")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=20)
    args = parser.parse_args()
    print(f"Python {platform.python_version()} on {platform.machine()}")
    with tempfile.TemporaryDirectory() as tmp:
        await bench_lint(Path(tmp))
        bench_import()
        await bench_proxy(Path(tmp), args.sessions)


if __name__ == "__main__":
    asyncio.run(main())
