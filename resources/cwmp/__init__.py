"""CWMP XSDs (Broadband Forum) and SOAP stand-ins for the CPE linter."""
