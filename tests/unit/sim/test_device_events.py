"""Event sequences of SimDevice: bootstrap, reboot, factory reset, transfers, scheduled informs."""

from __future__ import annotations

from acs_engine.cwmp import rpc


def codes(inform: rpc.Inform) -> list[tuple[str, str]]:
    return [(e.code, e.command_key) for e in inform.events]


def session(dev, *requests: rpc.Message, ok: bool = True) -> tuple[rpc.Inform, list[rpc.Message]]:  # type: ignore[no-untyped-def]
    """One simulated session: Inform, CPE requests, ACS requests, end."""
    inform = dev.make_inform()
    dev.inform_accepted()
    sent: list[rpc.Message] = []
    while (req := dev.next_request()) is not None:
        sent.append(req)
        dev.request_done()
    for request in requests:
        dev.handle(request)
    dev.end_session(ok)
    return inform, sent


def test_first_contact_then_quiet(make_device) -> None:
    dev = make_device()
    assert dev.session_due()
    inform, _ = session(dev)
    assert codes(inform) == [("0 BOOTSTRAP", ""), ("1 BOOT", "")]
    assert inform.device_id == rpc.DeviceId("FieldACS", "F1E1D0", "SimGW-Mini", "SIM000001")
    params = {p.name: p.value for p in inform.parameters}
    assert params["Device.ManagementServer.ConnectionRequestURL"] == "http://127.0.0.1:1/x"
    assert params["Device.DeviceInfo.SoftwareVersion"] == "1.0.0"
    assert inform.current_time.endswith("Z")
    assert not dev.session_due()


def test_reboot_sequence(make_device, clock) -> None:
    dev = make_device()
    session(dev)
    clock.advance(100)
    session(dev, rpc.Reboot("rb-1"))
    assert dev.run_timers() == []
    assert dev.session_due()
    assert dev.uptime == 0
    inform, _ = session(dev)
    assert codes(inform) == [("1 BOOT", ""), ("M Reboot", "rb-1")]
    assert not dev.session_due()


def test_failed_session_keeps_events_but_not_connection_request(make_device) -> None:
    dev = make_device()
    dev.add_event("6 CONNECTION REQUEST")
    inform = dev.make_inform(retry_count=0)
    assert ("6 CONNECTION REQUEST", "") in codes(inform)
    dev.end_session(False)
    retry = dev.make_inform(retry_count=1)
    assert codes(retry) == [("0 BOOTSTRAP", ""), ("1 BOOT", "")]
    assert retry.retry_count == 1


def test_connection_request_during_session_queues_another(make_device) -> None:
    dev = make_device()
    session(dev)
    dev.add_event("6 CONNECTION REQUEST")
    dev.make_inform()
    dev.add_event("6 CONNECTION REQUEST")  # arrives while the session runs
    dev.inform_accepted()
    dev.end_session(True)
    assert dev.session_due()
    inform, _ = session(dev)
    assert codes(inform) == [("6 CONNECTION REQUEST", "")]


def test_factory_reset_sequence(make_device) -> None:
    dev = make_device()
    session(dev)
    session(dev, rpc.SetParameterValues(
        (rpc.ParameterValue("Device.WiFi.SSID.1.SSID", "mine"),), "pk"),
        rpc.AddObject("Device.WiFi.SSID.", ""))
    assert "Device.WiFi.SSID.3." in dev.tree
    session(dev, rpc.FactoryReset())
    dev.run_timers()
    inform, _ = session(dev)
    assert codes(inform) == [("0 BOOTSTRAP", ""), ("1 BOOT", "")]
    assert "Device.WiFi.SSID.3." not in dev.tree
    assert dev.value("Device.WiFi.SSID.1.SSID") == "FieldACS-SIM000001"
    assert dev.value("Device.ManagementServer.ParameterKey") == ""


def test_firmware_download_sequence(make_device, clock) -> None:
    dev = make_device(transfer_time=5)
    session(dev)
    session(dev, rpc.Download(command_key="dl-7", url="http://127.0.0.1:7567/fw-2.3.1.bin",
                              file_size=10, delay_seconds=2))
    assert not dev.session_due()
    clock.advance(3)
    assert dev.run_timers() == []  # 2 s delay + 5 s transfer not over yet
    clock.advance(4)
    (transfer,) = dev.run_timers()
    dev.complete_transfer(transfer)
    inform, sent = session(dev)
    assert codes(inform) == [("1 BOOT", ""), ("7 TRANSFER COMPLETE", ""), ("M Download", "dl-7")]
    (tc,) = sent
    assert isinstance(tc, rpc.TransferComplete)
    assert tc.command_key == "dl-7" and tc.fault == rpc.FaultStruct(0, "")
    assert tc.start_time != rpc.UNKNOWN_TIME and tc.complete_time >= tc.start_time
    assert dev.value("Device.DeviceInfo.SoftwareVersion") == "2.3.1"
    assert not dev.session_due()


