"""What the ``fieldacs-engine`` subcommands that work on a database share.

- :func:`fail`: a failure said in one line, ``fieldacs-engine: <message>`` on stderr, and its
  exit code (2, a usage error or a database that cannot be opened, unless told);
- :class:`CliError`: a user mistake raised from deep inside a subcommand, reported so;
- :func:`open_store`: the database a subcommand names, opened, or a :class:`CliError`.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from acs_engine.store.db import Store

__all__ = ["CliError", "fail", "open_store"]


class CliError(Exception):
    """A user mistake, reported in one line with exit code 2."""


def fail(message: str, code: int = 2) -> int:
    """Say ``message`` on stderr as the CLI's own; returns ``code``."""
    print(f"fieldacs-engine: {message}", file=sys.stderr)
    return code


async def open_store(path: Path, *, must_exist: bool = True) -> Store:
    """The database at ``path``, opened (the caller closes it).

    Args:
        must_exist: refuse a path with nothing there (else a new database is made there).

    Raises:
        CliError: no database at ``path``, or the store refused it (its message).
    """
    from acs_engine.store.db import Store
    from acs_engine.store.errors import StoreError

    if must_exist and not path.exists():
        raise CliError(f"no database at {path}")
    try:
        return await Store.open(path)
    except StoreError as exc:
        raise CliError(str(exc)) from exc
