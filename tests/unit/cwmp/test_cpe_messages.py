"""Messages shaped like what real CPE stacks send, as literal XML."""

from __future__ import annotations

import pytest

from acs_engine.cwmp import codec, rpc
from acs_engine.cwmp.envelope import NS_CWMP_1_0, NS_CWMP_1_2, NS_CWMP_1_4

TR098_INFORM = b"""<?xml version="1.0" encoding="UTF-8"?>
<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/"
    xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:cwmp="urn:dslforum-org:cwmp-1-0"
    SOAP-ENV:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">
  <SOAP-ENV:Header>
    <cwmp:ID SOAP-ENV:mustUnderstand="1">1804289383</cwmp:ID>
  </SOAP-ENV:Header>
  <SOAP-ENV:Body>
    <cwmp:Inform>
      <DeviceId>
        <Manufacturer>TP-LINK</Manufacturer>
        <OUI>F4F26D</OUI>
        <ProductClass>TD-W8960N</ProductClass>
        <SerialNumber>2135214001522</SerialNumber>
      </DeviceId>
      <Event SOAP-ENC:arrayType="cwmp:EventStruct[2]">
        <EventStruct>
          <EventCode>1 BOOT</EventCode>
          <CommandKey></CommandKey>
        </EventStruct>
        <EventStruct>
          <EventCode>4 VALUE CHANGE</EventCode>
          <CommandKey/>
        </EventStruct>
      </Event>
      <MaxEnvelopes>1</MaxEnvelopes>
      <CurrentTime>2013-01-01T08:02:19+08:00</CurrentTime>
      <RetryCount>0</RetryCount>
      <ParameterList SOAP-ENC:arrayType="cwmp:ParameterValueStruct[6]">
        <ParameterValueStruct>
          <Name>InternetGatewayDevice.DeviceSummary</Name>
          <Value xsi:type="xsd:string">InternetGatewayDevice:1.1[](Baseline:1, EthernetLAN:1, WiFiLAN:1, ADSLWAN:1, Time:1, IPPing:1)</Value>
        </ParameterValueStruct>
        <ParameterValueStruct>
          <Name>InternetGatewayDevice.DeviceInfo.SpecVersion</Name>
          <Value xsi:type="xsd:string">1.0</Value>
        </ParameterValueStruct>
        <ParameterValueStruct>
          <Name>InternetGatewayDevice.DeviceInfo.HardwareVersion</Name>
          <Value xsi:type="xsd:string">TD-W8960N v5 00000000</Value>
        </ParameterValueStruct>
        <ParameterValueStruct>
          <Name>InternetGatewayDevice.DeviceInfo.SoftwareVersion</Name>
          <Value xsi:type="xsd:string">1.4.0 Build 130107 Rel.54829n</Value>
        </ParameterValueStruct>
        <ParameterValueStruct>
          <Name>InternetGatewayDevice.ManagementServer.ConnectionRequestURL</Name>
          <Value xsi:type="xsd:string">http://10.20.30.40:7547/tr069</Value>
        </ParameterValueStruct>
        <ParameterValueStruct>
          <Name>InternetGatewayDevice.ManagementServer.PeriodicInformInterval</Name>
          <Value xsi:type="xsd:unsignedInt">
            43200
          </Value>
        </ParameterValueStruct>
      </ParameterList>
    </cwmp:Inform>
  </SOAP-ENV:Body>
</SOAP-ENV:Envelope>
"""


def _parse(body: bytes) -> rpc.Message:
    env = codec.parse(body)
    assert env is not None
    return env.message


def test_tr098_inform_as_a_real_cpe_sends_it() -> None:
    env = codec.parse(TR098_INFORM)
    assert env is not None
    assert env.cwmp_id == "1804289383"
    assert env.namespace == NS_CWMP_1_0
    assert codec.detect_version(env) == "1.0"
    assert codec.negotiate(env) == (NS_CWMP_1_0, None)
    inform = env.message
    assert isinstance(inform, rpc.Inform)
    assert inform.device_id == rpc.DeviceId("TP-LINK", "F4F26D", "TD-W8960N", "2135214001522")
    assert inform.events == (rpc.EventStruct("1 BOOT"), rpc.EventStruct("4 VALUE CHANGE"))
    assert inform.has_event("1 BOOT")
    assert inform.current_time == "2013-01-01T08:02:19+08:00"
    assert (inform.max_envelopes, inform.retry_count) == (1, 0)
    assert len(inform.parameters) == 6
    assert inform.parameters[0].value.startswith("InternetGatewayDevice:1.1[](Baseline:1")
    # numbers are trimmed, strings are not
    assert inform.parameters[5] == rpc.ParameterValue(
        "InternetGatewayDevice.ManagementServer.PeriodicInformInterval", "43200",
        "xsd:unsignedInt")


