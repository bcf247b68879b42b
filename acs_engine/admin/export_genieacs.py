"""Hand a FieldACS configuration over to GenieACS, through GenieACS's NBI.

:func:`plan_export` reads presets, provisions, virtual parameters, files and the ``config``
table from a FieldACS database and turns each into what GenieACS stores:

- a preset: ``PUT /presets/<id>`` with its GenieACS document (``weight``, ``channel``,
  ``events``, ``precondition``, ``schedule``, and ``configurations`` of type ``provision``,
  the stored form GenieACS's CWMP workers run; reference §5);
- a provision or virtual parameter: ``PUT /provisions/<id>`` or
  ``PUT /virtual_parameters/<id>`` with the script as the body;
- a file: ``PUT /files/<name>`` with the bytes as the body and its metadata in the
  ``fileType``, ``oui``, ``productClass`` and ``version`` headers (reference §11);
- a ``config`` entry: a GenieACS ``config`` document ``{"_id": key, "value": expression}``.
  GenieACS's NBI has no route that writes these: they are written to a JSON file for
  ``mongoimport --collection config --jsonArray`` and listed as not written.

What cannot be mapped is reported, item by item, and not written: a preset whose precondition
or provision arguments call a function GenieACS does not have (``CONNECTION_REQUEST_PASSWORD()``
is FieldACS's), a preset that runs a provision neither exported nor built in, a precondition
that does not parse, a file whose bytes are missing.

:func:`run_export` first reads what the target already holds (``GET /<collection>/``) and
writes only what differs: a second run writes nothing (idempotent). ``dry_run`` reads but
never writes.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp

from acs_engine.expression import Binary, Call, Case, Expr, ExpressionError, Unary, parse
from acs_engine.expression.genieacs import is_expression, to_text
from acs_engine.reach.files import FileStore
from acs_engine.session.builtins import BUILTINS
from acs_engine.store.db import Store
from acs_engine.store.genieacs import preset_to_genieacs
from acs_engine.store.records import Preset

__all__ = [
    "GENIEACS_FUNCTIONS", "ExportError", "ExportItem", "ExportPlan", "Unmapped", "plan_export",
    "run_export",
]

#: Functions GenieACS evaluates in presets' preconditions and provision arguments (§5).
GENIEACS_FUNCTIONS = frozenset({"NOW", "COALESCE", "UPPER", "LOWER", "ROUND"})
#: The collections written, in the order they are written (provisions before the presets
#: that run them, so a CWMP worker never meets a preset whose provision is missing).
KINDS = ("provisions", "virtual_parameters", "files", "presets")
_EXT_CALL = re.compile(r"\bext\s*\(")
#: Most bytes read from the target's NBI in one answer (a listing).
MAX_LISTING_BYTES = 64 * 1024 * 1024


class ExportError(Exception):
    """The export cannot go on (bad URL, target unreachable, unexpected answers)."""


@dataclass(slots=True)
class ExportItem:
    """One document to write to GenieACS.

    Attributes:
        kind: the collection (``presets``, ``provisions``, ``virtual_parameters``, ``files``).
        name: its id there.
        document: what is compared with the target's copy (a preset document, a script,
            a file's length, md5 and metadata).
        body: the request body (JSON, script text), or None for a file (streamed from disk).
        headers: extra request headers (a file's metadata).
        path: a file's bytes on disk.
        action: after :func:`run_export`: ``create``, ``update``, ``unchanged`` or ``failed``.
        error: why writing it failed.
    """

    kind: str
    name: str
    document: Any
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    path: Path | None = None
    action: str = ""
    error: str = ""

    @property
    def url_path(self) -> str:
        return f"/{self.kind}/{quote(self.name, safe='')}"


@dataclass(frozen=True, slots=True)
class Unmapped:
    """An item that cannot be written to GenieACS as it is, and why."""

    kind: str
    name: str
    reason: str


@dataclass(slots=True)
class ExportPlan:
    """What an export writes, what it cannot, and the ``config`` documents."""

    items: list[ExportItem] = field(default_factory=list)
    unmapped: list[Unmapped] = field(default_factory=list)
    config: list[dict[str, str]] = field(default_factory=list)
    #: Written, but needing something done by hand at GenieACS (same shape as unmapped).
    notes: list[Unmapped] = field(default_factory=list)


# ---------------------------------------------------------------------------- planning
def _functions(node: Expr) -> Iterable[str]:
    if isinstance(node, Call):
        yield node.name
        for arg in node.args:
            yield from _functions(arg)
    elif isinstance(node, Unary):
        yield from _functions(node.operand)
    elif isinstance(node, Binary):
        yield from _functions(node.left)
        yield from _functions(node.right)
    elif isinstance(node, Case):
        for cond, then in node.whens:
            yield from _functions(cond)
            yield from _functions(then)
        if node.otherwise is not None:
            yield from _functions(node.otherwise)


def _foreign_functions(text: str) -> list[str]:
    """Functions in expression ``text`` GenieACS does not have (raises ExpressionError)."""
    return sorted({f for f in _functions(parse(text)) if f not in GENIEACS_FUNCTIONS})


def _preset_problem(preset: Preset, provisions: set[str]) -> str | None:
    """Why ``preset`` cannot run on GenieACS as it is, or None."""
    if preset.precondition.strip() and not preset.legacy_precondition:
        try:
            foreign = _foreign_functions(preset.precondition)
        except ExpressionError as exc:
            return f"its precondition does not parse: {exc}"
        if foreign:
            return (f"its precondition calls {', '.join(f + '()' for f in foreign)}, "
                    "which GenieACS does not have")
    for call in preset.provisions:
        if not call or not isinstance(call[0], str):
            return f"a provision call is malformed: {call!r}"
        name = call[0]
        if name not in provisions and name not in BUILTINS:
            return f"it runs the provision {name!r}, which is neither exported nor built in"
        for arg in call[1:]:
            if not is_expression(arg):
                continue
            try:
                foreign = _foreign_functions(to_text(arg))
            except ExpressionError as exc:
                return f"an argument of {name!r} is not a valid expression: {exc}"
            if foreign:
                return (f"an argument of {name!r} calls "
                        f"{', '.join(f + '()' for f in foreign)}, which GenieACS does not have "
                        "(GenieACS's own seeded preset of that name does the same job)")
    return None


def _json(doc: Any) -> bytes:
    return json.dumps(doc, ensure_ascii=False, sort_keys=True).encode("utf-8")


async def plan_export(store: Store, files: FileStore) -> ExportPlan:
    """What exporting the database of ``store`` (its files in ``files``) writes to GenieACS."""
    plan = ExportPlan()
    provisions = await store.list_provisions()
    names = {p.id for p in provisions}
    used_by: dict[str, list[str]] = {}  # provision -> presets that cannot be mapped
    used_ok: set[str] = set()
    preset_items: list[ExportItem] = []
    for preset in await store.list_presets():
        problem = _preset_problem(preset, names)
        called = {c[0] for c in preset.provisions if c and isinstance(c[0], str)}
        if problem is not None:
            plan.unmapped.append(Unmapped("presets", preset.id, problem))
            for name in called:
                used_by.setdefault(name, []).append(preset.id)
            continue
        used_ok |= called
        doc = preset_to_genieacs(preset)
        doc.pop("_id", None)
        preset_items.append(ExportItem("presets", preset.id, doc, _json(doc)))
    for prov in provisions:
        if prov.id in used_by and prov.id not in used_ok:
            # Written alone it would replace GenieACS's provision of that name (its seeded
            # "inform", say) with one its presets do not call the way it expects.
            plan.unmapped.append(Unmapped(
                "provisions", prov.id,
                "only presets that cannot be mapped run it "
                f"({', '.join(sorted(used_by[prov.id]))}); GenieACS keeps its own",
            ))
            continue
        plan.items.append(ExportItem("provisions", prov.id, prov.script,
                                     prov.script.encode("utf-8")))
        if _EXT_CALL.search(prov.script):
            plan.notes.append(Unmapped(
                "provisions", prov.id,
                "it calls ext(): copy the ext/ folder beside the database to GenieACS's "
                "EXT_DIR (and check its EXT_TIMEOUT)",
            ))
    for vp in await store.list_virtual_parameters():
        plan.items.append(ExportItem("virtual_parameters", vp.id, vp.script,
                                     vp.script.encode("utf-8")))
    for record in await store.list_file_records():
        try:
            path = files.path_of(record.name)
            size = path.stat().st_size
        except (OSError, ValueError) as exc:
            plan.unmapped.append(Unmapped("files", record.name, f"its bytes are missing: {exc}"))
            continue
        metadata = {"fileType": record.file_type, "oui": record.oui,
                    "productClass": record.product_class, "version": record.version}
        plan.items.append(ExportItem(
            "files", record.name, {"length": size, "md5": record.md5, "metadata": metadata},
            headers=dict(metadata), path=path,
        ))
    plan.items += preset_items
    for key, value in (await store.get_config()).items():
        plan.config.append({"_id": key, "value": value})
    return plan


# ---------------------------------------------------------------------------- the target
def check_nbi_url(url: str) -> str:
    """``url`` without a trailing slash; raises ExportError unless it is an http(s) URL."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ExportError(f"the NBI URL must be http://host:port or https://…, not {url!r}")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ExportError("the NBI URL must not carry a query, fragment or credentials "
                          "(use --token for a bearer token)")
    return url.strip().rstrip("/")


