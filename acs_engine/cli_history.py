"""``fieldacs-engine history``, ``diff`` and ``snapshot``: the parameter history from a shell.

They read the database directly (beside a running engine, too: SQLite WAL)::

    fieldacs-engine history DEVICE_ID PARAM [PARAM...] [--from T] [--to T] [--csv | --json]
    fieldacs-engine diff DEVICE_ID A B [--all] [--json] [-o FILE]
    fieldacs-engine snapshot save DEVICE_ID NAME [--at POINT]
    fieldacs-engine snapshot list DEVICE_ID
    fieldacs-engine snapshot export DEVICE_ID NAME FILE
    fieldacs-engine snapshot import FILE [--device DEVICE_ID] [--name NAME]
    fieldacs-engine snapshot delete DEVICE_ID NAME

Points (A, B, --at): ``now``, ``before-download``, ``after-download``, ``session:ID``,
``snapshot:NAME``, ``time:WHEN`` (ISO 8601 or epoch ms).

Exit codes: 0 done, 1 a database error, 2 usage error, unknown device, session or snapshot.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from pathlib import Path
from typing import Any

from acs_engine import clock
from acs_engine.cli_common import CliError, fail, open_store
from acs_engine.config import default_db_path

__all__ = ["COMMANDS", "add_subcommands", "run"]

COMMANDS = ("history", "diff", "snapshot")

_CSV_HEADER = (
    "time", "at_ms", "session", "path", "kind", "old_value", "new_value", "old_type",
    "new_type", "old_writable", "new_writable",
)


def add_subcommands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``history``, ``diff`` and ``snapshot`` to the ``fieldacs-engine`` parser."""
    history = sub.add_parser("history", help="a device's recorded changes of parameters")
    history.add_argument("device_id", metavar="DEVICE_ID")
    history.add_argument("params", metavar="PARAM", nargs="+", help="parameter paths")
    history.add_argument("--from", dest="since", help="ISO 8601 time or epoch ms")
    history.add_argument("--to", dest="until", help="ISO 8601 time or epoch ms")
    fmt = history.add_mutually_exclusive_group()
    fmt.add_argument("--csv", action="store_true", help="print CSV")
    fmt.add_argument("--json", action="store_true", help="print JSON")
    history.add_argument("--db", default=str(default_db_path()), help="database file")

    diff = sub.add_parser("diff", help="compare a device's parameter tree at two points")
    diff.add_argument("device_id", metavar="DEVICE_ID")
    diff.add_argument("a", metavar="A", help="now | before-download | after-download | "
                                             "session:ID | snapshot:NAME | time:WHEN")
    diff.add_argument("b", metavar="B", help="the second point (same words)")
    diff.add_argument("--all", action="store_true", help="list unchanged paths too")
    diff.add_argument("--json", action="store_true", help="print JSON")
    diff.add_argument("-o", "--output", help="write to this file instead of stdout")
    diff.add_argument("--db", default=str(default_db_path()), help="database file")

    snap = sub.add_parser("snapshot", help="named snapshots of a device's tree")
    actions = snap.add_subparsers(dest="action", required=True)
    save = actions.add_parser("save", help="keep the tree at a point under a name")
    save.add_argument("device_id", metavar="DEVICE_ID")
    save.add_argument("name", metavar="NAME")
    save.add_argument("--at", default="now", help="the point (default: now)")
    listing = actions.add_parser("list", help="a device's snapshots")
    listing.add_argument("device_id", metavar="DEVICE_ID")
    export = actions.add_parser("export", help="write a snapshot to a JSON file")
    export.add_argument("device_id", metavar="DEVICE_ID")
    export.add_argument("name", metavar="NAME")
    export.add_argument("file", metavar="FILE")
    imp = actions.add_parser("import", help="keep a snapshot read from a JSON file")
    imp.add_argument("file", metavar="FILE")
    imp.add_argument("--device", help="attach it to this device (default: its own)")
    imp.add_argument("--name", help="keep it under this name (default: its own)")
    delete = actions.add_parser("delete", help="forget a snapshot")
    delete.add_argument("device_id", metavar="DEVICE_ID")
    delete.add_argument("name", metavar="NAME")
    for p in (save, listing, export, imp, delete):
        p.add_argument("--db", default=str(default_db_path()), help="database file")


def history_csv(rows: list[Any]) -> str:
    """History rows as CSV (a header line, then one line per change)."""
    from acs_engine.admin.treediff import fmt_time

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(_CSV_HEADER)
    for r in rows:
        writer.writerow((
            fmt_time(r.at), r.at, r.session_id or "", r.path, r.kind_name,
            "" if r.old[0] is None else r.old[0], "" if r.new[0] is None else r.new[0],
            r.old[1] or "", r.new[1] or "",
            "" if r.old[2] is None else int(r.old[2]), "" if r.new[2] is None else int(r.new[2]),
        ))
    return out.getvalue()


