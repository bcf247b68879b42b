"""The special roots the ACS itself owns: Tags, Downloads, Reboot, FactoryReset, clears.

Nothing here sends an RPC. Tags live in the device record; ``Downloads.N.*``, ``Reboot`` and
``FactoryReset`` are parameters the ACS writes into the session's tree (GenieACS keeps them in
the device document the same way). dateTime values are kept as ISO text with milliseconds.
"""

from __future__ import annotations

import logging
from typing import Any

from acs_engine.cwmp import rpc
from acs_engine.session.coerce import iso_ms, js_string, parse_datetime_ms, sanitize
from acs_engine.session.index import Index
from acs_engine.session.paths import Path, match_source, parse_object_path, sort_key
from acs_engine.session.sync import DownloadOperation, SyncState
from acs_engine.session.tree import DeviceTree
from acs_engine.store.model import DeviceRecord

log = logging.getLogger("fieldacs.sync")

#: The fields of a virtual ``Downloads.N`` instance: writable ones first.
DOWNLOAD_FIELDS: tuple[tuple[str, bool, str], ...] = (
    ("FileType", True, "xsd:string"),
    ("FileName", True, "xsd:string"),
    ("TargetFileName", True, "xsd:string"),
    ("Download", True, "xsd:dateTime"),
    ("LastFileType", False, "xsd:string"),
    ("LastFileName", False, "xsd:string"),
    ("LastTargetFileName", False, "xsd:string"),
    ("LastDownload", False, "xsd:dateTime"),
    ("StartTime", False, "xsd:dateTime"),
    ("CompleteTime", False, "xsd:dateTime"),
)


def _time_text(ms: int) -> str:
    return iso_ms(ms)


def apply_local_changes(
    state: SyncState, tree: DeviceTree, device: DeviceRecord, index: Index, ts: int
) -> bool:
    """Apply the changes that need no RPC: tags and the virtual Downloads objects.

    Returns:
        True when anything changed (the declarations must be processed again).
    """
    changed = False
    for name, wanted in state.tags.items():
        tag = name.split(".", 1)[1]
        if wanted and tag not in device.tags:
            device.tags.add(tag)
            changed = True
        elif not wanted and tag in device.tags:
            device.tags.discard(tag)
            changed = True
    if state.downloads_to_create:
        instances = [int(n.rsplit(".", 1)[1]) for n in index.child_names("Downloads")
                     if n.rsplit(".", 1)[1].isdigit()]
        number = max(instances, default=0)
        for keys in state.downloads_to_create:
            number += 1
            create_download(tree, number, keys, ts)
        changed = True
    for name in state.downloads_to_delete:
        tree.delete(name + ".")
        changed = True
    deleted = {n + "." for n in state.downloads_to_delete}
    for name, value in state.downloads_values.items():
        if any(name.startswith(d) for d in deleted):
            continue
        node = index.get(name)
        if node is None or not node.writable or node.value is None:
            continue
        kind = node.type or "xsd:string"
        typed = sanitize(value, kind)
        if typed != node.typed():
            tree.set_special(name, _stored(typed, kind), kind, ts, writable=True)
            changed = True
    return changed


def _stored(typed: Any, kind: str) -> str:
    if kind == "xsd:dateTime" and isinstance(typed, int) and not isinstance(typed, bool):
        return _time_text(typed)
    return js_string(typed)


def create_download(tree: DeviceTree, number: int, keys: dict[str, str], ts: int) -> None:
    """Create the virtual object ``Downloads.<number>`` from alias ``keys``."""
    tree.ensure_object("Downloads.", ts)
    tree.set_children_ts("Downloads.", ts)
    base = f"Downloads.{number}."
    tree.ensure_object(base, ts)
    tree.set_children_ts(base, ts)
    for field, writable, kind in DOWNLOAD_FIELDS:
        if kind == "xsd:dateTime":
            raw = keys.get(field)
            ms = sanitize(raw, kind) if raw not in (None, "") else 0
            text = _time_text(ms if isinstance(ms, int) else 0)
        else:
            text = keys.get(field, "") if field in ("FileType", "FileName", "TargetFileName") else ""
        tree.set_special(base + field, text, kind, ts, writable=writable)


def download_request(
    index: Index, name: str, command_key: str, file_url: Any
) -> tuple[rpc.Download, DownloadOperation]:
    """The Download RPC for ``Downloads.N.Download`` and the operation it starts."""
    instance = name.split(".")[1]

    def field(key: str) -> str:
        node = index.get(f"Downloads.{instance}.{key}")
        return node.value if node is not None and node.value is not None else ""

    file_type, file_name, target = field("FileType"), field("FileName"), field("TargetFileName")
    url, size = file_url(file_name)
    message = rpc.Download(
        command_key=command_key,
        file_type=file_type,
        url=url,
        file_size=size,
        target_file_name=target,
        delay_seconds=0,
    )
    operation = DownloadOperation(command_key, instance, file_type, file_name, target, 0)
    return message, operation