def _same(kind: str, ours: Any, theirs: Any) -> bool:
    """True when the target's document ``theirs`` already says what ``ours`` does."""
    if not isinstance(theirs, dict):
        return False
    if kind in ("provisions", "virtual_parameters"):
        return bool(theirs.get("script") == ours)
    if kind == "files":
        meta = theirs.get("metadata")
        if not isinstance(meta, dict):
            meta = {}
        same_md5 = "md5" not in theirs or theirs.get("md5") == ours["md5"]
        return bool(theirs.get("length") == ours["length"] and same_md5
                    and all(str(meta.get(k, "")) == v for k, v in ours["metadata"].items()))
    keys = ("weight", "channel", "events", "precondition", "configurations", "schedule")
    return all(theirs.get(k) == ours.get(k) for k in keys)


async def _read_json(resp: aiohttp.ClientResponse, what: str) -> Any:
    data = bytearray()
    async for chunk in resp.content.iter_chunked(256 * 1024):
        data += chunk
        if len(data) > MAX_LISTING_BYTES:
            raise ExportError(f"{what}: the answer is larger than {MAX_LISTING_BYTES} bytes")
    try:
        return json.loads(data.decode("utf-8"))
    except ValueError as exc:
        raise ExportError(f"{what}: the answer is not JSON ({exc})") from exc


