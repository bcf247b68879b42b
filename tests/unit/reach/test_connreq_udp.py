"""UDP connection requests (TR-111 Annex G) received on a real 127.0.0.1 socket."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import parse_qs, urlsplit

from acs_engine.reach.connreq import (
    ConnReqTarget,
    build_udp_request,
    send_connection_request,
    send_udp_connection_request,
    verify_udp_request,
)

_LINE = re.compile(
    r"GET http://127\.0\.0\.1:(\d+)\?ts=(\d+)&id=(\d+)&un=([^&]*)&cn=([0-9a-f]{16})"
    r"&sig=([0-9a-f]{40}) HTTP/1\.1\r\nHost: 127\.0\.0\.1:\1\r\n\r\n"
)


class _Inbox(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[tuple[bytes, tuple[str, int]]] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.queue.put_nowait((data, addr))


@asynccontextmanager
async def udp_listener() -> AsyncIterator[tuple[str, _Inbox]]:
    loop = asyncio.get_running_loop()
    transport, inbox = await loop.create_datagram_endpoint(
        _Inbox, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    try:
        yield f"127.0.0.1:{port}", inbox
    finally:
        transport.close()


async def _receive(inbox: _Inbox, count: int) -> list[tuple[bytes, tuple[str, int]]]:
    return [await asyncio.wait_for(inbox.queue.get(), 2.0) for _ in range(count)]


async def test_three_identical_signed_datagrams() -> None:
    async with udp_listener() as (address, inbox):
        before = int(time.time())
        result = await send_udp_connection_request(address, "cpe-user", "k3y")
        got = await _receive(inbox, 3)
        await asyncio.sleep(0.05)
        assert inbox.queue.empty()
    assert (result.ok, result.outcome, result.via, result.status) == (True, "sent", "udp", None)
    datagrams = [d for d, _ in got]
    assert datagrams[0] == datagrams[1] == datagrams[2]
    match = _LINE.fullmatch(datagrams[0].decode("ascii"))
    assert match is not None, datagrams[0]
    port, ts, msg_id, un, cn, sig = match.groups()
    assert f"127.0.0.1:{port}" == address and un == "cpe-user"
    assert before <= int(ts) <= time.time() and 0 <= int(msg_id) < 2**32
    # the signature, computed here independently
    want = hmac.new(b"k3y", f"{ts}{msg_id}{un}{cn}".encode(), hashlib.sha1).hexdigest()
    assert sig == want
    # what a CPE does: first copy accepted, repeats dropped, wrong key / user refused
    seen: set[int] = set()
    now = time.time()
    assert not verify_udp_request(datagrams[0], "cpe-user", "wrong", now=now, seen_ids=seen)
    assert not verify_udp_request(datagrams[0], "other", "k3y", now=now, seen_ids=seen)
    assert verify_udp_request(datagrams[0], "cpe-user", "k3y", now=now, seen_ids=seen)
    assert seen == {int(msg_id)}
    assert not verify_udp_request(datagrams[1], "cpe-user", "k3y", now=now, seen_ids=seen)


async def test_source_port_is_used() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        source = probe.getsockname()[1]
    async with udp_listener() as (address, inbox):
        result = await send_udp_connection_request(address, "u", "p", repeats=1,
                                                   source_port=source)
        (_, sender), = await _receive(inbox, 1)
    assert result.ok and sender[1] == source


def test_verify_rejects_stale_future_and_malformed() -> None:
    base = dict(ts=1_700_000_000, msg_id=42, cnonce="0123456789abcdef")
    datagram = build_udp_request("127.0.0.1:9", "u", "p", **base)  # type: ignore[arg-type]
    now = 1_700_000_000.0
    assert verify_udp_request(datagram, "u", "p", now=now + 59, seen_ids=set())
    assert not verify_udp_request(datagram, "u", "p", now=now + 61, seen_ids=set())
    assert not verify_udp_request(datagram, "u", "p", now=now - 61, seen_ids=set())
    assert verify_udp_request(datagram, "u", "p", now=now + 100, max_age_s=120, seen_ids=set())
    tampered = datagram.replace(b"id=42", b"id=43")
    assert not verify_udp_request(tampered, "u", "p", now=now, seen_ids=set())
    for junk in (b"", b"\xff\xfe", b"POST " + datagram[4:], b"GET http://h?ts=1 HTTP/1.1\r\n\r\n",
                 datagram.replace(b"&sig=", b"&ts=1&sig=")):
        assert not verify_udp_request(junk, "u", "p", now=now, seen_ids=set())


def test_odd_user_name_is_escaped_but_signed_raw() -> None:
    datagram = build_udp_request("127.0.0.1:9", "a&b=c d", "p", ts=10, msg_id=1,
                                 cnonce="00000000000000ff")
    query = urlsplit(datagram.decode().split(" ")[1]).query
    assert parse_qs(query)["un"] == ["a&b=c d"]
    assert verify_udp_request(datagram, "a&b=c d", "p", now=10, seen_ids=set())


async def test_bad_udp_address() -> None:
    for address in ("127.0.0.1", "127.0.0.1:0", "[::1]", "host:port"):
        result = await send_udp_connection_request(address, "u", "p")
        assert result.outcome == "bad_url" and result.via == "udp", address


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_udp_success_takes_precedence_over_http_failure() -> None:
    async with udp_listener() as (address, inbox):
        target = ConnReqTarget(f"http://127.0.0.1:{_closed_port()}/cr", "u", "p",
                               udp_address=address, stun_enabled=True)
        result = await send_connection_request(target, credentials=[("u", "p"), ("v", "q")])
        got = await _receive(inbox, 6)  # three per credential pair
    assert (result.ok, result.outcome, result.via) == (True, "sent", "udp")
    assert "offline" in result.message  # the HTTP failure is still explained
    assert len({d for d, _ in got}) == 2
    seen: set[int] = set()
    assert sum(verify_udp_request(d, "v", "q", now=time.time(), seen_ids=seen)
               for d, _ in got) == 1


async def test_no_udp_without_stun() -> None:
    async with udp_listener() as (address, inbox):
        target = ConnReqTarget(f"http://127.0.0.1:{_closed_port()}/cr", "u", "p",
                               udp_address=address, stun_enabled=False)
        result = await send_connection_request(target)
        await asyncio.sleep(0.05)
        assert inbox.queue.empty()
    assert (result.outcome, result.via) == ("offline", "http")
