"""Issue 11, findings 2-4, carried out against a live engine (real sockets, the real store).

- one request freezing the engine (a quadratic charset, pathological XML);
- unbounded sessions (a huge cwmp:SessionTimeout, then silence; the live-session cap);
- slowloris (slow headers and bodies, connection caps, NBI and file server answering while
  CWMP is flooded, log lines rate-limited).

Counts and waits are small and bounded; every flood stops by itself.
"""

from __future__ import annotations

import asyncio
import gc
import io
import logging
import weakref
from pathlib import Path

import aiohttp
import pytest

from acs_engine.cwmp import codec
from acs_engine.cwmp.envelope import NS_CWMP_1_2, Envelope
from acs_engine.server.controller import Engine
from acs_engine.session.session import Session
from tests.helpers.engine import RawCpe, inform, running_engine

_SOAP = (
    b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" '
    b'xmlns:cwmp="urn:dslforum-org:cwmp-1-0"><soap:Body>%s</soap:Body></soap:Envelope>'
)


def _inform_body(serial: str) -> bytes:
    return codec.serialize(Envelope(inform(serial), cwmp_id="1"))


async def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    data = io.BytesIO(body)  # a large bytes body would be sent in one blocking call
    async with aiohttp.ClientSession() as http, http.post(url, data=data, headers=headers) as r:
        return r.status, await r.text()


async def _nbi_devices(engine: Engine) -> int:
    async with aiohttp.ClientSession() as http:
        url = f"http://127.0.0.1:{engine.nbi_port}/devices/?projection=_id"
        async with http.get(url) as resp:
            await resp.read()
            return resp.status


