"""A second engine process for the remote-console tests: ``fieldacs-engine serve`` with a token."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "remote-console-test-token-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _drain(stream: asyncio.StreamReader) -> None:
    with contextlib.suppress(Exception):
        while await stream.read(65536):
            pass


class ServeProcess:
    """``fieldacs-engine serve`` in a subprocess on fixed ports (so it can be restarted)."""

    def __init__(self, db: Path, token: str = TOKEN) -> None:
        self.db = db
        self.token = token
        self.cwmp_port = free_port()
        self.nbi_port = free_port()
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def nbi_url(self) -> str:
        return f"http://127.0.0.1:{self.nbi_port}"

    @property
    def cwmp_url(self) -> str:
        return f"http://127.0.0.1:{self.cwmp_port}/"

    async def start(self) -> None:
        token_file = self.db.parent / "nbi.token"
        token_file.write_text(self.token)
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "acs_engine.cli", "serve", "--db", str(self.db),
            "--host", "127.0.0.1", "--cwmp-port", str(self.cwmp_port), "--fs-port", "0",
            "--nbi-port", str(self.nbi_port), "--nbi-token-file", str(token_file),
            cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + 30
        seen = []
        while time.monotonic() < deadline:
            line = await asyncio.wait_for(self.proc.stdout.readline(), deadline - time.monotonic())
            seen.append(line)
            if not line:
                raise AssertionError(
                    f"the engine exited with {await self.proc.wait()}: {b''.join(seen)!r}")
            if b"ACS URL:" in line:
                asyncio.get_running_loop().create_task(_drain(self.proc.stdout))
                break
        else:
            raise AssertionError("the engine did not start in 30 s")
        # the NBI opens right after the CWMP listener: wait until it answers
        for _ in range(100):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", self.nbi_port)
                writer.close()
                return
            except OSError:
                await asyncio.sleep(0.05)
        raise AssertionError("the NBI did not open")

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()
        self.proc = None

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                await self.kill()
        self.proc = None
