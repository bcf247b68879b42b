"""FileStore on disk and the file server over real HTTP on 127.0.0.1."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import aiohttp
import pytest

from acs_engine.reach.files import (
    FileNameError,
    FileStore,
    FileTooLargeError,
    file_server_app,
    validate_file_name,
)
from tests.unit.reach.loopback import serve

DATA = bytes(range(256)) * 40  # 10240 bytes


@pytest.fixture
def store(tmp_path: Path) -> FileStore:
    return FileStore.beside_db(tmp_path / "fieldacs.db", max_size=64 * 1024 * 1024)


@asynccontextmanager
async def client(store: FileStore) -> AsyncIterator[tuple[aiohttp.ClientSession, str]]:
    async with serve(file_server_app(store)) as base, aiohttp.ClientSession() as http:
        yield http, base


# --------------------------------------------------------------------------- store
@pytest.mark.parametrize("name", [
    "", ".", "..", "../x", "a/b", "a\\b", ".hidden", "x" * 256, "é" * 128, "nul\x00", "a:b",
    "trailing.", "CON", "nul.txt", "line\nbreak",
])
def test_invalid_names(name: str) -> None:
    with pytest.raises(FileNameError):
        validate_file_name(name)


def test_valid_names() -> None:
    for name in ("fw-1.2.3.bin", "x" * 255, "Config file (v2).xml", "é" * 127, "a..b"):
        assert validate_file_name(name) == name


async def test_put_get_list_delete(store: FileStore, tmp_path: Path) -> None:
    assert store.root == tmp_path / "files"
    info = await store.put("fw.bin", DATA, file_type="1 Firmware Upgrade Image",
                           oui="A1B2C3", product_class="HGW", version="2.0")
    assert info.size == len(DATA) and info.md5 == hashlib.md5(DATA).hexdigest()
    assert (info.file_type, info.oui, info.product_class, info.version) == (
        "1 Firmware Upgrade Image", "A1B2C3", "HGW", "2.0")
    assert abs(info.uploaded - datetime.now(UTC)) < timedelta(seconds=5)
    assert store.path_of("fw.bin").read_bytes() == DATA
    assert await store.get_info("fw.bin") == info
    # a fresh store over the same folder reads the sidecar back
    again = FileStore(tmp_path / "files")
    assert await again.get_info("fw.bin") == info
    await store.put("a.cfg", b"x=1\n", file_type="3 Vendor Configuration File")
    assert [i.name for i in await store.list()] == ["a.cfg", "fw.bin"]
    assert not any(p.name.startswith(("up-", "meta-")) for p in (store.root / ".tmp").iterdir())
    assert await store.delete("fw.bin") is True
    assert await store.delete("fw.bin") is False
    assert await store.get_info("fw.bin") is None
    assert not store.path_of("fw.bin").exists()
    assert await store.get_info("../fieldacs.db") is None
    with pytest.raises(FileNameError):
        store.path_of("../fieldacs.db")


async def test_put_streams_and_replaces(store: FileStore) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for i in range(10):
            yield bytes([i]) * 1000

    first = await store.put("s.bin", chunks(), version="1")
    assert first.size == 10_000
    second = await store.put("s.bin", b"new", version="2")
    assert (await store.get_info("s.bin")) == second
    assert store.path_of("s.bin").read_bytes() == b"new"


async def test_size_limit_keeps_nothing(tmp_path: Path) -> None:
    store = FileStore(tmp_path / "files", max_size=1000)
    with pytest.raises(FileTooLargeError):
        await store.put("big", b"x" * 1001)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(5):
            yield b"y" * 300

    with pytest.raises(FileTooLargeError):
        await store.put("big", chunks())
    assert await store.list() == []
    assert list((store.root / ".tmp").iterdir()) == []
    assert not (store.root / "big").exists()


async def test_corrupt_sidecar_is_ignored(store: FileStore) -> None:
    await store.put("ok.bin", b"1")
    await store.put("bad.bin", b"2")
    for sidecar in (store.root / ".meta").glob("*.json"):
        if json.loads(sidecar.read_text())["name"] == "bad.bin":
            sidecar.write_text("{not json")
    assert [i.name for i in await store.list()] == ["ok.bin"]
    assert await store.get_info("bad.bin") is None


# --------------------------------------------------------------------------- server
async def test_get_and_head(store: FileStore) -> None:
    info = await store.put("fw.bin", DATA)
    async with client(store) as (http, base):
        async with http.get(f"{base}/fw.bin") as resp:
            body = await resp.read()
            assert resp.status == 200 and body == DATA
            assert resp.headers["ETag"] == f'"{info.md5}"'
            assert resp.headers["Content-Length"] == str(len(DATA))
            assert resp.headers["Accept-Ranges"] == "bytes"
            assert resp.headers["Last-Modified"] == format_datetime(info.uploaded, usegmt=True)
        async with http.head(f"{base}/fw.bin") as resp:
            assert resp.status == 200 and await resp.read() == b""
            assert resp.headers["Content-Length"] == str(len(DATA))
            assert resp.headers["ETag"] == f'"{info.md5}"'
        async with http.get(f"{base}/missing.bin") as resp:
            assert resp.status == 404
        for method in ("PUT", "POST", "DELETE"):
            async with http.request(method, f"{base}/fw.bin", data=b"x") as resp:
                assert resp.status == 405 and resp.headers["Allow"] == "GET, HEAD"
    assert store.path_of("fw.bin").read_bytes() == DATA


@pytest.mark.parametrize(("header", "first", "last"), [
    ("bytes=0-99", 0, 99),
    ("bytes=10000-", 10000, 10239),
    ("bytes=-240", 10000, 10239),
    ("bytes=100-999999", 100, 10239),
    ("bytes=-999999", 0, 10239),
])
async def test_ranges(store: FileStore, header: str, first: int, last: int) -> None:
    await store.put("fw.bin", DATA)
    async with client(store) as (http, base):
        async with http.get(f"{base}/fw.bin", headers={"Range": header}) as resp:
            assert resp.status == 206
            assert resp.headers["Content-Range"] == f"bytes {first}-{last}/{len(DATA)}"
            assert await resp.read() == DATA[first:last + 1]


async def test_range_edge_cases(store: FileStore) -> None:
    info = await store.put("fw.bin", DATA)
    await store.put("empty", b"")
    async with client(store) as (http, base):
        for header in ("bytes=10240-", "bytes=20000-30000", "bytes=-0"):
            async with http.get(f"{base}/fw.bin", headers={"Range": header}) as resp:
                assert resp.status == 416, header
                assert resp.headers["Content-Range"] == f"bytes */{len(DATA)}"
        async with http.get(f"{base}/empty", headers={"Range": "bytes=0-"}) as resp:
            assert resp.status == 416
        # several ranges, malformed or foreign units: the whole file
        for header in ("bytes=0-1,5-6", "bytes=9-3", "items=0-1", "bytes=a-b"):
            async with http.get(f"{base}/fw.bin", headers={"Range": header}) as resp:
                assert resp.status == 200 and await resp.read() == DATA, header
        # If-Range: a stale validator means the whole file
        stale = {"Range": "bytes=0-9", "If-Range": '"0000"'}
        async with http.get(f"{base}/fw.bin", headers=stale) as resp:
            assert resp.status == 200 and len(await resp.read()) == len(DATA)
        fresh = {"Range": "bytes=0-9", "If-Range": f'"{info.md5}"'}
        async with http.get(f"{base}/fw.bin", headers=fresh) as resp:
            assert resp.status == 206 and await resp.read() == DATA[:10]
        # Range is ignored on HEAD
        async with http.head(f"{base}/fw.bin", headers={"Range": "bytes=0-9"}) as resp:
            assert resp.status == 200 and resp.headers["Content-Length"] == str(len(DATA))


async def test_conditional_requests(store: FileStore) -> None:
    info = await store.put("fw.bin", DATA)
    etag = f'"{info.md5}"'
    later = format_datetime(info.uploaded + timedelta(hours=1), usegmt=True)
    earlier = format_datetime(info.uploaded - timedelta(hours=1), usegmt=True)
    cases: list[tuple[dict[str, str], int]] = [
        ({"If-None-Match": etag}, 304),
        ({"If-None-Match": f'"x", W/{etag}'}, 304),
        ({"If-None-Match": "*"}, 304),
        ({"If-None-Match": '"other"'}, 200),
        ({"If-Modified-Since": later}, 304),
        ({"If-Modified-Since": earlier}, 200),
        ({"If-None-Match": '"other"', "If-Modified-Since": later}, 200),  # INM wins
        ({"If-Match": etag}, 200),
        ({"If-Match": "*"}, 200),
        ({"If-Match": '"other"'}, 412),
        ({"If-Match": f"W/{etag}"}, 412),  # strong comparison
        ({"If-Unmodified-Since": earlier}, 412),
        ({"If-Unmodified-Since": later}, 200),
        ({"If-Modified-Since": "garbage"}, 200),
    ]
    async with client(store) as (http, base):
        for headers, status in cases:
            async with http.get(f"{base}/fw.bin", headers=headers) as resp:
                assert resp.status == status, headers
                body = await resp.read()
                assert body == (DATA if status == 200 else b""), headers
                if status == 304:
                    assert resp.headers["ETag"] == etag


async def _raw_get(base: str, target: str) -> tuple[int, bytes]:
    """Send a request line exactly as given (no client-side path normalisation)."""
    host, port = base.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(f"GET {target} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
                     .encode())
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()
        await writer.wait_closed()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body


async def test_traversal_never_leaves_the_folder(store: FileStore, tmp_path: Path) -> None:
    secret = b"TOP SECRET database bytes"
    (tmp_path / "x").write_bytes(secret)
    (tmp_path / "fieldacs.db").write_bytes(secret)
    await store.put("inside.bin", b"inside")
    async with serve(file_server_app(store)) as base:
        for target in ("/../x", "/%2e%2e/x", "/%2e%2e%2fx", "/..%2fx", "/..%2ffieldacs.db",
                       "/../fieldacs.db", "/.meta", "/.tmp", "/%2e%2e", "/..", "/files/../x",
                       "/%2Fetc%2Fpasswd", "//etc/passwd", "/..%5cx", "/.%2e/x"):
            status, body = await _raw_get(base, target)
            assert status in (400, 404), target
            assert secret not in body, target
        assert await _raw_get(base, "/inside.bin") == (200, b"inside")


async def test_big_file_streams(store: FileStore) -> None:
    size = 20 * 1024 * 1024
    chunk = os.urandom(1024 * 1024)

    async def source() -> AsyncIterator[bytes]:
        for _ in range(20):
            yield chunk

    info = await store.put("big.img", source())
    assert info.size == size
    async with client(store) as (http, base):
        async with http.get(f"{base}/big.img") as resp:
            assert resp.status == 200 and resp.headers["Content-Length"] == str(size)
            assert "Transfer-Encoding" not in resp.headers
            digest = hashlib.md5()
            total = 0
            async for part in resp.content.iter_chunked(256 * 1024):
                digest.update(part)
                total += len(part)
        assert total == size and digest.hexdigest() == info.md5
        half = size // 2
        async with http.get(f"{base}/big.img", headers={"Range": f"bytes={half}-"}) as resp:
            assert resp.status == 206 and len(await resp.read()) == size - half


async def test_replaced_while_serving_keeps_old_content(store: FileStore) -> None:
    old = b"o" * (2 * 1024 * 1024)
    await store.put("fw.bin", old)
    async with client(store) as (http, base):
        async with http.get(f"{base}/fw.bin") as resp:
            first = await resp.content.readexactly(1024)
            await store.put("fw.bin", b"new")
            rest = await resp.read()
        assert first + rest == old
        async with http.get(f"{base}/fw.bin") as resp:
            assert await resp.read() == b"new"
