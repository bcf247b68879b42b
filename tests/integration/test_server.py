"""The CWMP endpoint against hand-driven CPEs on 127.0.0.1, with the real store."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from pathlib import Path

import aiohttp

from acs_engine.bus import SessionEnded, SessionStateChanged, WireMessage
from acs_engine.cwmp import codec, rpc
from acs_engine.cwmp.envelope import NS_CWMP_1_2, Envelope
from acs_engine.session.handler import RpcQueue
from tests.helpers.engine import RawCpe, inform, running_engine

DEVICE = "F1E1D0-TestGW-SN0001"


async def test_inform_only_session_is_stored_with_its_trace(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        states: list[str] = []
        engine.bus.subscribe(lambda e: states.append(e.new), SessionStateChanged)
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            status, reply, headers = await cpe.send(inform(), cwmp_id="inf-1")
            assert status == 200
            assert isinstance(reply.message, rpc.InformResponse)
            assert reply.message.max_envelopes == 1
            assert reply.cwmp_id == "inf-1"
            assert "session=" in headers["Set-Cookie"]
            status, reply, _ = await cpe.send(None)
            assert status == 204 and reply is None
        assert states == ["PROCESS", "COMMIT", "END"]
        store = engine.store
        assert store is not None
        device = await store.get_device(DEVICE)
        assert device is not None and device.last_bootstrap_ms is not None
        params = await store.load_params(DEVICE)
        assert params["Device.DeviceInfo.SoftwareVersion"].value == "1.0.0"
        sessions = await store.list_sessions(DEVICE)
        assert [s.outcome for s in sessions] == ["ok"]
        trace = await store.load_trace(sessions[0].id)
        assert [(t.direction, t.rpc, t.status) for t in trace] == [
            ("in", "Inform", None),
            ("out", "InformResponse", 200),
            ("in", "", None),
            ("out", "", 204),
        ]
        assert engine.device_count == 1


async def test_queued_rpcs_are_sent_and_responses_update_the_tree(tmp_path: Path) -> None:
    queue = RpcQueue()
    queue.put(DEVICE, rpc.GetParameterValues(names=("Device.DeviceInfo.",)))
    queue.put(
        DEVICE,
        rpc.SetParameterValues(
            parameters=(rpc.ParameterValue("Device.WiFi.SSID.1.SSID", "field", "xsd:string"),),
            parameter_key="k1",
        ),
    )
    async with running_engine(tmp_path, handler=queue) as engine:
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            await cpe.send(inform())
            status, reply, _ = await cpe.send(None)
            assert isinstance(reply.message, rpc.GetParameterValues)
            gpv_id = reply.cwmp_id
            status, reply, _ = await cpe.send(
                rpc.GetParameterValuesResponse(
                    parameters=(
                        rpc.ParameterValue("Device.DeviceInfo.UpTime", "42", "xsd:unsignedInt"),
                        rpc.ParameterValue("Device.DeviceInfo.SoftwareVersion", "1.0.1"),
                    )
                ),
                cwmp_id=gpv_id,
            )
            assert isinstance(reply.message, rpc.SetParameterValues)
            status, reply, _ = await cpe.send(
                rpc.SetParameterValuesResponse(status=0), cwmp_id=reply.cwmp_id
            )
            assert status == 204
        params = await engine.store.load_params(DEVICE)  # type: ignore[union-attr]
        assert params["Device.DeviceInfo.UpTime"].value == "42"
        assert params["Device.DeviceInfo.UpTime"].type == "xsd:unsignedInt"
        assert params["Device.DeviceInfo.SoftwareVersion"].value == "1.0.1"
        assert params["Device.WiFi.SSID.1.SSID"].value == "field"
        results = queue.results[DEVICE]
        assert [type(r).__name__ for _, r in results] == [
            "GetParameterValuesResponse", "SetParameterValuesResponse",
        ]


async def test_gpn_prunes_nodes_the_cpe_no_longer_reports(tmp_path: Path) -> None:
    queue = RpcQueue()
    async with running_engine(tmp_path, handler=queue) as engine:
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            queue.put(DEVICE, rpc.AddObject(object_name="Device.WiFi.SSID."))
            await cpe.send(inform())
            _, reply, _ = await cpe.send(None)
            _, reply, _ = await cpe.send(
                rpc.AddObjectResponse(instance_number=7), cwmp_id=reply.cwmp_id
            )
        params = await engine.store.load_params(DEVICE)  # type: ignore[union-attr]
        assert params["Device.WiFi.SSID.7."].object is True
        queue.put(DEVICE, rpc.GetParameterNames(parameter_path="Device.WiFi.SSID.", next_level=True))
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            await cpe.send(inform(events=("2 PERIODIC",)))
            _, reply, _ = await cpe.send(None)
            status, _, _ = await cpe.send(
                rpc.GetParameterNamesResponse(
                    parameters=(rpc.ParameterInfo("Device.WiFi.SSID.1.", True),)
                ),
                cwmp_id=reply.cwmp_id,
            )
            assert status == 204
        params = await engine.store.load_params(DEVICE)  # type: ignore[union-attr]
        assert "Device.WiFi.SSID.7." not in params
        assert params["Device.WiFi.SSID.1."].writable is True


async def test_session_found_by_connection_without_cookie(tmp_path: Path) -> None:
    queue = RpcQueue()
    queue.put(DEVICE, rpc.Reboot(command_key="r1"))
    async with running_engine(tmp_path, handler=queue) as engine:
        async with RawCpe(engine.cwmp_urls()[-1], cookies=False) as cpe:
            await cpe.send(inform())
            _, reply, _ = await cpe.send(None)
            assert isinstance(reply.message, rpc.Reboot)
            status, _, _ = await cpe.send(rpc.RebootResponse(), cwmp_id=reply.cwmp_id)
            assert status == 204


async def test_cookie_with_attributes_and_commas_finds_the_session(tmp_path: Path) -> None:
    queue = RpcQueue()
    queue.put(DEVICE, rpc.GetRPCMethods())
    async with running_engine(tmp_path, handler=queue) as engine:
        url = engine.cwmp_urls()[-1]
        async with RawCpe(url, cookies=False) as first:
            status, headers, _ = await first.post_raw(
                codec.serialize(Envelope(inform(), cwmp_id="1"))
            )
            cookie = headers["Set-Cookie"].split(";")[0]
        # The rest of the session comes on other connections, cookie mangled as CPEs do.
        async with RawCpe(url, cookies=False) as second:
            status, _, data = await second.post_raw(
                b"", {"Cookie": f"foo=bar, {cookie}; Path=/; Version=1"}
            )
            assert status == 200
            request = codec.parse(data)
            assert isinstance(request.message, rpc.GetRPCMethods)
        async with RawCpe(url, cookies=False) as third:
            body = codec.serialize(
                Envelope(rpc.GetRPCMethodsResponse(methods=("Inform",)), cwmp_id=request.cwmp_id)
            )
            status, _, _ = await third.post_raw(body, {"Cookie": f'{cookie.replace("=", "=")}'})
            assert status == 204


async def test_new_inform_starts_a_new_session_despite_old_cookie(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        ended: list[SessionEnded] = []
        engine.bus.subscribe(ended.append, SessionEnded)
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            _, _, h1 = await cpe.send(inform())
            _, _, h2 = await cpe.send(inform(events=("1 BOOT",)))
            assert h1["Set-Cookie"] != h2["Set-Cookie"]
            status, _, _ = await cpe.send(None)
            assert status == 204
        assert [e.outcome for e in ended] == ["aborted", "ok"]


async def test_second_concurrent_session_of_a_device_gets_503(tmp_path: Path) -> None:
    async with running_engine(tmp_path, busy_retry_after_s=17) as engine:
        url = engine.cwmp_urls()[-1]
        async with RawCpe(url) as one, RawCpe(url) as two:
            status, _, _ = await one.send(inform())
            assert status == 200
            status, _, headers = await two.send(inform())
            assert status == 503
            assert headers["Retry-After"] == "17"
            status, _, _ = await one.send(None)
            assert status == 204
            status, _, _ = await two.send(inform())
            assert status == 200


async def test_other_http_methods_get_405(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        async with aiohttp.ClientSession() as http:
            async with http.get(engine.cwmp_urls()[-1]) as resp:
                assert resp.status == 405
                assert resp.headers["Allow"] == "POST"


async def test_message_without_session_gets_400(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            status, _, body = await cpe.post_raw(b"")
            assert status == 400
            assert b"starts with an Inform" in body


async def test_malformed_xml_gets_400_and_ends_the_session_cleanly(tmp_path: Path) -> None:
    queue = RpcQueue()
    queue.put(DEVICE, rpc.GetParameterValues(names=("Device.",)))
    async with running_engine(tmp_path, handler=queue) as engine:
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            await cpe.send(inform())
            await cpe.send(None)
            status, _, body = await cpe.post_raw(b"<soap:Envelope><oops></soap:Envelope>")
            assert status == 400
            assert b"malformed" in body
        assert engine.active_session_count() == 0
        sessions = await engine.store.list_sessions(DEVICE)  # type: ignore[union-attr]
        assert sessions[0].outcome == "error"
        assert "malformed" in sessions[0].detail


async def test_body_over_the_limit_gets_413(tmp_path: Path) -> None:
    async with running_engine(tmp_path, max_body_bytes=64 * 1024) as engine:
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            status, _, _ = await cpe.post_raw(b"<" + b"x" * (200 * 1024))
            assert status == 413


async def test_gzip_and_deflate_bodies_are_accepted(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        url = engine.cwmp_urls()[-1]
        for serial, encoding, pack in (
            ("GZ1", "gzip", gzip.compress),
            ("DF1", "deflate", zlib.compress),
        ):
            async with RawCpe(url) as cpe:
                body = codec.serialize(Envelope(inform(serial), cwmp_id="1"))
                status, _, data = await cpe.post_raw(
                    pack(body), {"Content-Encoding": encoding}
                )
                assert status == 200, data
                assert isinstance(codec.parse(data).message, rpc.InformResponse)
                status, _, _ = await cpe.send(None)
                assert status == 204


async def test_a_gzip_bomb_is_refused(tmp_path: Path) -> None:
    async with running_engine(tmp_path, max_body_bytes=1024 * 1024) as engine:
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            bomb = gzip.compress(b"\0" * (50 * 1024 * 1024))
            status, _, _ = await cpe.post_raw(bomb, {"Content-Encoding": "gzip"})
            assert status == 413


async def test_cpe_requests_are_answered(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            await cpe.send(inform(events=("7 TRANSFER COMPLETE", "M Download")))
            cases: list[tuple[rpc.Message, type[rpc.Message]]] = [
                (rpc.TransferComplete(command_key="dl1"), rpc.TransferCompleteResponse),
                (
                    rpc.AutonomousTransferComplete(transfer_url="http://x/fw.bin"),
                    rpc.AutonomousTransferCompleteResponse,
                ),
                (rpc.GetRPCMethods(), rpc.GetRPCMethodsResponse),
                (rpc.RequestDownload(file_type="1 Firmware Upgrade Image"), rpc.RequestDownloadResponse),
                (rpc.Kicked(command="login", next="http://portal/next"), rpc.KickedResponse),
            ]
            for request, expected in cases:
                status, reply, _ = await cpe.send(request, cwmp_id="c1")
                assert status == 200
                assert isinstance(reply.message, expected), reply
                assert reply.cwmp_id == "c1"
            _, reply, _ = await cpe.send(rpc.GetRPCMethods())
            assert "TransferComplete" in reply.message.methods
            _, reply, _ = await cpe.send(rpc.Kicked(next="http://portal/next"))
            assert reply.message.next_url == "http://portal/next"
            status, _, _ = await cpe.send(None)
            assert status == 204


async def test_acs_only_method_from_cpe_gets_fault_8000(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            await cpe.send(inform())
            status, reply, _ = await cpe.send(rpc.Reboot(), cwmp_id="x9")
            assert status == 200
            assert isinstance(reply.message, rpc.Fault)
            assert reply.message.code == 8000
            assert reply.cwmp_id == "x9"
            status, _, _ = await cpe.send(None)
            assert status == 204


async def test_hold_requests_is_sent_when_the_handler_asks(tmp_path: Path) -> None:
    queue = RpcQueue()
    queue.put(DEVICE, rpc.GetParameterValues(names=("Device.DeviceInfo.UpTime",)), hold_requests=True)
    async with running_engine(tmp_path, handler=queue) as engine:
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            await cpe.send(inform())
            _, reply, _ = await cpe.send(None)
            assert reply.hold_requests is True
            _, reply2, _ = await cpe.send(rpc.GetParameterValuesResponse(), cwmp_id=reply.cwmp_id)
            assert reply2 is None


async def test_cpe_fault_reaches_the_handler(tmp_path: Path) -> None:
    queue = RpcQueue()
    queue.put(DEVICE, rpc.GetParameterValues(names=("Device.Nope.",)))
    async with running_engine(tmp_path, handler=queue) as engine:
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            await cpe.send(inform())
            _, reply, _ = await cpe.send(None)
            status, _, _ = await cpe.send(
                rpc.Fault(code=9005, string="Invalid parameter name", faultcode="Client"),
                cwmp_id=reply.cwmp_id,
            )
            assert status == 204
        (_, response), = queue.results[DEVICE]
        assert isinstance(response, rpc.Fault) and response.code == 9005


async def test_vanished_cpe_times_out_frees_the_lock_and_writes_nothing(tmp_path: Path) -> None:
    queue = RpcQueue()
    queue.put(DEVICE, rpc.GetParameterValues(names=("Device.",)))
    async with running_engine(tmp_path, handler=queue, session_timeout_ms=500) as engine:
        ended: list[SessionEnded] = []
        engine.bus.subscribe(ended.append, SessionEnded)
        url = engine.cwmp_urls()[-1]
        async with RawCpe(url) as cpe:
            await cpe.send(inform(params=(("Device.DeviceInfo.SoftwareVersion", "9.9", "xsd:string"),)))
            _, reply, _ = await cpe.send(None)
            assert isinstance(reply.message, rpc.GetParameterValues)
        # ... and the CPE is gone.
        for _ in range(40):
            if ended:
                break
            await asyncio.sleep(0.1)
        assert [e.outcome for e in ended] == ["timeout"]
        assert engine.active_session_count() == 0
        store = engine.store
        assert store is not None
        assert await store.load_params(DEVICE) == {}  # the session's changes were dropped
        sessions = await store.list_sessions(DEVICE)
        assert sessions[0].outcome == "timeout"
        assert len(await store.load_trace(sessions[0].id)) == 4
        async with RawCpe(url) as cpe:  # the device may start again at once
            status, _, _ = await cpe.send(inform(events=("1 BOOT",)))
            assert status == 200
            assert (await cpe.send(None))[0] == 204


async def test_session_timeout_header_is_used(tmp_path: Path) -> None:
    async with running_engine(tmp_path, session_timeout_ms=60_000, session_timeout_min_ms=1000) as engine:
        async with RawCpe(engine.cwmp_urls()[-1], namespace=NS_CWMP_1_2) as cpe:
            await cpe.send(inform(), session_timeout=1)
            session = engine.cwmp.session_of_device(DEVICE)  # type: ignore[union-attr]
            assert session is not None and session.timeout_ms == 1000
            assert session.cwmp_version == "1.3"


async def test_hostile_document_refused_while_another_session_goes_on(tmp_path: Path) -> None:
    queue = RpcQueue()
    queue.put(DEVICE, rpc.GetParameterValues(names=("Device.DeviceInfo.UpTime",)))
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
        b'<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
        b"<lolz>&lol3;</lolz>"
    )
    async with running_engine(tmp_path, handler=queue) as engine:
        url = engine.cwmp_urls()[-1]
        async with RawCpe(url) as good, RawCpe(url) as evil:
            await good.send(inform())
            status, _, _ = await evil.post_raw(laughs)
            assert status == 400
            _, reply, _ = await good.send(None)
            assert isinstance(reply.message, rpc.GetParameterValues)
            status, _, _ = await good.send(rpc.GetParameterValuesResponse(), cwmp_id=reply.cwmp_id)
            assert status == 204


async def test_every_http_message_is_published(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        wire: list[WireMessage] = []
        engine.bus.subscribe(wire.append, WireMessage)
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            await cpe.send(inform())
            await cpe.send(None)
        assert [(w.direction, w.rpc, w.status) for w in wire] == [
            ("in", "Inform", None), ("out", "InformResponse", 200), ("in", "", None),
            ("out", "", 204),
        ]
        assert len({w.session_id for w in wire}) == 1
        assert wire[0].at_ms <= wire[-1].at_ms


async def test_a_100_mb_body_is_cut_off_while_another_session_goes_on(tmp_path: Path) -> None:
    queue = RpcQueue()
    queue.put(DEVICE, rpc.GetParameterValues(names=("Device.DeviceInfo.UpTime",)))
    async with running_engine(tmp_path, handler=queue) as engine:
        url = engine.cwmp_urls()[-1]
        sent = 0

        async def flood():  # type: ignore[no-untyped-def]
            nonlocal sent
            chunk = b"<a>" + b"x" * (1024 * 1024 - 3)
            for _ in range(100):
                sent += len(chunk)
                yield chunk

        async def evil() -> int | str:
            async with aiohttp.ClientSession() as http:
                try:
                    async with http.post(url, data=flood()) as resp:
                        return resp.status
                except aiohttp.ClientError as exc:  # the server hung up on the flood
                    return type(exc).__name__

        async with RawCpe(url) as good:
            await good.send(inform())
            outcome, (_, reply, _) = await asyncio.gather(evil(), good.send(None))
            assert isinstance(reply.message, rpc.GetParameterValues)
            status, _, _ = await good.send(rpc.GetParameterValuesResponse(), cwmp_id=reply.cwmp_id)
            assert status == 204
        assert outcome == 413 or isinstance(outcome, str)
        assert sent < 100 * 1024 * 1024  # the server did not read it all


async def test_file_server_serves_stored_files_beside_the_database(tmp_path: Path) -> None:
    async with running_engine(tmp_path) as engine:
        assert engine.files is not None and engine.fs_port
        await engine.files.put("fw-2.0.bin", b"\x7fELF" * 1000, file_type="1 Firmware Upgrade Image")
        async with aiohttp.ClientSession() as http:
            async with http.get(f"http://127.0.0.1:{engine.fs_port}/fw-2.0.bin") as resp:
                assert resp.status == 200
                assert await resp.read() == b"\x7fELF" * 1000
        assert (tmp_path / "files" / "fw-2.0.bin").exists()


async def test_busy_file_server_port_is_a_warning_not_a_failed_start(tmp_path: Path) -> None:
    import socket

    from acs_engine.bus import EngineNotice

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        notices: list[EngineNotice] = []
        from acs_engine.bus import EventBus
        from acs_engine.config import EngineConfig
        from acs_engine.server.controller import Engine

        engine = Engine(
            EngineConfig(db_path=tmp_path / "f.db", cwmp_host="127.0.0.1", cwmp_port=0,
                         fs_host="127.0.0.1", fs_port=port, nbi_port=0, provisioning=False),
            bus=EventBus(),
        )
        engine.bus.subscribe(notices.append, EngineNotice)
        await engine.start()
        try:
            assert engine.fs_port is None
            assert any(n.level == "warning" and f"Port {port} is in use" in n.message for n in notices)
            async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
                assert (await cpe.send(inform()))[0] == 200
                assert (await cpe.send(None))[0] == 204
        finally:
            await engine.stop()


async def test_cpe_requests_held_by_hold_requests_are_taken_after_the_204(tmp_path: Path) -> None:
    queue = RpcQueue()
    queue.put(DEVICE, rpc.GetParameterValues(names=("Device.DeviceInfo.UpTime",)), hold_requests=True)
    async with running_engine(tmp_path, handler=queue) as engine:
        ended: list[SessionEnded] = []
        engine.bus.subscribe(ended.append, SessionEnded)
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            await cpe.send(inform(events=("7 TRANSFER COMPLETE",)))
            _, reply, _ = await cpe.send(None)
            assert reply.hold_requests is True
            status, _, _ = await cpe.send(rpc.GetParameterValuesResponse(), cwmp_id=reply.cwmp_id)
            assert status == 204
            assert not ended  # lingering: the CPE may still have requests
            status, reply, _ = await cpe.send(rpc.TransferComplete(command_key="dl9"), cwmp_id="t1")
            assert status == 200 and isinstance(reply.message, rpc.TransferCompleteResponse)
            status, _, _ = await cpe.send(None)
            assert status == 204
        assert [e.outcome for e in ended] == ["ok"]
        sessions = await engine.store.list_sessions(DEVICE)  # type: ignore[union-attr]
        trace = await engine.store.load_trace(sessions[0].id)  # type: ignore[union-attr]
        assert [t.rpc for t in trace if t.direction == "in"] == [
            "Inform", "", "GetParameterValuesResponse", "TransferComplete", "",
        ]


async def test_a_lingering_session_is_committed_when_the_cpe_has_nothing_more(tmp_path: Path) -> None:
    queue = RpcQueue()
    queue.put(DEVICE, rpc.GetParameterValues(names=("Device.DeviceInfo.UpTime",)), hold_requests=True)
    async with running_engine(tmp_path, handler=queue) as engine:
        ended: list[SessionEnded] = []
        engine.bus.subscribe(ended.append, SessionEnded)
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            await cpe.send(inform())
            _, reply, _ = await cpe.send(None)
            await cpe.send(
                rpc.GetParameterValuesResponse(parameters=(
                    rpc.ParameterValue("Device.DeviceInfo.UpTime", "7", "xsd:unsignedInt"),
                )),
                cwmp_id=reply.cwmp_id,
            )
        for _ in range(60):
            if ended:
                break
            await asyncio.sleep(0.1)
        assert [e.outcome for e in ended] == ["ok"]
        params = await engine.store.load_params(DEVICE)  # type: ignore[union-attr]
        assert params["Device.DeviceInfo.UpTime"].value == "7"
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:  # and the device is free again
            assert (await cpe.send(inform(events=("2 PERIODIC",))))[0] == 200


class _SlowHandler(RpcQueue):
    """Takes its time choosing the next RPC (a slow provision, a busy store)."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def next_rpc(self, session):  # type: ignore[no-untyped-def]
        await asyncio.sleep(self.delay)
        return await super().next_rpc(session)


