"""Connection-request latency: HTTP (Digest) against XMPP (TR-069 Annex K), same CPE.

A real engine, one simulated TR-181 CPE that listens for HTTP connection requests *and* is
logged in to a real Prosody on 127.0.0.1 (started by tests/helpers/prosody.py), and the ACS
logged in as ``acs@localhost`` over STARTTLS. Each round sends one request by each transport
and times it from send to the CPE's acknowledgement (HTTP: the 401 challenge and the Digest
GET; XMPP: the IQ and its result through the server). The CPE's sessions run as usual.
Also reported: the ACS's first XMPP login (TCP, STARTTLS, SCRAM, resource binding). Usage::

    python benchmarks/connreq.py [--rounds 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from acs_engine.reach.connreq import send_connection_request, target_from_params  # noqa: E402
from acs_engine.reach.xmpp import XmppConnReq  # noqa: E402
from acs_engine.sim.options import SimOptions  # noqa: E402
from acs_engine.sim.xmpp import SimXmpp  # noqa: E402
from tests.helpers.engine import running_engine  # noqa: E402
from tests.helpers.nbi import sim_fleet  # noqa: E402
from tests.helpers.prosody import running_prosody  # noqa: E402

_MS = "Device.ManagementServer."


def _summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (f"{name:<6} n={len(samples):<4} median {statistics.median(samples):6.2f} ms   "
            f"p95 {p95:6.2f} ms   max {ordered[-1]:6.2f} ms")


async def main(rounds: int) -> None:
    with tempfile.TemporaryDirectory(prefix="fieldacs-connreq-") as name:
        tmp = Path(name)
        async with running_prosody(tmp) as prosody:
            acs = await prosody.register("acs", "acs-secret")
            await prosody.register("bench000001", "cpe-secret")
            sim = SimXmpp(prosody.server, prosody.domain, "cpe-secret", tls="starttls",
                          ca_file=prosody.ca_file)
            options = SimOptions(connreq_limit=1_000_000)
            async with (
                running_engine(tmp, provisioning=True, script_timeout_ms=2000) as engine,
                sim_fleet(engine, 1, "BENCH", options, xmpp=sim) as (dev,),
            ):
                assert engine.store is not None
                stored = await engine.store.load_params(dev, _MS)
                values = {p: v.value for p, v in stored.items() if v.value is not None}
                target = target_from_params(values)
                assert target is not None and target.jabber_id
                client = XmppConnReq(acs, "acs-secret", server=prosody.server,
                                     tls="starttls", ca_file=prosody.ca_file)
                started = time.perf_counter()
                await client.start()
                login_ms = (time.perf_counter() - started) * 1000
                http_ms: list[float] = []
                xmpp_ms: list[float] = []
                for _ in range(rounds):
                    for samples, xmpp in ((http_ms, None), (xmpp_ms, client)):
                        began = time.perf_counter()
                        result = await send_connection_request(target, xmpp=xmpp)
                        samples.append((time.perf_counter() - began) * 1000)
                        assert result.ok, result.message
                    await asyncio.sleep(0.01)
                await client.close()
    print(f"XMPP login (STARTTLS, SCRAM, bind): {login_ms:.1f} ms")
    print(_summary("HTTP", http_ms))
    print(_summary("XMPP", xmpp_ms))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    asyncio.run(main(parser.parse_args().rounds))
