"""Read a pcap/pcapng capture and reassemble its TCP connections (both directions).

Packets are read with dpkt (pcap and pcapng; Ethernet, Linux cooked SLL/SLL2, BSD loopback
and raw IP link types; IPv4 and IPv6). Each direction of a connection is rebuilt from its
sequence numbers, not from the order packets were captured in: retransmissions and
keep-alive probes (data already received) are dropped, out-of-order segments are put back in
place, and overlapping segments keep the bytes that arrived first. A hole that is never filled
ends the direction there (reported in ``gaps``). Sequence numbers wrap at 2**32.

Limits keep a forged capture from exhausting memory or time: :data:`MAX_FILE_BYTES`,
:data:`MAX_CONNECTIONS` and :data:`MAX_STREAM_BYTES` per direction (beyond, the rest is
dropped and said so). Reassembly sorts each direction's segments once (n log n).
"""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from struct import error as struct_error

import dpkt

#: A capture larger than this is refused.
MAX_FILE_BYTES = 512 * 1024 * 1024
#: TCP connections followed at most (the rest are counted, not kept).
MAX_CONNECTIONS = 20_000
#: Bytes kept per direction of a connection.
MAX_STREAM_BYTES = 64 * 1024 * 1024
#: Segments kept per direction (a flood of tiny segments stops here).
MAX_SEGMENTS = 1_000_000

_LINKTYPES = {1: "ethernet", 0: "null", 108: "loop", 113: "sll", 276: "sll2", 101: "raw",
              12: "raw", 14: "raw", 228: "ipv4", 229: "ipv6"}


class CaptureError(ValueError):
    """A capture that cannot be read (not pcap/pcapng, truncated header, unknown link type)."""


Endpoint = tuple[str, int]


@dataclass(slots=True)
class Direction:
    """One direction of a TCP connection.

    Attributes:
        src, dst: the sender and receiver.
        isn: the initial sequence number (+1 after a SYN), None until known.
        segments: relative offset -> (bytes, capture time) as first received.
        fin: a FIN was seen.
        dropped: bytes dropped for the limits.
    """

    src: Endpoint
    dst: Endpoint
    isn: int | None = None
    syn: bool = False
    segments: dict[int, tuple[bytes, float]] = field(default_factory=dict)
    fin: bool = False
    dropped: int = 0
    first_time: float = 0.0


@dataclass(slots=True)
class Stream:
    """A direction's bytes in order, each run with the time it arrived.

    Attributes:
        data: the bytes up to the first hole.
        times: (offset, capture time) of each run of ``data``, ascending offsets.
        gap: bytes known to be missing after ``data`` (0 when none).
    """

    data: bytes
    times: list[tuple[int, float]]
    gap: int = 0

    def time_at(self, offset: int) -> float:
        """The capture time of the segment that delivered byte ``offset``."""
        lo, hi = 0, len(self.times) - 1
        best = self.times[0][1] if self.times else 0.0
        while lo <= hi:
            mid = (lo + hi) // 2
            if self.times[mid][0] <= offset:
                best = self.times[mid][1]
                lo = mid + 1
            else:
                hi = mid - 1
        return best


@dataclass(slots=True)
class Connection:
    """A TCP connection: its two directions, client first once known."""

    index: int
    a: Direction
    b: Direction
    first_time: float

    def client_first(self) -> tuple[Direction, Direction]:
        """(client -> server, server -> client): the SYN's sender, else the side whose data
        starts like an HTTP request or a TLS ClientHello, else the higher port."""
        if self.a.syn != self.b.syn:
            return (self.a, self.b) if self.a.syn else (self.b, self.a)
        for one, other in ((self.a, self.b), (self.b, self.a)):
            head = _head(one)
            if head[:5] in (b"POST ", b"GET /", b"PUT /", b"HEAD ") or head[:2] == b"\x16\x03":
                return one, other
        return (self.a, self.b) if self.a.src[1] > self.b.src[1] else (self.b, self.a)


def _head(direction: Direction) -> bytes:
    if not direction.segments:
        return b""
    return direction.segments[min(direction.segments)][0][:8]


def reassemble(direction: Direction) -> Stream:
    """Put a direction's segments in order: the bytes up to the first hole."""
    out = bytearray()
    times: list[tuple[int, float]] = []
    for offset in sorted(direction.segments):
        data, at = direction.segments[offset]
        end = offset + len(data)
        if end <= len(out):
            continue  # all of it already there (a retransmission)
        if offset > len(out):
            return Stream(bytes(out), times, gap=offset - len(out))
        times.append((len(out), at))
        out += data[len(out) - offset:]
    return Stream(bytes(out), times)


