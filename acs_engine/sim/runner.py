"""Run a fleet of simulated CPEs in one process, and the ``fieldacs-engine sim`` subcommand.

Example:
    >>> summary = await run_sim("http://127.0.0.1:7547/", 1000, "tr181", once=True)
    >>> print(summary.format())
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from acs_engine.sim.client import SimCpe
from acs_engine.sim.connreq import ConnectionRequestServer
from acs_engine.sim.device import SimDevice
from acs_engine.sim.model import load_model
from acs_engine.sim.options import SIM_VERSIONS, SimOptions
from acs_engine.sim.xmpp import SimXmpp, SimXmppClient

log = logging.getLogger("fieldacs.sim")


@dataclass(slots=True)
class SimSummary:
    """What a simulator run did.

    Attributes:
        devices: simulated CPEs.
        sessions_ok: sessions that ended normally.
        sessions_failed: sessions that failed (or vanished on purpose).
        sessions_refused: session attempts the ACS refused with 503 (busy; tried again).
        rpcs_answered: ACS requests answered, faults included.
        duration: wall seconds of the run.
        failures: ``(serial, reason)`` for each device whose last session failed.
        never_through: serials of the devices the ACS never let in (every attempt 503).
    """

    devices: int = 0
    sessions_ok: int = 0
    sessions_failed: int = 0
    sessions_refused: int = 0
    rpcs_answered: int = 0
    duration: float = 0.0
    failures: list[tuple[str, str]] = field(default_factory=list)
    never_through: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every session succeeded and every device got through."""
        return self.sessions_failed == 0 and not self.never_through and self.sessions_ok > 0

    def format(self, max_failures: int = 20) -> str:
        """A short human-readable report."""
        rate = self.sessions_ok / self.duration if self.duration > 0 else 0.0
        lines = [
            f"devices:         {self.devices}",
            f"sessions ok:     {self.sessions_ok}",
            f"sessions failed: {self.sessions_failed}",
            f"refused (503):   {self.sessions_refused} attempts, tried again",
            f"never got in:    {len(self.never_through)} devices",
            f"RPCs answered:   {self.rpcs_answered}",
            f"duration:        {self.duration:.2f} s ({rate:.1f} sessions/s)",
        ]
        if self.never_through:
            shown = ", ".join(self.never_through[:max_failures])
            more = len(self.never_through) - max_failures
            lines.append(f"never got in (the ACS stayed busy): {shown}"
                         + (f" ... and {more} more" if more > 0 else ""))
        if self.failures:
            lines.append("failures:")
            for serial, reason in self.failures[:max_failures]:
                lines.append(f"  {serial}: {reason}")
            if len(self.failures) > max_failures:
                lines.append(f"  ... and {len(self.failures) - max_failures} more")
        return "\n".join(lines)


def serial_for(prefix: str, index: int) -> str:
    """The deterministic serial number of device ``index`` (``SIM000042``)."""
    return f"{prefix}{index:06d}"


def _summarize(cpes: list[SimCpe], started: float) -> SimSummary:
    summary = SimSummary(devices=len(cpes), duration=time.monotonic() - started)
    for cpe in cpes:
        summary.sessions_ok += cpe.sessions_ok
        summary.sessions_failed += cpe.sessions_failed
        summary.sessions_refused += cpe.sessions_refused
        summary.rpcs_answered += cpe.rpcs_answered
        last = cpe.results[-1] if cpe.results else None
        if last is not None and last.refused and cpe.sessions_ok == 0:
            summary.never_through.append(cpe.device.serial)
        elif last is not None and not last.ok and not last.refused:
            summary.failures.append((cpe.device.serial, last.error or "failed"))
    return summary


