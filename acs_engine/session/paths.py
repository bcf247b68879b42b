"""GenieACS's parameter path grammar: dotted segments, ``*`` wildcards and alias segments.

A path is a sequence of segments separated by '.'. A segment is a name (``[A-Za-z0-9_-]+``),
the wildcard ``*`` (any one segment) or an alias in square brackets that picks the instances
whose key parameters have the given values. Two alias spellings are accepted:

- the expression form ``[Key = "v" AND Other.Sub = 1]`` (comparisons joined by AND; values are
  "double-quoted" (backslash escapes), 'single-quoted' ('' escapes), numbers, TRUE or FALSE);
- the legacy form ``[Key:Value,Key2:Value2]``: the first ':' splits key from value, values are
  trimmed and may be JSON-quoted, and ``[]`` means TRUE (every instance).

Both parse to the same :class:`Path`; ``str(path)`` gives one canonical text (expression form,
conditions sorted) so equal aliases print equally.

Validity follows GenieACS's own path tests: ``.``, ``a.``, ``.a``, ``a..b``, ``a ``, ``b*``,
``*b``, ``a[``, ``a[b``, ``a[b:`` and an unterminated quote are rejected; ``*``, ``[]`` and
``[a:]`` are accepted. The empty string (GenieACS's root path) is rejected here because a
declaration on the root means nothing; the planner uses :data:`ROOT` internally.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from acs_engine.session.coerce import sanitize
from acs_engine.session.declarations import Declaration

if TYPE_CHECKING:
    from acs_engine.session.tree import DeviceTree

_NAME_CHAR = re.compile(r"[A-Za-z0-9_\-]")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


class PathError(ValueError):
    """A path text that is not valid.

    Attributes:
        position: index in the text where the problem was found.
        reason: what is wrong, without the position.
    """

    def __init__(self, reason: str, position: int, text: str = "") -> None:
        super().__init__(f"{reason} at position {position}" + (f" in {text!r}" if text else ""))
        self.reason = reason
        self.position = position


@dataclass(frozen=True, slots=True)
class Alias:
    """An alias segment: instances whose key parameters all equal the given values.

    Attributes:
        conditions: ``(key path, value text)`` pairs, sorted; empty means every instance.
    """

    conditions: tuple[tuple[Path, str], ...] = ()

    def __str__(self) -> str:
        return "[" + " AND ".join(f"{k} = {json.dumps(v)}" for k, v in self.conditions) + "]"


Segment = str | Alias


@dataclass(frozen=True, slots=True)
class Path:
    """A parsed path; hashable, compared by its segments."""

    segments: tuple[Segment, ...]

    def __str__(self) -> str:
        return ".".join(str(s) for s in self.segments)

    def __len__(self) -> int:
        return len(self.segments)

    @property
    def is_pattern(self) -> bool:
        """True when a segment is ``*`` or an alias (the path can match many)."""
        return any(s == "*" or isinstance(s, Alias) for s in self.segments)

    @property
    def has_alias(self) -> bool:
        """True when a segment is an alias."""
        return any(isinstance(s, Alias) for s in self.segments)

    def strip_alias(self) -> Path:
        """The same path with every alias segment replaced by ``*``."""
        return Path(tuple("*" if isinstance(s, Alias) else s for s in self.segments))

    def slice(self, start: int = 0, end: int | None = None) -> Path:
        """The segments ``start:end`` as a path."""
        return Path(self.segments[start:end])

    def concat(self, other: Path) -> Path:
        """This path followed by ``other``."""
        return Path(self.segments + other.segments)

    @property
    def root(self) -> str:
        """The first segment as text ("" for the root path)."""
        return str(self.segments[0]) if self.segments else ""


#: The root of the tree (GenieACS's ``Path.parse("")``).
ROOT = Path(())


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, reason: str, position: int | None = None) -> PathError:
        return PathError(reason, self.pos if position is None else position, self.text)

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def path(self, stop: str = "") -> Path:
        """segment ('.' segment)* up to the end or a character in ``stop``."""
        segments: list[Segment] = []
        while True:
            segments.append(self.segment(stop))
            ch = self.peek()
            if ch == ".":
                self.pos += 1
                continue
            if ch == "" or ch in stop:
                return Path(tuple(segments))
            raise self.fail(f"unexpected character {ch!r}")

    def segment(self, stop: str) -> Segment:
        start = self.pos
        ch = self.peek()
        if ch == "[":
            self.pos += 1
            return self.alias()
        if ch == "*":
            self.pos += 1
            nxt = self.peek()
            if nxt and nxt != "." and nxt not in stop:
                raise self.fail("a wildcard must be a whole segment")
            return "*"
        while self.pos < len(self.text) and _NAME_CHAR.match(self.text[self.pos]):
            self.pos += 1
        if self.pos == start:
            if ch == "" or ch == "." or ch in stop:
                raise self.fail("empty segment")
            raise self.fail(f"invalid character {ch!r}")
        if self.peek() == "*":
            raise self.fail("a wildcard must be a whole segment")
        return self.text[start : self.pos]

    def alias(self) -> Alias:
        """After '[': the alias up to its ']' (legacy or expression form)."""
        open_at = self.pos - 1
        end = self._closing(open_at)
        body = self.text[self.pos : end]
        conditions = self._expression(end) if _has_unquoted(body, "=") else self._legacy(end)
        self.pos = end + 1
        return Alias(tuple(sorted(conditions, key=lambda c: (str(c[0]), c[1]))))

    def _closing(self, open_at: int) -> int:
        depth = 0
        i = open_at
        quote = ""
        while i < len(self.text):
            ch = self.text[i]
            if quote:
                if ch == "\\" and quote == '"':
                    i += 2
                    continue
                if ch == quote:
                    quote = ""
            elif ch in "\"'":
                quote = ch
            elif ch == "[":
                depth += 1
            elif ch == "]":
                depth -= 1
                if depth == 0:
                    return i
            i += 1
        if quote:
            raise self.fail("unterminated quoted value", len(self.text))
        raise self.fail("unbalanced '['", open_at)

    # legacy form -----------------------------------------------------------------------
    def _legacy(self, end: int) -> list[tuple[Path, str]]:
        conditions: list[tuple[Path, str]] = []
        while self._skip_spaces(end) < end:
            key = self.path(stop=":], \t")
            self._skip_spaces(end)
            if self.peek() != ":":
                raise self.fail("expected ':' after an alias key")
            self.pos += 1
            start = self.pos
            while self.pos < end and self.text[self.pos] == " ":
                self.pos += 1
            if self.peek() == '"':
                value = self._json_string(end)
                self._skip_spaces(end)
            else:
                while self.pos < end and self.text[self.pos] != ",":
                    self.pos += 1
                value = self.text[start : self.pos].strip()
            conditions.append((key, value))
            if self.pos < end:
                if self.text[self.pos] != ",":
                    raise self.fail("expected ',' between alias keys")
                self.pos += 1
        return conditions

    def _json_string(self, end: int) -> str:
        start = self.pos
        i = start + 1
        while i < end and self.text[i] != '"':
            i += 2 if self.text[i] == "\\" else 1
        if i >= end:
            raise self.fail("unterminated quoted value", start)
        self.pos = i + 1
        try:
            value = json.loads(self.text[start : self.pos])
        except ValueError as exc:
            raise self.fail("invalid quoted value", start) from exc
        return str(value)

    def _skip_spaces(self, end: int) -> int:
        while self.pos < end and self.text[self.pos].isspace():
            self.pos += 1
        return self.pos

    # expression form -------------------------------------------------------------------
    def _expression(self, end: int) -> list[tuple[Path, str]]:
        conditions: list[tuple[Path, str]] = []
        while True:
            self._skip_spaces(end)
            key = self.path(stop=" =]\t")
            self._skip_spaces(end)
            if self.peek() != "=":
                raise self.fail("only '=' comparisons joined by AND are supported in an alias")
            self.pos += 1
            self._skip_spaces(end)
            conditions.append((key, self._literal(end)))
            self._skip_spaces(end)
            if self.pos >= end:
                return conditions
            word = self.text[self.pos : self.pos + 3]
            after = self.text[self.pos + 3 : self.pos + 4]
            if word.upper() != "AND" or not (after.isspace() or after in "\"'"):
                raise self.fail("expected AND between alias conditions")
            self.pos += 3

    def _literal(self, end: int) -> str:
        ch = self.peek()
        if ch == '"':
            return self._json_string(end)
        if ch == "'":
            out: list[str] = []
            i = self.pos + 1
            while i < end:
                if self.text[i] == "'":
                    if self.text[i + 1 : i + 2] == "'":
                        out.append("'")
                        i += 2
                        continue
                    self.pos = i + 1
                    return "".join(out)
                out.append(self.text[i])
                i += 1
            raise self.fail("unterminated quoted value")
        number = _NUMBER.match(self.text, self.pos, end)
        if number:
            self.pos = number.end()
            value = float(number.group(0))
            return str(int(value)) if value.is_integer() else repr(value)
        for word, text in (("TRUE", "true"), ("FALSE", "false")):
            if self.text[self.pos : self.pos + len(word)].upper() == word:
                self.pos += len(word)
                return text
        raise self.fail("expected a string, number, TRUE or FALSE")


def _has_unquoted(body: str, char: str) -> bool:
    quote = ""
    i = 0
    while i < len(body):
        ch = body[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch == char:
            return True
        i += 1
    return False


@lru_cache(maxsize=4096)
def parse(text: str) -> Path:
    """Parse a path text.

    Raises:
        PathError: when ``text`` is not a valid path (see the module docstring).
    """
    if text == "":
        raise PathError("empty path", 0, text)
    parser = _Parser(text)
    path = parser.path()
    if parser.pos != len(text):
        raise parser.fail("unexpected text")
    return path


def parse_object_path(text: str) -> Path:
    """Parse a path that may end in '.' (an object path as sent on the wire); "" is the root."""
    text = text[:-1] if text.endswith(".") else text
    return ROOT if text == "" else parse(text)


# ------------------------------------------------------------------------- matching
class NodeSource(Protocol):
    """What matching needs of a device's data (names are paths without a trailing '.')."""

    def child_names(self, name: str) -> list[str]:
        """Names of the nodes directly under ``name`` ("" = the root)."""

    def typed_value(self, name: str) -> tuple[str, str] | None:
        """(value text, xsd type) of a parameter, or None when unknown or not a parameter."""

    def has(self, name: str) -> bool:
        """True when ``name`` is known to exist."""


