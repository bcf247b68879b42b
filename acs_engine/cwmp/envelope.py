"""The SOAP envelope around one CWMP message, and the CWMP versions and namespaces."""

from __future__ import annotations

from dataclasses import dataclass

from acs_engine.cwmp.rpc import Message

NS_SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
NS_SOAP_ENC = "http://schemas.xmlsoap.org/soap/encoding/"
NS_XSD = "http://www.w3.org/2001/XMLSchema"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"

NS_CWMP_1_0 = "urn:dslforum-org:cwmp-1-0"
NS_CWMP_1_1 = "urn:dslforum-org:cwmp-1-1"
NS_CWMP_1_2 = "urn:dslforum-org:cwmp-1-2"
#: Not official (1.3/1.4 keep cwmp-1-2) but sent by some stacks; accepted and echoed back.
NS_CWMP_1_3 = "urn:dslforum-org:cwmp-1-3"
NS_CWMP_1_4 = "urn:dslforum-org:cwmp-1-4"

CWMP_NAMESPACES: tuple[str, ...] = (NS_CWMP_1_0, NS_CWMP_1_1, NS_CWMP_1_2, NS_CWMP_1_3, NS_CWMP_1_4)

#: The protocol versions this ACS speaks, lowest first.
VERSIONS: tuple[str, ...] = ("1.0", "1.1", "1.2", "1.3", "1.4")


@dataclass(frozen=True, slots=True)
class Envelope:
    """One SOAP envelope: header fields plus the single message in its Body.

    Attributes:
        message: the RPC, response or Fault in the Body.
        cwmp_id: the ``cwmp:ID`` header (None when absent).
        namespace: the cwmp namespace URI the sender used (or should use, when building).
        hold_requests: the ``cwmp:HoldRequests`` header (None when absent).
        no_more_requests: the deprecated ``cwmp:NoMoreRequests`` header.
        session_timeout: the ``cwmp:SessionTimeout`` header, seconds (1.3+).
        supported_versions: the ``cwmp:SupportedCWMPVersions`` header, split (1.4+).
        use_cwmp_version: the ``cwmp:UseCWMPVersion`` header (ACS -> CPE, 1.4+).
    """

    message: Message
    cwmp_id: str | None = None
    namespace: str = NS_CWMP_1_0
    hold_requests: bool | None = None
    no_more_requests: bool = False
    session_timeout: int | None = None
    supported_versions: tuple[str, ...] = ()
    use_cwmp_version: str | None = None
