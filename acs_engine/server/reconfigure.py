"""Applying new settings to a running engine (:meth:`Engine.reconfigure`).

The listeners whose settings changed are swapped (:func:`~acs_engine.server.listeners.swap`),
CPE authentication, proxy mode and the sandbox's limits are replaced, and every other setting
is assigned on the engine's config; all of it is checked before anything changes.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import TYPE_CHECKING

from acs_engine.bus import EngineNotice
from acs_engine.clock import now_ms
from acs_engine.config import EngineConfig
from acs_engine.kinds import NoticeLevel
from acs_engine.reach.xmpp import XmppConnReq
from acs_engine.server.auth import AuthConfigError, CpeAuthenticator
from acs_engine.server.guard import limits_for
from acs_engine.server.listeners import (
    PORT_LABELS,
    ListenerError,
    bind_message,
    check_ports,
    local_addresses,
    swap,
    wanted_listeners,
)
from acs_engine.server.nbi import check_nbi_config
from acs_engine.server.proxy import ProxyServer
from acs_engine.server.tls import TlsError, TlsSetup, prepare_tls, wants_nbi_tls

if TYPE_CHECKING:
    from acs_engine.server.controller import Engine

__all__ = ["RESTART_FIELDS", "ReconfigureError", "apply_settings"]

log = logging.getLogger("fieldacs.engine")


class ReconfigureError(RuntimeError):
    """New settings were refused; the engine runs on with the old ones (nothing changed)."""


#: Settings :meth:`Engine.reconfigure` cannot apply to a running engine: the database and
#: what is built from it once (the script sandbox, the provisioning handler, trace retention).
RESTART_FIELDS = frozenset({
    "db_path", "provisioning", "ext_dir", "script_memory_mb", "trace_sessions_per_device",
})
_AUTH_FIELDS = frozenset({"cwmp_username", "cwmp_password", "cwmp_auth", "cwmp_digest_rfc2069"})
_PROXY_FIELDS = frozenset({"proxy_upstream", "proxy_upstream_ca"})
_TLS_FIELDS = frozenset({
    "cwmp_tls_port", "fs_tls_port", "nbi_tls_port", "nbi_enabled", "tls_cert_path",
    "tls_key_path", "cwmp_http_enabled",
})


async def apply_settings(engine: Engine, config: EngineConfig) -> list[str]:
    """The work of :meth:`Engine.reconfigure <acs_engine.server.controller.Engine.reconfigure>`
    (under its lock): check everything, swap the listeners, then assign."""
    current = engine.config
    changed = [
        f.name for f in dataclasses.fields(EngineConfig)
        if getattr(current, f.name) != getattr(config, f.name)
    ]
    if not engine.running:
        for name in changed:
            setattr(current, name, getattr(config, name))
        return []
    later = [n for n in changed if n in RESTART_FIELDS]
    applied = {n: getattr(config, n) for n in changed if n not in RESTART_FIELDS}
    if not applied:
        return later
    target = current.replace(**applied)
    try:
        auth = (
            CpeAuthenticator(target, engine.bus) if _AUTH_FIELDS & applied.keys() else None
        )
        check_nbi_config(target)
        proxy_changed = bool(_PROXY_FIELDS & applied.keys())
        proxy = (ProxyServer(target, engine.bus, lambda: engine.handler)
                 if proxy_changed and target.proxy_upstream else None)
        XmppConnReq.from_config(target)  # XMPP settings that cannot work
        tls = await _tls_for(engine, target, changed=bool(_TLS_FIELDS & applied.keys()))
        asked = wanted_listeners(target, tls)
        check_ports(asked)
    except (AuthConfigError, TlsError, ValueError, OSError) as exc:
        raise ReconfigureError(str(exc)) from exc
    # One that could not open at start stays closed until its own settings change.
    wanted = {
        n: spec for n, spec in asked.items()
        if n in engine._listeners or engine._asked.get(n) != spec
    }
    try:
        listeners = await swap(engine._listeners, wanted, engine._opener(target, tls))
    except ListenerError as exc:
        for name in exc.lost:  # tried again on the next change
            engine._listeners.pop(name, None)
            engine._asked.pop(name, None)
        engine._sync_ports()
        spec = exc.spec
        message = bind_message(exc.error, spec.host, spec.port, "")
        label = PORT_LABELS.get(spec.name, spec.name)
        raise ReconfigureError(
            " ".join([f"{label[:1].upper()}{label[1:]}: {message}", *exc.problems,
                      "The old settings are still in use."])
        ) from exc
    # Everything is in place: commit.
    engine._listeners = listeners
    engine._asked = asked
    for name, value in applied.items():
        setattr(current, name, value)
    engine.tls = tls
    for name, guard in engine.connection_guards().items():  # new caps, kept listeners too
        guard.limits = limits_for(current, name)
    if auth is not None and engine.cwmp is not None:
        engine.cwmp.replace_auth(auth)
    if proxy_changed:
        old, engine.proxy = engine.proxy, proxy
        if old is not None:
            await old.stop()
    if engine.sandbox is not None:
        engine.sandbox.timeout_ms = current.script_timeout_ms
        engine.sandbox.ext_timeout_ms = current.ext_timeout_ms
    engine._sync_ports()
    log.info("settings applied: %s", ", ".join(sorted(applied)))
    urls = await asyncio.to_thread(engine.cwmp_urls)
    tls_urls = await asyncio.to_thread(engine.cwmp_tls_urls)
    engine.bus.publish(EngineNotice(
        now_ms(), NoticeLevel.INFO, f"Settings applied; ACS listening on port {engine.cwmp_port}",
        {"urls": urls, "tls_urls": tls_urls, "tls_fingerprint": engine.tls_fingerprint,
         "tls_kind": engine.tls_kind, "changed": sorted(applied)},
    ))
    return later

async def _tls_for(engine: Engine, config: EngineConfig, *, changed: bool) -> TlsSetup | None:
    """The certificate ``config`` needs: the one in use when nothing TLS changed or it
    is the same files, else a new one (raises TlsError)."""
    if not changed:
        return engine.tls
    hostnames: list[str] = []
    wants_tls = (config.cwmp_tls_port is not None or config.fs_tls_port is not None
                 or wants_nbi_tls(config))
    if wants_tls and config.tls_cert_path is None:  # a engine-signed one may be made
        hostnames = await asyncio.to_thread(local_addresses)
    tls = prepare_tls(config, hostnames=hostnames)
    old = engine.tls
    if tls is not None and old is not None and (
        (tls.cert_path, tls.key_path, tls.fingerprint)
        == (old.cert_path, old.key_path, old.fingerprint)
    ):
        return old  # same certificate: HTTPS listeners on unchanged ports stay
    return tls
