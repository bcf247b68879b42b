"""Inspecting any CPE's session, not only ours: session files, HAR export, CPE linting.

Modules:
    sessionfile: the versioned session file (read, write, mask).
    sources: session files from the store or live messages; the states messages imply.
    har: HAR 1.2 export.
"""