async def run(args: argparse.Namespace) -> int:
    """Run ``history``, ``diff`` or ``snapshot``; returns the exit code."""
    from acs_engine.store.errors import StoreError

    try:
        store = await open_store(Path(args.db))
    except CliError as exc:
        return fail(str(exc))
    try:
        if args.command == "history":
            return await _history(store, args)
        if args.command == "diff":
            return await _diff(store, args)
        return await _snapshot(store, args)
    except StoreError as exc:
        return fail(str(exc), 1)
    finally:
        await store.close()


async def _history(store: Any, args: argparse.Namespace) -> int:
    from acs_engine.admin.treediff import fmt_time, parse_time

    if await store.get_device(args.device_id) is None:
        return fail(f"no device {args.device_id!r} in {args.db}", 2)
    try:
        since = parse_time(args.since) if args.since else None
        until = parse_time(args.until) if args.until else None
    except ValueError as exc:
        return fail(str(exc), 2)
    rows = await store.param_history(args.device_id, args.params, since, until)
    if args.csv:
        sys.stdout.write(history_csv(rows))
    elif args.json:
        print(json.dumps([r.to_json() for r in rows], indent=1, ensure_ascii=False))
    else:
        if not rows:
            print("no recorded changes")
        for r in rows:
            old = "—" if r.kind == 1 else r.old[0]
            new = "—" if r.kind == 2 else r.new[0]
            print(f"{fmt_time(r.at)}  {r.path}  {old} -> {new}  ({r.kind_name})")
    return 0


async def _diff(store: Any, args: argparse.Namespace) -> int:
    from acs_engine.admin.treediff import PointError, compare, render_text, resolve_point

    try:
        a = await resolve_point(store, args.device_id, args.a)
        b = await resolve_point(store, args.device_id, args.b)
    except PointError as exc:
        return fail(str(exc), 2)
    entries = compare(a.tree.nodes, b.tree.nodes)
    if args.json:
        text = json.dumps(
            {"device": args.device_id, "a": a.label, "b": b.label,
             "entries": [{"path": e.path, "kind": e.kind, "fields": list(e.fields),
                          "a": e.old, "b": e.new}
                         for e in entries if args.all or e.kind != "same"]},
            indent=1, ensure_ascii=False,
        ) + "\n"
    else:
        text = render_text(entries, args.device_id, a, b, changed_only=not args.all)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            return fail(f"cannot write {args.output}: {exc}", 1)
    else:
        sys.stdout.write(text)
    return 0


async def _snapshot(store: Any, args: argparse.Namespace) -> int:
    from acs_engine.admin.treediff import (
        PointError,
        export_snapshot,
        fmt_time,
        import_snapshot,
        resolve_point,
    )
    from acs_engine.store.errors import StoreError
    from acs_engine.store.history import Snapshot

    if args.action == "import":
        try:
            snap = import_snapshot(
                Path(args.file).read_bytes(), device_id=args.device, name=args.name
            )
        except (OSError, ValueError) as exc:
            return fail(f"cannot import {args.file}: {exc}", 2)
        try:
            await store.save_snapshot(snap)
        except StoreError as exc:
            return fail(str(exc), 2)
        print(f"snapshot {snap.name!r} of {snap.device_id} imported ({len(snap.nodes)} nodes)")
        return 0
    if await store.get_device(args.device_id) is None:
        return fail(f"no device {args.device_id!r} in {args.db}", 2)
    if args.action == "save":
        try:
            point = await resolve_point(store, args.device_id, args.at)
        except PointError as exc:
            return fail(str(exc), 2)
        snap = Snapshot(args.device_id, args.name, clock.now_ms(), point.label,
                        point.tree.nodes)
        try:
            await store.save_snapshot(snap)
        except StoreError as exc:
            return fail(str(exc), 2)
        print(f"snapshot {args.name!r} saved ({len(snap.nodes)} nodes, {point.label})")
    elif args.action == "list":
        for name, created, source in await store.list_snapshots(args.device_id):
            print(f"{name}\t{fmt_time(created)}\t{source}")
    elif args.action == "export":
        found = await store.load_snapshot(args.device_id, args.name)
        if found is None:
            return fail(f"device {args.device_id} has no snapshot named {args.name!r}", 2)
        try:
            Path(args.file).write_text(export_snapshot(found), encoding="utf-8")
        except OSError as exc:
            return fail(f"cannot write {args.file}: {exc}", 1)
    elif args.action == "delete" and not await store.delete_snapshot(args.device_id, args.name):
        return fail(f"device {args.device_id} has no snapshot named {args.name!r}", 2)
    return 0
