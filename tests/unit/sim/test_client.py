"""SimCpe sessions over real HTTP against a scripted ACS on 127.0.0.1."""

from __future__ import annotations

import asyncio
import random
from email.utils import formatdate

import pytest

from acs_engine.cwmp import rpc
from acs_engine.cwmp.envelope import NS_CWMP_1_0, NS_CWMP_1_2
from acs_engine.sim.client import SimCpe, SimMessage, parse_retry_after, retry_wait
from acs_engine.sim.device import SimDevice
from acs_engine.sim.options import SimOptions
from tests.unit.sim.scripted_acs import ScriptedAcs


def make_cpe(model, acs: ScriptedAcs, **options: object) -> SimCpe:  # type: ignore[no-untyped-def]
    device = SimDevice(model, "SIM000042", index=42, options=SimOptions(**options),  # type: ignore[arg-type]
                       context={"acs_url": acs.url})
    return SimCpe(device, acs.url)


async def test_full_session_with_gpv(model) -> None:
    gpv = rpc.GetParameterValues(names=("Device.DeviceInfo.SerialNumber",))
    async with ScriptedAcs(script=[gpv]) as acs:
        cpe = make_cpe(model, acs)
        result = await cpe.session()
    assert result.ok, result.error
    assert result.events == ("0 BOOTSTRAP", "1 BOOT")
    assert acs.methods() == ["Inform", "", "GetParameterValuesResponse"]
    assert result.trace == [
        SimMessage("cpe->acs", None, "Inform"), SimMessage("acs->cpe", 200, "InformResponse"),
        SimMessage("cpe->acs", None, ""), SimMessage("acs->cpe", 200, "GetParameterValues"),
        SimMessage("cpe->acs", None, "GetParameterValuesResponse"), SimMessage("acs->cpe", 204, ""),
    ]
    inform_env = acs.received[0].env
    assert inform_env is not None and inform_env.namespace == NS_CWMP_1_0
    inform = inform_env.message
    assert isinstance(inform, rpc.Inform)
    assert inform.device_id.serial_number == "SIM000042"
    response_env = acs.received[2].env
    assert response_env is not None and response_env.cwmp_id == "acs-0"  # ID echoed
    response = response_env.message
    assert isinstance(response, rpc.GetParameterValuesResponse)
    assert response.parameters == (
        rpc.ParameterValue("Device.DeviceInfo.SerialNumber", "SIM000042", "xsd:string"),)
    # cookies echoed after being set, one TCP connection for the whole session
    assert acs.received[0].cookie is None
    assert all(r.cookie and "session=s3cr3t" in r.cookie for r in acs.received[1:])
    assert len({r.peer for r in acs.received}) == 1
    assert result.rpcs_answered == 1 and cpe.sessions_ok == 1
    # the next session does not carry the old cookie and has no BOOTSTRAP
    async with ScriptedAcs() as acs2:
        cpe.acs_url = acs2.url
        cpe.device.add_event("2 PERIODIC")
        again = await cpe.session()
    assert again.ok and again.events == ("2 PERIODIC",)
    assert acs2.received[0].cookie is None


async def test_redirect_followed(model) -> None:
    async with ScriptedAcs(redirect_first=True) as acs:
        cpe = make_cpe(model, acs)
        result = await cpe.session()
    assert result.ok, result.error
    assert acs.statuses[0] == 307
    assert [r.path for r in acs.received] == ["/acs", "/acs"]
    assert result.trace[1] == SimMessage("acs->cpe", 307, "")


async def test_hold_requests_honoured(model) -> None:
    gpv = rpc.GetParameterValues(names=("Device.DeviceInfo.UpTime",))
    async with ScriptedAcs(script=[gpv], hold_requests=True) as acs:
        cpe = make_cpe(model, acs)
        dev = cpe.device
        dev.make_inform()  # bootstrap delivered
        dev.inform_accepted()
        dev.handle(rpc.Download(command_key="dl", file_type="3 Vendor Configuration File",
                                url="http://127.0.0.1/cfg"))
        dev.end_session(True)
        (transfer,) = dev.run_timers()
        dev.complete_transfer(transfer)
        result = await cpe.session()
    assert result.ok, result.error
    # TransferComplete waits until the ACS stops holding (its empty response)
    assert acs.methods() == ["Inform", "", "GetParameterValuesResponse", "TransferComplete", ""]
    assert not dev.session_due()


async def test_transfer_complete_sent_before_empty_post(model) -> None:
    async with ScriptedAcs() as acs:
        cpe = make_cpe(model, acs)
        dev = cpe.device
        dev.make_inform()
        dev.inform_accepted()
        dev.handle(rpc.Download(command_key="fw", url="http://127.0.0.1/fw-5.0.0.bin"))
        dev.end_session(True)
        (transfer,) = dev.run_timers()
        dev.complete_transfer(transfer)
        result = await cpe.session()
    assert result.ok
    assert result.events == ("1 BOOT", "7 TRANSFER COMPLETE", "M Download")
    assert acs.methods() == ["Inform", "TransferComplete", ""]
    tc_env = acs.received[1].env
    assert tc_env is not None and isinstance(tc_env.message, rpc.TransferComplete)
    assert tc_env.message.command_key == "fw" and tc_env.message.fault.code == 0


