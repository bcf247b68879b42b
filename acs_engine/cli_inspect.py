"""``fieldacs-engine session-save``, ``session-show`` and ``lint``: session files from the CLI.

::

    fieldacs-engine session-save DEVICE_ID [SESSION_ID] -o FILE [--db PATH] [--har]
                                 [--include-secrets]
    fieldacs-engine session-show FILE [--har OUT]
    fieldacs-engine lint FILE [--json]
    fieldacs-engine import-capture CAPTURE [-o DIR] [--include-secrets] [--lint]
    fieldacs-engine replay FILE [--db PATH] [--no-provisioning]
    fieldacs-engine bundle DEVICE_ID [SESSION_ID ...] -o FILE.zip [--notes TEXT] [--db PATH]
                           [--include-secrets]
    fieldacs-engine bundle-show FILE.zip

``session-save`` writes a stored session (the device's newest when no id is given) as a
session file, or as HAR with ``--har``; secrets are masked unless ``--include-secrets``.
``session-show`` prints a session file's messages (and converts it to HAR). ``lint`` checks
what the CPE sent (see docs/cpe-lint.md) and exits 1 when a finding is an error.
``import-capture`` reads a pcap/pcapng file and writes each CWMP session in it as a session
file (docs/captures.md); it exits 1 when the capture holds no readable CWMP session (an
HTTPS-only capture, say). ``replay`` plays a session file's CPE against a throw-away engine
on a copy of the database (never the database itself) and prints the engine's new messages
beside the recorded ones; exit 1 when they diverge (docs/session-files.md).

Exit codes: 0 done (no lint errors), 1 lint errors, 2 usage error, unreadable file or
unknown device/session.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from acs_engine.cli_common import CliError, fail, open_store
from acs_engine.config import default_db_path

__all__ = ["COMMANDS", "add_subcommands", "run"]

COMMANDS = ("session-save", "session-show", "lint", "import-capture", "replay", "bundle",
            "bundle-show")


def add_subcommands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the session-file commands to the ``fieldacs-engine`` parser."""
    save = sub.add_parser("session-save", help="save a stored session as a session file or HAR")
    save.add_argument("device_id", metavar="DEVICE_ID")
    save.add_argument("session_id", metavar="SESSION_ID", nargs="?", default="",
                      help="the session (default: the device's newest)")
    save.add_argument("-o", "--output", required=True, metavar="FILE", help="where to write")
    save.add_argument("--db", default=str(default_db_path()), help="database file")
    save.add_argument("--har", action="store_true", help="write HAR 1.2 instead")
    save.add_argument("--include-secrets", action="store_true",
                      help="keep passwords, keys and credentials unmasked")
    show = sub.add_parser("session-show", help="print a session file's messages")
    show.add_argument("file", metavar="FILE")
    show.add_argument("--har", metavar="OUT", help="also write it as HAR 1.2 to OUT")
    lint = sub.add_parser("lint", help="check what a CPE sent against TR-069 (session file)")
    lint.add_argument("file", metavar="FILE")
    lint.add_argument("--json", action="store_true", help="print the findings as JSON")
    cap = sub.add_parser("import-capture",
                         help="CWMP sessions out of a pcap/pcapng capture, as session files")
    cap.add_argument("capture", metavar="CAPTURE")
    cap.add_argument("-o", "--output", metavar="DIR", default=".",
                     help="folder for the session files (default: here)")
    cap.add_argument("--include-secrets", action="store_true",
                     help="keep passwords, keys and credentials unmasked")
    cap.add_argument("--lint", action="store_true", help="also print each session's lint")
    rp = sub.add_parser("replay", help="replay a session file's CPE against a copy of the "
                                       "database; show where the engine's RPCs diverge")
    rp.add_argument("file", metavar="FILE")
    rp.add_argument("--db", default=None,
                    help="database whose presets/provisions/device to use (copied; "
                         "default: an empty one)")
    rp.add_argument("--no-provisioning", action="store_true",
                    help="replay with presets and provisions off")
    bd = sub.add_parser("bundle", help="an escalation bundle (zip) of a device's sessions, "
                                       "tree, lint, faults, settings and notes")
    bd.add_argument("device_id", metavar="DEVICE_ID")
    bd.add_argument("session_ids", metavar="SESSION_ID", nargs="*",
                    help="the sessions (default: the device's newest)")
    bd.add_argument("-o", "--output", required=True, metavar="FILE.zip")
    bd.add_argument("--notes", default="", help="the technician's notes")
    bd.add_argument("--db", default=str(default_db_path()), help="database file")
    bd.add_argument("--include-secrets", action="store_true",
                    help="sessions and tree with passwords and keys in clear")
    bs = sub.add_parser("bundle-show", help="list an escalation bundle's contents")
    bs.add_argument("file", metavar="FILE.zip")


