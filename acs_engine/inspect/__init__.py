"""Inspecting any CPE's session, not only ours (issue 12).

Modules:
    sessionfile: the versioned session file (read, write, mask).
    lint, lint_inform, schema: the CPE linter.
    capture, tcpstream, httpstream: pcap/pcapng import.
    sources: session files from the store or live messages; the states messages imply.
    har: HAR 1.2 export.
    replay: a session file's CPE played against an engine, divergences located.
    bundle: the escalation bundle (zip).

The pass-through proxy is :mod:`acs_engine.server.proxy`.
"""
