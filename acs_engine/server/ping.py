"""``GET /ping/<host>`` of the NBI: the system ``ping`` run without a shell, its output parsed.

GenieACS's UI uses it to tell whether a CPE answers on the network. The host is checked
against a strict pattern (a name or an IPv4/IPv6 address, never starting with ``-``) and
given to ``ping`` as its own argument, so it can neither inject options nor commands.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import sys
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["PingError", "PingResult", "parse_ping_output", "ping", "valid_host"]

_HOST_RE = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9_.\-]{0,251}[A-Za-z0-9_])?$|^[0-9A-Fa-f:.%]{2,64}$")
_COUNTS_RE = re.compile(
    r"(\d+)\s+packets?\s+transmitted,\s+(\d+)\s+(?:packets?\s+)?received", re.IGNORECASE
)
_RTT_RE = re.compile(
    r"(?:rtt|round-trip)\s+min/avg/max(?:/(?:mdev|stddev))?\s*=\s*"
    r"([\d.]+)/([\d.]+)/([\d.]+)(?:/([\d.]+))?\s*ms",
    re.IGNORECASE,
)
_WIN_COUNTS_RE = re.compile(r"Sent\s*=\s*(\d+),\s*Received\s*=\s*(\d+)", re.IGNORECASE)
_WIN_RTT_RE = re.compile(
    r"Minimum\s*=\s*(\d+)ms,\s*Maximum\s*=\s*(\d+)ms,\s*Average\s*=\s*(\d+)ms", re.IGNORECASE
)
#: Longest time a ping may take, seconds.
PING_TIMEOUT_S = 10.0


class PingError(RuntimeError):
    """``ping`` could not be run (not installed, or it failed before any statistics)."""


@dataclass(frozen=True, slots=True)
class PingResult:
    """What ``ping -c 3`` reported; times in milliseconds (None when nothing came back)."""

    host: str
    packets_transmitted: int
    packets_received: int
    packet_loss: float
    min: float | None
    avg: float | None
    max: float | None
    mdev: float | None
    output: str

    def to_json(self) -> dict[str, Any]:
        """The NBI's answer (camelCase keys, as GenieACS's ping parser names them)."""
        data = asdict(self)
        return {
            "host": data["host"], "packetsTransmitted": data["packets_transmitted"],
            "packetsReceived": data["packets_received"], "packetLoss": data["packet_loss"],
            "min": data["min"], "avg": data["avg"], "max": data["max"], "mdev": data["mdev"],
            "output": data["output"],
        }


def valid_host(host: str) -> bool:
    """Whether ``host`` is a plausible host name or address (and not an option)."""
    return bool(host) and not host.startswith("-") and bool(_HOST_RE.match(host))


def parse_ping_output(host: str, output: str) -> PingResult:
    """Parse the summary of iputils, BusyBox, BSD/macOS or Windows ``ping``.

    Raises:
        PingError: the output has no packet statistics.
    """
    counts = _COUNTS_RE.search(output) or _WIN_COUNTS_RE.search(output)
    if counts is None:
        raise PingError(output.strip().splitlines()[-1] if output.strip() else "no output")
    sent, received = int(counts.group(1)), int(counts.group(2))
    loss = round(100.0 * (sent - received) / sent, 1) if sent else 100.0
    rtt = _RTT_RE.search(output)
    values: list[float | None] = [None, None, None, None]
    if rtt is not None:
        values = [float(g) if g is not None else None for g in rtt.groups()]
    elif (win := _WIN_RTT_RE.search(output)) is not None:
        w_min, w_max, w_avg = (float(g) for g in win.groups())
        values = [w_min, w_avg, w_max, None]
    return PingResult(host, sent, received, loss, values[0], values[1], values[2], values[3], output)


async def ping(host: str, count: int = 3) -> PingResult:
    """Ping ``host`` ``count`` times with the system ``ping``.

    Raises:
        ValueError: ``host`` is not a valid host name or address.
        PingError: ``ping`` is not installed, timed out, or printed no statistics (e.g. an
            unknown host name).
    """
    if not valid_host(host):
        raise ValueError(f"invalid host {host!r}")
    program = shutil.which("ping")
    if program is None:
        raise PingError("the ping program is not installed on this computer")
    if sys.platform == "win32":
        args = [program, "-n", str(count), host]
    else:
        args = [program, "-c", str(count), "-i", "0.2", "-W", "2", host]
    proc = await asyncio.create_subprocess_exec(
        *args, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), PING_TIMEOUT_S)
    except TimeoutError as exc:
        proc.kill()
        await proc.wait()
        raise PingError(f"ping {host} took longer than {PING_TIMEOUT_S:g} s") from exc
    return parse_ping_output(host, out.decode("utf-8", errors="replace"))
