"""Issue 11, finding 7: an NBI open to the network, attempted in every way it can be started."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from acs_engine.bus import EventBus
from acs_engine.config import EngineConfig
from acs_engine.server.controller import Engine, EngineStartError, ReconfigureError
from acs_engine.server.nbi_auth import TOKEN_ENV
from tests.helpers.engine import running_engine

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "nbi-token-4b1f9e27c3"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_is_closed(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(2)
        return s.connect_ex(("127.0.0.1", port)) != 0


async def _get(url: str, token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as http, http.get(url, headers=headers) as resp:
        return resp.status


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "acs.example"])
async def test_attack_open_nbi_on_the_network_is_refused_at_start(
    tmp_path: Path, host: str
) -> None:
    port = _free_port()
    engine = Engine(EngineConfig(db_path=tmp_path / "x.db", cwmp_host="127.0.0.1", cwmp_port=0,
                                 fs_enabled=False, nbi_host=host, nbi_port=port),
                    bus=EventBus())
    with pytest.raises(EngineStartError, match="without a token, open to anyone"):
        await engine.start()
    assert not engine.running
    assert _port_is_closed(port)
    assert not (tmp_path / "x.db").exists()  # refused before anything was opened


async def test_an_nbi_on_every_address_with_a_token_starts_and_demands_it(
    tmp_path: Path
) -> None:
    async with running_engine(tmp_path, nbi_host="0.0.0.0", nbi_token=TOKEN) as engine:
        url = f"http://127.0.0.1:{engine.nbi_port}/devices/"
        assert await _get(url) == 401
        assert await _get(url, "wrong-token-123") == 401
        assert await _get(url, TOKEN) == 200


async def test_attack_reconfigure_cannot_open_the_nbi_to_the_network(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        port = engine.nbi_port
        assert port is not None
        with pytest.raises(ReconfigureError, match="without a token, open to anyone"):
            await engine.reconfigure(engine.config.replace(nbi_host="0.0.0.0"))
        assert engine.config.nbi_host == "127.0.0.1" and engine.nbi_port == port
        assert await _get(f"http://127.0.0.1:{port}/devices/") == 200  # unchanged, still up
        # with a token it moves, and then asks for it
        await engine.reconfigure(engine.config.replace(nbi_host="0.0.0.0", nbi_token=TOKEN))
        assert engine.config.nbi_host == "0.0.0.0"
        url = f"http://127.0.0.1:{engine.nbi_port}/devices/"
        assert await _get(url) == 401
        assert await _get(url, TOKEN) == 200
        # and the token cannot be dropped while it listens on the network
        with pytest.raises(ReconfigureError, match="without a token"):
            await engine.reconfigure(engine.config.replace(nbi_token=None))
        assert await _get(url) == 401


def _serve_args(db: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "acs_engine.cli", "serve", "--db", str(db), "--host",
            "127.0.0.1", "--cwmp-port", "0", "--fs-port", "0", *extra]


async def test_attack_serve_refuses_an_open_nbi_and_takes_its_token_from_the_environment(
    tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    port = _free_port()
    refused = await asyncio.create_subprocess_exec(
        *_serve_args(tmp_path / "a.db", "--nbi-host", "0.0.0.0", "--nbi-port", str(port)),
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(refused.communicate(), 60)
    assert refused.returncode == 2
    assert "NBI would listen on 0.0.0.0 without a token" in err.decode()
    assert _port_is_closed(port)

    server = await asyncio.create_subprocess_exec(
        *_serve_args(tmp_path / "b.db", "--nbi-host", "0.0.0.0", "--nbi-port", str(port)),
        cwd=ROOT, env={**env, TOKEN_ENV: TOKEN}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert server.stdout is not None
        lines = []
        while not any("NBI" in line for line in lines):
            line = (await asyncio.wait_for(server.stdout.readline(), 60)).decode()
            assert line, "serve exited"
            lines.append(line)
        assert f"http://0.0.0.0:{port}/ (bearer token)" in lines[-1]
        assert TOKEN not in "".join(lines)
        url = f"http://127.0.0.1:{port}/devices/"
        assert await _get(url) == 401
        assert await _get(url, TOKEN) == 200
    finally:
        server.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(server.wait(), 30) == 0


async def test_serve_reads_the_nbi_token_from_a_file(tmp_path: Path) -> None:
    token_file = tmp_path / "nbi.token"
    token_file.write_text(TOKEN + "\n", encoding="utf-8")
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != TOKEN_ENV}
    server = await asyncio.create_subprocess_exec(
        *_serve_args(tmp_path / "c.db", "--nbi-port", str(port), "--nbi-token-file",
                     str(token_file)),
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    try:
        assert server.stdout is not None
        line = ""
        while "NBI" not in line:
            line = (await asyncio.wait_for(server.stdout.readline(), 60)).decode()
            assert line, "serve exited"
        url = f"http://127.0.0.1:{port}/devices/"
        assert await _get(url) == 401
        assert await _get(url, TOKEN) == 200
    finally:
        server.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(server.wait(), 30) == 0
