"""RemoteEngine: the console's interface (:class:`~acs_engine.console_api.ConsoleEngine`)
over a ``fieldacs-engine serve`` on another machine.

Calls go over the NBI's ``/fieldacs/v1`` routes (:mod:`acs_engine.server.nbi_console`); the
engine's events arrive over its WebSocket stream and are published on :attr:`bus`, a local
:class:`~acs_engine.bus.EventBus`, as the same dataclasses a local engine publishes, so the
console's panels subscribe the same way. :class:`~acs_engine.remote.errors.RemoteStatus`
events tell the link's state.

What a remote console must know without asking (``in_session``, step holds, counters) is
mirrored from the events and from ``GET /fieldacs/v1/status`` on each (re)connection.

Staged commands (:meth:`RemoteEngine.add_task`) are kept here until the engine has accepted
them: one that cannot be sent raises :class:`CommandQueued` and is sent on reconnection
(:class:`StagedCommandSent` says when). Step mode is claimed with a holder name;
another console's claim is refused with :class:`StepHeldElsewhere`, naming its holder.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from acs_engine.admin.migrate import Migration, confirm_at_new_acs
from acs_engine.bus import DeviceUpdated, EngineNotice, EventBus, SessionEnded, SessionStarted
from acs_engine.clock import now_ms
from acs_engine.config import EngineConfig
from acs_engine.console_api import DeviceFilter
from acs_engine.cwmp import rpc
from acs_engine.kinds import NoticeLevel
from acs_engine.remote.errors import (
    ERROR_KINDS,
    ConnectionLost,
    RemoteError,
    RemoteStatus,
    StepHeldElsewhere,
)
from acs_engine.remote.link import Link
from acs_engine.remote.outbox import Outbox
from acs_engine.server.events_codec import PROTOCOL_VERSION, decode, encode
from acs_engine.server.step_claim import StepHolderChanged
from acs_engine.session.step import StepPending, StepResolved

__all__ = ["RemoteEngine"]

log = logging.getLogger("fieldacs.remote")



_ANY = DeviceFilter()


class RemoteEngine(Outbox):
    """A remote ACS, through the interface the console uses for a local one.

    Args:
        url: the engine's NBI URL, e.g. ``http://acs.example:7557``.
        token: its NBI token.
        holder: the name other consoles see when this one holds step mode.
        protocol: the console protocol this side speaks (tests change it).
        ssl: aiohttp's ``ssl`` argument (an SSLContext for a private CA).
        first_delay: seconds before the first reconnection attempt (doubling after).
        longest_delay: the longest wait between attempts.
    """

    def __init__(
        self, url: str, token: str | None = None, *, holder: str = "console",
        protocol: int = PROTOCOL_VERSION, ssl: Any = True,
        first_delay: float = 0.5, longest_delay: float = 15.0,
    ) -> None:
        self._bus = EventBus()
        self.holder = holder
        self.link = Link(url, token, on_status=self._on_status, protocol=protocol, ssl=ssl,
                         first_delay=first_delay, longest_delay=longest_delay)
        self.last_status: RemoteStatus | None = None
        #: The engine answered and the link is not known to be down.
        self._reachable = False
        self._stream: asyncio.Task[None] | None = None
        self._status: dict[str, Any] = {}
        self._config = EngineConfig()
        self._in_session: set[str] = set()
        self._pending: dict[str, StepPending] = {}
        self._step_devices: set[str] = set()
        self._lease = ""
        self.step_holder = ""
        Outbox.__init__(self)
        self._background: set[asyncio.Task[Any]] = set()
        self._bus.subscribe(self._mirror)

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        return self.link.url

    async def connect(self) -> None:
        """Check the token and versions, load the status, and open the event stream.

        Raises:
            Unauthorized: the token is wrong.
            VersionMismatch: the engine speaks another protocol version.
            ConnectionLost: it cannot be reached.
            CertificateRejected: its HTTPS certificate does not verify (give its CA).
        """
        self.link.closed = False
        self.link.status("connecting", f"connecting to {self.url}")
        try:
            await self.link.check_version()
            await self._refresh()
            self._reachable = True
        except RemoteError as exc:
            state = {"Unauthorized": "unauthorized", "VersionMismatch": "version_mismatch",
                     "CertificateRejected": "certificate"}
            self.link.status(state.get(type(exc).__name__, "reconnecting"), str(exc))
            await self.link.close()
            raise
        self._stream = asyncio.create_task(
            self.link.run_stream(self._bus.publish, self._on_connected), name="remote-stream")

    async def close(self) -> None:
        """Close the stream and the connection (the engine's holds are released)."""
        if self._lease and self.link.connected:
            with contextlib.suppress(RemoteError):
                await self.release_step()
        await self.link.close()
        for task in (self._stream, *self._background):
            if task is not None:
                task.cancel()
        await asyncio.gather(
            *(t for t in (self._stream, *self._background) if t is not None),
            return_exceptions=True)
        self._stream = None
        self.link.status("closed", f"disconnected from {self.url}")

    @property
    def connected(self) -> bool:
        """Whether the event stream is open now."""
        return self.link.connected

    def _on_status(self, status: RemoteStatus) -> None:
        self.last_status = status
        if status.state == "connected":
            self._reachable = True
        elif status.state != "connecting":
            self._reachable = False
        self._bus.publish(status)

    async def _on_connected(self) -> None:
        await self._refresh()
        self._spawn(self.flush_outbox())

    async def _refresh(self) -> None:
        status, data = await self.link.request("GET", "/fieldacs/v1/status")
        if status != 200 or not isinstance(data, dict):
            raise ConnectionLost(f"the ACS's status could not be read (HTTP {status})")
        self._status = data
        config = decode(data.get("config"))
        if isinstance(config, EngineConfig):
            self._config = config
        self._in_session = set(data.get("in_session", ()))
        self.step_holder = str(data.get("step_holder", ""))
        status, step = await self.link.request("GET", "/fieldacs/v1/step")
        if status == 200 and isinstance(step, dict):
            self._pending = {p.device_id: p for p in decode(step.get("pending", []))}
            if self.step_holder == self.holder and self._lease:
                self._step_devices = set(step.get("devices", ()))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def _mirror(self, event: Any) -> None:
        if isinstance(event, DeviceUpdated) and (event.created or event.deleted):
            self._status["device_count"] = max(0, self.device_count + (1 if event.created else -1))
        elif isinstance(event, SessionStarted):
            self._in_session.add(event.device_id)
        elif isinstance(event, SessionEnded):
            self._in_session.discard(event.device_id)
            self._pending.pop(event.device_id, None)
        elif isinstance(event, StepPending):
            self._pending[event.device_id] = event
        elif isinstance(event, StepResolved):
            self._pending.pop(event.device_id, None)
        elif isinstance(event, StepHolderChanged):
            self.step_holder = event.holder
            if event.holder != self.holder:  # released, or taken over by another console
                self._lease = ""
                self._step_devices.clear()

    # ------------------------------------------------------------------ calls
    async def call(self, method: str, **args: Any) -> Any:
        """Run one ConsoleEngine method on the engine and return its value.

        Raises:
            ConnectionLost, Unauthorized: see :class:`Link`.
            DeviceUnknown, DryRunError, ExpressionError, EngineUnavailable, ValueError,
            LookupError: what the engine's method raised.
        """
        status, data = await self.link.request(
            "POST", f"/fieldacs/v1/console/{method}", {"args": encode(args)})
        if status == 200 and isinstance(data, dict) and "result" in data:
            return decode(data["result"])
        message = data.get("error", "") if isinstance(data, dict) else ""
        kind = data.get("kind", "") if isinstance(data, dict) else ""
        raise ERROR_KINDS.get(kind, RemoteError)(message or f"HTTP {status} from the ACS")

    # ------------------------------------------------------------------ status
    @property
    def bus(self) -> EventBus:
        return self._bus

    @property
    def config(self) -> EngineConfig:
        return self._config

    @property
    def running(self) -> bool:
        return self._reachable and bool(self._status.get("running"))

    @property
    def device_count(self) -> int:
        return int(self._status.get("device_count", 0))

    def active_session_count(self) -> int:
        return len(self._in_session)

    def cwmp_urls(self) -> list[str]:
        return list(self._status.get("cwmp_urls", ()))

    def cwmp_tls_urls(self) -> list[str]:
        return list(self._status.get("cwmp_tls_urls", ()))

    @property
    def tls_fingerprint(self) -> str | None:
        return self._status.get("tls_fingerprint")

    @property
    def tls_kind(self) -> str | None:
        return self._status.get("tls_kind")

    @property
    def tls_ca_fingerprint(self) -> str | None:
        return self._status.get("tls_ca_fingerprint")

    @property
    def provisioning_enabled(self) -> bool:
        return bool(self._status.get("provisioning_enabled"))

    @property
    def cpe_auth_enabled(self) -> bool:
        return bool(self._status.get("cpe_auth_enabled"))

    def auth_failures(self) -> list[Any]:
        return list(decode(self._status.get("auth_failures", [])))

    def proxy_upstream(self) -> str:
        return str(self._status.get("proxy_upstream", ""))

    async def reconfigure(self, config: EngineConfig) -> list[str]:
        raise RemoteError(
            "the settings of a remote ACS are changed where it runs (fieldacs-engine serve "
            "options), not from a console")

    # ------------------------------------------------------------------ devices
    async def list_devices(self, *, limit: int = 100, offset: int = 0) -> list[Any]:
        return list(await self.call("list_devices", limit=limit, offset=offset))

    async def search_devices(
        self, where: DeviceFilter, *, limit: int = 100, offset: int = 0,
        order_by: str = "id", descending: bool = False,
    ) -> list[Any]:
        return list(await self.call(
            "search_devices", where=where, limit=limit, offset=offset, order_by=order_by,
            descending=descending))

    async def count_devices(self, where: DeviceFilter = _ANY) -> int:
        return int(await self.call("count_devices", where=where))

    async def devices_by_id(
        self, ids: Iterable[str], where: DeviceFilter = _ANY
    ) -> dict[str, Any]:
        return dict(await self.call("devices_by_id", ids=tuple(ids), where=where))

    async def get_device(self, device_id: str) -> Any:
        return await self.call("get_device", device_id=device_id)

    async def load_params(self, device_id: str, prefix: str = "") -> dict[str, Any]:
        return dict(await self.call("load_params", device_id=device_id, prefix=prefix))

    async def load_param_values(self, device_id: str, paths: Iterable[str]) -> dict[str, Any]:
        return dict(await self.call("load_param_values", device_id=device_id,
                                    paths=tuple(paths)))

    async def set_tags(
        self, device_id: str, add: Iterable[str] = (), remove: Iterable[str] = ()
    ) -> set[str]:
        return set(await self.call("set_tags", device_id=device_id, add=tuple(add),
                                   remove=tuple(remove)))

    def in_session(self, device_id: str) -> bool:
        return device_id in self._in_session

    # ------------------------------------------------------------------ tasks and wake
    async def get_task(self, task_id: str) -> Any:
        return await self.call("get_task", task_id=task_id)

    async def wake(self, device_id: str, *, wait_for_session: bool = True) -> Any:
        return await self.call("wake", device_id=device_id, wait_for_session=wait_for_session)

    # ------------------------------------------------------------------ step control
    async def claim_step(self, *, force: bool = False) -> None:
        """Hold step mode for this console.

        Raises:
            StepHeldElsewhere: another console holds it (``force`` takes it over).
        """
        status, data = await self.link.request(
            "POST", "/fieldacs/v1/step/claim", {"holder": self.holder, "force": force})
        if status == 409 and isinstance(data, dict):
            self.step_holder = str(data.get("holder", ""))
            raise StepHeldElsewhere(str(data.get("error", "")), self.step_holder)
        if status != 200 or not isinstance(data, dict):
            raise RemoteError(f"step mode could not be claimed (HTTP {status})")
        self._lease = str(data["lease"])
        self.step_holder = self.holder
        # _step_devices is kept: empty but for the device a set_step_enabled is turning on
        # (cleared when the previous lease ended), and the panels show it on already.

    async def release_step(self) -> None:
        """Give step mode up (the engine turns it off for this console's devices)."""
        lease, self._lease = self._lease, ""
        self._step_devices.clear()
        if lease:
            await self.link.request("POST", "/fieldacs/v1/step/release", {"lease": lease})

    @property
    def holds_step(self) -> bool:
        return bool(self._lease)

    async def _step(self, path: str, body: dict[str, Any], method: str = "POST") -> None:
        if not self._lease:
            await self.claim_step()
        status, data = await self.link.request(method, path, {**body, "lease": self._lease})
        if status == 409 and isinstance(data, dict):
            self._lease = ""  # taken over: the engine turned our devices' step mode off
            self._step_devices.clear()
            raise StepHeldElsewhere(str(data.get("error", "")), str(data.get("holder", "")))
        if status != 200:
            message = data.get("error", "") if isinstance(data, dict) else ""
            raise ValueError(message or f"HTTP {status} from the ACS")

    async def step_command(self, device_id: str, action: str,
                           message: rpc.Message | None = None) -> None:
        """send, skip, pause, resume, edit or insert (with ``message``) on a device's hold.

        Raises:
            StepHeldElsewhere: another console holds step mode.
            ValueError: the engine refused it (nothing held, not an ACS request, ...).
        """
        body = {} if message is None else {"rpc": encode(message)}
        await self._step(f"/fieldacs/v1/step/devices/{_seg(device_id)}/{action}", body)

    async def set_step(self, device_id: str, enabled: bool) -> None:
        """Turn step mode on or off for a device (claiming step mode first if needed)."""
        await self._step(f"/fieldacs/v1/step/devices/{_seg(device_id)}",
                         {"enabled": enabled}, "PUT")
        (self._step_devices.add if enabled else self._step_devices.discard)(device_id)

    def _fire(self, coro: Any, what: str) -> None:
        async def run() -> None:
            try:
                await coro
            except Exception as exc:
                self._bus.publish(EngineNotice(now_ms(), NoticeLevel.ERROR, f"{what}: {exc}"))
        self._spawn(run())

    def step_enabled(self, device_id: str) -> bool:
        return device_id in self._step_devices

    def set_step_enabled(self, device_id: str, enabled: bool) -> None:
        """Turn step mode on or off for a device, in the background.

        Shown at once; when the engine refuses (another console holds step mode, the
        connection is down) it is undone, an :class:`EngineNotice` says why, and a refused
        claim publishes :class:`StepHolderChanged` with the holder's name, so the panels
        show who holds it and their Step mode switch goes back.
        """
        was = device_id in self._step_devices
        (self._step_devices.add if enabled else self._step_devices.discard)(device_id)
        known = self.step_holder

        async def run() -> None:
            try:
                await self.set_step(device_id, enabled)
            except Exception as exc:
                (self._step_devices.add if was else self._step_devices.discard)(device_id)
                if isinstance(exc, StepHeldElsewhere):
                    self.step_holder = exc.holder
                    self._bus.publish(StepHolderChanged(exc.holder, known, now_ms()))
                self._bus.publish(EngineNotice(now_ms(), NoticeLevel.ERROR, f"step mode: {exc}"))
        self._spawn(run())

    def step_pending(self, device_id: str) -> StepPending | None:
        return self._pending.get(device_id)

    def step_send(self, device_id: str) -> None:
        self._fire(self.step_command(device_id, "send"), "send")

    def step_skip(self, device_id: str) -> None:
        self._fire(self.step_command(device_id, "skip"), "skip")

    def step_edit(self, device_id: str, message: rpc.Message) -> None:
        self._fire(self.step_command(device_id, "edit", message), "edit")

    def step_insert(self, device_id: str, message: rpc.Message) -> None:
        self._fire(self.step_command(device_id, "insert", message), "insert")

    def step_pause(self, device_id: str) -> None:
        self._fire(self.step_command(device_id, "pause"), "pause")

    def step_resume(self, device_id: str) -> None:
        self._fire(self.step_command(device_id, "resume"), "resume")

    # ------------------------------------------------------------------ presets and scripts
    async def list_presets(self) -> list[Any]:
        return list(await self.call("list_presets"))

    async def put_preset(self, preset: Any) -> None:
        await self.call("put_preset", preset=preset)

    async def delete_preset(self, preset_id: str) -> bool:
        return bool(await self.call("delete_preset", preset_id=preset_id))

    async def last_verdicts(self, device_id: str) -> Any:
        return await self.call("last_verdicts", device_id=device_id)

    async def list_provisions(self) -> list[Any]:
        return list(await self.call("list_provisions"))

    async def put_provision(self, provision: Any) -> None:
        await self.call("put_provision", provision=provision)

    async def delete_provision(self, provision_id: str) -> bool:
        return bool(await self.call("delete_provision", provision_id=provision_id))

    async def list_virtual_parameters(self) -> list[Any]:
        return list(await self.call("list_virtual_parameters"))

    async def put_virtual_parameter(self, vparam: Any) -> None:
        await self.call("put_virtual_parameter", vparam=vparam)

    async def delete_virtual_parameter(self, vparam_id: str) -> bool:
        return bool(await self.call("delete_virtual_parameter", vparam_id=vparam_id))

    async def check_script(self, text: str) -> Any:
        return await self.call("check_script", text=text)

    # ------------------------------------------------------------------ faults
    async def list_faults(self, device_id: str | None = None) -> list[Any]:
        return list(await self.call("list_faults", device_id=device_id))

    async def delete_fault(self, fault_id: str) -> bool:
        return bool(await self.call("delete_fault", fault_id=fault_id))

    # ------------------------------------------------------------------ dry run
    async def dry_run(
        self, device_id: str, *, events: Sequence[str] = ("2 PERIODIC",), **options: Any
    ) -> Any:
        return await self.call("dry_run", device_id=device_id, events=tuple(events), **options)

    async def presets_that_set(
        self, device_id: str, values: Mapping[str, tuple[str, str | None]]
    ) -> list[Any]:
        return list(await self.call("presets_that_set", device_id=device_id,
                                    values=dict(values)))

    # ------------------------------------------------------------------ sessions and history
    async def list_sessions(self, device_id: str, limit: int = 50) -> list[Any]:
        return list(await self.call("list_sessions", device_id=device_id, limit=limit))

    async def load_trace(self, session_id: str) -> list[Any]:
        return list(await self.call("load_trace", session_id=session_id))

    async def history_paths(self, device_id: str) -> list[str]:
        return list(await self.call("history_paths", device_id=device_id))

    async def param_history(
        self, device_id: str, paths: Sequence[str], since: int | None = None,
        until: int | None = None,
    ) -> list[Any]:
        return list(await self.call("param_history", device_id=device_id, paths=tuple(paths),
                                    since=since, until=until))

    async def device_history(self, device_id: str, *, limit: int = 100) -> list[Any]:
        return list(await self.call("device_history", device_id=device_id, limit=limit))

    async def list_snapshots(self, device_id: str) -> list[tuple[str, int, str]]:
        return list(await self.call("list_snapshots", device_id=device_id))

    async def load_snapshot(self, device_id: str, name: str) -> Any:
        return await self.call("load_snapshot", device_id=device_id, name=name)

    async def save_snapshot(self, snapshot: Any, *, replace: bool = False) -> None:
        await self.call("save_snapshot", snapshot=snapshot, replace=replace)

    async def fleet_view(
        self, paths: Sequence[str], *, since: int | None = None, points: int = 48,
        now: int | None = None,
    ) -> Any:
        return await self.call("fleet_view", paths=tuple(paths), since=since, points=points,
                               now=now)

    async def start_migration(self, device_ids: Sequence[str], url: str) -> Migration:
        result: Migration = await self.call(
            "start_migration", device_ids=list(device_ids), url=url)
        return result

    async def migration_status(
        self, migration: Migration, *, nbi_url: str | None = None, token: str | None = None,
    ) -> Migration:
        """The engine reads the states it knows; this console then asks the new ACS's NBI
        itself (the engine never fetches a URL a peer names). The states are copied into
        ``migration``, as the local call updates it in place."""
        fresh: Migration = await self.call("migration_status", migration=migration)
        migration.moves[:] = fresh.moves
        if nbi_url:
            await confirm_at_new_acs(migration, nbi_url, token=token)
        return migration

    async def resolve_point(self, device_id: str, spec: str) -> Any:
        return await self.call("resolve_point", device_id=device_id, spec=spec)

    async def plan_bundle(
        self, device_id: str, session_ids: list[str], notes: str = "", *,
        include_secrets: bool = False,
    ) -> Any:
        """An escalation bundle; a remote engine never puts secrets in it (ValueError)."""
        return await self.call("plan_bundle", device_id=device_id,
                               session_ids=list(session_ids), notes=notes,
                               include_secrets=include_secrets)


def _seg(device_id: str) -> str:
    from urllib.parse import quote

    return quote(device_id, safe="")
