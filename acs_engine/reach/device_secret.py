"""A secret of each database, and the connection-request passwords derived from it.

GenieACS's seeded ``inform`` provision makes a device's connection-request password with
``Math.random`` seeded by the device id: stable, but anyone who knows a device id (it is in
every Inform, and often printed on the box) can compute the password offline and wake the
device. FieldACS derives it instead from the device id and a random secret made once per
database, at its first start (``settings`` key :data:`SECRET_KEY`, 256 bits)::

    password = base32(HMAC-SHA256(secret, "fieldacs connection-request password\\0" + id)[:15])

so it is the same for a device in every session (and after restarts), different in every
database, and unknown to whoever lacks the database. Scripts reach it through the expression
function ``CONNECTION_REQUEST_PASSWORD()`` (presets' preconditions and provision arguments;
the seeded ``inform`` preset passes it to its provision), so ``Math.random`` keeps GenieACS's
semantics for every script. The secret lives in the database like the passwords it guards
(a copy of the database holds both); it is never logged.

An existing database is upgraded once at start (:func:`upgrade_seeded_inform`): the seeded
``inform`` provision and preset are replaced by the new ones when they are still as seeded;
a technician's edited copy is left alone (and said so in the log). Devices then get their new
password at their next daily check.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from acs_engine.store.records import Preset, Provision
from acs_engine.store.seeds import (
    DEFAULT_PROVISIONS,
    INFORM_CALLS,
    LEGACY_INFORM_CALLS,
    LEGACY_INFORM_SCRIPT,
)

log = logging.getLogger("fieldacs.provisioning")

#: Where the secret is kept (the store's ``settings`` table).
SECRET_KEY = "device_secret"
#: Set once the seeded ``inform`` preset and provision were looked at for the upgrade.
UPGRADED_KEY = "inform_password_upgraded"
#: The expression function that gives the session's device its password.
FUNCTION = "CONNECTION_REQUEST_PASSWORD"
_LABEL = b"fieldacs connection-request password\x00"


class _SettingsStore(Protocol):
    async def get_setting(self, key: str) -> str | None: ...
    async def setting_once(self, key: str, value: str) -> str: ...
    async def get_provision(self, provision_id: str) -> Provision | None: ...
    async def put_provision(self, provision: Provision) -> None: ...
    async def get_preset(self, preset_id: str) -> Preset | None: ...
    async def put_preset(self, preset: Preset) -> None: ...
    async def set_setting(self, key: str, value: str) -> None: ...


async def database_secret(store: _SettingsStore) -> bytes:
    """This database's secret, made (and stored) the first time it is asked for."""
    value = await store.setting_once(SECRET_KEY, secrets.token_hex(32))
    return bytes.fromhex(value)


async def stored_secret(store: _SettingsStore) -> bytes | None:
    """This database's secret if it has one (read only), else None."""
    value = await store.get_setting(SECRET_KEY)
    return bytes.fromhex(value) if value else None


def connection_request_password(secret: bytes, device_id: str) -> str:
    """The connection-request password of ``device_id`` under ``secret``: 24 characters
    of ``a-z2-7`` (120 bits), fine for any CPE's ``string(256)`` parameter."""
    digest = hmac.new(secret, _LABEL + device_id.encode("utf-8"), hashlib.sha256).digest()
    return base64.b32encode(digest[:15]).decode("ascii").lower()


def password_function(secret: bytes | None, device_id: str) -> Callable[[], str | None]:
    """``CONNECTION_REQUEST_PASSWORD()`` for one device (NULL when there is no secret)."""
    def password() -> str | None:
        return connection_request_password(secret, device_id) if secret else None

    return password


async def upgrade_seeded_inform(store: _SettingsStore) -> list[str]:
    """Replace a database's seeded ``inform`` provision and preset by the current ones.

    Done once per database. Only what is still exactly as seeded is replaced.

    Returns:
        What was changed, in words (for the log).
    """
    if await store.get_setting(UPGRADED_KEY) is not None:
        return []
    done: list[str] = []
    script = await store.get_provision("inform")
    new = next(p for p in DEFAULT_PROVISIONS if p.id == "inform")
    if script is not None and script.script == LEGACY_INFORM_SCRIPT:
        await store.put_provision(new)
        done.append("the seeded 'inform' provision now sets a per-database password")
    elif script is not None and script.script != new.script:
        log.warning("the 'inform' provision was edited: it keeps its own password scheme; "
                    "pass it CONNECTION_REQUEST_PASSWORD() from its preset for an "
                    "unguessable one (docs/security.md)")
    preset = await store.get_preset("inform")
    if preset is not None and preset.provisions == LEGACY_INFORM_CALLS:
        await store.put_preset(
            replace(preset, provisions=[list(c) for c in INFORM_CALLS], configurations=None)
        )
        done.append("the seeded 'inform' preset passes CONNECTION_REQUEST_PASSWORD()")
    await store.set_setting(UPGRADED_KEY, "1")
    for line in done:
        log.info("upgrade: %s", line)
    return done