async def _listing(http: aiohttp.ClientSession, base: str, kind: str) -> dict[str, Any]:
    what = f"GET {base}/{kind}/"
    try:
        async with http.get(f"{base}/{kind}/") as resp:
            if resp.status == 401:
                raise ExportError(f"{what}: 401, the NBI wants a valid token (--token)")
            if resp.status != 200:
                raise ExportError(f"{what}: HTTP {resp.status}")
            docs = await _read_json(resp, what)
    except aiohttp.ClientError as exc:
        raise ExportError(f"{what}: {exc}") from exc
    if not isinstance(docs, list):
        raise ExportError(f"{what}: expected a JSON array")
    return {str(d["_id"]): d for d in docs if isinstance(d, dict) and "_id" in d}


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(256 * 1024):
            yield chunk


async def _write(http: aiohttp.ClientSession, base: str, item: ExportItem) -> None:
    headers = dict(item.headers)
    data: Any
    if item.path is not None:
        data = _file_chunks(item.path)
        headers["Content-Length"] = str(item.document["length"])
    else:
        data = item.body
        headers["Content-Type"] = (
            "application/json" if item.kind == "presets" else "text/plain; charset=utf-8"
        )
    try:
        async with http.put(base + item.url_path, data=data, headers=headers) as resp:
            if resp.status not in (200, 201, 204):
                text = (await resp.content.read(2000)).decode("utf-8", "replace").strip()
                item.action, item.error = "failed", f"HTTP {resp.status}: {text}"
    except (aiohttp.ClientError, OSError) as exc:
        item.action, item.error = "failed", str(exc) or type(exc).__name__


