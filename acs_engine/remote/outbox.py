"""Staged commands a remote console keeps until the engine has them.

:class:`Outbox` is the part of :class:`~acs_engine.remote.engine.RemoteEngine` that queues a
task: a command that cannot be sent now (the ACS is unreachable) is kept and sent on
reconnection, and every send carries the command's reference, so the engine makes one task
per reference however often it is sent (an answer lost with the connection, a reconnection
while the first send waits).
"""

from __future__ import annotations

import asyncio
from typing import Any

from acs_engine.bus import EventBus
from acs_engine.remote.errors import CommandQueued, ConnectionLost, StagedCommand, StagedCommandSent

__all__ = ["Outbox"]


class Outbox:
    """Kept commands and their sending (mixed into the remote engine, which gives
    :meth:`call` and the bus)."""

    _bus: EventBus

    def __init__(self) -> None:
        #: Staged commands not yet accepted by the engine, oldest first.
        self.outbox: list[StagedCommand] = []
        #: References of commands whose add_task is waiting for its answer.
        self._in_flight: set[str] = set()
        self._flushing = asyncio.Lock()

    def kept_commands(self) -> int:
        """Commands kept and not yet sent (closing the console loses them)."""
        return len(self.outbox)

    async def call(self, method: str, **args: Any) -> Any:  # pragma: no cover - the engine's
        raise NotImplementedError

    async def add_task(self, device_id: str, name: str, args: dict[str, Any]) -> Any:
        """Queue a task; when the engine cannot be reached it is kept and sent later.

        Raises:
            CommandQueued: not sent now; kept in :attr:`outbox` and sent on reconnection.
        """
        command = StagedCommand(device_id, name, dict(args))
        self.outbox.append(command)
        self._in_flight.add(command.ref)
        try:
            task = await self._send(command)
        except ConnectionLost as exc:
            raise CommandQueued(
                f"{name} for {device_id} is kept and will be sent when the ACS is back "
                f"({exc})", command.ref) from None
        except Exception:
            self._drop(command)  # refused: the caller is told
            raise
        finally:
            self._in_flight.discard(command.ref)
        self._drop(command)
        return task

    async def _send(self, command: StagedCommand) -> Any:
        """One add_task with the command's reference: the engine makes one task per reference,
        so sending it again (an answer lost with the connection) cannot make a second."""
        return await self.call("add_task", device_id=command.device_id, name=command.name,
                               args=command.args, ref=command.ref)

    def _drop(self, command: StagedCommand) -> None:
        if command in self.outbox:
            self.outbox.remove(command)

    async def flush_outbox(self) -> int:
        """Send the kept commands (oldest first); returns how many the engine accepted."""
        sent = 0
        async with self._flushing:
            for command in list(self.outbox):
                if command.ref in self._in_flight or command not in self.outbox:
                    continue  # its first send is still waiting for an answer
                try:
                    task = await self._send(command)
                except ConnectionLost:
                    return sent  # still down: keep the rest
                except Exception as exc:
                    self._drop(command)
                    self._bus.publish(StagedCommandSent(
                        command.device_id, command.name, "", str(exc) or type(exc).__name__,
                        command.ref))
                    continue
                self._drop(command)
                sent += 1
                self._bus.publish(StagedCommandSent(
                    command.device_id, command.name, str(getattr(task, "id", "")),
                    ref=command.ref))
        return sent
