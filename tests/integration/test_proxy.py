"""Proxy mode end to end on loopback: the simulator -> FieldACS in proxy mode -> a second
FieldACS with Digest CPE authentication over HTTPS. The upstream stores the same tree with
the proxy in between as without it; every message passes byte for byte and is published."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from acs_engine.bus import SessionEnded, SessionStarted, SessionStateChanged, WireMessage
from acs_engine.inspect.lint import Severity, lint_messages
from acs_engine.inspect.sessionfile import Message
from acs_engine.server.controller import Engine, EngineStartError
from acs_engine.sim.client import SimCpe
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.sim.options import SimOptions
from acs_engine.store.deviceid import make_device_id
from tests.helpers.engine import running_engine

USER, PASSWORD = "cpe-user", "Digest-Secret-9"
SERIAL = "PROXY0001"
T0 = 1_765_000_000.0


def device(url: str, ca: Path) -> SimCpe:
    base = load_model("tr181")
    sim = SimDevice(base, SERIAL, options=SimOptions(tls_ca=str(ca)),
                    initial={"Device.ManagementServer.Username": USER,
                             "Device.ManagementServer.Password": PASSWORD},
                    clock=lambda: 100.0, wallclock=lambda: T0)
    return SimCpe(sim, url)


def upstream_config(tmp: Path) -> dict[str, Any]:
    return {"cwmp_username": USER, "cwmp_password": PASSWORD, "cwmp_tls_port": 0,
            "provisioning": True}


async def tree(engine: Engine) -> dict[str, tuple[Any, ...]]:
    store = engine.store
    assert store is not None
    base = load_model("tr181")
    params = await store.load_params(make_device_id(base.oui, base.product_class, SERIAL))
    return {p.path: (p.value, p.type, p.object, p.writable) for p in params.values()}


async def two_sessions(cpe: SimCpe) -> None:
    for _ in range(2):
        result = await cpe.session()
        assert result.ok, result.error


async def test_proxy_forwards_byte_for_byte_and_the_upstream_tree_is_the_same(
    tmp_path: Path,
) -> None:
    # Without the proxy. (Then the device is forgotten: the same database, with its own
    # connection-request secret, serves the run through the proxy.)
    async with running_engine(tmp_path / "up", **upstream_config(tmp_path)) as upstream:
        assert upstream.tls is not None and upstream.store is not None
        await two_sessions(device(upstream.cwmp_tls_urls()[-1], upstream.tls.cert_path))
        direct = await tree(upstream)
        base = load_model("tr181")
        assert await upstream.store.delete_device(
            make_device_id(base.oui, base.product_class, SERIAL))
    assert len(direct) > 40

    # With it: the CPE talks plain HTTP to the proxy, the proxy HTTPS to the upstream.
    async with running_engine(tmp_path / "up", **upstream_config(tmp_path)) as upstream:
        assert upstream.tls is not None
        seen_up: list[WireMessage] = []
        upstream.bus.subscribe(seen_up.append, WireMessage)
        async with running_engine(
            tmp_path / "proxy", proxy_upstream=upstream.cwmp_tls_urls()[-1],
            proxy_upstream_ca=upstream.tls.cert_path,
        ) as proxy:
            assert proxy.proxy is not None
            events: list[Any] = []
            proxy.bus.subscribe(events.append, WireMessage, SessionStarted,
                                SessionStateChanged, SessionEnded)
            await two_sessions(device(proxy.cwmp_urls()[-1], upstream.tls.cert_path))
            assert proxy.store is not None and await proxy.store.count_devices() == 0
        through = await tree(upstream)
    # The one value that must differ: the ACS URL the CPE was given (the proxy's, not the
    # upstream's); the seeded bootstrap reads every value, so it is in the tree.
    url = "Device.ManagementServer.URL"
    assert direct.pop(url)[0].startswith("https://")
    assert through.pop(url)[0].startswith("http://")
    assert through == direct

    wire = [e for e in events if isinstance(e, WireMessage)]
    # Every body passed unchanged, both ways, in the order the upstream saw them (the
    # upstream's trace leaves out the unauthenticated POSTs it answered with 401).
    challenged = {i - 1 for i, m in enumerate(wire) if m.status == 401}
    authenticated = [m for i, m in enumerate(wire) if m.status != 401 and i not in challenged]
    assert [(m.direction, m.body) for m in authenticated] == [
        (m.direction, m.body) for m in seen_up]
    assert [m.status for m in authenticated if m.direction == "out"] == [
        m.status for m in seen_up if m.direction == "out"]
    # Headers too: what the CPE sent reached the upstream (Host and the hop-by-hop ones are
    # each side's own), and what the upstream answered reached the CPE.
    own = {"host", "content-length", "connection", "keep-alive", "date"}
    for mine, theirs in zip(authenticated, seen_up, strict=True):
        sent = {(k.lower(), v) for k, v in mine.headers if k.lower() not in own}
        got = {(k.lower(), v) for k, v in theirs.headers if k.lower() not in own}
        if mine.direction == "in":
            assert sent == got, (sent ^ got)
        else:
            assert got <= sent, (got - sent)
    # The Digest challenge passed through, and the CPE's answer to it.
    challenges = [m for m in wire if m.status == 401]
    assert challenges and any(k.lower() == "www-authenticate" and v.startswith("Digest")
                              for k, v in challenges[0].headers)
    authorized = [m for m in wire if m.direction == "in" and any(
        k.lower() == "authorization" for k, _ in m.headers)]
    assert authorized
    assert all(PASSWORD not in v and "response=\"********\"" in v for m in authorized
               for k, v in m.headers if k.lower() == "authorization")

    started = [e for e in events if isinstance(e, SessionStarted)]
    ended = [e for e in events if isinstance(e, SessionEnded)]
    assert len(started) == 2 and [e.outcome for e in ended] == ["ok", "ok"]
    assert started[0].device_id == make_device_id("F1E1D0", "SimGW-181", SERIAL) or \
        started[0].device_id.endswith(SERIAL)
    states = [e.new for e in events if isinstance(e, SessionStateChanged)
              and e.session_id == started[0].session_id]
    assert states[0] == "PROCESS" and "PENDING_RPC" in states and states[-1] == "END"

    # The same messages lint clean (the console's Lint tab runs exactly this).
    first = [Message(m.at_ms / 1000, m.direction, m.rpc, m.cwmp_id, m.status, m.headers, m.body)
             for m in wire if m.session_id == started[0].session_id]
    assert not [f.line() for f in lint_messages(first) if f.severity is Severity.ERROR]


async def test_unreachable_upstream_gets_502_and_a_bad_url_is_refused(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    async with running_engine(tmp_path, proxy_upstream=f"http://127.0.0.1:{dead}/") as proxy:
        ended: list[SessionEnded] = []
        proxy.bus.subscribe(ended.append, SessionEnded)
        base = load_model("tr181")
        result = await SimCpe(SimDevice(base, "DEAD0001"), proxy.cwmp_urls()[-1]).session()
        assert not result.ok and "502" in (result.error or "")
        assert ended and ended[0].outcome == "error" and "unreachable" in ended[0].detail
    with pytest.raises(EngineStartError, match="http:// or https://"):
        async with running_engine(tmp_path / "bad", proxy_upstream="ftp://example/"):
            pass


async def test_step_mode_holds_each_acs_request_and_only_send_passes_it(
    tmp_path: Path,
) -> None:
    import asyncio

    from acs_engine.bus import EngineNotice
    from acs_engine.session.step import StepPending, StepResolved, install_step_gate

    async with running_engine(tmp_path / "up", provisioning=True) as upstream, \
            running_engine(tmp_path / "px", proxy_upstream=upstream.cwmp_urls()[-1]) as proxy:
        gate = install_step_gate(proxy)
        base = load_model("tr181")
        device_id = make_device_id(base.oui, base.product_class, "STEP0001")
        gate.enable(device_id)
        held: list[StepPending] = []
        resolved: list[StepResolved] = []
        notices: list[str] = []
        proxy.bus.subscribe(held.append, StepPending)
        proxy.bus.subscribe(resolved.append, StepResolved)
        proxy.bus.subscribe(lambda e: notices.append(e.message), EngineNotice)
        seen: list[WireMessage] = []
        proxy.bus.subscribe(seen.append, WireMessage)
        session = asyncio.ensure_future(
            SimCpe(SimDevice(base, "STEP0001"), proxy.cwmp_urls()[-1]).session())

        async def next_hold(count: int) -> StepPending:
            for _ in range(500):
                if len(held) >= count:
                    return held[count - 1]
                await asyncio.sleep(0.01)
            raise AssertionError("no hold")

        first = await next_hold(1)
        assert first.device_id == device_id and first.rpc is not None
        # Held: the CPE has not been sent the RPC yet (the proxy published only the request).
        assert seen[-1].direction == "in" and not session.done()
        gate.skip(device_id)  # refused in proxy mode: the hold goes on
        again = await next_hold(2)
        assert again.rpc == first.rpc and any("skip is off" in n for n in notices)
        gate.send(device_id)
        count = 2
        while not session.done():
            try:
                await asyncio.wait_for(asyncio.shield(session), 0.05)
            except TimeoutError:
                pass
            if len(held) > count:
                count = len(held)
                gate.send(device_id)
        result = session.result()
        assert result.ok, result.error
        assert held[-1].rpc is None  # the session's end was held too
        assert [r.action for r in resolved] == ["send"] * len(resolved)
        assert len(resolved) == len(held) - 1  # the refused skip re-published one hold
