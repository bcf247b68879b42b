"""Real file transfers for simulated CPEs (``SimOptions.real_transfers``): HTTP(S) GET / PUT.

A Download fetches the file (checking FileSize when given); an Upload PUTs a text dump of the
device's parameters. Failures map to the TransferComplete fault codes a CPE would report.
"""

from __future__ import annotations

import logging

import aiohttp

from acs_engine.cwmp import rpc
from acs_engine.sim.auth import basic_authorization
from acs_engine.sim.device import PendingTransfer, SimDevice

log = logging.getLogger("fieldacs.sim")


def config_dump(device: SimDevice) -> bytes:
    """The body of a simulated configuration/log upload: ``name=value`` lines."""
    lines = []
    for path in device.tree.subtree(""):
        if not path.endswith("."):
            lines.append(f"{path}={device.value(path, reveal=False)}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _fault(code: int, text: str) -> rpc.FaultStruct:
    return rpc.FaultStruct(code, text)


async def perform_transfer(device: SimDevice, transfer: PendingTransfer) -> rpc.FaultStruct:
    """Carry out a Download or Upload over HTTP.

    Args:
        device: the CPE doing the transfer.
        transfer: the accepted request.

    Returns:
        The TransferComplete FaultStruct (code 0 on success).
    """
    req = transfer.request
    headers = {"Authorization": basic_authorization(req.username, req.password)} if req.username else {}
    timeout = aiohttp.ClientTimeout(total=max(device.options.http_timeout, 60.0))
    try:
        connector = aiohttp.TCPConnector(ssl=device.options.ssl_context())
        async with aiohttp.ClientSession(timeout=timeout, connector=connector) as http:
            if isinstance(req, rpc.Download):
                async with http.get(req.url, headers=headers) as resp:
                    if resp.status in (401, 403):
                        return _fault(9012, f"file server refused access (HTTP {resp.status})")
                    if resp.status != 200:
                        return _fault(9016, f"unable to access file (HTTP {resp.status})")
                    data = await resp.read()
                if req.file_size and len(data) != req.file_size:
                    return _fault(9018, f"file size {len(data)} != {req.file_size}")
                log.debug("%s downloaded %d bytes from %s", device.serial, len(data), req.url)
            else:
                async with http.put(req.url, data=config_dump(device), headers=headers) as resp:
                    if resp.status in (401, 403):
                        return _fault(9012, f"file server refused access (HTTP {resp.status})")
                    if resp.status not in (200, 201, 204):
                        return _fault(9011, f"upload failed (HTTP {resp.status})")
    except (aiohttp.ClientError, TimeoutError, OSError) as exc:
        return _fault(9015, f"unable to contact file server: {exc}")
    return rpc.FaultStruct(0, "")
