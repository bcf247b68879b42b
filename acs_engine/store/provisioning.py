"""``Store`` methods for what the engine runs: presets, provisions, virtual parameters, config;
and why the presets matched or not in each device's last session (written by the session's
commit, see ``extras``).

Every change to these tables bumps the **provisioning revision** in the same transaction
(a settings row, mirrored in memory), so the engine can cache the compiled presets and
scripts and reload them only when ``provisioning_revision()`` has moved on. The in-memory
value follows the changes made through this ``Store``; it is read from the file at first use.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from typing import Any

from . import rows as r
from .base import StoreBase, immediate
from .records import Preset, Provision, SessionVerdicts, VirtualParameter
from .seeds import DEFAULT_PRESETS, DEFAULT_PROVISIONS

__all__ = ["ProvisioningMixin"]

log = logging.getLogger("fieldacs.store")


def _bump(db: sqlite3.Connection) -> int:
    """Increment the persisted revision (inside the caller's transaction); the new value."""
    row = db.execute(r.BUMP_REVISION, (r.REVISION_KEY,)).fetchone()
    return int(row[0])


class ProvisioningMixin(StoreBase):
    """Presets, provisions, virtual parameters, config and the revision counter."""

    _revision: int | None = None

    async def _change(self, sql: str, params: tuple[Any, ...]) -> bool:
        """Run one write and, when it touched a row, bump the revision; whether it did."""

        def write(db: sqlite3.Connection) -> int | None:
            with immediate(db):
                changed = db.execute(sql, params).rowcount > 0
                return _bump(db) if changed else None

        revision = await self._run(write)
        if revision is None:
            return False
        self._revision = revision
        return True

    async def provisioning_revision(self) -> int:
        """A counter that grows on every change of presets, provisions, virtual parameters
        or config; compare it with the value a cache was built at."""
        if self._revision is None:
            rows = await self._fetch(r.SELECT_REVISION, (r.REVISION_KEY,))
            self._revision = int(rows[0][0]) if rows else 0
        return self._revision

    # ------------------------------------------------------------------ presets

    async def list_presets(self) -> list[Preset]:
        """All presets, in the order they apply (ascending weight, then id)."""
        return [r.preset_from_row(row) for row in await self._fetch(r.SELECT_PRESETS)]

    async def get_preset(self, preset_id: str) -> Preset | None:
        """One preset, or None."""
        rows = await self._fetch(r.SELECT_PRESET, (preset_id,))
        return r.preset_from_row(rows[0]) if rows else None

    async def put_preset(self, preset: Preset) -> None:
        """Insert or replace a preset."""
        await self._change(r.UPSERT_PRESET, r.preset_row(preset))

    async def delete_preset(self, preset_id: str) -> bool:
        """Delete a preset. Returns True if it existed."""
        return await self._change("DELETE FROM presets WHERE id = ?", (preset_id,))

    async def last_verdicts(self, device_id: str) -> SessionVerdicts | None:
        """Why each preset matched or not in the device's last committed session.

        Returns:
            The verdicts with that session's id and start, or None when no session of the
            device was committed with provisioning on (or the device is unknown).
        """
        rows = await self._fetch(r.SELECT_VERDICTS, (device_id,))
        return r.verdicts_from_row(rows[0]) if rows else None

    # ------------------------------------------------------------------ scripts

    async def _list_scripts(self, table: str) -> list[tuple[str, str]]:
        rows = await self._fetch(f"SELECT id, script FROM {table} ORDER BY id")
        return [(row[0], row[1]) for row in rows]

    async def _get_script(self, table: str, script_id: str) -> str | None:
        rows = await self._fetch(f"SELECT script FROM {table} WHERE id = ?", (script_id,))
        return str(rows[0][0]) if rows else None

    async def list_provisions(self) -> list[Provision]:
        """All provisions, by id."""
        return [Provision(i, s) for i, s in await self._list_scripts("provisions")]

    async def get_provision(self, provision_id: str) -> Provision | None:
        """One provision, or None."""
        script = await self._get_script("provisions", provision_id)
        return None if script is None else Provision(provision_id, script)

    async def put_provision(self, provision: Provision) -> None:
        """Insert or replace a provision (the script is not checked here)."""
        await self._change(r.upsert_script("provisions"), (provision.id, provision.script))

    async def delete_provision(self, provision_id: str) -> bool:
        """Delete a provision. Returns True if it existed."""
        return await self._change("DELETE FROM provisions WHERE id = ?", (provision_id,))

    async def put_object(self, object_id: str, doc: dict[str, Any]) -> None:
        """Insert or replace a GenieACS ``objects`` document (``_id`` is ``object_id``).

        Objects feed no preset or script, so the provisioning revision is left alone.
        """
        body = json.dumps({k: v for k, v in doc.items() if k != "_id"}, ensure_ascii=False)

        def write(db: sqlite3.Connection) -> None:
            with immediate(db):
                db.execute(
                    "INSERT INTO objects (id, doc) VALUES (?, ?) "
                    "ON CONFLICT (id) DO UPDATE SET doc = excluded.doc",
                    (object_id, body),
                )

        await self._run(write)

    async def delete_object(self, object_id: str) -> bool:
        """Delete an ``objects`` document. Returns True if it existed."""

        def write(db: sqlite3.Connection) -> bool:
            with immediate(db):
                return db.execute("DELETE FROM objects WHERE id = ?", (object_id,)).rowcount > 0

        return bool(await self._run(write))

    async def list_virtual_parameters(self) -> list[VirtualParameter]:
        """All virtual parameters, by id."""
        return [VirtualParameter(i, s) for i, s in await self._list_scripts("virtual_parameters")]

    async def get_virtual_parameter(self, vparam_id: str) -> VirtualParameter | None:
        """One virtual parameter, or None."""
        script = await self._get_script("virtual_parameters", vparam_id)
        return None if script is None else VirtualParameter(vparam_id, script)

    async def put_virtual_parameter(self, vparam: VirtualParameter) -> None:
        """Insert or replace a virtual parameter.

        Raises:
            ValueError: the id is empty or contains a '.' (it names one parameter under
                ``VirtualParameters.``).
        """
        if not vparam.id or "." in vparam.id:
            raise ValueError(f"invalid virtual parameter name {vparam.id!r}")
        await self._change(r.upsert_script("virtual_parameters"), (vparam.id, vparam.script))

    async def delete_virtual_parameter(self, vparam_id: str) -> bool:
        """Delete a virtual parameter. Returns True if it existed."""
        return await self._change("DELETE FROM virtual_parameters WHERE id = ?", (vparam_id,))

    # ------------------------------------------------------------------ config

    async def get_config(self) -> dict[str, str]:
        """Every config entry: key (``cwmp.auth``, ...) -> expression text, sorted by key."""
        rows = await self._fetch("SELECT key, value FROM config ORDER BY key")
        return {row[0]: row[1] for row in rows}

    async def set_config(self, key: str, value: str) -> None:
        """Set a config entry's expression text (the caller validates it)."""
        await self._change(
            "INSERT INTO config (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    async def delete_config(self, key: str) -> bool:
        """Remove a config entry (its default applies again). Returns True if it existed."""
        return await self._change("DELETE FROM config WHERE key = ?", (key,))

    # ------------------------------------------------------------------ seeding

    async def seed_defaults(self) -> bool:
        """Insert the default presets and provisions (``seeds``) if there are no presets.

        A new database already has them (schema migration v2 inserts them once); this is
        for putting them back on request. Provisions that exist under a seeded name are
        kept as they are.

        Returns:
            True if the presets were inserted, False if the table was not empty.
        """

        def write(db: sqlite3.Connection) -> int | None:
            with immediate(db):
                if db.execute("SELECT 1 FROM presets LIMIT 1").fetchone():
                    return None
                db.executemany(r.UPSERT_PRESET, [r.preset_row(p) for p in DEFAULT_PRESETS])
                db.executemany(
                    "INSERT OR IGNORE INTO provisions (id, script) VALUES (?, ?)",
                    [(p.id, p.script) for p in DEFAULT_PROVISIONS],
                )
                return _bump(db)

        revision = await self._run(write)
        if revision is None:
            return False
        self._revision = revision
        log.info("inserted the default presets and provisions")
        return True
