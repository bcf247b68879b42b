"""Waking a device: a connection request built from what the store knows, then a wait for the
device's session. The outcome is published on the bus in plain words.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from acs_engine.bus import EventBus, SessionStarted
from acs_engine.clock import now_ms
from acs_engine.config import EngineConfig
from acs_engine.reach.connreq import ConnReqResult, send_connection_request, target_from_params
from acs_engine.reach.xmpp import XmppConnReq
from acs_engine.store.db import Store

log = logging.getLogger("fieldacs.connreq")

_ROOTS = ("InternetGatewayDevice.ManagementServer.", "Device.ManagementServer.")


@dataclass(frozen=True, slots=True)
class ConnectionRequestDone:
    """A connection request's outcome (published on the bus).

    Attributes:
        device_id: the device.
        result: what the CPE answered (``result.outcome``, ``result.message``).
        session_started: the device opened a session within the online threshold (None when
            the request failed, so there was nothing to wait for).
        at_ms: when it finished (epoch milliseconds).
    """

    device_id: str
    result: ConnReqResult
    session_started: bool | None
    at_ms: int

    @property
    def ok(self) -> bool:
        return self.result.ok

    @property
    def message(self) -> str:
        """The outcome in plain words, with what to check when it failed."""
        if not self.result.ok:
            return self.result.message
        if self.session_started:
            return "Connection request accepted; the device started a session."
        if self.session_started is False:
            return (
                "Connection request accepted, but the device did not start a session in time. "
                "Check that its ACS URL (ManagementServer.URL) points to this computer."
            )
        return self.result.message


class DeviceUnknown(LookupError):
    """The device is not in the database, or never reported a ConnectionRequestURL."""


async def wake_device(
    store: Store, bus: EventBus, config: EngineConfig, device_id: str,
    *, wait_for_session: bool = True, in_session: bool = False,
    xmpp: XmppConnReq | None = None,
) -> ConnectionRequestDone:
    """Send ``device_id`` a connection request and (optionally) wait for its session.

    Args:
        store: where the device's ManagementServer parameters are read from.
        bus: the outcome is published here as :class:`ConnectionRequestDone`.
        config: timeouts, Basic auth permission, online threshold, UDP source port.
        device_id: the device.
        wait_for_session: wait up to ``device_online_threshold_ms`` for its Inform.
        in_session: the device is in a session right now (the CPE queues the request).
        xmpp: the ACS's XMPP client, for a device that reports a ConnReqJabberID.

    Raises:
        DeviceUnknown: no such device, or no ConnectionRequestURL known for it.
    """
    if await store.get_device(device_id) is None:
        raise DeviceUnknown(f"no device {device_id!r}")
    values: dict[str, str] = {}
    for root in _ROOTS:
        for path, param in (await store.load_params(device_id, root)).items():
            if param.value is not None:
                values[path] = param.value
    target = target_from_params(values)
    if target is None:
        raise DeviceUnknown(
            f"device {device_id!r} has not reported a ConnectionRequestURL yet; it must "
            "inform at least once"
        )
    started = asyncio.Event()

    def on_start(event: SessionStarted) -> None:
        if event.device_id == device_id:
            started.set()

    unsubscribe = bus.subscribe(on_start, SessionStarted)
    try:
        result = await send_connection_request(
            target,
            timeout_ms=config.connection_request_timeout_ms,
            allow_basic=config.connection_request_allow_basic_auth,
            udp_source_port=config.udp_connection_request_port,
            xmpp=xmpp,
        )
        session_started: bool | None = None
        if result.ok and wait_for_session and not in_session:
            try:
                await asyncio.wait_for(started.wait(), config.device_online_threshold_ms / 1000)
                session_started = True
            except TimeoutError:
                session_started = False
        elif result.ok and in_session:
            session_started = True
    finally:
        unsubscribe()
    done = ConnectionRequestDone(device_id, result, session_started, now_ms())
    log.info("connection request to %s: %s", device_id, done.message)
    bus.publish(done)
    return done