async def test_digest_auth_to_acs(model) -> None:
    for algorithm in ("MD5", "SHA-256"):
        async with ScriptedAcs(auth=("cpe-SIM000042", "pw-SIM000042"),
                               algorithms=(algorithm,)) as acs:
            cpe = make_cpe(model, acs)
            result = await cpe.session()
        assert result.ok, (algorithm, result.error)
        assert acs.statuses[0] == 401
        assert acs.methods() == ["Inform", ""]


async def test_wrong_password_fails_and_backs_off(model) -> None:
    async with ScriptedAcs(auth=("cpe-SIM000042", "other")) as acs:
        cpe = make_cpe(model, acs)
        result = await cpe.session()
    assert not result.ok and "401" in (result.error or "")
    assert cpe.retry_count == 1 and cpe.sessions_failed == 1
    assert cpe.device.session_due()  # BOOTSTRAP is kept for the retry


async def test_cwmp_14_negotiation(model) -> None:
    gpv = rpc.GetParameterValues(names=("Device.DeviceInfo.SerialNumber",))
    async with ScriptedAcs(script=[gpv], use_version="1.2") as acs:
        cpe = make_cpe(model, acs, cwmp_version="1.4")
        result = await cpe.session()
    assert result.ok, result.error
    inform_env = acs.received[0].env
    assert inform_env is not None
    assert inform_env.namespace == NS_CWMP_1_2
    assert inform_env.supported_versions == ("1.0", "1.1", "1.2", "1.3", "1.4")
    assert result.cwmp_version == "1.2"
    reply = acs.received[2].env
    assert reply is not None and reply.namespace == NS_CWMP_1_2


async def test_inform_fault_fails_session(model) -> None:
    async with ScriptedAcs(inform_fault=8002) as acs:
        cpe = make_cpe(model, acs)
        result = await cpe.session()
    assert not result.ok


async def test_injected_fault_and_vanish(model) -> None:
    script: list[rpc.Message] = [rpc.GetRPCMethods(), rpc.GetRPCMethods()]
    async with ScriptedAcs(script=script) as acs:
        cpe = make_cpe(model, acs, fault_methods={"GetRPCMethods": 9001}, vanish_after=3)
        result = await cpe.session()
    assert result.vanished and not result.ok
    # Inform, empty POST, the fault; then the CPE disappears instead of the next answer
    assert acs.methods() == ["Inform", "", "Fault"]
    fault = acs.received[2].env
    assert fault is not None and isinstance(fault.message, rpc.Fault)
    assert fault.message.code == 9001


async def test_unreachable_acs_fails(model) -> None:
    device = SimDevice(model, "SIMX", options=SimOptions(http_timeout=2))
    cpe = SimCpe(device, "http://127.0.0.1:9/acs")
    result = await cpe.session()
    assert not result.ok and result.error


async def test_run_loop_periodic_and_retry(model) -> None:
    async with ScriptedAcs() as acs:
        device = SimDevice(model, "SIMP", options=SimOptions(periodic_interval=0.2))
        cpe = SimCpe(device, acs.url, retry_delay=lambda n: 0.05)
        task = asyncio.create_task(cpe.run())
        try:
            for _ in range(100):
                await asyncio.sleep(0.05)
                if cpe.sessions_ok >= 3:
                    break
        finally:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass
    events = [r.events for r in cpe.results]
    assert events[0] == ("0 BOOTSTRAP", "1 BOOT")
    assert ("2 PERIODIC",) in events[1:]


def test_retry_wait_ranges() -> None:
    import random

    rng = random.Random(1)
    for n, (low, high) in {1: (5, 10), 2: (10, 20), 4: (40, 80), 10: (2560, 5120),
                           15: (2560, 5120)}.items():
        for _ in range(20):
            assert low <= retry_wait(n, 5, 2, rng) <= high
    assert 10 <= retry_wait(1, 10, 2.5, rng) <= 25


def test_retry_after_is_read_as_seconds_or_a_date() -> None:
    assert parse_retry_after("17") == 17.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    date = formatdate(1_000_030, usegmt=True)
    assert parse_retry_after(date, now=1_000_000) == pytest.approx(30.0)


def test_a_503_wait_honours_retry_after_up_to_the_cap_with_jitter() -> None:
    cpe = SimCpe(SimDevice("tr098", "BUSY1", options=SimOptions(busy_retry_cap=60.0)),
                 "http://127.0.0.1:9/", rng=random.Random(4))
    waits = [cpe.busy_wait(20.0) for _ in range(200)]
    assert all(20.0 <= w <= 25.0 for w in waits) and len(set(waits)) > 100  # jittered
    assert all(60.0 <= cpe.busy_wait(600.0) <= 75.0 for _ in range(50))  # capped