NO_NAMESPACE_INFORM = b"""<Envelope><Body><Inform>
<DeviceId><Manufacturer>Acme</Manufacturer><OUI>001122</OUI>
<ProductClass>Box</ProductClass><SerialNumber>SN-9</SerialNumber></DeviceId>
<Event><EventStruct><EventCode>2 PERIODIC</EventCode><CommandKey></CommandKey></EventStruct></Event>
<MaxEnvelopes>1</MaxEnvelopes><CurrentTime>2024-01-01T00:00:00Z</CurrentTime>
<RetryCount>3</RetryCount>
<ParameterList><ParameterValueStruct><Name>Device.DeviceInfo.UpTime</Name>
<Value>77</Value></ParameterValueStruct></ParameterList>
</Inform></Body></Envelope>"""


def test_inform_without_any_namespaces() -> None:
    env = codec.parse(NO_NAMESPACE_INFORM)
    assert env is not None
    assert env.cwmp_id is None
    assert env.namespace == NS_CWMP_1_0
    inform = env.message
    assert isinstance(inform, rpc.Inform)
    assert inform.device_id.serial_number == "SN-9"
    assert inform.retry_count == 3
    assert inform.events == (rpc.EventStruct("2 PERIODIC"),)
    assert inform.parameters == (rpc.ParameterValue("Device.DeviceInfo.UpTime", "77"),)


PREFIXED_CHILDREN_INFORM = b"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:cwmp="urn:dslforum-org:cwmp-1-1" xmlns:enc="http://schemas.xmlsoap.org/soap/encoding/">
<soap:Header><cwmp:ID soap:mustUnderstand="1">abc</cwmp:ID></soap:Header>
<soap:Body><cwmp:Inform>
<cwmp:DeviceId><cwmp:Manufacturer>Acme</cwmp:Manufacturer><cwmp:OUI>001122</cwmp:OUI>
<cwmp:ProductClass>Box</cwmp:ProductClass><cwmp:SerialNumber>SN-1</cwmp:SerialNumber></cwmp:DeviceId>
<cwmp:Event enc:arrayType="cwmp:EventStruct[1]"><cwmp:EventStruct><cwmp:EventCode>6 CONNECTION REQUEST</cwmp:EventCode><cwmp:CommandKey/></cwmp:EventStruct></cwmp:Event>
<cwmp:MaxEnvelopes>1</cwmp:MaxEnvelopes><cwmp:CurrentTime>2024-01-01T00:00:00</cwmp:CurrentTime>
<cwmp:RetryCount>0</cwmp:RetryCount>
<cwmp:ParameterList enc:arrayType="cwmp:ParameterValueStruct[1]"><cwmp:ParameterValueStruct>
<cwmp:Name>Device.ManagementServer.URL</cwmp:Name><cwmp:Value>http://acs</cwmp:Value>
</cwmp:ParameterValueStruct></cwmp:ParameterList>
</cwmp:Inform></soap:Body></soap:Envelope>"""


def test_inform_with_cwmp_prefixed_children_and_other_prefixes() -> None:
    env = codec.parse(PREFIXED_CHILDREN_INFORM)
    assert env is not None
    assert env.cwmp_id == "abc"
    assert codec.detect_version(env) == "1.1"
    inform = env.message
    assert isinstance(inform, rpc.Inform)
    assert inform.device_id.oui == "001122"
    assert inform.events[0].code == "6 CONNECTION REQUEST"
    assert inform.parameters == (rpc.ParameterValue("Device.ManagementServer.URL", "http://acs"),)


def test_no_id_no_xsi_type_and_wrong_array_counts() -> None:
    body = b"""<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"
      xmlns:soapenc="http://schemas.xmlsoap.org/soap/encoding/"
      xmlns:cwmp="urn:dslforum-org:cwmp-1-2"><soapenv:Body>
      <cwmp:GetParameterValuesResponse>
        <ParameterList soapenc:arrayType="cwmp:ParameterValueStruct[5]">
          <ParameterValueStruct><Name>Device.A</Name><Value>  spaced  </Value></ParameterValueStruct>
          <ParameterValueStruct><Name>Device.B</Name><Value/></ParameterValueStruct>
        </ParameterList>
      </cwmp:GetParameterValuesResponse></soapenv:Body></soapenv:Envelope>"""
    env = codec.parse(body)
    assert env is not None
    assert env.cwmp_id is None
    assert env.message == rpc.GetParameterValuesResponse((
        rpc.ParameterValue("Device.A", "  spaced  "), rpc.ParameterValue("Device.B", ""),
    ))


def test_array_count_of_zero_and_missing_array_type() -> None:
    body = b"""<Envelope><Body><GetParameterNamesResponse>
      <ParameterList arrayType="ParameterInfoStruct[0]">
      <ParameterInfoStruct><Name>Device.</Name><Writable>0</Writable></ParameterInfoStruct>
      </ParameterList></GetParameterNamesResponse></Body></Envelope>"""
    assert _parse(body) == rpc.GetParameterNamesResponse((rpc.ParameterInfo("Device.", False),))


INFORM_1_4 = b"""<?xml version="1.0"?>
<soap-env:Envelope xmlns:soap-env="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:cwmp="urn:dslforum-org:cwmp-1-2" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
 xmlns:xsd="http://www.w3.org/2001/XMLSchema">
