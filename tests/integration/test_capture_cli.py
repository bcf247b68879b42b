"""``fieldacs-engine import-capture`` on captures made here with tcpdump: session files that
open, lint and keep secrets masked; HTTPS said plainly; a non-capture refused."""

from __future__ import annotations

from pathlib import Path

from acs_engine.inspect import sessionfile
from tests.integration.test_session_files import run_cli

DATA = Path(__file__).resolve().parents[1] / "data" / "captures"


async def test_import_capture_writes_session_files_that_lint(tmp_path: Path) -> None:
    code, out, err = await run_cli("import-capture", str(DATA / "sim-digest.pcapng"),
                                   "-o", str(tmp_path), "--lint")
    assert code == 0, err
    assert "1 CWMP session(s)" in out and "F1E1D0-SimGW%2D098-CAPDIGEST000001" in out
    [path] = tmp_path.glob("*.fieldacs-session.json")
    session = sessionfile.load(path)
    assert session.source == "capture" and session.secrets_masked
    assert session.notes == ("imported from sim-digest.pcapng",)
    assert b'response=\\"********\\"' in path.read_bytes()
    code, lint_out, err = await run_cli("lint", str(path))
    assert code == 0, lint_out + err

    code, out, err = await run_cli("import-capture", str(DATA / "sim-reordered.pcap"),
                                   "-o", str(tmp_path / "re"))
    assert code == 0 and "2 CWMP session(s)" in out


async def test_https_only_capture_and_garbage(tmp_path: Path) -> None:
    code, out, _ = await run_cli("import-capture", str(DATA / "sim-https.pcap"),
                                 "-o", str(tmp_path))
    assert code == 1
    assert "cannot be decrypted" in out and list(tmp_path.iterdir()) == []
    junk = tmp_path / "junk.pcap"
    junk.write_bytes(b"not a capture at all")
    code, _, err = await run_cli("import-capture", str(junk), "-o", str(tmp_path))
    assert code == 2 and "not a pcap or pcapng capture" in err
