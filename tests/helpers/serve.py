"""A real ``fieldacs-engine serve`` process on 127.0.0.1 (the "server" of the service tests)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "service-test-token-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class ServeProcess:
    """A running ``serve``: its process, ports, URLs and the lines it printed."""

    proc: asyncio.subprocess.Process
    db: Path
    cwmp_port: int
    nbi_port: int
    token: str | None
    output: list[str] = field(default_factory=list)

    @property
    def acs_url(self) -> str:
        return f"http://127.0.0.1:{self.cwmp_port}/"

    @property
    def nbi_url(self) -> str:
        return f"http://127.0.0.1:{self.nbi_port}"

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def get(self, path: str, *, token: bool = True) -> tuple[int, str]:
        async with aiohttp.ClientSession() as http, http.get(
            self.nbi_url + path, headers=self.headers() if token else {}
        ) as resp:
            return resp.status, await resp.text()

    async def metrics(self) -> dict[str, float]:
        """``/metrics`` parsed: ``name{labels}`` -> value."""
        status, text = await self.get("/metrics")
        assert status == 200, text
        return parse_exposition(text)


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$")


def parse_exposition(text: str) -> dict[str, float]:
    """Samples of a Prometheus text exposition; every non-comment line must be a sample."""
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        assert match, f"not a sample line: {line!r}"
        out[match.group(1)] = float(match.group(2))
    return out


async def _drain(stream: asyncio.StreamReader, sink: list[str]) -> None:
    with contextlib.suppress(Exception):
        while line := await stream.readline():
            sink.append(line.decode("utf-8", "replace").rstrip())


@contextlib.asynccontextmanager
async def serve_process(
    tmp_path: Path, *extra: str, token: str | None = TOKEN, db: Path | None = None,
) -> AsyncIterator[ServeProcess]:
    """Start ``fieldacs-engine serve`` on free loopback ports; SIGKILL it at the end if it
    still runs (a test that stops it itself waits for it)."""
    db = db or tmp_path / "server.db"
    cwmp_port, nbi_port = free_port(), free_port()
    args = [
        sys.executable, "-m", "acs_engine.cli", "serve", "--db", str(db),
        "--host", "127.0.0.1", "--cwmp-port", str(cwmp_port), "--fs-port", "0",
        "--nbi-port", str(nbi_port), *extra,
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("FIELDACS_NBI_TOKEN", None)
    if token is not None:
        token_file = tmp_path / f"token-{nbi_port}"
        token_file.write_text(token + "\n", encoding="utf-8")
        args += ["--nbi-token-file", str(token_file)]
    proc = await asyncio.create_subprocess_exec(
        *args, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env=env,
    )
    assert proc.stdout is not None
    server = ServeProcess(proc, db, cwmp_port, nbi_port, token)
    deadline = time.monotonic() + 30
    while True:
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError("the engine did not start in 30 s:\n" + "\n".join(server.output))
        line = await asyncio.wait_for(proc.stdout.readline(), deadline - time.monotonic())
        if not line:
            raise AssertionError(
                f"the engine exited with {await proc.wait()}:\n" + "\n".join(server.output)
            )
        server.output.append(line.decode("utf-8", "replace").rstrip())
        if b"NBI (GenieACS API)" in line:
            break
    drain = asyncio.get_running_loop().create_task(_drain(proc.stdout, server.output))
    try:
        yield server
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await drain