async def run_sim(
    acs_url: str,
    count: int,
    model: str = "tr181",
    *,
    once: bool = False,
    periodic_interval: float | None = None,
    serial_prefix: str = "SIM",
    concurrency: int = 100,
    cwmp_version: str = "1.0",
    options: SimOptions | None = None,
    start_index: int = 1,
    username: str | None = None,
    password: str | None = None,
    cr_password: str | None = None,
    connection_requests: bool = True,
    connreq_port: int = 0,
    initial: Mapping[str, str] | None = None,
    duration: float | None = None,
    stop: asyncio.Event | None = None,
    xmpp: SimXmpp | None = None,
) -> SimSummary:
    """Simulate ``count`` CPEs against an ACS in this process.

    Args:
        acs_url: the ACS URL (``ManagementServer.URL`` of every device).
        count: how many devices.
        model: ``tr098``, ``tr181`` or a path to a model file.
        once: each device runs exactly one session, then the run ends.
        periodic_interval: seconds between periodic informs (None: the model's setting).
        serial_prefix: serials are ``<prefix><index:06d>``.
        concurrency: sessions running at once during the initial bootstrap burst.
        cwmp_version: ``1.0``, ``1.2`` or ``1.4``.
        options: behaviour shared by every device (``cwmp_version`` and
            ``periodic_interval`` arguments override it).
        start_index: index of the first device.
        username: ``ManagementServer.Username`` for every device (default: the model's).
        password: ``ManagementServer.Password`` for every device (default: the model's).
        cr_password: ConnectionRequestPassword (default: the serial; the username is the
            serial too).
        connection_requests: run the connection-request listener.
        connreq_port: its port (0: a free one).
        initial: more parameter values every device starts with.
        duration: without ``once``, stop after this many seconds.
        stop: without ``once``, stop when this event is set.
        xmpp: log every device in to this XMPP server before its first session, to take
            connection requests over XMPP (TR-069 Annex K) as well as HTTP.

    Returns:
        The run's :class:`SimSummary`.
    """
    if cwmp_version not in SIM_VERSIONS:
        raise ValueError(f"cwmp_version must be one of {SIM_VERSIONS}")
    base = load_model(model)
    opts = replace(options or SimOptions(), cwmp_version=cwmp_version)
    if periodic_interval is not None:
        opts = replace(opts, periodic_interval=periodic_interval)
    values: dict[str, str] = dict(initial or {})
    if username is not None:
        values[base.root + "ManagementServer.Username"] = username
    if password is not None:
        values[base.root + "ManagementServer.Password"] = password
    frozen_values = values or None
    cpes: list[SimCpe] = []
    for i in range(start_index, start_index + count):
        serial = serial_for(serial_prefix, i)
        context = {"acs_url": acs_url}
        if cr_password is not None:
            context["cr_password"] = cr_password
        device = SimDevice(base, serial, index=i, options=opts, context=context,
                           initial=frozen_values)
        cpes.append(SimCpe(device, acs_url))
    started = time.monotonic()
    gate = asyncio.Semaphore(max(1, concurrency))
    server = ConnectionRequestServer(port=connreq_port) if connection_requests else None

    async def first(cpe: SimCpe) -> None:
        await cpe.session_until_admitted(gate)  # a busy ACS (503) is tried again

    async def lifetime(cpe: SimCpe) -> None:
        await first(cpe)
        await cpe.run()

    jabber: list[SimXmppClient] = []
    try:
        if server is not None:
            await server.start()
            for cpe in cpes:
                server.register(cpe)
        if xmpp is not None:
            jabber = [SimXmppClient(cpe, xmpp) for cpe in cpes]
            await asyncio.gather(*(client.start() for client in jabber))
        if once:
            await asyncio.gather(*(first(cpe) for cpe in cpes))
            return _summarize(cpes, started)
        tasks = [asyncio.create_task(lifetime(cpe)) for cpe in cpes]
        waiter = asyncio.Event() if stop is None else stop
        try:
            await asyncio.wait_for(waiter.wait(), duration)
        except TimeoutError:
            pass
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return _summarize(cpes, started)
    finally:
        await asyncio.gather(*(client.close() for client in jabber), return_exceptions=True)
        if server is not None:
            await server.close()