<soap-env:Header>
 <cwmp:ID soap-env:mustUnderstand="1">42</cwmp:ID>
 <cwmp:SessionTimeout>60</cwmp:SessionTimeout>
 <cwmp:SupportedCWMPVersions soap-env:mustUnderstand="0">1.0,1.1,1.2,1.3,1.4</cwmp:SupportedCWMPVersions>
</soap-env:Header>
<soap-env:Body><cwmp:Inform>
<DeviceId><Manufacturer>Acme</Manufacturer><OUI>001122</OUI><ProductClass>Box</ProductClass>
<SerialNumber>SN-14</SerialNumber></DeviceId>
<Event><EventStruct><EventCode>13 WAKEUP</EventCode><CommandKey/></EventStruct></Event>
<MaxEnvelopes>1</MaxEnvelopes><CurrentTime>2024-01-01T00:00:00Z</CurrentTime>
<RetryCount>0</RetryCount><ParameterList/>
</cwmp:Inform></soap-env:Body></soap-env:Envelope>"""


def test_cwmp_1_4_inform_with_supported_versions_and_negotiation() -> None:
    env = codec.parse(INFORM_1_4)
    assert env is not None
    assert env.session_timeout == 60
    assert env.supported_versions == ("1.0", "1.1", "1.2", "1.3", "1.4")
    assert codec.detect_version(env) == "1.4"
    assert codec.negotiate(env) == (NS_CWMP_1_2, "1.4")


def test_negotiation_picks_highest_common_version() -> None:
    env = codec.parse(INFORM_1_4.replace(b"1.0,1.1,1.2,1.3,1.4", b" 1.0 , 1.2 ,9.9,junk"))
    assert env is not None
    assert codec.negotiate(env) == (NS_CWMP_1_2, "1.2")


def test_negotiation_without_common_version_raises_version_mismatch() -> None:
    env = codec.parse(INFORM_1_4.replace(b"1.0,1.1,1.2,1.3,1.4", b"2.0,2.1"))
    assert env is not None
    with pytest.raises(codec.VersionMismatch, match="no common CWMP version") as info:
        codec.negotiate(env)
    assert isinstance(info.value, codec.CwmpParseError)
    assert info.value.cwmp_id == "42"


CPE_SPV_FAULT = b"""<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:cwmp="urn:dslforum-org:cwmp-1-0">
<SOAP-ENV:Header><cwmp:ID SOAP-ENV:mustUnderstand="1">spv-1</cwmp:ID></SOAP-ENV:Header>
<SOAP-ENV:Body><SOAP-ENV:Fault>
  <faultcode>SOAP-ENV:Client</faultcode>
  <faultstring>CWMP fault</faultstring>
  <detail><cwmp:Fault>
    <FaultCode>9003</FaultCode>
    <FaultString>Invalid arguments</FaultString>
    <SetParameterValuesFault>
      <ParameterName>InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.Channel</ParameterName>
      <FaultCode> 9007 </FaultCode>
      <FaultString>Invalid parameter value</FaultString>
    </SetParameterValuesFault>
    <SetParameterValuesFault>
      <ParameterName>InternetGatewayDevice.DeviceInfo.UpTime</ParameterName>
      <FaultCode>9008</FaultCode>
    </SetParameterValuesFault>
  </cwmp:Fault></detail>
