"""The file store and the file server CPEs download firmware and configuration files from.

Files live beside the database in ``<db dir>/files/``; each file's metadata (fileType, OUI,
product class, version, size, MD5, upload time) sits in a JSON sidecar under
``files/.meta/``. Writes go to a temporary file under ``files/.tmp/`` and are renamed into
place, so a reader never sees half a file. Names are validated so that no name can point
outside the folder.

:func:`file_server_app` serves ``GET``/``HEAD /<name>`` the way CPE download clients expect:
a strong ETag (the MD5), Last-Modified, byte ranges (one range; several ranges get the whole
file) and conditional requests, streaming from disk in chunks.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import AsyncIterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path
from typing import BinaryIO

from aiohttp import web

__all__ = [
    "FileInfo",
    "FileNameError",
    "FileStore",
    "FileTooLargeError",
    "file_server_app",
    "validate_file_name",
]

log = logging.getLogger("fieldacs.files")

#: Default largest accepted file (firmware images are rarely above a few hundred MB).
DEFAULT_MAX_SIZE = 2 * 1024**3
_CHUNK = 256 * 1024
_FORBIDDEN_CHARS = frozenset('/\\<>:"|?*') | {chr(c) for c in range(32)} | {"\x7f"}
_WINDOWS_RESERVED = frozenset(
    ["CON", "PRN", "AUX", "NUL"] + [f"COM{i}" for i in range(1, 10)]
    + [f"LPT{i}" for i in range(1, 10)]
)


class FileNameError(ValueError):
    """A file name that cannot be stored (empty, too long, or could escape the folder)."""


class FileTooLargeError(ValueError):
    """The data is larger than the store's size limit."""


def validate_file_name(name: str) -> str:
    """Check that ``name`` is a safe single file name and return it.

    Refused: empty, ``.``/``..`` or any name starting with a dot, ``/``, ``\\``, control
    characters and ``<>:"|?*`` (not portable to Windows), names ending in a dot or space,
    Windows device names (``CON``, ``NUL``, ...), and names over 255 characters or 255 bytes
    of UTF-8.

    Args:
        name: the proposed name.

    Returns:
        ``name`` unchanged.

    Raises:
        FileNameError: with the reason.
    """
    if not name:
        raise FileNameError("the file name is empty")
    if len(name) > 255 or len(name.encode("utf-8", "surrogatepass")) > 255:
        raise FileNameError("the file name is longer than 255 characters")
    if name.startswith("."):
        raise FileNameError("the file name must not start with a dot")
    if any(ch in _FORBIDDEN_CHARS for ch in name):
        raise FileNameError("the file name contains '/', '\\', a control or reserved character")
    if name[-1] in ". ":
        raise FileNameError("the file name must not end with a dot or a space")
    if name.split(".", 1)[0].upper() in _WINDOWS_RESERVED:
        raise FileNameError("the file name is a reserved device name")
    try:
        name.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise FileNameError("the file name is not valid Unicode") from exc
    return name


