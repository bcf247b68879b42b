"""10,000 malformed and mutated SOAP bodies against a live engine.

The bodies are mutations of valid envelopes made by the codec (bit flips, cuts, splices,
duplicated and deleted slices, foreign fragments, swapped method names), truncations, random
bytes, deep nesting, huge attributes and texts, entity bombs, compressed bombs and lying
headers, sent by 16 concurrent clients over keep-alive connections. Valid sessions run in
between and must complete. Afterwards: no session left open, no lock held, nothing in flight,
and the engine's memory has not grown beyond a generous bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import gzip
import random
import time
import zlib
from collections import Counter
from pathlib import Path

from acs_engine.cwmp import codec, rpc
from acs_engine.cwmp.envelope import NS_CWMP_1_2, Envelope
from tests.helpers.engine import RawCpe, inform, running_engine

TOTAL = 10_000
WORKERS = 16
SEED = 20261127
#: Statuses a hostile body may get; 500 (an internal error) is a failure.
ALLOWED = {200, 204, 400, 405, 413, 415, 503}
METHODS = [
    b"Inform", b"InformResponse", b"GetParameterValuesResponse", b"SetParameterValuesResponse",
    b"TransferComplete", b"GetRPCMethods", b"Fault", b"AddObjectResponse", b"Kicked",
    b"RequestDownload", b"AutonomousTransferComplete", b"GetParameterNamesResponse",
]
FRAGMENTS = [
    b"<", b">", b"</", b"/>", b"&", b"&amp;", b"&#0;", b"&#xD800;", b"&unknown;", b"<![CDATA[",
    b"]]>", b"<!--", b"-->", b"<?xml version='1.0'?>", b'<!DOCTYPE x [<!ENTITY a "b">]>',
    b"\x00", b"\xff\xfe", b"\xc3\x28", b"xmlns:cwmp=''", b'xsi:type="xsd:int"',
    b"<Body>", b"</Body>", b"<Header>", b"<cwmp:ID mustUnderstand='1'>x</cwmp:ID>",
    b"<ParameterValueStruct>", b"<Value>", b"<Name>", b"<Event>", b'arrayType="x[99999]"',
    b"<NoMoreRequests>1</NoMoreRequests>", b"<HoldRequests>1</HoldRequests>",
    b"<MaxEnvelopes>0</MaxEnvelopes>", b"<FaultCode>abc</FaultCode>", b"<DeviceId/>",
]


def _seeds() -> list[bytes]:
    params = tuple(
        rpc.ParameterValue(f"Device.X.{i}.Value", str(i), "xsd:unsignedInt") for i in range(5)
    )
    messages: list[rpc.Message] = [
        inform("FUZZSEED"),
        inform("FUZZSEED", events=("2 PERIODIC", "M Reboot")),
        rpc.GetParameterValuesResponse(parameters=params),
        rpc.SetParameterValuesResponse(status=0),
        rpc.GetRPCMethods(),
        rpc.GetParameterNamesResponse(parameters=(rpc.ParameterInfo("Device.X.", True),)),
        rpc.AddObjectResponse(instance_number=3),
        rpc.TransferComplete(command_key="k", fault=rpc.FaultStruct(0, ""),
                             start_time="2026-01-01T00:00:00Z",
                             complete_time="2026-01-01T00:00:01Z"),
    ]
    seeds = [codec.serialize(Envelope(m, cwmp_id=f"s{i}")) for i, m in enumerate(messages)]
    seeds.append(codec.serialize(Envelope(inform("FUZZSEED2"), cwmp_id="v", namespace=NS_CWMP_1_2)))
    return seeds


def _mutate(rng: random.Random, seed: bytes) -> bytes:
    body = bytearray(seed)
    for _ in range(rng.randint(1, 4)):
        kind = rng.randrange(8)
        pos = rng.randrange(len(body) + 1)
        if kind == 0 and body:  # flip bits
            i = rng.randrange(len(body))
            body[i] ^= 1 << rng.randrange(8)
        elif kind == 1:  # cut
            del body[pos:]
        elif kind == 2 and body:  # delete a slice
            del body[pos : pos + rng.randint(1, 64)]
        elif kind == 3:  # duplicate a slice
            body[pos:pos] = body[pos : pos + rng.randint(1, 200)]
        elif kind == 4:  # foreign fragment
            body[pos:pos] = rng.choice(FRAGMENTS)
        elif kind == 5:  # swap a method name
            old, new = rng.choice(METHODS), rng.choice(METHODS)
            body = bytearray(bytes(body).replace(old, new, 1))
        elif kind == 6:  # random bytes inside
            body[pos:pos] = rng.randbytes(rng.randint(1, 32))
        else:  # splice with another seed's tail
            body = body[:pos] + bytearray(rng.choice(_SEEDS)[pos:])
    return bytes(body)


def _deep(rng: random.Random) -> bytes:
    depth = rng.choice([100, 1_000, 10_000, 100_000])
    tag = rng.choice([b"a", b"Value", b"cwmp:Inform"])
    inner = b"<" + tag + b">" if rng.random() < 0.5 else b"<" + tag + b" x='1'>"
    return b"<Envelope><Body>" + inner * depth + b"</" + tag + b">" * depth + b"</Body></Envelope>"


def _huge(rng: random.Random) -> bytes:
    size = rng.choice([10_000, 200_000, 1_000_000, 3_000_000])
    if rng.random() < 0.5:
        return b'<Envelope a="' + b"A" * size + b'"><Body><GetRPCMethods/></Body></Envelope>'
    seed = _SEEDS[2]
    return seed.replace(b">0<", b">" + b"9" * size + b"<", 1)


def _many(rng: random.Random) -> bytes:
    count = rng.choice([1_000, 5_000])
    structs = b"".join(
        b"<ParameterValueStruct><Name>Device.N.%d</Name><Value>%d</Value></ParameterValueStruct>"
        % (i, i) for i in range(count)
    )
    return (b"<Envelope><Body><GetParameterValuesResponse><ParameterList arrayType='x[1]'>"
            + structs + b"</ParameterList></GetParameterValuesResponse></Body></Envelope>")


BILLION_LAUGHS = (
    b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
    + b"".join(
        b'<!ENTITY %s "%s">' % (bytes([98 + i]), (b"&" + bytes([97 + i]) + b";") * 10)
        for i in range(8)
    )
    + b"]><Envelope><Body><Kicked><Command>&i;</Command></Kicked></Body></Envelope>"
)
_SEEDS = _seeds()
#: 16 MB of zeros in about 16 KB: four times the body limit once inflated.
GZIP_BOMB = gzip.compress(b"\0" * 16_000_000, 9)


def _case(rng: random.Random, n: int) -> tuple[bytes, dict[str, str]]:
    """The n-th hostile request: (body, extra headers)."""
    roll = rng.random()
    headers: dict[str, str] = {}
    if roll < 0.70:
        body = _mutate(rng, rng.choice(_SEEDS))
    elif roll < 0.78:
        seed = rng.choice(_SEEDS)
        body = seed[: rng.randrange(len(seed))]
    elif roll < 0.84:
        body = rng.randbytes(rng.randint(0, 4096))
    elif roll < 0.87:
        body = _deep(rng)
    elif roll < 0.89:
        body = _huge(rng)
    elif roll < 0.90:
        body = _many(rng)
    elif roll < 0.91:
        body = BILLION_LAUGHS
    elif roll < 0.94:  # compression: garbage, bombs, mislabelled
        choice = rng.randrange(4)
        if choice == 0:
            body, headers["Content-Encoding"] = rng.randbytes(200), "gzip"
        elif choice == 1:
            body, headers["Content-Encoding"] = GZIP_BOMB, "gzip"
        elif choice == 2:
            body = zlib.compress(_mutate(rng, rng.choice(_SEEDS)))
            headers["Content-Encoding"] = "deflate"
        else:
            body, headers["Content-Encoding"] = rng.choice(_SEEDS), rng.choice(["br", "x-bogus"])
    elif roll < 0.97:  # lying or odd headers
        body = rng.choice(_SEEDS)
        headers["Content-Type"] = rng.choice([
            "text/xml; charset=ebcdic-xx", "text/xml; charset=utf-16", "text/plain",
            "application/octet-stream; charset=latin-1", "text/xml; charset=\"",
        ])
        if rng.random() < 0.5:
            headers["Cookie"] = rng.choice(
                ["session=", "session=zzzz; session=1", "session=\"abc", ",,;;=", "a" * 4000]
            )
    else:
        body = b""
        headers["Cookie"] = f"session={rng.randbytes(8).hex()}"
    return body, headers


class RawHttp:
    """A bare HTTP/1.1 client on one keep-alive connection (much lighter than aiohttp's, so
    the engine, not the client, is what the run measures)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(ConnectionError):
                await self.writer.wait_closed()
        self.reader = self.writer = None

    async def post(self, body: bytes, headers: dict[str, str]) -> int:
        """POST ``body``; returns the status (-1 when the server dropped the connection)."""
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None and self.writer is not None
        head = ["POST / HTTP/1.1", f"Host: 127.0.0.1:{self.port}",
                f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        try:
            self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
            await self.writer.drain()
            status_line = await self.reader.readline()
            if not status_line:
                await self.close()
                return -1
            status = int(status_line.split()[1])
            length, close = 0, False
            while True:
                line = await self.reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
                elif name.strip().lower() == "connection" and "close" in value.lower():
                    close = True
            await self.reader.readexactly(length)
        except (ConnectionError, asyncio.IncompleteReadError):
            await self.close()
            return -1
        if close:
            await self.close()
        return status


def _rss_kb() -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS in /proc/self/status")


async def _valid_session(url: str, serial: str, engine_manual: object) -> None:
    queue = engine_manual
    device = f"F1E1D0-TestGW-{serial}"
    queue.put(device, rpc.GetParameterValues(names=("Device.DeviceInfo.",)))  # type: ignore[attr-defined]
    async with RawCpe(url) as cpe:
        status, reply, _ = await cpe.send(inform(serial))
        assert status == 200, status
        assert reply is not None and isinstance(reply.message, rpc.InformResponse)
        status, reply, _ = await cpe.send(None)
        assert status == 200 and reply is not None
        assert isinstance(reply.message, rpc.GetParameterValues)
        status, _, _ = await cpe.send(
            rpc.GetParameterValuesResponse(
                parameters=(rpc.ParameterValue("Device.DeviceInfo.UpTime", "1", "xsd:unsignedInt"),)
            ),
            cwmp_id=reply.cwmp_id,
        )
        assert status == 204, status


async def test_ten_thousand_hostile_bodies_against_a_live_engine(tmp_path: Path) -> None:
    started = time.monotonic()
    async with running_engine(tmp_path, session_timeout_ms=2000, fs_enabled=False) as engine:
        assert engine.cwmp is not None
        url = engine.cwmp_urls()[-1]
        port = engine.cwmp_port
        statuses: Counter[int] = Counter()
        counter = iter(range(TOTAL))
        valid_done = 0

        async def worker(index: int) -> None:
            rng = random.Random(SEED + index)
            http = RawHttp(port)
            try:
                for n in counter:
                    body, headers = _case(rng, n)
                    statuses[await http.post(body, headers)] += 1
            finally:
                await http.close()

        async def valid_sessions() -> None:
            nonlocal valid_done
            i = 0
            while sum(statuses.values()) < TOTAL - 200:
                await _valid_session(url, f"VALID{i:04d}", engine.manual)
                valid_done += 1
                i += 1
                await asyncio.sleep(0.05)

        # warm-up: a first slice of hostile traffic, then measure the baseline
        warm_rng = random.Random(SEED - 1)
        warm = RawHttp(port)
        for n in range(300):
            body, headers = _case(warm_rng, n)
            await warm.post(body, headers)
        await warm.close()
        gc.collect()
        rss_before = _rss_kb()

        await asyncio.gather(valid_sessions(), *(worker(i) for i in range(WORKERS)))

        assert sum(statuses.values()) == TOTAL
        assert set(statuses) <= ALLOWED | {-1}, statuses
        assert statuses[400] > TOTAL // 2  # most of it really was refused as malformed
        assert valid_done >= 5

        # Nothing left behind: sessions time out (2 s), no lock held, nothing in flight.
        deadline = time.monotonic() + 8
        while engine.active_session_count() and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        cwmp = engine.cwmp
        assert engine.active_session_count() == 0
        assert cwmp._locks == {} and cwmp._by_device == {} and cwmp._by_transport == {}
        assert cwmp.new_in_flight == 0
        await _valid_session(url, "VALIDLAST", engine.manual)  # and it still works
        assert engine.store is not None
        assert await engine.store.integrity_check() == "ok"

        gc.collect()
        growth_mb = (_rss_kb() - rss_before) / 1024
        print(f"\nfuzz: {TOTAL} bodies, statuses {dict(statuses)}, {valid_done} valid sessions, "
              f"RSS growth {growth_mb:.1f} MB, {time.monotonic() - started:.1f} s")
        assert growth_mb < 50