# --------------------------------------------------------------------------- CLI
def _fault_spec(text: str) -> tuple[str, int]:
    method, sep, code = text.partition("=")
    if not sep or not code.isdigit():
        raise argparse.ArgumentTypeError("expected METHOD=CODE, e.g. GetParameterValues=9002")
    return method, int(code)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``sim`` subcommand's options to ``parser``."""
    parser.add_argument("--acs", required=True, metavar="URL", help="the ACS URL")
    parser.add_argument("--count", type=int, default=1, help="devices to simulate")
    parser.add_argument("--model", default="tr181",
                        help="tr098, tr181, or a path to a model .json (default tr181)")
    parser.add_argument("--once", action="store_true",
                        help="one session per device, print a summary, exit 0 if all succeeded")
    parser.add_argument("--periodic", type=float, default=None, metavar="SECONDS",
                        help="periodic inform interval (default: the model's)")
    parser.add_argument("--serial-prefix", default="SIM")
    parser.add_argument("--start-index", type=int, default=1)
    parser.add_argument("--concurrency", type=int, default=100,
                        help="sessions at once during the bootstrap burst")
    parser.add_argument("--cwmp-version", choices=SIM_VERSIONS, default="1.0")
    parser.add_argument("--username", help="ManagementServer.Username of every device")
    parser.add_argument("--password", help="ManagementServer.Password of every device")
    parser.add_argument("--cr-password", help="ConnectionRequestPassword (default: serial)")
    parser.add_argument("--no-connreq", action="store_true",
                        help="do not listen for connection requests")
    parser.add_argument("--connreq-port", type=int, default=0)
    parser.add_argument("--latency", type=float, default=0.0,
                        help="seconds before each answer to the ACS")
    parser.add_argument("--fault", action="append", type=_fault_spec, default=[],
                        metavar="METHOD=CODE", help="answer METHOD with this CWMP fault")
    parser.add_argument("--download-fault", type=int, default=0,
                        help="fault code downloads end with (e.g. 9010)")
    parser.add_argument("--transfer-time", type=float, default=0.0)
    parser.add_argument("--real-transfers", action="store_true",
                        help="really fetch downloads / PUT uploads")
    parser.add_argument("--tls-ca", default=None, metavar="PEM",
                        help="certificate(s) the CPEs trust for https:// URLs (e.g. the ACS's "
                             "self-signed cert.pem); default: the system's CAs")
    parser.add_argument("--duration", type=float, default=None,
                        help="stop after this many seconds (without --once)")
    parser.add_argument("--xmpp-server", metavar="HOST:PORT",
                        help="log every device in to this XMPP server (account "
                             "<serial in lower case>@<--xmpp-domain>) to take connection "
                             "requests over XMPP (TR-069 Annex K)")
    parser.add_argument("--xmpp-domain", default="localhost", help="the accounts' domain")
    parser.add_argument("--xmpp-password", default="", help="every device account's password")
    parser.add_argument("--xmpp-tls", choices=("starttls", "direct", "none"), default="starttls")


async def run_from_args(args: argparse.Namespace) -> int:
    """Run the ``sim`` subcommand; returns the process exit code.

    Without ``--once`` it runs until SIGINT (or ``--duration``), then prints the summary.
    """
    options = SimOptions(
        latency=args.latency,
        fault_methods=dict(args.fault),
        download_fault=args.download_fault,
        transfer_time=args.transfer_time,
        real_transfers=args.real_transfers,
        tls_ca=getattr(args, "tls_ca", None),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    installed = False
    if not args.once:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGINT, stop.set)
            installed = True
    try:
        summary = await run_sim(
            args.acs, args.count, args.model,
            once=args.once, periodic_interval=args.periodic, serial_prefix=args.serial_prefix,
            concurrency=args.concurrency, cwmp_version=args.cwmp_version, options=options,
            start_index=args.start_index, username=args.username, password=args.password,
            cr_password=args.cr_password, connection_requests=not args.no_connreq,
            connreq_port=args.connreq_port, duration=args.duration, stop=stop,
            xmpp=SimXmpp(args.xmpp_server, args.xmpp_domain, args.xmpp_password,
                         tls=args.xmpp_tls) if getattr(args, "xmpp_server", None) else None,
        )
    except ConnectionError as exc:  # an XMPP login failed: say so, no traceback
        print(f"fieldacs-engine sim: {exc}", file=sys.stderr, flush=True)
        return 2
    finally:
        if installed:
            loop.remove_signal_handler(signal.SIGINT)
    print(summary.format())
    return 0 if summary.ok else 1
