"""``fieldacs-engine backup``: an online backup of the database (the engine may be running).

    fieldacs-engine backup DEST [--db PATH] [--force]

DEST is a file name or an existing folder (the backup is then ``fieldacs-<UTC time>.db`` in
it). The copy is verified (``PRAGMA integrity_check``, foreign keys) before it takes DEST's
name; see :mod:`acs_engine.store.backup`.

Exit codes: 0 done, 2 usage error or the backup failed (nothing was written under DEST).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from acs_engine.config import default_db_path

__all__ = ["COMMANDS", "add_subcommands", "run"]

COMMANDS = ("backup",)


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


async def run(args: argparse.Namespace) -> int:
    """Run the subcommand; returns the exit code."""
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
