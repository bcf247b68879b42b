"""HTTP Basic for connection requests: GenieACS's ``cwmp.connectionRequestAllowBasicAuth``
as a setting and a ``serve`` flag, off by default (issue 14, item 10)."""

from __future__ import annotations

from pathlib import Path

from acs_engine.cli import _with_security, build_parser
from acs_engine.config import EngineConfig
from acs_engine.sim.options import SimOptions
from tests.helpers.engine import running_engine
from tests.helpers.nbi import Nbi, enc, sim_fleet

CR = {"connection_request": ""}


async def test_basic_only_cpe_needs_the_setting(tmp_path: Path) -> None:
    """GenieACS answers a connection request's 401 with Digest, and with Basic only when
    ``cwmp.connectionRequestAllowBasicAuth`` is set (default false; lib/connection-request.ts
    fails with "Basic HTTP authentication not allowed" otherwise). FieldACS does the same,
    and its refusal says where to switch Basic on."""
    basic_only = SimOptions(allow_basic_connreq=True, connreq_algorithms=())
    async with (
        running_engine(tmp_path, provisioning=True, script_timeout_ms=2000) as engine,
        sim_fleet(engine, 1, "BAS", basic_only) as (dev,),
        Nbi(engine) as nbi,
    ):
        assert engine.config.connection_request_allow_basic_auth is False
        reply = await nbi.call("POST", f"/devices/{enc(dev)}/tasks", params=CR)
        assert reply.status == 504, (reply.status, reply.reason)
        done = await engine.connection_request(dev, wait_for_session=False)
        assert done.result.outcome == "basic_not_allowed"
        assert "Settings → Connection requests → Allow Basic auth" in done.message
        assert "fieldacs-engine serve --connreq-allow-basic" in done.message

        await engine.reconfigure(engine.config.replace(connection_request_allow_basic_auth=True))
        done = await engine.connection_request(dev)
        assert done.ok and done.session_started, done.message
        reply = await nbi.call("POST", f"/devices/{enc(dev)}/tasks", params=CR)
        assert reply.status == 200, (reply.status, reply.reason)


def test_serve_flags_for_connection_requests(tmp_path: Path) -> None:
    """``serve`` has ``--connreq-allow-basic`` (off unless given) and the XMPP options."""
    base = EngineConfig(db_path=tmp_path / "f.db")
    plain = _with_security(base, build_parser().parse_args(["serve"]))
    assert plain.connection_request_allow_basic_auth is False
    assert plain.xmpp_jid == "" and plain.xmpp_tls == "starttls"
    secret = tmp_path / "xmpp.pw"
    secret.write_text("pw-from-file\n", encoding="utf-8")
    args = build_parser().parse_args([
        "serve", "--connreq-allow-basic", "--xmpp-jid", "acs@example.net",
        "--xmpp-password-file", str(secret), "--xmpp-server", "127.0.0.1:5299",
        "--xmpp-tls", "none",
    ])
    config = _with_security(base, args)
    assert config.connection_request_allow_basic_auth is True
    assert (config.xmpp_jid, config.xmpp_password, config.xmpp_server, config.xmpp_tls) == (
        "acs@example.net", "pw-from-file", "127.0.0.1:5299", "none")
    assert "pw-from-file" not in repr(config)