def test_failed_download_keeps_version_and_retries_transfer_complete(make_device) -> None:
    dev = make_device(download_fault=9016)
    session(dev)
    session(dev, rpc.Download(command_key="dl-8", url="http://127.0.0.1/fw-9.9.9.bin"))
    (transfer,) = dev.run_timers()
    dev.complete_transfer(transfer)
    # the TransferComplete session fails before TransferCompleteResponse
    inform = dev.make_inform()
    assert codes(inform) == [("7 TRANSFER COMPLETE", ""), ("M Download", "dl-8")]
    dev.inform_accepted()
    tc = dev.next_request()
    assert isinstance(tc, rpc.TransferComplete) and tc.fault.code == 9016
    dev.end_session(False)
    # retried in the next session until acknowledged
    inform, sent = session(dev)
    assert codes(inform) == [("7 TRANSFER COMPLETE", ""), ("M Download", "dl-8")]
    assert len(sent) == 1
    assert dev.value("Device.DeviceInfo.SoftwareVersion") == "1.0.0"
    assert not dev.session_due()


def test_config_download_has_no_boot(make_device) -> None:
    dev = make_device()
    session(dev)
    session(dev, rpc.Download(command_key="cfg", file_type="3 Vendor Configuration File",
                              url="http://127.0.0.1/cfg.xml"))
    (transfer,) = dev.run_timers()
    dev.complete_transfer(transfer)
    inform, sent = session(dev)
    assert codes(inform) == [("7 TRANSFER COMPLETE", ""), ("M Download", "cfg")]
    assert len(sent) == 1


def test_upload_sequence(make_device) -> None:
    dev = make_device()
    session(dev)
    session(dev, rpc.Upload(command_key="up", url="http://127.0.0.1/u"))
    (transfer,) = dev.run_timers()
    assert not transfer.is_download
    dev.complete_transfer(transfer)
    inform, sent = session(dev)
    assert codes(inform) == [("7 TRANSFER COMPLETE", ""), ("M Upload", "up")]
    assert isinstance(sent[0], rpc.TransferComplete) and sent[0].command_key == "up"


def test_schedule_inform_sequence(make_device, clock) -> None:
    dev = make_device()
    session(dev, rpc.ScheduleInform(delay_seconds=30, command_key="si"))
    clock.advance(29)
    dev.run_timers()
    assert not dev.session_due()
    assert dev.next_timer() == clock.now + 1
    clock.advance(1)
    dev.run_timers()
    inform, _ = session(dev)
    assert codes(inform) == [("3 SCHEDULED", ""), ("M ScheduleInform", "si")]


def test_acs_url_change_bootstraps(make_device) -> None:
    dev = make_device()
    session(dev)
    session(dev, rpc.SetParameterValues(
        (rpc.ParameterValue("Device.ManagementServer.URL", "http://127.0.0.1:9/acs"),), ""))
    assert dev.acs_url == "http://127.0.0.1:9/acs"
    inform, _ = session(dev)
    assert codes(inform) == [("0 BOOTSTRAP", "")]


def test_local_change_notifications(make_device) -> None:
    dev = make_device()
    session(dev, rpc.SetParameterAttributes(parameters=(
        rpc.SetParameterAttributesStruct("Device.WiFi.SSID.1.SSID", True, 1),
        rpc.SetParameterAttributesStruct("Device.WiFi.Radio.1.Channel", True, 2),
    )))
    dev.local_change("Device.WiFi.SSID.1.SSID", "passive")
    assert not dev.session_due()  # passive waits for the next Inform
    dev.local_change("Device.WiFi.Radio.1.Channel", "11")
    assert dev.session_due()
    inform, _ = session(dev)
    assert codes(inform) == [("4 VALUE CHANGE", "")]
    params = {p.name: p.value for p in inform.parameters}
    assert params["Device.WiFi.SSID.1.SSID"] == "passive"
    assert params["Device.WiFi.Radio.1.Channel"] == "11"
    assert not dev.session_due()
