"""``fieldacs-engine``: the headless engine, the CPE simulator and database tools.

    fieldacs-engine serve --db PATH [--host H] [--cwmp-port N] [--fs-port N]
                          [--nbi-host H] [--nbi-port N] [--nbi-token-file FILE]
                          [--cwmp-tls-port N] [--fs-tls-port N] [--nbi-tls-port N]
    fieldacs-engine sim --acs URL --count N --model tr098|tr181 [--once]
    fieldacs-engine devices --db PATH [--json]
    fieldacs-engine task DEVICE_ID JSON [--db PATH] [--connection-request]
    fieldacs-engine connreq DEVICE_ID [--db PATH]
    fieldacs-engine session-save DEVICE_ID [SESSION_ID] -o FILE [--har] | session-show FILE
    fieldacs-engine lint FILE [--json]
    fieldacs-engine backup DEST [--db PATH] [--force]
    fieldacs-engine export-genieacs --nbi URL [--token T] [--dry-run] [--db PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

from acs_engine import __version__
from acs_engine.config import EngineConfig, default_db_path
from acs_engine.secrets import install_log_redaction

log = logging.getLogger("fieldacs.cli")


def _fmt_ms(ms: int | None) -> str:
    if ms is None:
        return "-"
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


async def _serve(args: argparse.Namespace) -> int:
    from acs_engine.server.controller import Engine, EngineStartError

    config = EngineConfig(
        db_path=Path(args.db),
        cwmp_host=args.host,
        cwmp_port=args.cwmp_port,
        fs_host=args.host,
        fs_port=args.fs_port,
        nbi_host=args.nbi_host,
        nbi_port=args.nbi_port,
        proxy_upstream=args.proxy_upstream or "",
        proxy_upstream_ca=Path(args.proxy_upstream_ca) if args.proxy_upstream_ca else None,
        gpv_batch_size=args.gpv_batch_size,
        gpv_partial_path=args.gpv_partial_path,
    )
    try:
        config = _with_security(config, args)
    except OSError as exc:
        print(f"fieldacs-engine: {exc}", file=sys.stderr)
        return 2
    engine = Engine(config)
    try:
        await engine.start()
    except EngineStartError as exc:
        print(f"fieldacs-engine: {exc}", file=sys.stderr)
        return 2
    stop = asyncio.Event()
    abandon = asyncio.Event()  # a second signal: stop without waiting for the sessions

    def on_signal() -> None:
        if stop.is_set():
            abandon.set()
        stop.set()

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, on_signal)
    print(f"FieldACS engine {__version__} — database {config.db_path}", flush=True)
    for url in engine.cwmp_urls():
        print(f"  ACS URL: {url}", flush=True)
    if engine.cwmp_port != engine.cwmp_tls_port:
        for url in engine.cwmp_tls_urls():
            print(f"  ACS URL: {url}", flush=True)
    if engine.nbi_port is not None:
        guard = "bearer token" if config.nbi_token else "loopback only"
        print(f"  NBI (GenieACS API): http://{config.nbi_host}:{engine.nbi_port}/ ({guard})",
              flush=True)
    if engine.nbi_tls_port is not None:
        guard = "bearer token" if config.nbi_token else "loopback only"
        print(f"  NBI over HTTPS: https://{config.nbi_host}:{engine.nbi_tls_port}/ ({guard})",
              flush=True)
    if engine.tls_fingerprint:
        print(f"  TLS certificate SHA-256: {engine.tls_fingerprint} ({engine.tls_kind})",
              flush=True)
        if engine.tls is not None and engine.tls.ca_path is not None:
            print(f"  CA for CPEs to trust: {engine.tls.ca_path} "
                  f"(SHA-256 {engine.tls.ca_fingerprint})", flush=True)
    if engine.cwmp is not None and engine.cwmp.auth.enabled:
        print("  CPE authentication: on", flush=True)
    if engine.proxy is not None:
        print(f"  proxy mode: forwarding every CPE request to {engine.proxy.upstream}",
              flush=True)
    if config.connection_request_allow_basic_auth:
        print("  Connection requests: HTTP Basic allowed", flush=True)
    if config.xmpp_jid:
        print(f"  XMPP connection requests as {config.xmpp_jid}", flush=True)
    try:
        await stop.wait()
    finally:
        # SIGTERM (systemctl stop): refuse new sessions, finish those in flight, then stop.
        print("stopping: finishing the sessions in flight…", flush=True)
        finished = await engine.drain(args.drain_timeout, abandon=abandon)
        print("stopped" if finished else "stopped (sessions still in flight were ended)",
              flush=True)
    return 0


def _with_security(config: EngineConfig, args: argparse.Namespace) -> EngineConfig:
    """``config`` with the TLS, CPE-authentication and NBI-token options of ``serve`` applied.

    Raises:
        OSError: a password or token file cannot be read.
    """
    from acs_engine.server.nbi_auth import TOKEN_ENV

    token = args.nbi_token
    if args.nbi_token_file:
        token = Path(args.nbi_token_file).read_text(encoding="utf-8").strip()
    elif token is None:
        token = os.environ.get(TOKEN_ENV) or None
    password = args.cwmp_password
    if args.cwmp_password_file:
        password = Path(args.cwmp_password_file).read_text(encoding="utf-8").strip()
    elif password is None and args.cwmp_username is not None:
        password = os.environ.get("FIELDACS_CWMP_PASSWORD")
    return config.replace(
        cwmp_tls_port=args.cwmp_tls_port,
        fs_tls_port=args.fs_tls_port,
        nbi_tls_port=args.nbi_tls_port,
        tls_cert_path=Path(args.tls_cert) if args.tls_cert else None,
        tls_key_path=Path(args.tls_key) if args.tls_key else None,
        cwmp_http_enabled=not args.https_only,
        cwmp_username=args.cwmp_username,
        cwmp_password=password,
        cwmp_auth=args.cwmp_auth,
        cwmp_digest_rfc2069=args.cwmp_digest_rfc2069,
        nbi_token=token,
        **_connreq_settings(args),
    )


def _connreq_settings(args: argparse.Namespace) -> dict[str, object]:
    """The connection-request options of ``serve`` (Basic, XMPP) as EngineConfig fields."""
    xmpp_password = os.environ.get("FIELDACS_XMPP_PASSWORD", "")
    if args.xmpp_password_file:
        xmpp_password = Path(args.xmpp_password_file).read_text(encoding="utf-8").strip()
    return {
        "connection_request_allow_basic_auth": args.connreq_allow_basic,
        "xmpp_jid": args.xmpp_jid or "",
        "xmpp_password": xmpp_password,
        "xmpp_server": args.xmpp_server or "",
        "xmpp_tls": args.xmpp_tls,
        "xmpp_ca_file": Path(args.xmpp_ca_file) if args.xmpp_ca_file else None,
    }


async def _devices(args: argparse.Namespace) -> int:
    from acs_engine.cli_common import CliError, fail, open_store

    try:
        store = await open_store(Path(args.db))
    except CliError as exc:
        return fail(str(exc))
    try:
        rows = await store.list_devices(limit=args.limit, offset=0)
    finally:
        await store.close()
    if args.json:
        print(json.dumps([
            {"id": d.id, "last_inform": d.last_inform_ms, "param_count": d.param_count}
            for d in rows
        ], indent=1))
        return 0
    print(f"{'DEVICE ID':<44} {'LAST INFORM (UTC)':<20} {'PARAMS':>7}")
    for d in rows:
        print(f"{d.id:<44} {_fmt_ms(d.last_inform_ms):<20} {d.param_count:>7}")
    print(f"{len(rows)} device(s)")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fieldacs-engine", description="FieldACS headless engine")
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the ACS until SIGINT/SIGTERM")
    serve.add_argument("--db", default=str(default_db_path()), help="database file")
    serve.add_argument("--host", default="0.0.0.0", help="CWMP listen address (default 0.0.0.0)")
    serve.add_argument("--cwmp-port", type=int, default=7547)
    serve.add_argument("--fs-port", type=int, default=7567)
    serve.add_argument("--drain-timeout", type=float, default=30.0, metavar="SECONDS",
                       help="on SIGTERM/SIGINT, how long the sessions in flight may take to "
                            "finish while new ones are refused (default 30; a second signal "
                            "stops at once)")
    nbi = serve.add_argument_group("NBI (GenieACS northbound API)")
    nbi.add_argument("--nbi-host", default="127.0.0.1",
                     help="NBI listen address (default 127.0.0.1; any other needs a token)")
    nbi.add_argument("--nbi-port", type=int, default=7557)
    nbi.add_argument("--nbi-token", metavar="TOKEN",
                     help="bearer token every NBI request must carry (visible to other local "
                          "users: prefer --nbi-token-file or $FIELDACS_NBI_TOKEN)")
    nbi.add_argument("--nbi-token-file", metavar="FILE", help="read the NBI token from FILE")
    serve.add_argument("--gpv-batch-size", type=_positive, default=32, metavar="N",
                       help="names per GetParameterValues (cwmp.gpvBatchSize, default 32)")
    serve.add_argument("--gpv-partial-path", action=argparse.BooleanOptionalAction,
                       default=True,
                       help="read a whole object's values with one partial path where every "
                            "parameter under it is wanted (default; a CPE that refuses is "
                            "asked by full names from then on); --no-gpv-partial-path: full "
                            "names only, as GenieACS")
    tls = serve.add_argument_group("TLS (HTTPS listeners)")
    tls.add_argument("--cwmp-tls-port", type=int, default=None, metavar="N",
                     help="also serve CWMP over HTTPS on this port (e.g. 7548)")
    tls.add_argument("--fs-tls-port", type=int, default=None, metavar="N",
                     help="also serve files over HTTPS on this port (e.g. 7568)")
    tls.add_argument("--nbi-tls-port", type=int, default=None, metavar="N",
                     help="also serve the NBI (and the remote console) over HTTPS on this "
                          "port (e.g. 7558), same address and token as --nbi-host/--nbi-token")
    tls.add_argument("--tls-cert", metavar="PEM",
                     help="certificate (chain); default: one issued by a private CA FieldACS "
                          "makes beside the database (give CPEs fieldacs-ca.pem)")
    tls.add_argument("--tls-key", metavar="PEM", help="the certificate's private key")
    tls.add_argument("--https-only", action="store_true",
                     help="no plain-HTTP CWMP listener (needs --cwmp-tls-port)")
    auth = serve.add_argument_group("CPE authentication (off unless one of these is given)")
    auth.add_argument("--cwmp-username", metavar="USER",
                      help="user name every CPE must present (Digest; Basic over HTTPS only)")
    auth.add_argument("--cwmp-password", metavar="PW",
                      help="its password (visible to other local users: prefer "
                           "--cwmp-password-file or $FIELDACS_CWMP_PASSWORD)")
    auth.add_argument("--cwmp-password-file", metavar="FILE", help="read the password from FILE")
    auth.add_argument("--cwmp-auth", metavar="EXPR",
                      help='per-device credentials, GenieACS cwmp.auth style, e.g. '
                           '\'AUTH(DeviceID.SerialNumber, "secret")\'; parameters are read '
                           'from the stored device only (see docs/security.md)')
    auth.add_argument("--cwmp-digest-rfc2069", action="store_true",
                      help="accept old CPEs' Digest without qop (RFC 2069; each nonce once)")

    proxy = serve.add_argument_group("proxy mode (watch a CPE with another ACS; docs/proxy.md)")
    proxy.add_argument("--proxy-upstream", metavar="URL",
                       help="forward every CPE request unchanged to this ACS (http/https)")
    proxy.add_argument("--proxy-upstream-ca", metavar="PEM",
                       help="CA or self-signed certificate to trust for an https upstream")
    connreq = serve.add_argument_group("connection requests")
    connreq.add_argument("--connreq-allow-basic", action="store_true",
                         help="answer a CPE that offers only HTTP Basic for connection requests "
                              "(the password travels in clear text; "
                              "cwmp.connectionRequestAllowBasicAuth, off by default)")
    connreq.add_argument("--xmpp-jid", metavar="JID",
                         help="the ACS's XMPP account (acs@example.net): send connection "
                              "requests over XMPP to CPEs that report a ConnReqJabberID")
    connreq.add_argument("--xmpp-password-file", metavar="FILE",
                         help="read the XMPP password from FILE (or $FIELDACS_XMPP_PASSWORD)")
    connreq.add_argument("--xmpp-server", metavar="HOST[:PORT]",
                         help="the XMPP server (default: the JID's domain, port 5222)")
    connreq.add_argument("--xmpp-tls", choices=("starttls", "direct", "none"),
                         default="starttls", help="TLS to the XMPP server (default starttls)")
    connreq.add_argument("--xmpp-ca-file", metavar="PEM",
                         help="CA certificate(s) that sign the XMPP server's certificate")

    sim = sub.add_parser("sim", help="run simulated CPEs against an ACS")
    from acs_engine.sim.runner import add_arguments

    add_arguments(sim)

    devices = sub.add_parser("devices", help="list the devices in a database")
    devices.add_argument("--db", default=str(default_db_path()), help="database file")
    devices.add_argument("--json", action="store_true", help="print JSON")
    devices.add_argument("--limit", type=int, default=1000)

    from acs_engine import cli_provisioning

    cli_provisioning.add_subcommands(sub)
    from acs_engine import cli_tasks

    cli_tasks.add_subcommands(sub)
    from acs_engine import cli_service

    cli_service.add_subcommands(sub)
    from acs_engine import cli_inspect

    cli_inspect.add_subcommands(sub)
    from acs_engine import cli_history

    cli_history.add_subcommands(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else (
            logging.INFO if args.command in ("serve", "sim") else logging.WARNING
        ),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    install_log_redaction()
    if args.command == "serve":
        return asyncio.run(_serve(args))
    if args.command == "devices":
        return asyncio.run(_devices(args))
    from acs_engine import cli_provisioning

    if args.command in cli_provisioning.COMMANDS:
        return asyncio.run(cli_provisioning.run(args))
    from acs_engine import cli_tasks

    if args.command in cli_tasks.COMMANDS:
        return asyncio.run(cli_tasks.run(args))
    from acs_engine import cli_service

    if args.command in cli_service.COMMANDS:
        return asyncio.run(cli_service.run(args))
    from acs_engine import cli_inspect

    if args.command in cli_inspect.COMMANDS:
        return asyncio.run(cli_inspect.run(args))
    from acs_engine import cli_history

    if args.command in cli_history.COMMANDS:
        return asyncio.run(cli_history.run(args))
    if args.command == "sim":
        from acs_engine.sim.runner import run_from_args

        return asyncio.run(run_from_args(args))
    return 2


if __name__ == "__main__":
    sys.exit(main())