</SOAP-ENV:Fault></SOAP-ENV:Body></SOAP-ENV:Envelope>"""


def test_cpe_fault_with_set_parameter_values_fault_list() -> None:
    env = codec.parse(CPE_SPV_FAULT)
    assert env is not None
    assert env.cwmp_id == "spv-1"
    assert env.namespace == NS_CWMP_1_0
    assert env.message == rpc.Fault(
        code=9003, string="Invalid arguments", faultcode="Client",
        set_parameter_values_faults=(
            rpc.SetParameterValuesFault(
                "InternetGatewayDevice.LANDevice.1.WLANConfiguration.1.Channel", 9007,
                "Invalid parameter value"),
            rpc.SetParameterValuesFault("InternetGatewayDevice.DeviceInfo.UpTime", 9008, ""),
        ),
    )


@pytest.mark.parametrize(
    ("fault_xml", "code", "string", "faultcode"),
    [
        (b"<faultcode>Server</faultcode><faultstring>9002 Internal error</faultstring>",
         9002, "9002 Internal error", "Server"),
        (b"<faultcode>Client</faultcode><faultstring>Method not supported (9000)</faultstring>",
         9000, "Method not supported (9000)", "Client"),
        (b"<faultcode>SOAP-ENV:Server</faultcode><faultstring>CWMP fault</faultstring>",
         9002, "", "Server"),
        (b"<faultcode>Client</faultcode><faultstring>oops</faultstring>", 9002, "oops", "Client"),
        (b"", 9002, "", "Server"),
    ],
)
def test_fault_without_detail_is_read_leniently(
    fault_xml: bytes, code: int, string: str, faultcode: str
) -> None:
    body = (b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body><e:Fault>'
            + fault_xml + b"</e:Fault></e:Body></e:Envelope>")
    assert _parse(body) == rpc.Fault(code=code, string=string, faultcode=faultcode)


def test_bare_cwmp_fault_in_body() -> None:
    body = b"""<Envelope xmlns:cwmp="urn:dslforum-org:cwmp-1-1"><Body><cwmp:Fault>
      <FaultCode>9005</FaultCode><FaultString>Invalid parameter name</FaultString>
      </cwmp:Fault></Body></Envelope>"""
    env = codec.parse(body)
    assert env is not None
    assert env.namespace == "urn:dslforum-org:cwmp-1-1"
    assert env.message == rpc.Fault(9005, "Invalid parameter name", "Client")


GPN_RESPONSE = b"""<SOAP-ENV:Envelope xmlns:SOAP-ENV="http://schemas.xmlsoap.org/soap/envelope/"
 xmlns:SOAP-ENC="http://schemas.xmlsoap.org/soap/encoding/"
 xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:cwmp="urn:dslforum-org:cwmp-1-0">
