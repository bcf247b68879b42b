"""GenieACS's built-in provisions as Python: refresh, value, tag, reboot, reset, download, instances.

Each takes the provision's arguments (without its name), the session timestamp (ms) and the
device id, and returns the declarations the provision makes. Wrong arguments raise
``ValueError("Invalid arguments")``, which the handler reports as the fault ``script.Error``.
Every declaration is deferred, as GenieACS's are: the handler clears ``defer`` once every
provision of the session has run to the end.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from typing import Any

from acs_engine.session.declarations import Declaration
from acs_engine.session.paths import ROOT, Path, parse

#: MAX_DEPTH: how deep ``refresh`` pads a path with wildcards.
MAX_DEPTH = 16

Builtin = Callable[[list[Any], int, str], list[Declaration]]


def _invalid() -> ValueError:
    return ValueError("Invalid arguments")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def variance(device_id: str, spread: float) -> float:
    """The device's fixed offset in ``[0, spread)``: an MD5 of its id (GenieACS's scheduling)."""
    digest = hashlib.md5(device_id.encode("utf-8")).digest()
    folded = 0
    for i in range(0, 16, 4):
        folded ^= int.from_bytes(digest[i : i + 4], "little")
    return folded % spread


def interval(timestamp: int, every: float, offset: float = 0) -> int:
    """Start of the ``every``-ms interval holding ``timestamp``, shifted by ``offset``."""
    return int(math.trunc((timestamp + offset) / every) * every - offset)


def _path(text: str) -> Path:
    return ROOT if text == "" else parse(text)


def refresh(args: list[Any], session_timestamp: int, device_id: str) -> list[Declaration]:
    """``refresh(path, [everySeconds], [refreshChildren], [...attributes])``.

    With only the path (and the period), object, writable and value are refreshed on the path
    and everything below it (padded with ``*`` up to 16 segments); otherwise the listed
    attributes, on the path alone or also below it.
    """
    ok = (
        (len(args) == 1 and isinstance(args[0], str))
        or (len(args) == 2 and isinstance(args[0], str) and _is_number(args[1]))
        or (len(args) >= 3 and isinstance(args[0], str) and _is_number(args[1])
            and isinstance(args[2], bool))
    )
    if not ok:
        raise _invalid()
    every = 1000 * (args[1] if len(args) > 1 and args[1] else 1)
    stamp = interval(session_timestamp, every, variance(device_id, every))
    attr_get: dict[str, int]
    if len(args) < 3:
        children = True
        attr_get = {"object": 1, "writable": 1, "value": stamp}
    else:
        children = bool(args[2])
        attr_get = {str(a): stamp for a in args[3:]}
    path = _path(args[0])
    first = len(path)
    if children and len(path) < MAX_DEPTH:
        path = Path(path.segments + ("*",) * (MAX_DEPTH - len(path)))
    out: list[Declaration] = []
    for i in range(first, len(path) + 1):
        if i == 0:
            continue  # a declaration on the root means nothing
        out.append(Declaration(
            path=str(path.slice(0, i)), path_get=stamp, attr_get=dict(attr_get), defer=True
        ))
    return out


def value(args: list[Any], session_timestamp: int, device_id: str) -> list[Declaration]:
    """``value(path, value)`` or ``value(path, attribute, value)``.

    ``accessList`` takes a comma-separated string.
    """
    if not 2 <= len(args) <= 3 or not isinstance(args[0], str):
        raise _invalid()
    if len(args) == 2:
        attr, wanted = "value", args[1]
    else:
        attr, wanted = str(args[1] or ""), args[2]
    if attr == "accessList":
        text = "" if wanted is None else str(wanted)
        wanted = tuple(s.strip() for s in text.split(",") if s.strip())
    elif attr == "value":
        wanted = (wanted, None)
    return [Declaration(
        path=str(parse(args[0])), path_get=1, attr_get={attr: 1}, attr_set={attr: wanted},
        defer=True,
    )]


def tag(args: list[Any], session_timestamp: int, device_id: str) -> list[Declaration]:
    """``tag(name, true|false)``: add or remove a tag."""
    if len(args) != 2 or not isinstance(args[0], str) or not isinstance(args[1], bool):
        raise _invalid()
    return [Declaration(
        path=str(parse(f"Tags.{args[0]}")), path_get=1, attr_get={"value": 1},
        attr_set={"value": (args[1], None)}, defer=True,
    )]


def _stamp_root(root: str, args: list[Any], session_timestamp: int) -> list[Declaration]:
    if args:
        raise _invalid()
    return [Declaration(
        path=root, path_get=1, attr_get={"value": 1},
        attr_set={"value": (session_timestamp, None)}, defer=True,
    )]


def reboot(args: list[Any], session_timestamp: int, device_id: str) -> list[Declaration]:
    """``reboot()``: reboot the CPE once (``Reboot`` set to the session time)."""
    return _stamp_root("Reboot", args, session_timestamp)


def reset(args: list[Any], session_timestamp: int, device_id: str) -> list[Declaration]:
    """``reset()``: factory-reset the CPE once (``FactoryReset`` set to the session time)."""
    return _stamp_root("FactoryReset", args, session_timestamp)


def download(args: list[Any], session_timestamp: int, device_id: str) -> list[Declaration]:
    """``download(fileType, fileName, [targetFileName])``: download the file once."""
    if len(args) not in (2, 3) or not all(isinstance(a, str) for a in args):
        raise _invalid()
    target = args[2] if len(args) == 3 else ""
    alias = ",".join([
        f"FileType:{json.dumps(args[0] or '')}",
        f"FileName:{json.dumps(args[1] or '')}",
        f"TargetFileName:{json.dumps(target or '')}",
    ])
    base = parse(f"Downloads.[{alias}]")
    return [
        Declaration(path=str(base), path_get=1, path_set=1, defer=True),
        Declaration(
            path=f"{base}.Download", path_get=1, attr_get={"value": 1},
            attr_set={"value": (session_timestamp, None)}, defer=True,
        ),
    ]


def _js_number(raw: Any) -> float:
    """JavaScript's ``Number(raw)`` for the argument types a provision gets."""
    if isinstance(raw, bool):
        return 1.0 if raw else 0.0
    if _is_number(raw):
        return float(raw)
    if isinstance(raw, str):
        text = raw.strip()
        if text == "":
            return 0.0
        try:
            return float(text) if not text.lower().startswith(("inf", "+inf", "-inf", "nan")) \
                else math.nan
        except ValueError:
            return math.nan
    return math.nan


def instances(
    args: list[Any], session_timestamp: int, device_id: str, *, current: int | None = None
) -> list[Declaration]:
    """``instances(path, count)``: make the number of instances ``count``.

    ``count`` may be ``"+N"`` or ``"-N"``, relative to the instances there are. For that the
    caller passes ``current``: the number of instances matching ``path`` before this
    provision changed anything (GenieACS reads it from the data as of the provision's first
    run, so the relative change is applied once). Without it only the discovery declaration is
    returned, as GenieACS does on its first run.
    """
    if len(args) != 2 or not isinstance(args[0], str):
        raise _invalid()
    count = _js_number(args[1])
    if math.isnan(count):
        raise _invalid()
    path = parse(args[0])
    out: list[Declaration] = []
    if isinstance(args[1], str) and args[1][:1] in ("+", "-"):
        out.append(Declaration(path=str(path), path_get=1, defer=True))
        if current is None:
            return out
        count = max(0.0, current + count)
    out.append(Declaration(path=str(path), path_get=1, path_set=int(count), defer=True))
    return out


BUILTINS: dict[str, Builtin] = {
    "refresh": refresh,
    "value": value,
    "tag": tag,
    "reboot": reboot,
    "reset": reset,
    "download": download,
    "instances": instances,
}
