"""``fieldacs-engine``: the headless engine, the CPE simulator and database tools.

    fieldacs-engine serve --db PATH [--host H] [--cwmp-port N] [--fs-port N] [--nbi-port N]
    fieldacs-engine sim --acs URL --count N --model tr098|tr181 [--once]
    fieldacs-engine devices --db PATH [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

from acs_engine import __version__
from acs_engine.config import EngineConfig, default_db_path

log = logging.getLogger("fieldacs.cli")


def _fmt_ms(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


async def _serve(args: argparse.Namespace) -> int:
    from acs_engine.server.controller import Engine, EngineStartError

    config = EngineConfig(
        db_path=Path(args.db),
        cwmp_host=args.host,
        cwmp_port=args.cwmp_port,
        fs_port=args.fs_port,
        nbi_port=args.nbi_port,
    )
    engine = Engine(config)
    try:
        await engine.start()
    except EngineStartError as exc:
        print(f"fieldacs-engine: {exc}", file=sys.stderr)
        return 2
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    print(f"FieldACS engine {__version__} — database {config.db_path}", flush=True)
    for url in engine.cwmp_urls():
        print(f"  ACS URL: {url}", flush=True)
    try:
        await stop.wait()
    finally:
        print("stopping…", flush=True)
        await engine.stop()
    return 0


async def _devices(args: argparse.Namespace) -> int:
    from acs_engine.store.db import Store
    from acs_engine.store.errors import StoreError

    path = Path(args.db)
    if not path.exists():
        print(f"fieldacs-engine: no database at {path}", file=sys.stderr)
        return 2
    try:
        store = await Store.open(path)
    except StoreError as exc:
        print(f"fieldacs-engine: {exc}", file=sys.stderr)
        return 2
    try:
        rows = await store.list_devices(limit=args.limit, offset=0)
    finally:
        await store.close()
    if args.json:
        print(json.dumps([
            {"id": d.id, "last_inform": d.last_inform, "param_count": d.param_count}
            for d in rows
        ], indent=1))
        return 0
    print(f"{'DEVICE ID':<44} {'LAST INFORM (UTC)':<20} {'PARAMS':>7}")
    for d in rows:
        print(f"{d.id:<44} {_fmt_ms(d.last_inform):<20} {d.param_count:>7}")
    print(f"{len(rows)} device(s)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fieldacs-engine", description="FieldACS headless engine")
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the ACS until SIGINT/SIGTERM")
    serve.add_argument("--db", default=str(default_db_path()), help="database file")
    serve.add_argument("--host", default="0.0.0.0", help="CWMP listen address (default 0.0.0.0)")
    serve.add_argument("--cwmp-port", type=int, default=7547)
    serve.add_argument("--fs-port", type=int, default=7567)
    serve.add_argument("--nbi-port", type=int, default=7557)

    sim = sub.add_parser("sim", help="run simulated CPEs against an ACS")
    from acs_engine.sim.runner import add_arguments

    add_arguments(sim)

    devices = sub.add_parser("devices", help="list the devices in a database")
    devices.add_argument("--db", default=str(default_db_path()), help="database file")
    devices.add_argument("--json", action="store_true", help="print JSON")
    devices.add_argument("--limit", type=int, default=1000)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "serve":
        return asyncio.run(_serve(args))
    if args.command == "devices":
        return asyncio.run(_devices(args))
    if args.command == "sim":
        from acs_engine.sim.runner import run_from_args

        return asyncio.run(run_from_args(args))
    return 2


if __name__ == "__main__":
    sys.exit(main())
