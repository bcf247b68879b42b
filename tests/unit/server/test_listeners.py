"""listeners.swap: keep, open before close, close first on a shared port, put back on failure.

Also the engine's listener helpers kept there: wanted_listeners, bind_message, local_addresses.
"""

from __future__ import annotations

import errno
import ssl
from pathlib import Path

import pytest

from acs_engine.config import EngineConfig
from acs_engine.server.listeners import (
    Listener,
    ListenerError,
    ListenerSpec,
    bind_message,
    local_addresses,
    swap,
    wanted_listeners,
)
from acs_engine.server.tls import TlsSetup


class FakeNet:
    """Ports that are open, and which binds fail."""

    def __init__(self, refuse: set[int] | None = None) -> None:
        self.open: dict[int, str] = {}
        self.log: list[str] = []
        self.refuse = refuse or set()
        self.refuse_for: set[str] = set()  # "name:port"

    async def open_listener(self, spec: ListenerSpec) -> Listener:
        if (spec.port in self.refuse or spec.port in self.open
                or f"{spec.name}:{spec.port}" in self.refuse_for):
            self.log.append(f"fail {spec.name}:{spec.port}")
            raise OSError(errno.EADDRINUSE, "Address already in use")
        self.open[spec.port] = spec.name
        self.log.append(f"open {spec.name}:{spec.port}")

        async def close() -> None:
            self.log.append(f"close {spec.name}:{spec.port}")
            del self.open[spec.port]

        return Listener(spec, spec.port, close)


async def _start(net: FakeNet, specs: dict[str, ListenerSpec]) -> dict[str, Listener]:
    return {n: await net.open_listener(s) for n, s in specs.items()}


async def test_unchanged_listeners_are_kept_and_new_ones_open_before_old_ones_close() -> None:
    net = FakeNet()
    before = {"cwmp": ListenerSpec("cwmp", "h", 1), "fs": ListenerSpec("fs", "h", 2)}
    current = await _start(net, before)
    net.log.clear()
    after = await swap(current, {**before, "cwmp": ListenerSpec("cwmp", "h", 3)},
                       net.open_listener)
    assert after["fs"] is current["fs"]
    assert net.log == ["open cwmp:3", "close cwmp:1"]
    assert net.open == {2: "fs", 3: "cwmp"}


async def test_ports_swapped_close_the_holder_first() -> None:
    net = FakeNet()
    current = await _start(net, {"a": ListenerSpec("a", "h", 1), "b": ListenerSpec("b", "h", 2)})
    await swap(current, {"a": ListenerSpec("a", "h", 2), "b": ListenerSpec("b", "h", 1)},
               net.open_listener)
    assert net.open == {2: "a", 1: "b"}


async def test_a_failure_after_closing_reopens_the_old_listener_on_its_port() -> None:
    net = FakeNet()
    current = await _start(net, {"a": ListenerSpec("a", "h", 1), "b": ListenerSpec("b", "h", 2)})
    net.log.clear()
    net.refuse = {9}
    wanted = {"a": ListenerSpec("a", "h", 2), "b": ListenerSpec("b", "h", 9)}
    with pytest.raises(ListenerError) as caught:
        await swap(current, wanted, net.open_listener)
    assert caught.value.spec.name == "b" and caught.value.lost == []
    assert net.open == {1: "a", 2: "b"}
    assert net.log == ["fail b:9", ]  # b was tried first (its port is not held): nothing moved
    net.log.clear()
    # Now the held port is the one that fails (another program took it meanwhile).
    net.refuse = {2}
    wanted = {"a": ListenerSpec("a", "h", 2)}
    with pytest.raises(ListenerError) as caught:
        await swap(current, wanted, net.open_listener)
    assert net.log == ["close b:2", "fail a:2", "fail b:2"]
    assert caught.value.lost == ["b"] and "could not be reopened" in str(caught.value)
    assert net.open == {1: "a"}
    await current["b"].close()  # closing a lost listener again is harmless


async def test_a_failure_after_closing_puts_the_old_listener_back() -> None:
    net = FakeNet()
    current = await _start(net, {"a": ListenerSpec("a", "h", 1), "b": ListenerSpec("b", "h", 2)})
    net.log.clear()
    net.refuse_for = {"a:2"}  # e.g. a's new address is not this computer's
    wanted = {"a": ListenerSpec("a", "other", 2), "b": ListenerSpec("b", "h", 3)}
    with pytest.raises(ListenerError) as caught:
        await swap(current, wanted, net.open_listener)
    assert caught.value.lost == []
    assert net.log == ["open b:3", "close b:2", "fail a:2", "close b:3", "open b:2"]
    assert net.open == {1: "a", 2: "b"}
    await current["b"].close()  # the reopened listener closes
    assert net.open == {1: "a"}


def _tls(fingerprint: str = "AB:CD") -> TlsSetup:
    return TlsSetup(Path("c.pem"), Path("k.pem"), fingerprint, True, ssl.create_default_context())


def test_wanted_listeners_follow_the_settings_and_the_certificate() -> None:
    config = EngineConfig(cwmp_tls_port=7548, fs_tls_port=7568, nbi_token="secret")
    plain = wanted_listeners(config, None)
    assert sorted(plain) == ["cwmp", "fs", "nbi"]  # no certificate: no HTTPS listeners
    assert plain["cwmp"] == ListenerSpec("cwmp", "0.0.0.0", 7547, "--cwmp-port")
    secure = wanted_listeners(config, _tls())
    assert sorted(secure) == ["cwmp", "cwmp_tls", "fs", "fs_tls", "nbi"]
    assert secure["cwmp_tls"].identity != wanted_listeners(config, _tls("EF:01"))["cwmp_tls"].identity
    other_token = wanted_listeners(config.replace(nbi_token="other"), None)
    assert other_token["nbi"] != plain["nbi"] and other_token["cwmp"] == plain["cwmp"]
    https_only = config.replace(cwmp_http_enabled=False, fs_enabled=False, nbi_enabled=False)
    assert sorted(wanted_listeners(https_only, _tls())) == ["cwmp_tls"]


def test_bind_message_says_why_in_plain_words() -> None:
    busy = OSError(errno.EADDRINUSE, "Address already in use")
    assert bind_message(busy, "0.0.0.0", 7547, "--cwmp-port") == (
        "Port 7547 is in use by another program. Close it, or choose another port (--cwmp-port)."
    )
    assert bind_message(busy, "0.0.0.0", 7547).endswith("choose another port.")
    assert "administrator" in bind_message(OSError(errno.EACCES, "denied"), "0.0.0.0", 80, "")
    assert bind_message(OSError(errno.EADDRNOTAVAIL, "x"), "10.9.9.9", 7547, "--cwmp-port") == (
        "The address 10.9.9.9 is not an address of this computer (--host)."
    )
    assert bind_message(OSError(errno.EIO, "I/O error"), "h", 1) == "Cannot listen on h:1: I/O error"


def test_local_addresses_end_with_loopback() -> None:
    found = local_addresses()
    assert found[-1] == "127.0.0.1" and "0.0.0.0" not in found
    assert not any(a.startswith("127.") for a in found[:-1])
