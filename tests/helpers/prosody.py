"""A real XMPP server for tests: Prosody on 127.0.0.1 with its own config and data folder.

``running_prosody(tmp_path)`` writes a config (one virtual host, ``localhost``; client
connections only, on a free loopback port; a self-signed certificate for STARTTLS), starts
``prosody`` in the foreground, waits for its port, and stops it at the end. Accounts are
made with ``prosodyctl`` against the same config. When Prosody is not installed the test
is skipped with the reason (``.ci/run`` installs it: ``apt-get install prosody``).
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from acs_engine.server.tls import create_self_signed

DOMAIN = "localhost"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Prosody:
    """A running Prosody.

    Attributes:
        port: its client (c2s) port on 127.0.0.1 (plain TCP, STARTTLS offered).
        direct_port: its port for TLS from the first byte (XEP-0368).
        domain: the virtual host accounts live on.
        config: its config file.
        ca_file: the self-signed certificate it offers for STARTTLS (trust it as a CA).
        log: its log file.
    """

    port: int
    direct_port: int
    domain: str
    config: Path
    ca_file: Path
    log: Path

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def register(self, user: str, password: str) -> str:
        """Make the account ``user@domain`` (prosodyctl); returns its bare JID."""
        ctl = await asyncio.create_subprocess_exec(
            "prosodyctl", "--config", str(self.config), "register", user, self.domain, password,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )
        out, _ = await ctl.communicate()
        assert ctl.returncode == 0, f"prosodyctl register {user}: {out.decode(errors='replace')}"
        return f"{user}@{self.domain}"


def _config(folder: Path, port: int, direct: int, cert: Path, key: Path) -> str:
    return f"""\
-- written by tests/helpers/prosody.py
pidfile = "{folder}/prosody.pid"
data_path = "{folder}/data"
certificates = "{folder}"
daemonize = false
run_as_root = true
interfaces = {{ "127.0.0.1" }}
local_interfaces = {{ "127.0.0.1" }}
c2s_ports = {{ {port} }}
c2s_direct_tls_ports = {{ {direct} }}
legacy_ssl_ports = {{ }}
s2s_ports = {{ }}
http_ports = {{ }}
https_ports = {{ }}
log = {{ debug = "{folder}/prosody.log" }}
modules_enabled = {{ "roster"; "saslauth"; "tls"; "disco"; "ping"; "presence" }}
modules_disabled = {{ "s2s" }}
authentication = "internal_hashed"
storage = "internal"
-- plain TCP stays allowed for the tests of xmpp_tls = "none" (SCRAM only, never PLAIN)
c2s_require_encryption = false
allow_unencrypted_plain_auth = false
allow_registration = false
ssl = {{ certificate = "{cert}"; key = "{key}" }}
VirtualHost "{DOMAIN}"
"""


@contextlib.asynccontextmanager
async def running_prosody(tmp_path: Path) -> AsyncIterator[Prosody]:
    """Prosody on a free 127.0.0.1 port, stopped on exit (skips when not installed)."""
    if shutil.which("prosody") is None or shutil.which("prosodyctl") is None:
        pytest.skip("Prosody is not installed (apt-get install prosody; .ci/run installs it)")
    folder = tmp_path / "prosody"
    (folder / "data").mkdir(parents=True)
    cert, key = folder / "localhost.crt", folder / "localhost.key"
    create_self_signed(cert, key, hostnames=[DOMAIN], common_name=DOMAIN)
    port, direct = _free_port(), _free_port()
    config = folder / "prosody.cfg.lua"
    config.write_text(_config(folder, port, direct, cert, key), encoding="utf-8")
    log = folder / "prosody.log"
    output = (folder / "stdout.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        "prosody", "--config", str(config), stdout=output, stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(200):
            if proc.returncode is not None:
                break
            with contextlib.suppress(OSError):
                _, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.close()
                await writer.wait_closed()
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"Prosody did not open port {port}")
        if proc.returncode is not None:
            text = (folder / "stdout.log").read_text(errors="replace")
            raise AssertionError(f"Prosody exited ({proc.returncode}): {text[-2000:]}")
        yield Prosody(port, direct, DOMAIN, config, cert, log)
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        output.close()