def join(prefix: str, segment: str) -> str:
    """``prefix.segment`` ("" prefix = root)."""
    return f"{prefix}.{segment}" if prefix else segment


def sort_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort names segment by segment, numbers numerically (GenieACS's instance order)."""
    return tuple((0, int(s)) if s.isdigit() else (1, s) for s in name.split("."))


def alias_holds(source: NodeSource, instance: str, alias: Alias) -> bool:
    """True when the instance ``instance`` has every key value ``alias`` asks for."""
    for key, wanted in alias.conditions:
        hit = False
        for key_name in match_source(Path(tuple(key.segments)), source, instance):
            typed = source.typed_value(key_name)
            if typed is not None and sanitize(wanted, typed[1]) == sanitize(typed[0], typed[1]):
                hit = True
                break
        if not hit:
            return False
    return True


def match_source(path: Path, source: NodeSource, base: str = "") -> list[str]:
    """Known names matching ``path`` below ``base``, in GenieACS's instance order."""
    current = [base]
    for segment in path.segments:
        following: list[str] = []
        for prefix in current:
            if isinstance(segment, Alias):
                following.extend(
                    c for c in source.child_names(prefix) if alias_holds(source, c, segment)
                )
            elif segment == "*":
                following.extend(source.child_names(prefix))
            else:
                name = join(prefix, segment)
                if source.has(name):
                    following.append(name)
        current = following
        if not current:
            return []
    return sorted(current, key=sort_key)


def match(path: Path | str, tree: DeviceTree) -> list[str]:
    """The stored paths of ``tree`` matching ``path`` (objects without their trailing '.').

    Aliases are evaluated against the instances' child values as stored.
    """
    from acs_engine.session.index import Index

    if isinstance(path, str):
        path = parse(path)
    return match_source(path, Index(tree))


def alias_declarations(path: Path | str, timestamp: int) -> list[Declaration]:
    """The declarations that make ``path``'s aliases resolvable (GenieACS's getAliasDeclarations).

    The path with its aliases as wildcards is declared for existence at ``timestamp``; every
    alias key below each alias is declared for its value at ``timestamp`` (recursively, for
    keys that carry aliases themselves).
    """
    if isinstance(path, str):
        path = parse(path)
    return list(_alias_declarations(path, timestamp, None))


def _alias_declarations(
    path: Path, timestamp: int, attr_get: dict[str, int] | None
) -> Iterable[Declaration]:
    stripped = path.strip_alias()
    yield Declaration(
        path=str(stripped), path_get=timestamp, attr_get=dict(attr_get or {}), defer=True
    )
    for i, segment in enumerate(path.segments):
        if isinstance(segment, Alias):
            parent = stripped.slice(0, i + 1)
            for key, _value in segment.conditions:
                yield from _alias_declarations(
                    parent.concat(key), timestamp, {"value": timestamp}
                )
