"""Capture import on captures made here with tcpdump (tests/data/captures/make_captures.py)
and on forged ones: reassembly, HTTP, grouping into sessions, HTTPS refused plainly."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import dpkt
import pytest

from acs_engine.inspect import sessionfile
from acs_engine.inspect.capture import CaptureError, import_capture, sessions_of
from acs_engine.inspect.lint import Severity, lint_session
from acs_engine.inspect.tcpstream import parse_capture

DATA = Path(__file__).resolve().parents[2] / "data" / "captures"
ACS, CPE = ("127.0.0.1", 7547), ("127.0.0.2", 40000)


def shape(session: sessionfile.SessionFile) -> list[tuple[str, str, int | None]]:
    return [(m.direction, m.rpc, m.status) for m in session.messages]


BOOTSTRAP = [("in", "Inform", None), ("out", "InformResponse", 200), ("in", "", None),
             ("out", "GetParameterNames", 200), ("in", "GetParameterNamesResponse", None),
             ("out", "GetParameterNames", 200), ("in", "GetParameterNamesResponse", None),
             ("out", "GetParameterValues", 200), ("in", "GetParameterValuesResponse", None),
             ("out", "SetParameterValues", 200), ("in", "SetParameterValuesResponse", None),
             ("out", "", 204)]


def test_two_simulated_bootstraps_grouped_by_cookie() -> None:
    # The simulator opens a connection per POST: only the cookie ties a session together.
    result = import_capture(DATA / "sim-http.pcap")
    assert result.notes == [] and result.tls_connections == 0
    assert sorted(s.device_id for s in result.sessions) == [
        "F1E1D0-SimGW%2D181-CAPHTTP000001", "F1E1D0-SimGW%2D181-CAPHTTP000002"]
    for session in result.sessions:
        assert shape(session) == BOOTSTRAP
        assert session.events == ("0 BOOTSTRAP", "1 BOOT") and session.cwmp_version == "1.0"
        assert session.outcome == "ok" and session.source == "capture"
        assert [m.at for m in session.messages] == sorted(m.at for m in session.messages)
        assert not [f for f in lint_session(session) if f.severity is Severity.ERROR]


def test_reordered_retransmitted_and_probed_segments_give_the_same_sessions() -> None:
    plain = {s.device_id: s for s in import_capture(DATA / "sim-http.pcap").sessions}
    shuffled = import_capture(DATA / "sim-reordered.pcap")
    assert shuffled.notes == []
    assert {s.device_id for s in shuffled.sessions} == set(plain)
    for session in shuffled.sessions:
        original = plain[session.device_id]
        assert [(m.direction, m.rpc, m.status, m.headers, m.body) for m in session.messages] \
            == [(m.direction, m.rpc, m.status, m.headers, m.body) for m in original.messages]


def test_digest_challenge_stays_in_its_session_pcapng() -> None:
    result = import_capture(DATA / "sim-digest.pcapng")
    [session] = result.sessions
    assert shape(session)[:4] == [("in", "Inform", None), ("out", "", 401),
                                  ("in", "Inform", None), ("out", "InformResponse", 200)]
    assert session.messages[1].header("WWW-Authenticate").startswith("Digest")  # type: ignore[union-attr]
    assert session.messages[2].header("Authorization").startswith("Digest")  # type: ignore[union-attr]
    assert shape(session)[-1] == ("out", "", 204)
    saved = sessionfile.loads(sessionfile.dumps(session))
    auth = saved.messages[2].header("Authorization")
    assert auth is not None and 'response="********"' in auth and 'username="cpe"' in auth
    assert not [f for f in lint_session(saved) if f.severity is Severity.ERROR]


def test_gzip_and_chunked_posts_on_one_kept_alive_connection() -> None:
    [session] = import_capture(DATA / "gzip-chunked.pcap").sessions
    assert shape(session) == BOOTSTRAP
    posts = [m for m in session.messages if m.direction == "in" and m.body]
    assert posts and all(m.body.startswith(b"<?xml") for m in posts)
    assert all(m.header("Content-Encoding") == "gzip" for m in posts)
    assert all(m.header("Transfer-Encoding") == "chunked" for m in posts)


def test_https_is_said_plainly_and_nothing_is_guessed() -> None:
    result = import_capture(DATA / "sim-https.pcap")
    assert result.sessions == [] and result.tls_connections == 1
    assert "cannot be decrypted" in result.notes[0]


# ----------------------------------------------------------------------------- forged
def pcap(packets: list[tuple[tuple[str, int], tuple[str, int], int, bytes, int]]) -> bytes:
    """A pcap of TCP segments: (src, dst, seq, payload, flags)."""
    import socket

    out = io.BytesIO()
    writer = dpkt.pcap.Writer(out, linktype=dpkt.pcap.DLT_EN10MB)
    for n, (src, dst, seq, payload, flags) in enumerate(packets):
        tcp = dpkt.tcp.TCP(sport=src[1], dport=dst[1], seq=seq, flags=flags, data=payload)
        ip = dpkt.ip.IP(src=socket.inet_aton(src[0]), dst=socket.inet_aton(dst[0]),
                        p=dpkt.ip.IP_PROTO_TCP, data=tcp)
        ip.len = len(bytes(ip))
        eth = dpkt.ethernet.Ethernet(type=dpkt.ethernet.ETH_TYPE_IP, data=ip)
        writer.writepkt(bytes(eth), 1765087200.0 + n * 0.001)
    return out.getvalue()


SYN, ACK, PSH = dpkt.tcp.TH_SYN, dpkt.tcp.TH_ACK, dpkt.tcp.TH_PUSH
INFORM = (DATA / "sim-http.pcap").read_bytes()  # any bytes: only the HTTP framing matters
POST = b"POST / HTTP/1.1\r\nHost: acs\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n"


def exchange(request_body: bytes, response: bytes, *, cpe_isn: int = 1000,
             acs_isn: int = 5000) -> list[tuple]:
    request = POST % len(request_body) + request_body
    return [(CPE, ACS, cpe_isn - 1, b"", SYN), (ACS, CPE, acs_isn - 1, b"", SYN | ACK),
            (CPE, ACS, cpe_isn, request, PSH | ACK), (ACS, CPE, acs_isn, response, PSH | ACK)]


def test_not_a_capture_is_refused() -> None:
    for data in (b"", b"hello world, not a capture", b"\xd4\xc3\xb2\xa1"):
        with pytest.raises(CaptureError):
            parse_capture(data)


def test_truncated_capture_keeps_what_came_before() -> None:
    data = (DATA / "sim-http.pcap").read_bytes()
    for cut in (len(data) // 3, len(data) // 2, len(data) - 7):
        result = sessions_of(parse_capture(data[:cut]))  # never raises
        assert all(s.source == "capture" for s in result.sessions)


def test_a_hole_in_the_stream_is_reported_and_stops_there() -> None:
    body = b"<x/>"
    packets = exchange(body, b"HTTP/1.1 204 No Content\r\n\r\n")
    request = packets[2][3]
    packets[2] = (CPE, ACS, 1000 + 10, request[10:], PSH | ACK)  # the first 10 bytes lost
    result = sessions_of(parse_capture(pcap(packets)))
    assert result.sessions == [] or all(not s.messages for s in result.sessions)
    assert any("10 bytes of the requests missing" in n for n in result.notes)


def test_sequence_numbers_wrap_around() -> None:
    body = b"<soap:Envelope/>"
    request = POST % len(body) + body
    isn = 0xFFFFFFF0  # the request crosses 2**32
    packets = exchange(body, b"HTTP/1.1 204 No Content\r\n\r\n", cpe_isn=isn)
    packets[2] = (CPE, ACS, isn, request[:20], PSH | ACK)
    packets.insert(3, (CPE, ACS, (isn + 20) & 0xFFFFFFFF, request[20:], PSH | ACK))
    [session] = sessions_of(parse_capture(pcap(packets))).sessions
    assert session.messages[0].body == body and session.messages[1].status == 204


def test_gzip_bomb_and_huge_lengths_are_cut_not_trusted() -> None:
    bomb = gzip.compress(b"\0" * (40 * 1024 * 1024))
    request = (b"POST / HTTP/1.1\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n"
               % len(bomb)) + bomb
    packets = [(CPE, ACS, 999, b"", SYN), (ACS, CPE, 4999, b"", SYN | ACK)]
    for i in range(0, len(request), 60000):
        packets.append((CPE, ACS, 1000 + i, request[i:i + 60000], PSH | ACK))
    packets.append((ACS, CPE, 5000, b"HTTP/1.1 204 No Content\r\n\r\n", PSH | ACK))
    [session] = sessions_of(parse_capture(pcap(packets))).sessions
    assert len(session.messages[0].body) == 16 * 1024 * 1024
    lying = exchange(b"", b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999\r\n\r\nabc")
    result = sessions_of(parse_capture(pcap(lying)))
    assert any("Content-Length" in n for n in result.notes)


def test_many_overlapping_tiny_segments_reassemble_once() -> None:
    body = b"<soap:Envelope>" + b"a" * 3000 + b"</soap:Envelope>"
    request = POST % len(body) + body
    packets = [(CPE, ACS, 999, b"", SYN), (ACS, CPE, 4999, b"", SYN | ACK)]
    # Every byte sent three times, in overlapping 3-byte segments, last ones first.
    for i in reversed(range(len(request))):
        packets.append((CPE, ACS, 1000 + i, request[i:i + 3], PSH | ACK))
    packets.append((ACS, CPE, 5000, b"HTTP/1.1 204 No Content\r\n\r\n", PSH | ACK))
    [session] = sessions_of(parse_capture(pcap(packets))).sessions
    assert session.messages[0].body == body


def test_stream_limit_drops_and_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from acs_engine.inspect import tcpstream

    monkeypatch.setattr(tcpstream, "MAX_STREAM_BYTES", 100)
    body = b"x" * 200
    result = sessions_of(parse_capture(pcap(exchange(body, b"HTTP/1.1 204 No Content\r\n\r\n"))))
    assert any("beyond the import limits dropped" in n for n in result.notes)