async def run_export(
    plan: ExportPlan, nbi_url: str, *, token: str | None = None, dry_run: bool = False,
    timeout: float = 600.0,
) -> ExportPlan:
    """Write ``plan`` to the GenieACS NBI at ``nbi_url``; each item's ``action`` says what
    was (or, with ``dry_run``, would be) done.

    Raises:
        ExportError: the target cannot be read (nothing was written then).
    """
    base = check_nbi_url(nbi_url)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    client_timeout = aiohttp.ClientTimeout(total=timeout, sock_connect=10)
    async with aiohttp.ClientSession(headers=headers, timeout=client_timeout) as http:
        existing = {kind: await _listing(http, base, kind) for kind in KINDS}
        for kind in KINDS:
            for item in (i for i in plan.items if i.kind == kind):
                theirs = existing[kind].get(item.name)
                if theirs is not None and _same(kind, item.document, theirs):
                    item.action = "unchanged"
                    continue
                item.action = "create" if theirs is None else "update"
                if not dry_run:
                    await _write(http, base, item)
    return plan


def _what_is_written(item: ExportItem) -> str:
    """One line saying what the PUT of ``item`` carries (for a dry run)."""
    if item.kind == "presets":
        return json.dumps(item.document, ensure_ascii=False, sort_keys=True)
    if item.kind == "files":
        return " ".join(f"{k}: {v!r}" for k, v in item.headers.items())
    script = str(item.document)
    return f"script, {len(script.splitlines())} line(s), {len(script.encode())} bytes"


def summary_lines(plan: ExportPlan, *, dry_run: bool, config_out: Path | None) -> list[str]:
    """The report: one line per item, what could not be mapped, the config documents."""
    would = "would " if dry_run else ""
    lines: list[str] = []
    order = {k: n for n, k in enumerate(KINDS)}
    for item in sorted(plan.items, key=lambda i: (order[i.kind], i.name)):
        action = item.action if item.action in ("unchanged", "failed") else would + item.action
        what = f"PUT {item.url_path}" if item.action in ("create", "update") else ""
        if item.kind == "files":
            what += f" ({item.document['length']} bytes)"
        lines.append(f"{item.kind[:-1]:<18} {item.name:<32} {action:<14} {what}".rstrip())
        if dry_run and item.action in ("create", "update"):
            lines.append("    " + _what_is_written(item))
        if item.error:
            lines.append(f"    failed: {item.error}")
    for bad in plan.unmapped:
        lines.append(f"NOT MAPPED {bad.kind[:-1]} {bad.name!r}: {bad.reason}")
    for note in plan.notes:
        lines.append(f"NOTE {note.kind[:-1]} {note.name!r}: {note.reason}")
    for doc in plan.config:
        where = (f"written to {config_out}" if config_out is not None
                 else "pass --config-out FILE to write it")
        lines.append(f"NOT WRITTEN config {doc['_id']!r}: GenieACS's NBI has no route for "
                     f"config; {where} (mongoimport --collection config --jsonArray)")
    counts = {a: sum(1 for i in plan.items if i.action == a)
              for a in ("create", "update", "unchanged", "failed")}
    lines.append(
        f"{would}create {counts['create']}, {would}update {counts['update']}, "
        f"unchanged {counts['unchanged']}, failed {counts['failed']}, "
        f"not mapped {len(plan.unmapped)}, config documents {len(plan.config)}"
    )
    return lines


def config_documents_json(docs: Sequence[dict[str, str]]) -> str:
    """The ``config`` documents as a JSON array (``mongoimport --jsonArray``)."""
    return json.dumps(list(docs), ensure_ascii=False, indent=1) + "\n"
