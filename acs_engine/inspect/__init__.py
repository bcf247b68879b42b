"""Inspecting any CPE's session, not only ours: session files, HAR export, CPE linting.

Modules:
    sessionfile: the versioned session file (read, write, mask).
    lint, lint_inform, schema: the CPE linter.
    capture, tcpstream, httpstream: pcap/pcapng import.
    sources: session files from the store or live messages; the states messages imply.
    har: HAR 1.2 export.
"""
