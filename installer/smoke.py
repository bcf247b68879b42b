"""Smoke test of the built bundle: do the frozen programs start and serve a CPE?

    python installer/smoke.py [BUNDLE]      (default dist/FieldACS; on macOS the .app's
                                             Contents/MacOS folder works too)

Standard library only, so any Python 3.11 can run it (CI runs it after ``make dist``):

1. ``fieldacs-engine serve`` on a free loopback port with a fresh database;
2. ``fieldacs-engine sim --count 1 --once --model tr181`` runs one simulated CPE's whole
   bootstrap session against it (both programs' engine code, V8 provisions included);
3. ``serve`` stops cleanly on SIGTERM, and ``fieldacs-engine devices --json`` lists the device;
4. the ``ext()`` child process starts from both programs (``--run-ext-child``), and the
   simulator's XMPP client (slixmpp) runs;
5. ``fieldacs`` starts offscreen with no options but free ports, in an empty home folder,
   shows its main window with the ACS URL, closes it by itself and exits 0; its database
   was created in the platform's user data folder (first run needs no setup).

Exits 0 when every check passed; prints what failed otherwise.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXE = ".exe" if sys.platform == "win32" else ""


class SmokeError(Exception):
    pass


PASSED: list[str] = []


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def find_bundle(arg: str | None) -> Path:
    bundle = Path(arg) if arg else ROOT / "dist" / "FieldACS"
    if sys.platform == "darwin" and not (bundle / "fieldacs").exists():
        app = ROOT / "dist" / "FieldACS.app" / "Contents" / "MacOS"
        bundle = app if app.is_dir() else bundle
    for name in ("fieldacs", "fieldacs-engine"):
        if not (bundle / f"{name}{EXE}").is_file():
            raise SmokeError(f"{bundle / (name + EXE)} is missing: build it with `make dist`")
    return bundle


def run(cmd: list[str], timeout: float, **kwargs: object) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            cmd, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
        )  # type: ignore[call-overload]
    except subprocess.TimeoutExpired as exc:
        raise SmokeError(f"{' '.join(cmd)} did not finish within {timeout:.0f} s") from exc


def expect(ok: bool, what: str, detail: str = "") -> None:
    if not ok:
        raise SmokeError(what + (f"\n--- output ---\n{detail.strip()}" if detail else ""))
    PASSED.append(what)
    print(f"  ok  {what}", flush=True)


def check_engine(engine: Path, tmp: Path) -> None:
    db = tmp / "engine" / "fieldacs.db"
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    serve = subprocess.Popen(
        [str(engine), "serve", "--db", str(db), "--host", "127.0.0.1",
         "--cwmp-port", str(port), "--fs-port", "0", "--nbi-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    listening = threading.Event()

    def pump() -> None:
        assert serve.stdout is not None
        for line in serve.stdout:
            lines.append(line)
            if "ACS URL:" in line:
                listening.set()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        started = time.monotonic()
        if not listening.wait(60) or serve.poll() is not None:
            raise SmokeError("fieldacs-engine serve did not start listening\n" + "".join(lines))
        expect(True, f"fieldacs-engine serve listening on {url} "
                     f"({time.monotonic() - started:.1f} s)")

        sim = run([str(engine), "sim", "--acs", url, "--count", "1", "--once",
                   "--model", "tr181"], timeout=120)
        out = sim.stdout + sim.stderr
        expect(sim.returncode == 0, f"fieldacs-engine sim exited {sim.returncode}", out)
        ok = re.search(r"sessions ok:\s+1\b", out) and re.search(r"sessions failed:\s+0\b", out)
        expect(bool(ok), "the simulated CPE's bootstrap session completed", out)
    finally:
        if serve.poll() is None:
            serve.terminate()  # SIGTERM: serve stops the engine and exits 0 (POSIX)
        try:
            code = serve.wait(30)
        except subprocess.TimeoutExpired:
            serve.kill()
            code = serve.wait()
        reader.join(5)
    if sys.platform != "win32":  # Windows has no SIGTERM: terminate() kills the process
        expect(code == 0, f"fieldacs-engine serve stopped cleanly (exit {code})", "".join(lines))

    listing = run([str(engine), "devices", "--db", str(db), "--json"], timeout=60)
    expect(listing.returncode == 0, f"fieldacs-engine devices exited {listing.returncode}",
           listing.stdout + listing.stderr)
    devices = json.loads(listing.stdout)
    expect(len(devices) == 1 and devices[0]["param_count"] > 0,
           f"the database lists the device: {devices[0]['id'] if devices else None} "
           f"({devices[0]['param_count'] if devices else 0} parameters)", listing.stdout)


def check_xmpp_client(engine: Path) -> None:
    """slixmpp is in the bundle: the simulator's XMPP login runs and reports the refused
    connection (a closed loopback port) in words, not an ImportError."""
    port = free_port()
    sim = run([str(engine), "sim", "--acs", "http://127.0.0.1:9/", "--count", "1", "--once",
               "--no-connreq", "--xmpp-server", f"127.0.0.1:{port}", "--xmpp-tls", "none",
               "--xmpp-password", "x"], timeout=60)
    out = sim.stdout + sim.stderr
    expect(sim.returncode == 2 and f"XMPP login to 127.0.0.1:{port} failed" in out
           and "Traceback" not in out,
           "the XMPP client (slixmpp) runs in the bundle", out)


def check_ext_child(program: Path, tmp: Path) -> None:
    ext = tmp / "ext"
    ext.mkdir(exist_ok=True)
    (ext / "hello.py").write_text(
        "import hashlib\n\ndef greet(name):\n"
        "    return {'hello': name, 'sha1': hashlib.sha1(name.encode()).hexdigest()[:8]}\n"
    )
    child = run([str(program), "--run-ext-child", str(ext / "hello.py"), "greet"],
                timeout=60, input='["cpe"]', cwd=str(ext))
    try:
        reply = json.loads(child.stdout)
    except ValueError:
        reply = None
    expect(isinstance(reply, dict) and reply.get("ok", {}).get("hello") == "cpe",
           f"{program.name} --run-ext-child runs an extension", child.stdout + child.stderr)


def check_console(console: Path, tmp: Path, exit_after: float = 2.0) -> None:
    home = tmp / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(HOME=str(home), USERPROFILE=str(home), QT_QPA_PLATFORM="offscreen")
    started = time.monotonic()
    gui = run([str(console), "--cwmp-port", "0", "--fs-port", "0",
               "--smoke-exit-after", str(exit_after)], timeout=120, env=env)
    took = time.monotonic() - started
    out = gui.stdout + gui.stderr
    expect(gui.returncode == 0, f"fieldacs exited {gui.returncode} ({took:.1f} s)", out)
    expect("smoke: window shown: True" in gui.stdout, "fieldacs showed its main window", out)
    urls = re.findall(r"smoke: ACS URL: (\S+)", gui.stdout)
    expect(bool(urls) and all(u.startswith("http://") for u in urls),
           f"the window shows the URL to give a CPE: {', '.join(urls)}", out)
    if sys.platform != "win32":  # Windows finds the user's folders without HOME
        data = "Library/Application Support" if sys.platform == "darwin" else ".local/share"
        db = home / data / "FieldACS" / "fieldacs.db"
        expect(db.is_file(), f"first run created the database in the user data folder ({db})",
               out)


def main(argv: list[str]) -> int:
    started = time.monotonic()
    try:
        bundle = find_bundle(argv[1] if len(argv) > 1 else None)
        engine, console = bundle / f"fieldacs-engine{EXE}", bundle / f"fieldacs{EXE}"
        print(f"smoke test of {bundle}", flush=True)
        with tempfile.TemporaryDirectory(prefix="fieldacs-smoke-") as name:
            tmp = Path(name)
            check_engine(engine, tmp)
            check_xmpp_client(engine)
            check_ext_child(engine, tmp)
            check_ext_child(console, tmp)
            check_console(console, tmp)
    except SmokeError as exc:
        print(f"SMOKE TEST FAILED: {exc}", file=sys.stderr, flush=True)
        print(f"smoke: {len(PASSED)} passed, 1 failed")
        return 1
    print(f"smoke test passed in {time.monotonic() - started:.1f} s")
    print(f"smoke: {len(PASSED)} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