def _ip_of(link: str, frame: bytes) -> dpkt.Packet | None:
    try:
        if link == "ethernet":
            eth = dpkt.ethernet.Ethernet(frame)
            return eth.data if isinstance(eth.data, (dpkt.ip.IP, dpkt.ip6.IP6)) else None
        if link in ("null", "loop"):
            family = int.from_bytes(frame[:4], "little" if link == "null" else "big")
            if family not in (2, 24, 28, 30) and link == "null":
                family = int.from_bytes(frame[:4], "big")
            payload = frame[4:]
            return dpkt.ip.IP(payload) if family == 2 else dpkt.ip6.IP6(payload)
        if link == "sll":
            sll = dpkt.sll.SLL(frame)
            return sll.data if isinstance(sll.data, (dpkt.ip.IP, dpkt.ip6.IP6)) else None
        if link == "sll2":
            proto = int.from_bytes(frame[0:2], "big")
            payload = frame[20:]
            return dpkt.ip.IP(payload) if proto == 0x0800 else (
                dpkt.ip6.IP6(payload) if proto == 0x86DD else None)
        if link in ("raw", "ipv4", "ipv6"):
            version = frame[0] >> 4 if frame else 0
            return dpkt.ip.IP(frame) if version == 4 else (
                dpkt.ip6.IP6(frame) if version == 6 else None)
    except (dpkt.UnpackError, IndexError, ValueError):
        return None
    return None


def _address(ip: dpkt.Packet, attr: str) -> str:
    raw = getattr(ip, attr)
    family = socket.AF_INET if len(raw) == 4 else socket.AF_INET6
    return socket.inet_ntop(family, raw)


@dataclass(slots=True)
class Capture:
    """A capture's TCP connections, in the order they started.

    Attributes:
        connections: the connections kept.
        packets: packets read; tcp_packets: of them TCP.
        skipped_connections: connections beyond :data:`MAX_CONNECTIONS`.
        link: the link type's name.
    """

    connections: list[Connection]
    packets: int = 0
    tcp_packets: int = 0
    skipped_connections: int = 0
    link: str = ""


def _packets(data: bytes) -> tuple[str, Iterator[tuple[float, bytes]]]:
    fh = io.BytesIO(data)
    reader: dpkt.pcap.Reader | dpkt.pcapng.Reader
    pcapng = data[:4] == b"\x0a\x0d\x0d\x0a"
    try:
        reader = dpkt.pcapng.Reader(fh) if pcapng else dpkt.pcap.Reader(fh)
    except (ValueError, dpkt.UnpackError, dpkt.NeedData, EOFError, struct_error) as exc:
        raise CaptureError(f"not a pcap or pcapng capture: {exc}") from None
    link = _LINKTYPES.get(reader.datalink())
    if link is None:
        raise CaptureError(f"unsupported link type {reader.datalink()} (Ethernet, Linux "
                           "cooked, loopback and raw IP captures are read)")

    def iterate() -> Iterator[tuple[float, bytes]]:
        try:
            yield from reader
        except (ValueError, dpkt.UnpackError, dpkt.NeedData, EOFError, struct_error):
            return  # a truncated last record: keep what came before

    return link, iterate()


def read_capture(path: Path) -> Capture:
    """Read ``path`` and sort its TCP segments into connections.

    Raises:
        CaptureError: not a capture, an unsupported link type, or too large.
    """
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise CaptureError(f"{size:,} bytes: more than the {MAX_FILE_BYTES:,} read at most")
    return parse_capture(path.read_bytes())


def parse_capture(data: bytes) -> Capture:
    """Like :func:`read_capture`, from the capture's bytes."""
    link, packets = _packets(data)
    capture = Capture(connections=[], link=link)
    by_key: dict[tuple[Endpoint, Endpoint], Direction] = {}
    for at, frame in packets:
        capture.packets += 1
        ip = _ip_of(link, frame)
        if ip is None or not isinstance(ip.data, dpkt.tcp.TCP):
            continue
        tcp = ip.data
        capture.tcp_packets += 1
        src = (_address(ip, "src"), tcp.sport)
        dst = (_address(ip, "dst"), tcp.dport)
        direction = by_key.get((src, dst))
        if direction is None or (tcp.flags & dpkt.tcp.TH_SYN and direction.fin):
            if len(capture.connections) >= MAX_CONNECTIONS:
                capture.skipped_connections += 1
                continue
            there = Direction(src, dst, first_time=at)
            back = Direction(dst, src, first_time=at)
            by_key[(src, dst)] = there
            by_key[(dst, src)] = back
            capture.connections.append(
                Connection(len(capture.connections), there, back, float(at)))
            direction = there
        _add_segment(direction, tcp, float(at))
    return capture


def _add_segment(direction: Direction, tcp: dpkt.tcp.TCP, at: float) -> None:
    seq = tcp.seq
    if tcp.flags & dpkt.tcp.TH_SYN:
        direction.syn = not (tcp.flags & dpkt.tcp.TH_ACK) or direction.syn
        direction.isn = (seq + 1) & 0xFFFFFFFF
        return
    if tcp.flags & dpkt.tcp.TH_FIN:
        direction.fin = True
    payload = bytes(tcp.data)
    if not payload:
        return
    if direction.isn is None:
        direction.isn = seq
    offset = (seq - direction.isn) & 0xFFFFFFFF
    if offset >= 0x80000000:  # before the start we know of (a late retransmission)
        return
    if offset in direction.segments and len(direction.segments[offset][0]) >= len(payload):
        return  # the same segment again
    if offset + len(payload) > MAX_STREAM_BYTES or len(direction.segments) >= MAX_SEGMENTS:
        direction.dropped += len(payload)
        return
    old = direction.segments.get(offset)
    if old is not None:
        payload = old[0] + payload[len(old[0]):]  # the first bytes received win
        at = old[1]
    direction.segments[offset] = (payload, at)
