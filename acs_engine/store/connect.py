"""The database files' permissions and the store's second, read-only connection.

``make_private`` keeps CPE passwords away from other local users (issue 11, finding 11);
``open_reader`` opens the connection clients' searches run on, so they never hold the writer
(finding 5, see ``StoreBase._read``).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import aiosqlite

from .errors import StoreError
from .search import regexp_match

__all__ = ["make_private", "open_reader"]

log = logging.getLogger("fieldacs.store")


def make_private(path: Path) -> None:
    """Create the database file readable by its owner only (0600), and take group and other
    access off an existing one and its ``-wal``/``-shm`` files: it holds CPE passwords.

    SQLite creates the ``-wal`` and ``-shm`` files with the main file's mode, so creating
    that one 0600 before SQLite opens it covers all three (no process-wide umask change).
    POSIX only: on Windows the file inherits the user profile folder's ACL.
    """
    if os.name == "nt":
        return
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    except OSError as exc:
        raise StoreError(f"cannot create {path}: {exc}") from exc
    else:
        os.close(fd)
    for name in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            mode = name.stat().st_mode
            if mode & 0o077:
                name.chmod(mode & 0o700)
        except FileNotFoundError:
            continue
        except OSError as exc:  # someone else's file: SQLite says what it can and cannot do
            log.warning("cannot make %s private: %s", name, exc)


async def open_reader(path: Path, busy_timeout_ms: int) -> aiosqlite.Connection:
    """The second, read-only connection for clients' searches (see ``StoreBase._read``)."""
    reader = await aiosqlite.connect(
        str(path), isolation_level=None, timeout=busy_timeout_ms / 1000
    )
    try:
        for pragma in (
            f"busy_timeout = {int(busy_timeout_ms)}",
            "query_only = ON",
            "temp_store = MEMORY",
            "cache_size = -16384",  # 16 MiB
        ):
            await reader.execute(f"PRAGMA {pragma}")
        await reader.create_function("nbi_regexp", 3, regexp_match, deterministic=True)
    except BaseException:
        await reader.close()
        raise
    return reader