def _read(path: str) -> object:
    from acs_engine.inspect.sessionfile import SessionFileError, load

    try:
        return load(Path(path))
    except FileNotFoundError:
        return f"no file at {path}"
    except (OSError, SessionFileError) as exc:
        return f"{path}: {exc}"


async def _save(args: argparse.Namespace) -> int:
    from acs_engine.inspect import har, sessionfile, sources

    try:
        store = await open_store(Path(args.db))
    except CliError as exc:
        return fail(str(exc))
    try:
        session = await sources.load_stored(store, args.device_id, args.session_id)
    except LookupError as exc:
        return fail(str(exc))
    finally:
        await store.close()
    out = Path(args.output)
    if args.har:
        out.write_bytes(har.dumps_har(session, include_secrets=args.include_secrets))
    else:
        sessionfile.save(out, session, include_secrets=args.include_secrets)
    print(f"{out}: session {session.session_id}, {len(session.messages)} messages"
          f"{'' if args.include_secrets else ', secrets masked'}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from acs_engine.inspect import har
    from acs_engine.inspect.sessionfile import SessionFile

    session = _read(args.file)
    if not isinstance(session, SessionFile):
        return fail(str(session))
    print(f"session {session.session_id or '?'} of {session.device_id or '?'} "
          f"({session.source}, CWMP {session.cwmp_version or '?'}, "
          f"outcome {session.outcome or '?'}), FieldACS {session.fieldacs_version}")
    for m in session.messages:
        when = time.strftime("%H:%M:%S", time.gmtime(m.at)) + f".{int(m.at * 1000) % 1000:03d}"
        arrow = "->" if m.direction == "out" else "<-"
        status = str(m.status) if m.status is not None else "POST"
        print(f"{when} {arrow} {status:>4} {m.rpc or '(empty)':<32} {len(m.body):>7} B")
    if args.har:
        Path(args.har).write_bytes(har.dumps_har(session, include_secrets=True))
    return 0


def _lint(args: argparse.Namespace) -> int:
    from acs_engine.inspect.lint import Severity, lint_session
    from acs_engine.inspect.sessionfile import SessionFile

    session = _read(args.file)
    if not isinstance(session, SessionFile):
        return fail(str(session))
    findings = lint_session(session)
    if args.json:
        print(json.dumps([f.to_json() for f in findings], indent=1))
    else:
        for f in findings:
            print(f.line())
        errors = sum(1 for f in findings if f.severity is Severity.ERROR)
        print(f"{len(findings)} finding(s), {errors} error(s)")
    return 1 if any(f.severity is Severity.ERROR for f in findings) else 0


def _import(args: argparse.Namespace) -> int:
    from acs_engine.inspect import sessionfile
    from acs_engine.inspect.capture import CaptureError, import_capture
    from acs_engine.inspect.lint import Severity, lint_session

    source = Path(args.capture)
    try:
        result = import_capture(source)
    except FileNotFoundError:
        return fail(f"no file at {source}")
    except (OSError, CaptureError) as exc:
        return fail(f"{source}: {exc}")
    folder = Path(args.output)
    folder.mkdir(parents=True, exist_ok=True)
    print(f"{source.name}: {result.packets:,} packets, {result.connections:,} TCP connections, "
          f"{len(result.sessions)} CWMP session(s)")
    for note in result.notes:
        print(f"note: {note}")
    for n, session in enumerate(result.sessions, 1):
        stem = source.name.rsplit(".", 1)[0]
        out = folder / f"{stem}-{n}.fieldacs-session.json"
        sessionfile.save(out, session, include_secrets=args.include_secrets)
        print(f"{out}: {session.device_id or '(unknown device)'}, "
              f"{', '.join(session.events) or 'no Inform'}, {len(session.messages)} messages")
        if args.lint:
            for finding in lint_session(session):
                if finding.severity is not Severity.INFO:
                    print(f"  {finding.line()}")
    return 0 if result.sessions else 1


async def _replay(args: argparse.Namespace) -> int:
    from acs_engine.inspect.replay import replay_offline
    from acs_engine.inspect.sessionfile import SessionFile

    session = _read(args.file)
    if not isinstance(session, SessionFile):
        return fail(str(session))
    db = Path(args.db) if args.db else None
    if db is not None and not db.exists():
        return fail(f"no database at {db}")
    result = await replay_offline(session, db, provisioning=not args.no_provisioning)
    print(f"{'#':>3}  {'RECORDED':<40} {'NOW':<40}")
    for step in result.steps:
        mark = "  " if step.same else "!="
        print(f"{step.index + 1:>3}  {step.recorded:<40} {step.replayed:<40} {mark}")
    print(result.summary())
    return 0 if result.ok else 1


async def _bundle(args: argparse.Namespace) -> int:
    from acs_engine.config import EngineConfig
    from acs_engine.inspect import bundle

    path = Path(args.db)
    try:
        store = await open_store(path)
    except CliError as exc:
        return fail(str(exc))
    try:
        ids = list(args.session_ids)
        if not ids:
            newest = await store.list_sessions(args.device_id, limit=1)
            if not newest:
                return fail(f"no stored session for device {args.device_id}")
            ids = [newest[0].id]
        made = await bundle.plan(store, EngineConfig(db_path=path), args.device_id, ids,
                                 args.notes, include_secrets=args.include_secrets)
    except LookupError as exc:
        return fail(str(exc))
    finally:
        await store.close()
    bundle.write(Path(args.output), made)
    _list_bundle(made)
    print(f"wrote {args.output}")
    return 0


def _list_bundle(made: object) -> None:
    from acs_engine.inspect.bundle import Bundle

    assert isinstance(made, Bundle)
    for item in made.items:
        flag = "  SECRETS IN CLEAR" if item.secrets else ""
        print(f"{len(item.data):>10,}  {item.name:<48} {item.what}{flag}")


def _bundle_show(args: argparse.Namespace) -> int:
    from acs_engine.inspect import bundle

    try:
        made = bundle.read(Path(args.file))
    except FileNotFoundError:
        return fail(f"no file at {args.file}")
    except (OSError, bundle.BundleError) as exc:
        return fail(str(exc))
    print(f"bundle of {made.device_id}, made {made.manifest.get('created', '?')} by FieldACS "
          f"{made.manifest.get('fieldacs_version', '?')}")
    _list_bundle(made)
    if made.notes:
        print(f"notes: {made.notes}")
    return 0


async def run(args: argparse.Namespace) -> int:
    """Run one of :data:`COMMANDS`; returns the exit code."""
    if args.command == "bundle":
        return await _bundle(args)
    if args.command == "bundle-show":
        return _bundle_show(args)
    if args.command == "replay":
        return await _replay(args)
    if args.command == "import-capture":
        return _import(args)
    if args.command == "session-save":
        return await _save(args)
    if args.command == "session-show":
        return _show(args)
    return _lint(args)
