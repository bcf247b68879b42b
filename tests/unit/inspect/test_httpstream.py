"""HTTP/1.1 messages out of a reassembled byte stream."""

from __future__ import annotations

import zlib

from acs_engine.inspect.httpstream import MAX_BODY, parse_stream


def test_keep_alive_requests_with_lengths_chunks_and_bare_lf() -> None:
    stream = (b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
              b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2;x=y\r\nde\r\n1\r\nf\r\n"
              b"0\r\nTrailer: z\r\n\r\n"
              b"POST / HTTP/1.1\nContent-Length: 0\nX-Folded: one\n two\n\n")
    one, two, three = parse_stream(stream, responses=False)
    assert (one.method, one.body, one.headers[0]) == ("POST", b"abc", ("Host", "a"))
    assert two.body == b"def" and "chunked" in two.notes and two.complete
    assert three.body == b"" and three.header("x-folded") == "one two"
    assert three.end == len(stream)


def test_responses_without_body_and_to_the_end_of_the_connection() -> None:
    stream = (b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n"
              b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n\r\n<rest/>")
    cont, empty, last = parse_stream(stream, responses=True, closed=True)
    assert (cont.status, empty.status, last.status) == (100, 204, 200)
    assert empty.body == b"" and last.body == b"<rest/>" and last.complete
    [open_ended] = parse_stream(stream[-45:], responses=True, closed=False)
    assert not open_ended.complete


def test_deflate_raw_and_zlib_and_unknown_encodings() -> None:
    data = b"<x>" + b"y" * 100 + b"</x>"
    raw = zlib.compressobj(wbits=-15)
    raw_body = raw.compress(data) + raw.flush()
    for body in (zlib.compress(data), raw_body):
        head = b"POST / HTTP/1.1\r\nContent-Encoding: deflate\r\nContent-Length: %d\r\n\r\n"
        [message] = parse_stream(head % len(body) + body, responses=False)
        assert message.body == data
    head = b"POST / HTTP/1.1\r\nContent-Encoding: br\r\nContent-Length: 3\r\n\r\nabc"
    [message] = parse_stream(head, responses=False)
    assert message.body == b"abc" and "unknown Content-Encoding" in message.notes[0]


def test_garbage_truncation_and_oversized_things() -> None:
    [bad] = parse_stream(b"\x16\x03\x01 hello", responses=False)
    assert not bad.complete and bad.method == ""
    [cut] = parse_stream(b"POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc", responses=False)
    assert not cut.complete and cut.body == b"abc" and "truncated body" in cut.notes
    [endless] = parse_stream(b"POST / HTTP/1.1\r\n" + b"X: y\r\n" * 20000, responses=False)
    assert not endless.complete
    huge = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n" % (MAX_BODY + 1)
    [chunk] = parse_stream(huge, responses=False)
    assert "chunked body too large" in chunk.notes
    many = b"POST / HTTP/1.1\r\n" + b"".join(b"H%d: v\r\n" % i for i in range(300)) + b"\r\n"
    [headers] = parse_stream(many, responses=False)
    assert "too many headers" in headers.notes
