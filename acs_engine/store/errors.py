"""The store's one exception type."""

from __future__ import annotations


class StoreError(Exception):
    """The database could not be opened, read or written.

    The message names the file and says what is wrong in words a technician can act on
    (not an SQLite database, locked by another program, made by a newer FieldACS, ...).
    The underlying ``sqlite3`` error, when there is one, is chained as ``__cause__``.
    """
