"""The escalation bundle: one zip with everything a vendor needs about a CPE's problem.

Inside (``manifest.json`` lists each file, its size and whether it holds secrets):

- ``sessions/N-<session>.fieldacs-session.json``: the chosen sessions as session files;
- ``tree.json``: the device's parameter tree as stored (FieldACS keeps the latest tree, not
  one per session: the manifest says when it was taken);
- ``lint.txt`` / ``lint.json``: the CPE linter's findings for each session;
- ``faults.json``: the device's faults;
- ``fieldacs.json``: the FieldACS version, the platform and the engine settings with every
  secret (CPE password, NBI token, cwmp.auth) removed;
- ``notes.txt``: the technician's notes.

Secrets are masked (session bodies and headers, secret parameter values in the tree) unless
``include_secrets`` is given; the settings' secrets are never included. :func:`plan` builds
the bundle in memory so a dialog can show what is inside before :func:`write` saves it;
:func:`read` opens one again, refusing what is not a bundle (too large, too many members,
path tricks, a zip bomb, a newer version) with a clear :class:`BundleError`.
"""

from __future__ import annotations

import dataclasses
import io
import json
import platform
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from acs_engine import __version__
from acs_engine.config import EngineConfig
from acs_engine.inspect import sessionfile
from acs_engine.inspect.lint import lint_session
from acs_engine.inspect.sessionfile import SessionFile, SessionFileError
from acs_engine.inspect.sources import load_stored
from acs_engine.secrets import is_secret, mask
from acs_engine.store.db import Store

FORMAT = "fieldacs-bundle"
FORMAT_VERSION = 1
#: A bundle larger than this (compressed, or any member uncompressed) is refused.
MAX_BUNDLE_BYTES = 256 * 1024 * 1024
MAX_MEMBER_BYTES = 96 * 1024 * 1024
MAX_MEMBERS = 500
#: Settings never written, whatever is ticked.
SECRET_SETTINGS = frozenset({"cwmp_password", "nbi_token", "cwmp_auth"})


class BundleError(ValueError):
    """A bundle that cannot be read or made."""


@dataclass(frozen=True, slots=True)
class Item:
    """One file of a bundle.

    Attributes:
        name: its path in the zip.
        data: its bytes.
        what: what it is, for the list shown before saving.
        secrets: True when it holds secrets in clear (only with include_secrets).
    """

    name: str
    data: bytes
    what: str
    secrets: bool = False


@dataclass(slots=True)
class Bundle:
    """A bundle's contents, made by :func:`plan` or read by :func:`read`."""

    items: list[Item] = field(default_factory=list)
    device_id: str = ""
    notes: str = ""
    sessions: list[SessionFile] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)

    def item(self, name: str) -> Item | None:
        """The item called ``name``."""
        return next((i for i in self.items if i.name == name), None)


def _json(value: Any) -> bytes:
    return json.dumps(value, indent=1, ensure_ascii=False, default=str).encode("utf-8")


def safe_settings(config: EngineConfig) -> dict[str, Any]:
    """The engine settings as JSON values, secrets removed."""
    out: dict[str, Any] = {}
    for f in dataclasses.fields(EngineConfig):
        value = getattr(config, f.name)
        if f.name in SECRET_SETTINGS:
            value = "(removed)" if value else None
        out[f.name] = str(value) if isinstance(value, Path) else value
    return out


