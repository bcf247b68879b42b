"""Sans-IO CWMP wire layer: SOAP codec, RPC dataclasses, faults, versions."""
