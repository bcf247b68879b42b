"""Make the capture files in this folder: real simulator <-> engine sessions on loopback,
recorded with tcpdump, then one of them rewritten with its TCP segments split, reordered,
retransmitted and probed. Needs tcpdump (``apt-get install tcpdump``) and root (or the
capture capability). Run from the repository: ``.venv/bin/python tests/data/captures/
make_captures.py``. The tests read the files; they never run tcpdump.

- sim-http.pcap: two TR-181 CPEs bootstrap against ``fieldacs-engine serve`` (plain HTTP).
- sim-digest.pcapng: a TR-098 CPE with Digest authentication (401 challenges), pcapng.
- sim-https.pcap: a CPE over HTTPS (self-signed certificate): not decryptable.
- gzip-chunked.pcap: a CPE posting its Inform gzip-compressed with chunked transfer encoding
  and answering a GetParameterValues on the same kept-alive connection.
- sim-reordered.pcap: sim-http.pcap with each data segment split in two, the halves of every
  second segment swapped, every third one sent again (a retransmission), and keep-alive
  probes (one old byte) after every fifth.
"""

from __future__ import annotations

import asyncio
import gzip
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dpkt

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int) -> None:
    for _ in range(200):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


class Recording:
    """tcpdump on lo for one port, and an engine serving on it."""

    def __init__(self, out: Path, *serve_args: str, tls: bool = False) -> None:
        self.out = out
        self.tmp = Path(tempfile.mkdtemp(prefix="fieldacs-cap-"))
        self.port = free_port()
        self.tls = tls
        self.serve_args = serve_args

    def __enter__(self) -> Recording:
        self.dump = subprocess.Popen(
            ["tcpdump", "-i", "lo", "-U", "-s", "0", "-w", str(self.out),
             f"tcp port {self.port}"], stderr=subprocess.PIPE)
        assert self.dump.stderr is not None
        self.dump.stderr.readline()  # "listening on lo ..."
        ports = (["--cwmp-port", str(free_port()), "--cwmp-tls-port", str(self.port),
                  "--https-only"] if self.tls else ["--cwmp-port", str(self.port)])
        self.server = subprocess.Popen(
            [PY, "-m", "acs_engine.cli", "serve", "--db", str(self.tmp / "db.sqlite"),
             "--host", "127.0.0.1", *ports, "--fs-port", "0", "--nbi-port", "0",
             *self.serve_args], cwd=ROOT, stderr=subprocess.DEVNULL)
        wait_port(self.port)
        return self

    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}/"

    def sim(self, *args: str) -> None:
        subprocess.run([PY, "-m", "acs_engine.cli", "sim", "--acs", self.url(), "--once",
                        "--no-connreq", *args], cwd=ROOT, check=True)

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.5)
        self.server.terminate()
        self.server.wait(10)
        time.sleep(0.3)
        self.dump.terminate()
        self.dump.wait(10)
        shutil.rmtree(self.tmp, ignore_errors=True)
        print(f"wrote {self.out.name}: {self.out.stat().st_size:,} bytes")


def to_pcapng(src: Path, dst: Path) -> None:
    with src.open("rb") as fin, dst.open("wb") as fout:
        reader = dpkt.pcap.Reader(fin)
        writer = dpkt.pcapng.Writer(fout, linktype=reader.datalink())
        for ts, frame in reader:
            writer.writepkt(frame, ts)
    src.unlink()


async def gzip_chunked_cpe(url: str) -> None:
    """One simulated CPE's bootstrap session, every POST with a body gzip-compressed and sent
    with chunked transfer encoding, all on one kept-alive connection."""
    import aiohttp

    sys.path.insert(0, str(ROOT))
    from acs_engine.cwmp import codec
    from acs_engine.cwmp.envelope import Envelope
    from acs_engine.sim.device import SimDevice
    from acs_engine.sim.model import load_model

    device = SimDevice(load_model("tr181"), "GZIP0001")

    async def chunks(data: bytes):  # type: ignore[no-untyped-def]
        for i in range(0, len(data), 700):
            yield data[i:i + 700]

    headers = {"Content-Type": 'text/xml; charset="utf-8"', "SOAPAction": "",
               "Content-Encoding": "gzip"}
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1),
                                     cookie_jar=jar) as http:
        body = gzip.compress(codec.serialize(Envelope(device.make_inform(), cwmp_id="1")))
        async with http.post(url, data=chunks(body), headers=headers) as resp:
            assert resp.status == 200, resp.status
            await resp.read()
        async with http.post(url, data=b"", skip_auto_headers=("Content-Type",)) as resp:
            data, status = await resp.read(), resp.status
        while status == 200 and data:
            reply = codec.parse(data)
            assert reply is not None
            answer = device.handle(reply.message)
            body = gzip.compress(codec.serialize(Envelope(answer, cwmp_id=reply.cwmp_id)))
            async with http.post(url, data=chunks(body), headers=headers) as resp:
                data, status = await resp.read(), resp.status
        assert status == 204, status


