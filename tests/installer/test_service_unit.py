"""installer/fieldacs-engine.service: systemd accepts it, and its command line is ours."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from acs_engine.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "installer" / "fieldacs-engine.service"
INSTALLED = "/opt/fieldacs/bin/fieldacs-engine"


def _settings() -> dict[str, list[str]]:
    """``Key=value`` lines of the unit (continuations joined), every value of each key."""
    out: dict[str, list[str]] = {}
    pending = ""
    for raw in UNIT.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith(("#", "["))):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        key, _, value = (pending + line).partition("=")
        pending = ""
        out.setdefault(key.strip(), []).append(value.strip())
    return out


def test_unit_runs_serve_with_options_our_parser_takes() -> None:
    settings = _settings()
    argv = shlex.split(settings["ExecStart"][0])
    assert argv[0] == INSTALLED
    argv = [a.replace("%d", "/run/credentials/fieldacs-engine.service")
            for a in argv[1:] if a != "$FIELDACS_OPTS"]
    args = build_parser().parse_args(argv)
    assert args.command == "serve"
    assert args.db == "/var/lib/fieldacs/fieldacs.db"
    assert args.nbi_token_file.endswith("/nbi-token")
    assert settings["LoadCredential"] == ["nbi-token:/etc/fieldacs/nbi-token"]
    # systemd waits longer than the engine's own bounded drain before it kills.
    assert float(settings["TimeoutStopSec"][0]) > args.drain_timeout


def test_unit_has_its_service_settings_and_hardening() -> None:
    settings = {k: v[-1] for k, v in _settings().items()}
    assert settings["User"] == "fieldacs" and settings["StateDirectory"] == "fieldacs"
    assert settings["Restart"] == "on-failure"
    assert settings["StandardOutput"] == "journal"
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices",
                "RestrictNamespaces", "RestrictSUIDSGID", "LockPersonality"):
        assert settings[key] == "yes", key
    assert settings["ProtectSystem"] == "strict"
    assert settings["CapabilityBoundingSet"] == ""
    # The V8 JIT of provision scripts needs writable+executable memory.
    assert "MemoryDenyWriteExecute" not in settings


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_analyze_verify_accepts_the_unit(tmp_path: Path) -> None:
    engine = Path(sys.executable).parent / "fieldacs-engine"
    assert engine.exists(), "the venv's fieldacs-engine entry point"
    unit = tmp_path / "fieldacs-engine.service"
    unit.write_text(UNIT.read_text(encoding="utf-8").replace(INSTALLED, str(engine)),
                    encoding="utf-8")
    done = subprocess.run(["systemd-analyze", "verify", str(unit)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