@dataclass(frozen=True, slots=True)
class FileInfo:
    """Metadata of one stored file.

    Attributes:
        name: the file name (also its URL path on the file server).
        size: length in bytes.
        md5: lower-case hex MD5 of the content (the ETag).
        file_type: TR-069 FileType, e.g. ``"1 Firmware Upgrade Image"``.
        oui: the OUI of the devices it is meant for (may be empty).
        product_class: their product class (may be empty).
        version: the software version it carries (may be empty).
        uploaded: when it was stored (UTC).
    """

    name: str
    size: int
    md5: str
    file_type: str
    oui: str
    product_class: str
    version: str
    uploaded: datetime

    def to_json(self) -> dict[str, object]:
        """The sidecar form (GenieACS's metadata key names)."""
        return {
            "name": self.name, "length": self.size, "md5": self.md5,
            "fileType": self.file_type, "oui": self.oui, "productClass": self.product_class,
            "version": self.version, "uploadDate": self.uploaded.isoformat(),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> FileInfo:
        """Read the sidecar form; raises ValueError/KeyError/TypeError when malformed."""
        uploaded = datetime.fromisoformat(str(data["uploadDate"]))
        if uploaded.tzinfo is None:
            uploaded = uploaded.replace(tzinfo=UTC)
        size = data["length"]
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise ValueError("bad length")
        return cls(
            name=str(data["name"]), size=size, md5=str(data["md5"]),
            file_type=str(data.get("fileType", "")), oui=str(data.get("oui", "")),
            product_class=str(data.get("productClass", "")), version=str(data.get("version", "")),
            uploaded=uploaded,
        )


def _sync_dir(path: Path) -> None:
    """fsync a directory so a rename survives a crash (no-op where unsupported)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class FileStore:
    """Files in a folder with a JSON sidecar of metadata each.

    Layout: ``<root>/<name>`` holds the content, ``<root>/.meta/<sha256(name)>.json`` the
    metadata, ``<root>/.tmp/`` the uploads in progress. A single event loop is assumed: the
    two renames that publish a file happen without yielding, so :meth:`open` always sees
    content and metadata that belong together.

    Args:
        root: the folder (created when missing).
        max_size: largest accepted file in bytes.
    """

    def __init__(self, root: Path | str, *, max_size: int = DEFAULT_MAX_SIZE) -> None:
        self.root = Path(root)
        self.max_size = max_size
        self._meta = self.root / ".meta"
        self._tmp = self.root / ".tmp"
        for folder in (self.root, self._meta, self._tmp):
            folder.mkdir(parents=True, exist_ok=True)
        for stale in self._tmp.iterdir():  # uploads interrupted by a crash
            try:
                stale.unlink()
            except OSError:
                pass

    @classmethod
    def beside_db(cls, db_path: Path | str, *, max_size: int = DEFAULT_MAX_SIZE) -> FileStore:
        """The store in ``<db dir>/files/``."""
        return cls(Path(db_path).parent / "files", max_size=max_size)

    def path_of(self, name: str) -> Path:
        """Where the content of ``name`` is (or would be) stored.

        Raises:
            FileNameError: for an invalid name.
        """
        return self.root / validate_file_name(name)

    def _meta_path(self, name: str) -> Path:
        digest = hashlib.sha256(name.encode("utf-8")).hexdigest()
        return self._meta / f"{digest}.json"

    async def put(
        self,
        name: str,
        data: bytes | AsyncIterable[bytes],
        *,
        file_type: str = "",
        oui: str = "",
        product_class: str = "",
        version: str = "",
    ) -> FileInfo:
        """Store (or replace) a file atomically.

        Args:
            name: the file name (see :func:`validate_file_name`).
            data: the content, whole or as an async stream of chunks.
            file_type: TR-069 FileType.
            oui: target OUI.
            product_class: target product class.
            version: software version.

        Returns:
            The stored file's metadata.

        Raises:
            FileNameError: for an invalid name.
            FileTooLargeError: when the content exceeds ``max_size`` (nothing is stored).
        """
        target = self.path_of(name)
        md5 = hashlib.md5(usedforsecurity=False)
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="up-")
        tmp = Path(tmp_name)
        temporaries = [tmp]
        handle = os.fdopen(fd, "wb")
        try:
            try:
                if isinstance(data, bytes | bytearray | memoryview):
                    chunk = bytes(data)
                    if len(chunk) > self.max_size:
                        raise FileTooLargeError(self._too_large())
                    md5.update(chunk)
                    size = len(chunk)
                    await asyncio.to_thread(handle.write, chunk)
                else:
                    async for chunk in data:
                        size += len(chunk)
                        if size > self.max_size:
                            raise FileTooLargeError(self._too_large())
                        md5.update(chunk)
                        await asyncio.to_thread(handle.write, chunk)
                await asyncio.to_thread(self._flush, handle)
            finally:
                handle.close()
            info = FileInfo(
                name=name, size=size, md5=md5.hexdigest(), file_type=file_type, oui=oui,
                product_class=product_class, version=version,
                uploaded=datetime.now(UTC).replace(microsecond=0),
            )
            meta_fd, meta_tmp = tempfile.mkstemp(dir=self._tmp, prefix="meta-")
            temporaries.append(Path(meta_tmp))
            with os.fdopen(meta_fd, "w", encoding="utf-8") as meta:
                json.dump(info.to_json(), meta)
                meta.flush()
                os.fsync(meta.fileno())
            # publish both without yielding to the loop: readers see old or new, never a mix
            os.replace(tmp, target)
            os.replace(meta_tmp, self._meta_path(name))
        except BaseException:
            for leftover in temporaries:
                leftover.unlink(missing_ok=True)
            raise
        _sync_dir(self.root)
        _sync_dir(self._meta)
        log.info("stored %s (%d bytes, md5 %s)", name, size, info.md5)
        return info

    @staticmethod
    def _flush(handle: BinaryIO) -> None:
        handle.flush()
        os.fsync(handle.fileno())

    def _too_large(self) -> str:
        return f"the file is larger than the limit of {self.max_size} bytes"

    def _read_info(self, name: str) -> FileInfo | None:
        try:
            raw = self._meta_path(name).read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError):
            return None
        try:
            info = FileInfo.from_json(json.loads(raw))
        except (ValueError, KeyError, TypeError):
            log.warning("unreadable metadata for %s; ignoring the file", name)
            return None
        return info if info.name == name else None

    async def get_info(self, name: str) -> FileInfo | None:
        """Metadata of ``name``, or None when it is not stored (or the name is invalid)."""
        try:
            validate_file_name(name)
        except FileNameError:
            return None
        info = self._read_info(name)
        if info is None or not (self.root / name).is_file():
            return None
        return info

    async def list(self) -> list[FileInfo]:
        """Every stored file, sorted by name."""
        found: list[FileInfo] = []
        for sidecar in self._meta.glob("*.json"):
            try:
                info = FileInfo.from_json(json.loads(sidecar.read_text(encoding="utf-8")))
            except (OSError, ValueError, KeyError, TypeError):
                log.warning("skipping unreadable metadata %s", sidecar.name)
                continue
            if (self.root / info.name).is_file():
                found.append(info)
        return sorted(found, key=lambda i: i.name)

    async def delete(self, name: str) -> bool:
        """Remove ``name``; returns False when it was not stored."""
        try:
            validate_file_name(name)
        except FileNameError:
            return False
        meta = self._meta_path(name)
        existed = meta.exists()
        meta.unlink(missing_ok=True)
        try:
            (self.root / name).unlink()
            existed = True
        except FileNotFoundError:
            pass
        if existed:
            log.info("deleted %s", name)
        return existed

    def open(self, name: str) -> tuple[FileInfo, BinaryIO] | None:
        """Open ``name`` for reading together with its metadata (None when not stored).

        Synchronous on purpose: no other coroutine can replace the file between reading the
        metadata and opening the content. The caller closes the handle.
        """
        try:
            validate_file_name(name)
        except FileNameError:
            return None
        info = self._read_info(name)
        if info is None:
            return None
        try:
            handle = (self.root / name).open("rb")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None
        if os.fstat(handle.fileno()).st_size != info.size:
            handle.close()
            log.warning("%s does not match its metadata (size); not serving it", name)
            return None
        return info, handle


# --------------------------------------------------------------------------- HTTP server
def _etag_list(header: str) -> list[str]:
    """The entity-tags of an If-Match / If-None-Match header (``*`` kept as is)."""
    tags: list[str] = []
    for part in header.split(","):
        tag = part.strip()
        if tag:
            tags.append(tag)
    return tags


def _etag_matches(header: str, etag: str, *, weak: bool) -> bool:
    for tag in _etag_list(header):
        if tag == "*":
            return True
        if tag.startswith("W/"):
            if weak and tag[2:] == etag:
                return True
            continue
        if tag == etag:
            return True
    return False


def _http_date(header: str | None) -> datetime | None:
    if not header:
        return None
    try:
        value = parsedate_to_datetime(header)
    except (TypeError, ValueError, IndexError):
        return None
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """One byte range as (first, last), ``"unsatisfiable"``, or None (ignore the header)."""
    unit, sep, spec = header.partition("=")
    if not sep or unit.strip().lower() != "bytes":
        return None
    specs = [s.strip() for s in spec.split(",")]
    if len(specs) != 1:
        return None  # several ranges: the whole file is an acceptable answer
    first_text, dash, last_text = specs[0].partition("-")
    first_text, last_text = first_text.strip(), last_text.strip()
    if not dash or not (first_text or last_text):
        return None
    if not all(t.isdigit() for t in (first_text, last_text) if t):
        return None
    if not first_text:
        suffix = int(last_text)
        if suffix == 0 or size == 0:
            return "unsatisfiable"
        return max(size - suffix, 0), size - 1
    first = int(first_text)
    if last_text and int(last_text) < first:
        return None  # invalid range-spec: ignore the header
    if first >= size:
        return "unsatisfiable"
    last = min(int(last_text), size - 1) if last_text else size - 1
    return first, last


def _not_modified(request: web.Request, etag: str, modified: datetime) -> int | None:
    """Evaluate preconditions in RFC 9110 §13.2.2 order; returns 304/412 or None."""
    headers = request.headers
    if_match = headers.get("If-Match")
    if if_match is not None:
        if not _etag_matches(if_match, etag, weak=False):
            return 412
    else:
        since = _http_date(headers.get("If-Unmodified-Since"))
        if since is not None and modified > since:
            return 412
    if_none = headers.get("If-None-Match")
    if if_none is not None:
        if _etag_matches(if_none, etag, weak=True):
            return 304
    else:
        since = _http_date(headers.get("If-Modified-Since"))
        if since is not None and modified <= since:
            return 304
    return None


def _range_allowed(request: web.Request, etag: str, modified: datetime) -> bool:
    """If-Range: the range applies only when the validator still matches (strongly)."""
    if_range = request.headers.get("If-Range")
    if if_range is None:
        return True
    value = if_range.strip()
    if value.startswith('"') or value.startswith("W/"):
        return value == etag
    when = _http_date(value)
    return when is not None and when == modified


async def _stream(response: web.StreamResponse, handle: BinaryIO, first: int,
                  length: int) -> None:
    await asyncio.to_thread(handle.seek, first)
    remaining = length
    while remaining > 0:
        chunk = await asyncio.to_thread(handle.read, min(_CHUNK, remaining))
        if not chunk:
            raise ConnectionError("file shrank while being served")
        remaining -= len(chunk)
        await response.write(chunk)


def file_server_app(store: FileStore) -> web.Application:
    """The file server: ``GET``/``HEAD /<name>`` for the files in ``store``.

    Args:
        store: where the files are.

    Returns:
        An aiohttp application (run it with an ``AppRunner`` on the file-server port).
    """

    async def serve(request: web.Request) -> web.StreamResponse:
        if request.method not in ("GET", "HEAD"):
            return web.Response(status=405, headers={"Allow": "GET, HEAD"})
        name = request.match_info["name"]
        opened = store.open(name)
        if opened is None:
            log.debug("%s %s: not found", request.method, request.path)
            return web.Response(status=404, text="Not Found")
        info, handle = opened
        try:
            return await _answer(request, info, handle)
        finally:
            handle.close()

    async def _answer(request: web.Request, info: FileInfo,
                      handle: BinaryIO) -> web.StreamResponse:
        etag = f'"{info.md5}"'
        modified = info.uploaded.astimezone(UTC).replace(microsecond=0)
        headers = {
            "ETag": etag,
            "Last-Modified": format_datetime(modified, usegmt=True),
            "Accept-Ranges": "bytes",
        }
        verdict = _not_modified(request, etag, modified)
        if verdict is not None:
            return web.Response(status=verdict, headers=headers)
        first, last = 0, info.size - 1
        status = 200
        range_header = request.headers.get("Range")
        if range_header is not None and request.method == "GET" and _range_allowed(
            request, etag, modified
        ):
            parsed = _parse_range(range_header, info.size)
            if parsed == "unsatisfiable":
                headers["Content-Range"] = f"bytes */{info.size}"
                return web.Response(status=416, headers=headers)
            if isinstance(parsed, tuple):
                first, last = parsed
                status = 206
                headers["Content-Range"] = f"bytes {first}-{last}/{info.size}"
        length = max(last - first + 1, 0)
        response = web.StreamResponse(status=status, headers=headers)
        response.content_type = "application/octet-stream"
        response.content_length = length
        await response.prepare(request)
        if request.method == "GET" and length:
            await _stream(response, handle, first, length)
        await response.write_eof()
        log.debug("%s %s: %d (%d bytes)", request.method, info.name, status, length)
        return response

    app = web.Application()
    app.router.add_route("*", "/{name}", serve)
    return app