def reorder(src: Path, dst: Path) -> None:
    """Split, swap, retransmit and probe the data segments of ``src``."""
    with src.open("rb") as fin:
        reader = dpkt.pcap.Reader(fin)
        link = reader.datalink()
        packets = list(reader)
    out: list[tuple[float, bytes]] = []
    count = 0
    for ts, frame in packets:
        eth = dpkt.ethernet.Ethernet(frame)
        ip = eth.data
        tcp = ip.data if isinstance(ip, dpkt.ip.IP) else None
        if tcp is None or not isinstance(tcp, dpkt.tcp.TCP) or len(tcp.data) < 2:
            out.append((ts, frame))
            continue
        count += 1
        half = len(tcp.data) // 2

        def segment(seq: int, data: bytes, eth: dpkt.ethernet.Ethernet = eth,
                    ip: dpkt.ip.IP = ip, tcp: dpkt.tcp.TCP = tcp) -> bytes:
            part = dpkt.tcp.TCP(sport=tcp.sport, dport=tcp.dport, seq=seq & 0xFFFFFFFF,
                                ack=tcp.ack, flags=tcp.flags, win=tcp.win, data=data)
            packet = dpkt.ip.IP(src=ip.src, dst=ip.dst, p=dpkt.ip.IP_PROTO_TCP, ttl=ip.ttl,
                                data=part)
            packet.len = len(bytes(packet))
            return bytes(dpkt.ethernet.Ethernet(src=eth.src, dst=eth.dst, type=eth.type,
                                                data=packet))

        first = segment(tcp.seq, tcp.data[:half])
        second = segment(tcp.seq + half, tcp.data[half:])
        pair = [(ts, first), (ts + 0.0001, second)]
        if count % 2 == 0:
            pair = [(ts, second), (ts + 0.0001, first)]  # out of order
        out.extend(pair)
        if count % 3 == 0:
            out.append((ts + 0.0002, first))  # a retransmission of the first half
        if count % 5 == 0:
            out.append((ts + 0.0003, segment(tcp.seq + len(tcp.data) - 1, tcp.data[-1:])))
    with dst.open("wb") as fout:
        writer = dpkt.pcap.Writer(fout, linktype=link, snaplen=262144)
        for ts, frame in out:
            writer.writepkt(frame, ts)
    print(f"wrote {dst.name}: {dst.stat().st_size:,} bytes ({count} data segments rewritten)")


def main() -> int:
    if shutil.which("tcpdump") is None:
        print("tcpdump is needed: apt-get install tcpdump", file=sys.stderr)
        return 2
    with Recording(HERE / "sim-http.pcap") as rec:
        rec.sim("--count", "2", "--model", "tr181", "--serial-prefix", "CAPHTTP")
    with Recording(HERE / "digest.pcap", "--cwmp-username", "cpe", "--cwmp-password",
                   "s3cret-digest") as rec:
        rec.sim("--count", "1", "--model", "tr098", "--serial-prefix", "CAPDIGEST",
                "--username", "cpe", "--password", "s3cret-digest")
    to_pcapng(HERE / "digest.pcap", HERE / "sim-digest.pcapng")
    with Recording(HERE / "sim-https.pcap", tls=True) as rec:
        cert = next((p for p in rec.tmp.glob("*.pem") if "key" not in p.name), None)
        assert cert is not None, list(rec.tmp.iterdir())
        rec.sim("--count", "1", "--model", "tr181", "--serial-prefix", "CAPTLS",
                "--tls-ca", str(cert))
    with Recording(HERE / "gzip-chunked.pcap") as rec:
        asyncio.run(gzip_chunked_cpe(rec.url()))
    reorder(HERE / "sim-http.pcap", HERE / "sim-reordered.pcap")
    return 0


if __name__ == "__main__":
    sys.exit(main())