async def plan(store: Store, config: EngineConfig, device_id: str, session_ids: list[str],
               notes: str = "", *, include_secrets: bool = False) -> Bundle:
    """Build a bundle in memory (nothing is written).

    Raises:
        LookupError: a session is not stored for the device.
    """
    bundle = Bundle(device_id=device_id, notes=notes)
    lint_lines: list[str] = []
    lint_json: dict[str, Any] = {}
    for n, session_id in enumerate(session_ids, 1):
        session = await load_stored(store, device_id, session_id)
        bundle.sessions.append(session)
        bundle.items.append(Item(
            f"sessions/{n}-{session_id}.fieldacs-session.json",
            sessionfile.dumps(session, include_secrets=include_secrets),
            f"session {session_id}: {len(session.messages)} messages, "
            f"{', '.join(session.events) or 'no events'}", include_secrets))
        findings = lint_session(session)
        lint_json[session_id] = [f.to_json() for f in findings]
        lint_lines.append(f"== session {session_id} ({len(findings)} findings)")
        lint_lines.extend(f.line() for f in findings)
    params = await store.load_params(device_id)
    tree = {}
    for path, p in sorted(params.items()):
        value = p.value
        if value is not None and not include_secrets and is_secret(path):
            value = mask(value)
        tree[path] = {"value": value, "type": p.type, "object": p.object,
                      "writable": p.writable}
    taken = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    bundle.items.append(Item("tree.json", _json({"device_id": device_id, "taken": taken,
                                                 "parameters": tree}),
                             f"parameter tree as stored now ({len(tree)} nodes)",
                             include_secrets))
    bundle.items.append(Item("lint.txt", "\n".join(lint_lines).encode("utf-8"),
                             "lint findings (text)"))
    bundle.items.append(Item("lint.json", _json(lint_json), "lint findings (JSON)"))
    faults = await store.list_faults(device_id)
    bundle.items.append(Item("faults.json", _json([dataclasses.asdict(f) for f in faults]),
                             f"device faults ({len(faults)})"))
    bundle.items.append(Item("fieldacs.json", _json({
        "fieldacs_version": __version__, "python": platform.python_version(),
        "platform": platform.platform(), "settings": safe_settings(config)}),
        "FieldACS version and settings (secrets removed)"))
    bundle.items.append(Item("notes.txt", notes.encode("utf-8"), "technician's notes"))
    bundle.manifest = {
        "format": FORMAT, "version": FORMAT_VERSION, "fieldacs_version": __version__,
        "created": taken, "device_id": device_id, "secrets_included": include_secrets,
        "tree_note": "the device's tree as stored when the bundle was made (FieldACS keeps "
                     "the latest tree only)",
        "files": [{"name": i.name, "size": len(i.data), "what": i.what,
                   "secrets": i.secrets} for i in bundle.items],
    }
    return bundle


def write(path: Path, bundle: Bundle) -> None:
    """Write ``bundle`` as a zip (a temporary file, then a rename)."""
    tmp = path.with_name(path.name + ".part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", _json(bundle.manifest))
        for item in bundle.items:
            zf.writestr(item.name, item.data)
    tmp.replace(path)


def read(path: Path) -> Bundle:
    """Open a bundle; raises :class:`BundleError` on anything that is not one."""
    if path.stat().st_size > MAX_BUNDLE_BYTES:
        raise BundleError(f"{path.name}: larger than {MAX_BUNDLE_BYTES:,} bytes")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BundleError(f"{path.name}: not a zip file ({exc})") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > MAX_MEMBERS:
            raise BundleError(f"{path.name}: more than {MAX_MEMBERS} files")
        for info in infos:
            name = info.filename
            if name.startswith(("/", "\\")) or ".." in name.split("/") or ":" in name:
                raise BundleError(f"{path.name}: unsafe member name {name!r}")
            if info.file_size > MAX_MEMBER_BYTES:
                raise BundleError(f"{path.name}: {name} unpacks to {info.file_size:,} bytes")

        def member(name: str) -> bytes:
            with zf.open(name) as fh:
                data = fh.read(MAX_MEMBER_BYTES + 1)
            if len(data) > MAX_MEMBER_BYTES:
                raise BundleError(f"{path.name}: {name} is too large")
            return data

        names = {i.filename for i in infos}
        if "manifest.json" not in names:
            raise BundleError(f"{path.name}: no manifest.json: not a FieldACS bundle")
        try:
            manifest = json.loads(member("manifest.json"))
        except (ValueError, RecursionError) as exc:
            raise BundleError(f"{path.name}: manifest.json is damaged ({exc})") from None
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise BundleError(f"{path.name}: not a FieldACS bundle")
        version = manifest.get("version")
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise BundleError(f"{path.name}: bundle version {version!r}; this FieldACS reads "
                              f"up to {FORMAT_VERSION}")
        described = {f.get("name"): f for f in manifest.get("files", [])
                     if isinstance(f, dict)}
        bundle = Bundle(device_id=str(manifest.get("device_id", "")), manifest=manifest)
        for info in infos:
            if info.filename == "manifest.json" or info.is_dir():
                continue
            data = member(info.filename)
            meta = described.get(info.filename, {})
            bundle.items.append(Item(info.filename, data, str(meta.get("what", "")),
                                     bool(meta.get("secrets", False))))
            if info.filename.startswith("sessions/"):
                try:
                    bundle.sessions.append(sessionfile.loads(data))
                except SessionFileError as exc:
                    raise BundleError(f"{path.name}: {info.filename}: {exc}") from None
            elif info.filename == "notes.txt":
                bundle.notes = data.decode("utf-8", "replace")
        return bundle


def to_bytes(bundle: Bundle) -> bytes:
    """The zip's bytes (for tests and previews of the compressed size)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", _json(bundle.manifest))
        for item in bundle.items:
            zf.writestr(item.name, item.data)
    return buffer.getvalue()
