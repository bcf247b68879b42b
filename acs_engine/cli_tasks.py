"""``fieldacs-engine task`` and ``fieldacs-engine connreq``: queue a task, wake a device.

Both work on the database directly, without the NBI, so they also work while no engine
runs, and beside a running engine (SQLite WAL lets a second process write; the store's
busy timeout waits out the engine's short transactions)::

    fieldacs-engine task DEVICE_ID '{"name": "reboot"}' [--db PATH] [--connection-request]
    fieldacs-engine connreq DEVICE_ID [--db PATH]

A connection request sent from here cannot wait for the session (the engine that would see
it runs in another process): the answer is what the CPE said to the request.

Exit codes: 0 done, 1 the connection request failed, 2 usage error or unknown device.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from acs_engine.bus import EventBus
from acs_engine.cli_common import CliError, fail, open_store
from acs_engine.config import EngineConfig, default_db_path

__all__ = ["COMMANDS", "add_subcommands", "run"]

COMMANDS = ("task", "connreq")


def add_subcommands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``task`` and ``connreq`` to the ``fieldacs-engine`` parser."""
    task = sub.add_parser(
        "task", help="queue a task for a device (GenieACS task JSON)",
        description='Queue a task, e.g. \'{"name": "getParameterValues", "parameterNames": '
                    '["Device.DeviceInfo.UpTime"]}\'.',
    )
    task.add_argument("device_id", metavar="DEVICE_ID")
    task.add_argument("task_json", metavar="JSON", help="the task, as the NBI takes it")
    task.add_argument("--db", default=str(default_db_path()), help="database file")
    task.add_argument("--connection-request", action="store_true",
                      help="also wake the device so it runs the task now")
    connreq = sub.add_parser("connreq", help="send a device a connection request")
    connreq.add_argument("device_id", metavar="DEVICE_ID")
    connreq.add_argument("--db", default=str(default_db_path()), help="database file")


async def run(args: argparse.Namespace) -> int:
    """Run ``task`` or ``connreq``; returns the exit code."""
    from acs_engine.reach.wake import DeviceUnknown, wake_device
    from acs_engine.server.nbi_tasks import prepare_task
    from acs_engine.store.errors import StoreError
    path = Path(args.db)
    if not path.exists():
        return fail(f"no database at {path}", 2)
    prepared = None
    if args.command == "task":
        try:
            prepared = prepare_task(json.loads(args.task_json), args.device_id)
        except ValueError as exc:
            return fail(f"invalid task: {exc}", 2)
    try:
        store = await open_store(path)
    except CliError as exc:
        return fail(str(exc))
    try:
        if await store.get_device(args.device_id) is None:
            return fail(f"no device {args.device_id!r} in {path}", 2)
        if prepared is not None:
            task = await store.add_task(
                args.device_id, prepared.name, prepared.args,
                timestamp_ms=prepared.timestamp_ms, expiry_ms=prepared.expiry_ms,
            )
            print(f"task {task.id} ({task.name}) queued for {args.device_id}", flush=True)
            if not args.connection_request:
                return 0
        config = EngineConfig(db_path=path)
        try:
            done = await wake_device(
                store, EventBus(), config, args.device_id, wait_for_session=False
            )
        except DeviceUnknown as exc:
            return fail(f"cannot send a connection request: {exc}", 1)
        print(f"connection request: {done.message}", flush=True)
        return 0 if done.ok else 1
    except StoreError as exc:
        return fail(str(exc), 1)
    finally:
        await store.close()