<SOAP-ENV:Header><cwmp:ID SOAP-ENV:mustUnderstand="1">gpn-3</cwmp:ID></SOAP-ENV:Header>
<SOAP-ENV:Body><cwmp:GetParameterNamesResponse>
<ParameterList SOAP-ENC:arrayType="cwmp:ParameterInfoStruct[4]">
<ParameterInfoStruct><Name>InternetGatewayDevice.LANDevice.</Name><Writable>0</Writable></ParameterInfoStruct>
<ParameterInfoStruct><Name>InternetGatewayDevice.LANDevice.1.</Name><Writable>true</Writable></ParameterInfoStruct>
<ParameterInfoStruct><Name>InternetGatewayDevice.LANDevice.1.LANHostConfigManagement.DHCPServerEnable</Name><Writable> 1 </Writable></ParameterInfoStruct>
<ParameterInfoStruct><Name>InternetGatewayDevice.LANDevice.1.X_TP_Extra</Name><Writable>FALSE</Writable><X_Unknown>ignored</X_Unknown></ParameterInfoStruct>
</ParameterList></cwmp:GetParameterNamesResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>"""


def test_get_parameter_names_response() -> None:
    env = codec.parse(GPN_RESPONSE)
    assert env is not None
    assert env.cwmp_id == "gpn-3"
    assert env.message == rpc.GetParameterNamesResponse((
        rpc.ParameterInfo("InternetGatewayDevice.LANDevice.", False),
        rpc.ParameterInfo("InternetGatewayDevice.LANDevice.1.", True),
        rpc.ParameterInfo(
            "InternetGatewayDevice.LANDevice.1.LANHostConfigManagement.DHCPServerEnable", True),
        rpc.ParameterInfo("InternetGatewayDevice.LANDevice.1.X_TP_Extra", False),
    ))


def test_transfer_complete_with_fault() -> None:
    body = b"""<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"
     xmlns:cwmp="urn:dslforum-org:cwmp-1-0"><soap:Header><cwmp:ID soap:mustUnderstand="1">100</cwmp:ID>
     </soap:Header><soap:Body><cwmp:TransferComplete>
     <CommandKey>fw-upgrade-7</CommandKey>
     <FaultStruct><FaultCode>9010</FaultCode><FaultString>Download failed: HTTP 404</FaultString></FaultStruct>
     <StartTime>2024-03-01T10:00:00Z</StartTime><CompleteTime> 2024-03-01T10:00:05Z </CompleteTime>
     </cwmp:TransferComplete></soap:Body></soap:Envelope>"""
    assert _parse(body) == rpc.TransferComplete(
        "fw-upgrade-7", rpc.FaultStruct(9010, "Download failed: HTTP 404"),
        "2024-03-01T10:00:00Z", "2024-03-01T10:00:05Z",
    )


def test_missing_optional_fields_get_defaults_and_unknown_elements_are_ignored() -> None:
    body = b"""<Envelope><Body><Inform><X_Vendor><Deep>1</Deep></X_Vendor>
      <DeviceId><OUI>001122</OUI><SerialNumber>S</SerialNumber></DeviceId>
      <MaxEnvelopes>not-a-number</MaxEnvelopes></Inform></Body></Envelope>"""
    assert _parse(body) == rpc.Inform(device_id=rpc.DeviceId("", "001122", "", "S"))


def test_whitespace_is_trimmed_for_numbers_and_booleans_only() -> None:
    body = b"""<Envelope><Body><GetParameterNames><ParameterPath> Device. </ParameterPath>
      <NextLevel>
        true
      </NextLevel></GetParameterNames></Body></Envelope>"""
    assert _parse(body) == rpc.GetParameterNames(" Device. ", True)
    body = b"<Envelope><Body><AddObjectResponse><InstanceNumber>\n 12\n</InstanceNumber>" \
           b"<Status> 0 </Status></AddObjectResponse></Body></Envelope>"
    assert _parse(body) == rpc.AddObjectResponse(12, 0)


def test_unqualified_rpc_element_takes_namespace_in_scope() -> None:
    body = b"""<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"
      xmlns:cwmp="urn:dslforum-org:cwmp-1-2"><s:Body><GetRPCMethods/></s:Body></s:Envelope>"""
    env = codec.parse(body)
    assert env is not None
    assert env.namespace == NS_CWMP_1_2
    assert env.message == rpc.GetRPCMethods()


def test_undeclared_prefixes_are_tolerated() -> None:
    body = b"""<SOAP-ENV:Envelope><SOAP-ENV:Header><cwmp:ID>5</cwmp:ID></SOAP-ENV:Header>
      <SOAP-ENV:Body><cwmp:SetParameterValuesResponse><Status>0</Status>
      </cwmp:SetParameterValuesResponse></SOAP-ENV:Body></SOAP-ENV:Envelope>"""
    env = codec.parse(body)
    assert env is not None
    assert env.cwmp_id == "5"
    assert env.message == rpc.SetParameterValuesResponse(0)


def test_value_types_with_other_prefixes_or_none() -> None:
    body = b"""<Envelope xmlns:i="http://www.w3.org/2001/XMLSchema-instance"><Body>
      <GetParameterValuesResponse><ParameterList>
      <ParameterValueStruct><Name>A</Name><Value i:type="xs:UNSIGNEDINT"> 7 </Value></ParameterValueStruct>
      <ParameterValueStruct><Name>B</Name><Value i:type="boolean">TRUE</Value></ParameterValueStruct>
      <ParameterValueStruct><Name>C</Name><Value type="soap-enc:string"> c </Value></ParameterValueStruct>
      <ParameterValueStruct><Name>D</Name></ParameterValueStruct>
      </ParameterList></GetParameterValuesResponse></Body></Envelope>"""
    assert _parse(body) == rpc.GetParameterValuesResponse((
        rpc.ParameterValue("A", "7", "xsd:unsignedInt"),
        rpc.ParameterValue("B", "TRUE", "xsd:boolean"),
        rpc.ParameterValue("C", " c ", "xsd:string"),
        rpc.ParameterValue("D", ""),
    ))


def test_hold_requests_and_no_more_requests_headers_from_a_cpe() -> None:
    body = b"""<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"
      xmlns:cwmp="urn:dslforum-org:cwmp-1-0"><e:Header>
      <cwmp:ID e:mustUnderstand="1">9</cwmp:ID>
      <cwmp:HoldRequests e:mustUnderstand="1">true</cwmp:HoldRequests>
      <cwmp:NoMoreRequests>1</cwmp:NoMoreRequests></e:Header>
      <e:Body><cwmp:RebootResponse/></e:Body></e:Envelope>"""
    env = codec.parse(body)
    assert env is not None
    assert (env.hold_requests, env.no_more_requests) == (True, True)
    assert env.message == rpc.RebootResponse()


def test_unofficial_cwmp_1_4_urn() -> None:
    env = codec.parse(INFORM_1_4.replace(b"cwmp-1-2", b"cwmp-1-4"))
    assert env is not None
    assert env.namespace == NS_CWMP_1_4
    assert codec.detect_version(env) == "1.4"
    assert codec.negotiate(env) == (NS_CWMP_1_4, "1.4")


def test_charsets_bom_latin1_and_utf16() -> None:
    latin = ('<?xml version="1.0" encoding="ISO-8859-1"?><Envelope><Body><Kicked>'
             "<Command>caf\u00e9</Command></Kicked></Body></Envelope>").encode("latin-1")
    assert _parse(latin) == rpc.Kicked(command="caf\u00e9")
    bom = b"\xef\xbb\xbf" + "<Envelope><Body><Kicked><Arg>\u2713</Arg></Kicked></Body></Envelope>".encode()
    assert _parse(bom) == rpc.Kicked(arg="\u2713")
    utf16 = ('<?xml version="1.0" encoding="UTF-16"?><Envelope><Body><Kicked>'
             "<Next>\u65e5\u672c</Next></Kicked></Body></Envelope>").encode("utf-16")
    assert _parse(utf16) == rpc.Kicked(next="\u65e5\u672c")


@pytest.mark.parametrize("body", [b"", b"   \r\n\t ", b"\xef\xbb\xbf", b"\xef\xbb\xbf \n"])
def test_empty_bodies_are_none(body: bytes) -> None:
    assert codec.parse(body) is None


def test_bytearray_and_memoryview_bodies() -> None:
    assert codec.parse(bytearray(NO_NAMESPACE_INFORM)) == codec.parse(NO_NAMESPACE_INFORM)
    assert codec.parse(memoryview(b"  ")) is None


def test_du_state_change_complete_array_form() -> None:
    body = b"""<Envelope><Body><DUStateChangeComplete>
      <Results arrayType="cwmp:OpResultStruct[2]">
        <OpResultStruct><UUID>u1</UUID><Fault><FaultCode>0</FaultCode></Fault></OpResultStruct>
        <OpResultStruct><UUID>u2</UUID><Fault><FaultCode>9018</FaultCode></Fault></OpResultStruct>
      </Results><CommandKey>k</CommandKey></DUStateChangeComplete></Body></Envelope>"""
    assert _parse(body) == rpc.DUStateChangeComplete("k", (
        (("UUID", "u1"), ("Fault.FaultCode", "0")),
        (("UUID", "u2"), ("Fault.FaultCode", "9018")),
    ))


def test_method_names_are_matched_case_insensitively() -> None:
    body = b"<Envelope><Body><informresponse><maxenvelopes>1</maxenvelopes></informresponse>" \
           b"</Body></Envelope>"
    assert _parse(body) == rpc.InformResponse(1)
