"""``fieldacs-engine backup`` and ``export-genieacs``: the database copied while the engine
runs, and the configuration handed over to a GenieACS cluster.

    fieldacs-engine backup DEST [--db PATH] [--force]
    fieldacs-engine export-genieacs --nbi URL [--token T | --token-file F] [--dry-run]
                                    [--config-out FILE] [--db PATH]

DEST is a file name or an existing folder (the backup is then ``fieldacs-<UTC time>.db`` in
it). The copy is verified (``PRAGMA integrity_check``, foreign keys) before it takes DEST's
name; see :mod:`acs_engine.store.backup`.

``export-genieacs`` writes presets, provisions, virtual parameters and files through
GenieACS's NBI (see :mod:`acs_engine.admin.export_genieacs`); it reads the database
directly, so it works beside a running engine.

Exit codes: 0 done (items that cannot be mapped are listed, not written); 1 a write failed; 2 usage
error, the backup failed (nothing was written under DEST) or the target cannot be read.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

from acs_engine.config import default_db_path

__all__ = ["COMMANDS", "add_subcommands", "run"]

COMMANDS = ("backup", "export-genieacs")


def add_subcommands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``backup`` to the ``fieldacs-engine`` parser."""
    backup = sub.add_parser(
        "backup", help="copy the database while the engine runs, and verify the copy",
        description="Online SQLite backup: one consistent snapshot, no downtime. The files "
                    "folder beside the database (firmware) is not included: copy it as files.",
    )
    backup.add_argument("dest", metavar="DEST", help="the backup file, or an existing folder")
    backup.add_argument("--db", default=str(default_db_path()), help="database file")
    backup.add_argument("--force", action="store_true", help="replace DEST when it exists")
    export = sub.add_parser(
        "export-genieacs", help="write presets, provisions, virtual parameters and files "
                                "to a GenieACS NBI",
        description="Hand the configuration over to GenieACS through its NBI. Idempotent: "
                    "only what differs is written. Items that cannot be mapped are listed.",
    )
    export.add_argument("--nbi", required=True, metavar="URL",
                        help="GenieACS's NBI, e.g. http://genieacs:7557")
    export.add_argument("--token", metavar="TOKEN",
                        help="bearer token for the NBI (visible to other local users: prefer "
                             "--token-file or $GENIEACS_NBI_TOKEN)")
    export.add_argument("--token-file", metavar="FILE", help="read the token from FILE")
    export.add_argument("--dry-run", action="store_true",
                        help="show what would be written; write nothing")
    export.add_argument("--config-out", metavar="FILE",
                        help="write the config documents (no NBI route) to FILE as JSON")
    export.add_argument("--db", default=str(default_db_path()), help="database file")


async def run(args: argparse.Namespace) -> int:
    """Run the subcommand; returns the exit code."""
    if args.command == "export-genieacs":
        return await _export(args)
    from acs_engine.store.backup import BackupError, backup_database

    try:
        result = await asyncio.to_thread(
            backup_database, Path(args.db), Path(args.dest), force=args.force
        )
    except BackupError as exc:
        print(f"fieldacs-engine: backup failed: {exc}", file=sys.stderr)
        return 2
    print(f"backup written to {result.path} ({result.size} bytes, {result.devices} device(s), "
          f"{result.sessions} session(s), {result.seconds:.2f} s); integrity check: ok",
          flush=True)
    return 0


async def _export(args: argparse.Namespace) -> int:
    import os

    from acs_engine.admin.export_genieacs import (
        ExportError,
        check_nbi_url,
        config_documents_json,
        plan_export,
        run_export,
        summary_lines,
    )
    from acs_engine.reach.files import FileStore
    from acs_engine.store.db import Store
    from acs_engine.store.errors import StoreError

    def fail(message: str) -> int:
        print(f"fieldacs-engine: export-genieacs: {message}", file=sys.stderr)
        return 2

    try:
        check_nbi_url(args.nbi)
        token = args.token
        if args.token_file:
            token = Path(args.token_file).read_text(encoding="utf-8").strip()
        elif token is None:
            token = os.environ.get("GENIEACS_NBI_TOKEN") or None
    except (ExportError, OSError) as exc:
        return fail(str(exc))
    db = Path(args.db)
    if not db.is_file():
        return fail(f"no database at {db}")
    try:
        store = await Store.open(db)
    except (StoreError, OSError) as exc:
        return fail(f"cannot open {db}: {exc}")
    try:
        plan = await plan_export(store, FileStore.beside_db(db))
    finally:
        await store.close()
    config_out = Path(args.config_out) if args.config_out else None
    try:
        await run_export(plan, args.nbi, token=token, dry_run=args.dry_run)
        if config_out is not None and plan.config and not args.dry_run:
            _write_private(config_out, config_documents_json(plan.config))
    except (ExportError, OSError) as exc:
        return fail(str(exc))
    for line in summary_lines(plan, dry_run=args.dry_run, config_out=config_out):
        print(line, flush=True)
    return 1 if any(i.action == "failed" for i in plan.items) else 0


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` readable by its owner only: the config may carry the CPE login."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        if os.name != "nt":
            os.fchmod(handle.fileno(), 0o600)  # an existing file keeps its mode otherwise
        handle.write(text)