def download_done(
    tree: DeviceTree,
    operation: DownloadOperation,
    session_timestamp: int,
    response: rpc.DownloadResponse,
    ts: int,
) -> DownloadOperation | None:
    """Record a DownloadResponse; returns the pending operation when Status is 1."""
    base = f"Downloads.{operation.instance}."
    tree.set_special(base + "Download", _time_text(session_timestamp), "xsd:dateTime", ts,
                     writable=True)
    if response.status == 0:
        _record_success(tree, operation, session_timestamp,
                        parse_datetime_ms(response.start_time) or 0,
                        parse_datetime_ms(response.complete_time) or 0, ts)
        return None
    return DownloadOperation(
        operation.command_key, operation.instance, operation.file_type, operation.file_name,
        operation.target_file_name, session_timestamp,
    )


def _record_success(
    tree: DeviceTree, op: DownloadOperation, when: int, start: int, complete: int, ts: int
) -> None:
    base = f"Downloads.{op.instance}."
    tree.set_special(base + "LastDownload", _time_text(when), "xsd:dateTime", ts)
    tree.set_special(base + "LastFileType", op.file_type, "xsd:string", ts)
    tree.set_special(base + "LastFileName", op.file_name, "xsd:string", ts)
    tree.set_special(base + "LastTargetFileName", op.target_file_name, "xsd:string", ts)
    tree.set_special(base + "StartTime", _time_text(start), "xsd:dateTime", ts)
    tree.set_special(base + "CompleteTime", _time_text(complete), "xsd:dateTime", ts)


def transfer_complete(
    tree: DeviceTree, operation: DownloadOperation, request: rpc.TransferComplete, ts: int
) -> str | None:
    """Complete a pending Download from its TransferComplete.

    On success the ``Last*``, ``StartTime`` and ``CompleteTime`` fields are written; on a fault
    ``Downloads.N.Download`` goes back to ``LastDownload`` so the download is tried again.

    Returns:
        None on success, else the fault code ``cwmp.<FaultCode>``.
    """
    base = f"Downloads.{operation.instance}."
    if request.fault.code:
        last = tree.get(base + "LastDownload")
        text = last.value if last is not None and last.value else _time_text(0)
        tree.set_special(base + "Download", text, "xsd:dateTime", ts, writable=True)
        return f"cwmp.{request.fault.code}"
    _record_success(
        tree, operation, operation.timestamp_ms,
        parse_datetime_ms(request.start_time) or 0,
        parse_datetime_ms(request.complete_time) or 0, ts,
    )
    return None


def record_reboot(tree: DeviceTree, root: str, session_timestamp: int, ts: int) -> None:
    """A Reboot or FactoryReset was accepted: its parameter becomes the session time."""
    tree.set_special(root, _time_text(session_timestamp), "xsd:dateTime", ts)


def clear(
    tree: DeviceTree,
    index: Index,
    path: Path,
    timestamp: int,
    attr_timestamps: dict[str, int] | None = None,
) -> bool:
    """GenieACS's ``clear``: forget what was learned about ``path`` before ``timestamp``.

    Every node matching ``path``, and every node below it, whose existence was last
    confirmed before ``timestamp`` is removed (an object stays while something fresh is
    below it, as GenieACS bumps an object's timestamp with its children's). With
    ``attr_timestamps`` the named attributes of the matching nodes are forgotten when older.

    Returns:
        True when anything was forgotten.
    """
    removed: list[str] = []
    relist: list[str] = []

    def sweep(name: str) -> bool:
        node = index.nodes[name]
        fresh = False
        for child in list(node.children):
            fresh = sweep(child) or fresh
        if node.object and not node.special and 0 < node.children_ts < timestamp:
            relist.append(name)  # its listing is older than the clear: list it again
        if node.special or fresh or timestamp <= node.exist_ts:
            return True
        removed.append(name)
        return False

    names = match_source(path, index) if path.is_pattern else [str(path)]
    changed = False
    for name in sorted(names, key=sort_key):
        if name not in index.nodes or index.nodes[name].special:
            continue
        if timestamp:
            sweep(name)
        if attr_timestamps:
            changed |= _forget_attributes(tree, name, attr_timestamps)
    for name in removed:
        for key in (name + ".", name):
            if key in tree.params:
                tree.delete(key)
                changed = True
    gone = set(removed)
    for name in relist:
        if name not in gone:
            tree.forget_children_ts(name + "." if name else "")
            changed = True
    return changed


def _forget_attributes(tree: DeviceTree, name: str, attrs: dict[str, int]) -> bool:
    changed = False
    for key in (name, name + "."):
        param = tree.get(key)
        if param is None:
            continue
        if "value" in attrs and attrs["value"] > (param.value_ts_ms or 0) and param.value_ts_ms:
            param.value_ts_ms = None
            changed = True
        if ("writable" in attrs or "object" in attrs) and param.writable_ts_ms and max(
            attrs.get("writable", 0), attrs.get("object", 0)
        ) > param.writable_ts_ms:
            param.writable_ts_ms = None
            changed = True
        stamp = max(attrs.get("notification", 0), attrs.get("accessList", 0))
        if stamp and param.attr_ts_ms and stamp > param.attr_ts_ms:
            param.attr_ts_ms = None
            changed = True
        if changed:
            tree.dirty.add(key)
            tree.note_change(key)
    return changed


def clear_named(tree: DeviceTree, names: list[str]) -> None:
    """Forget the named paths and their subtrees (the answer to a 9005 fault)."""
    for raw in names:
        name = str(parse_object_path(raw))
        if not name:
            continue
        if any(p.startswith(name + ".") for p in tree.params):
            tree.delete(name + ".")
        if name in tree.params:
            tree.delete(name)
        log.info("cleared %s after fault 9005", name)