# --------------------------------------------------------------------------- finding 2
async def test_attack_punycode_charset_is_refused_before_any_decoding(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        url = engine.cwmp_urls()[-1]
        body = _SOAP % (b"<cwmp:Inform>" + b"\xc3\xa9a" * 350_000 + b"</cwmp:Inform>")
        # In Content-Type (this froze every request for ~53 s) and in the XML declaration.
        status, text = await _post(url, body, {"Content-Type": "text/xml; charset=punycode"})
        assert status == 415 and "punycode" in text
        declared = b'<?xml version="1.0" encoding="punycode"?>' + body
        status, text = await _post(url, declared, {"Content-Type": "text/xml"})
        assert status == 415 and "punycode" in text
        for charset in ("utf-7", "idna", "rot13", "bz2_codec", "cp1252"):
            status, _ = await _post(url, body, {"Content-Type": f"text/xml; charset={charset}"})
            assert status == 415, charset
        assert await _nbi_devices(engine) == 200

        # The charsets CWMP bodies use still work, decoded to the right text.
        latin = codec.serialize(Envelope(inform("LATIN1"), cwmp_id="1")).replace(
            b"FieldACS Test", b"Caf\xc3\xa9 GW").decode("utf-8").encode("iso-8859-1")
        latin = latin.replace(b'<?xml version="1.0" encoding="UTF-8"?>', b"", 1).lstrip()
        for charset, data in (("ISO-8859-1", latin), ("utf-16", _inform_body("UTF16")
                                                       .decode().encode("utf-16"))):
            async with RawCpe(url) as cpe:
                status, _, _ = await cpe.post_raw(
                    data, {"Content-Type": f"text/xml; charset={charset}"})
                assert status == 200, (charset, status)
                assert (await cpe.send(None))[0] == 204
        assert engine.store is not None
        device = await engine.store.get_device("F1E1D0-TestGW-LATIN1")
        assert device is not None and device.manufacturer == "Café GW"
        assert await engine.store.get_device("F1E1D0-TestGW-UTF16") is not None


async def test_attack_pathological_xml_gets_a_clear_400_and_the_engine_goes_on(
    tmp_path: Path,
) -> None:
    cases = {
        "deep nesting": _SOAP % (b"<a>" * 200_000 + b"</a>" * 200_000),
        "many attributes": _SOAP % (
            b"<cwmp:Inform " + b" ".join(b'a%d="x"' % i for i in range(150_000)) + b"/>"),
        "huge text": _SOAP % (b"<cwmp:Inform><x>" + b"A" * 3_000_000 + b"</x></cwmp:Inform>"),
        "many undeclared prefixes": (
            b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>'
            b"<cwmp:Inform>" + b"".join(b"<q%d:x/>" % i for i in range(150_000))
            + b"</cwmp:Inform></soap:Body></soap:Envelope>"),
    }
    async with running_engine(tmp_path) as engine:
        url = engine.cwmp_urls()[-1]
        pending = {
            name: asyncio.create_task(_post(url, body, {"Content-Type": "text/xml"}))
            for name, body in cases.items()
        }
        # While the large bodies are worked on (off the loop), the NBI answers.
        answered_meanwhile = 0
        while not all(t.done() for t in pending.values()):
            assert await _nbi_devices(engine) == 200
            answered_meanwhile += not all(t.done() for t in pending.values())
        for name, task in pending.items():
            status, text = task.result()
            assert status == 400, name
            assert text.startswith("malformed SOAP message"), (name, text[:80])
        assert answered_meanwhile >= 1
        async with RawCpe(url) as cpe:
            assert (await cpe.send(inform("AFTERXML")))[0] == 200
            assert (await cpe.send(None))[0] == 204


# --------------------------------------------------------------------------- finding 3
async def test_attack_silent_sessions_with_a_huge_session_timeout_are_reaped(
    tmp_path: Path,
) -> None:
    count = 40
    big = ("Device.X_Vendor.Blob", "B" * 100_000, "xsd:string")  # memory each one holds
    async with running_engine(
        tmp_path, session_timeout_min_ms=500, session_timeout_max_ms=2000
    ) as engine:
        cwmp = engine.cwmp
        assert cwmp is not None and engine.store is not None
        url = engine.cwmp_urls()[-1]
        cpes = [RawCpe(url, namespace=NS_CWMP_1_2) for _ in range(count)]
        refs: list[weakref.ref[Session]] = []
        try:
            for i, cpe in enumerate(cpes):
                message = inform(f"SILENT{i:03d}", params=(big,))
                status, _, _ = await cpe.send(message, session_timeout=2_000_000_000)
                assert status == 200
                session = cwmp.session_of_device(f"F1E1D0-TestGW-SILENT{i:03d}")
                assert session is not None and session.timeout_ms == 2000  # clamped
                refs.append(weakref.ref(session))
            del session
            assert engine.active_session_count() == count
            # ...and then they go silent. The watchdog reaps them within the clamped 2 s.
            for _ in range(100):
                if engine.active_session_count() == 0:
                    break
                await asyncio.sleep(0.1)
            assert engine.active_session_count() == 0
            assert cwmp.timed_out == count
            assert cwmp._locks == {} and cwmp._by_device == {} and cwmp._by_transport == {}
            assert cwmp._transport_of == {} and cwmp.new_in_flight == 0
            gc.collect()
            assert [r for r in refs if r() is not None] == []  # trees and traces freed
            # Their sockets were closed by the ACS: the CWMP listener holds none of them.
            guard = engine.connection_guards()["cwmp"]
            for _ in range(50):
                if guard.open == 0:
                    break
                await asyncio.sleep(0.05)
            assert guard.open == 0
            sessions = await engine.store.list_sessions("F1E1D0-TestGW-SILENT000")
            assert [s.outcome for s in sessions] == ["timeout"]
        finally:
            for cpe in cpes:
                await cpe.close()


async def test_attack_live_session_cap_queues_then_refuses_with_retry_after(
    tmp_path: Path,
) -> None:
    cap = 4
    async with running_engine(tmp_path, max_sessions=cap, admission_wait_ms=500) as engine:
        cwmp = engine.cwmp
        assert cwmp is not None
        url = engine.cwmp_urls()[-1]
        holders = [RawCpe(url) for _ in range(cap)]
        try:
            for i, cpe in enumerate(holders):
                assert (await cpe.send(inform(f"HOLD{i}")))[0] == 200
            # Over the cap: it waits (admission_wait_ms), then 503 + Retry-After, socket closed.
            async with RawCpe(url) as late:
                status, _, headers = await late.send(inform("LATE"))
                assert status == 503
                assert 5 <= int(headers["Retry-After"]) <= 120
                assert headers["Connection"] == "close"
            assert engine.active_session_count() == cap
            # One that arrives while a holder is about to finish waits and gets in.
            async with RawCpe(url) as queued:
                task = asyncio.create_task(queued.send(inform("QUEUED")))
                while cwmp.admission.waiting == 0:
                    await asyncio.sleep(0.01)
                assert (await holders[0].send(None))[0] == 204  # a session slot frees
                status, _, _ = await task
                assert status == 200
                assert cwmp.admission.queued_total >= 2
                assert (await queued.send(None))[0] == 204
        finally:
            for cpe in holders:
                await cpe.close()


# --------------------------------------------------------------------------- finding 4
async def _slow_client(port: int, hold: float, first: bytes, payload: bytes) -> str:
    """Open a connection, send ``first``, then trickle ``payload`` a byte every 0.2 s for
    ``hold`` seconds; how it ended: ``closed`` by the server, or ``held`` to the end."""
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(first)
    except OSError:
        return "closed"
    sent = 0
    outcome = "held"
    try:
        loop = asyncio.get_running_loop()
        end = loop.time() + hold
        while loop.time() < end:
            if sent < len(payload):
                writer.write(payload[sent:sent + 1])
                sent += 1
            try:
                data = await asyncio.wait_for(reader.read(1024), 0.2)
            except TimeoutError:
                continue
            except OSError:
                outcome = "closed"
                break
            if not data:  # the server closed it
                outcome = "closed"
                break
    except OSError:
        outcome = "closed"
    finally:
        writer.close()
    return outcome


async def test_attack_slowloris_flood_keeps_nbi_and_file_server_answering(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    flood = 240
    async with running_engine(
        tmp_path, max_connections=120, max_connections_per_address=60, header_timeout_ms=2000,
        body_timeout_ms=2000,
    ) as engine:
        assert engine.files is not None and engine.fs_port is not None
        await engine.files.put("fw.bin", b"firmware" * 1000)
        port = engine.cwmp_port
        guard = engine.connection_guards()["cwmp"]
        # Slow headers (3 of 4), and quick headers with a slow body (1 of 4).
        heads = (b"POST / HTTP/1.1\r\nHost: acs\r\n", b"X-Slow: " + b"a" * 200)
        body_slow = (b"POST / HTTP/1.1\r\nHost: acs\r\nContent-Length: 5000\r\n\r\n",
                     b"b" * 200)
        with caplog.at_level(logging.INFO, logger="fieldacs.server.guard"):
            clients = [
                asyncio.create_task(
                    _slow_client(port, 6.0, *(body_slow if i % 4 == 0 else heads)))
                for i in range(flood)
            ]
            await asyncio.sleep(0.3)
            # While CWMP is flooded, the NBI and the file server answer.
            during: list[int] = []  # flood connections still running at each answer
            async with aiohttp.ClientSession() as http:
                for _ in range(3):
                    assert await _nbi_devices(engine) == 200
                    fs_url = f"http://127.0.0.1:{engine.fs_port}/fw.bin"
                    async with http.get(fs_url) as resp:
                        assert resp.status == 200
                        assert await resp.read() == b"firmware" * 1000
                    during.append(sum(not c.done() for c in clients))
                    assert guard.open <= 60  # the per-address cap holds
                outcomes = await asyncio.gather(*clients)
        assert during[0] > 0
        assert guard.refused >= 100  # over the per-address cap: closed at once
        assert guard.timed_out >= 40  # too slow: closed by the header/body deadline
        assert "held" not in outcomes  # every slow connection was closed by the ACS
        # The log did not get a line per refused connection.
        refusals = [r for r in caplog.records if "refused" in r.getMessage()]
        assert 0 < len(refusals) <= 25 < guard.refused
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            assert (await cpe.send(inform("AFTERFLOOD")))[0] == 200
            assert (await cpe.send(None))[0] == 204


async def test_guard_follows_pipelined_chunked_and_sized_requests(tmp_path: Path) -> None:
    """The guard's framing must not cut a legitimate keep-alive conversation."""
    async with running_engine(tmp_path, header_timeout_ms=1000) as engine:
        body = _inform_body("PIPE1")
        chunked = b"".join(
            b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:100], body[100:]))
        request = (
            b"POST / HTTP/1.1\r\nHost: acs\r\nTransfer-Encoding: chunked\r\n\r\n"
            + chunked + b"0\r\n\r\n"
            + b"POST / HTTP/1.1\r\nHost: acs\r\nContent-Length: 0\r\n\r\n"
        )
        reader, writer = await asyncio.open_connection("127.0.0.1", engine.cwmp_port)
        try:
            writer.write(request)
            first = await asyncio.wait_for(reader.readuntil(b"Envelope>"), 10)
            assert first.startswith(b"HTTP/1.1 200")
            second = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            assert second.startswith(b"HTTP/1.1 204")
            # Idle longer than the header timeout between requests is aiohttp's keep-alive,
            # not a slow request: the connection stays.
            await asyncio.sleep(1.6)
            writer.write(b"GET / HTTP/1.1\r\nHost: acs\r\n\r\n")
            third = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            assert third.startswith(b"HTTP/1.1 405")
        finally:
            writer.close()
        assert engine.connection_guards()["cwmp"].timed_out == 0


async def test_attack_stalled_tls_handshake_and_silent_connection_are_closed(
    tmp_path: Path,
) -> None:
    async with running_engine(tmp_path, cwmp_tls_port=0, header_timeout_ms=1000) as engine:
        assert engine.cwmp_tls_port is not None
        ports = {"TLS handshake never sent": engine.cwmp_tls_port,
                 "plain connection, no request": engine.cwmp_port}
        for what, port in ports.items():
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                # The ACS hangs up on its own (bounded wait here; the limit is 1 s).
                data = await asyncio.wait_for(reader.read(1), 20)
                assert data == b"", what
            finally:
                writer.close()