async def test_time_the_acs_spends_working_is_not_cpe_silence(tmp_path: Path) -> None:
    handler = _SlowHandler(1.2)
    handler.put(DEVICE, rpc.GetParameterValues(names=("Device.DeviceInfo.UpTime",)))
    async with running_engine(tmp_path, handler=handler, session_timeout_ms=500) as engine:
        ended: list[SessionEnded] = []
        engine.bus.subscribe(ended.append, SessionEnded)
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            await cpe.send(inform())
            status, reply, _ = await cpe.send(None)  # the ACS thinks for 1.2 s > 0.5 s
            assert status == 200 and isinstance(reply.message, rpc.GetParameterValues)
            status, _, _ = await cpe.send(rpc.GetParameterValuesResponse(), cwmp_id=reply.cwmp_id)
            assert status == 204
        assert [e.outcome for e in ended] == ["ok"]


async def test_stopping_the_acs_while_a_handler_works_ends_cleanly(tmp_path: Path) -> None:
    handler = _SlowHandler(1.0)
    handler.put(DEVICE, rpc.GetParameterValues(names=("Device.DeviceInfo.UpTime",)))
    async with running_engine(tmp_path, handler=handler) as engine:
        ended: list[SessionEnded] = []
        engine.bus.subscribe(ended.append, SessionEnded)
        async with RawCpe(engine.cwmp_urls()[-1]) as cpe:
            await cpe.send(inform())
            pending = asyncio.ensure_future(cpe.send(None))
            await asyncio.sleep(0.3)
            assert engine.cwmp is not None
            await engine.cwmp.stop()  # the ACS shuts down mid-work
            status, reply, _ = await pending
            assert status == 204 and reply is None  # not a 500
        assert [e.outcome for e in ended] == ["aborted"]
