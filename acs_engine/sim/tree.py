"""One device's parameter tree as a copy-on-write overlay over a shared :class:`BaseModel`.

A fresh device holds only references to the base model's path list, index and nodes plus a
small dict of changed values. The first AddObject/DeleteObject gives it its own path list
(references to the shared strings, ~8 bytes a node); the base nodes and the base index are never
copied: added nodes and removed base paths are kept in two small side tables.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence

from acs_engine.sim.model import BaseModel, Node, has_placeholder, parent_of


class CpeTree:
    """The node structure and values of one device.

    Args:
        base: the shared model.
        initial: values that replace the model's at manufacture (kept by a factory reset).
    """

    __slots__ = ("_extra", "_own", "_paths", "_removed", "_templated", "base", "initial", "values")

    def __init__(self, base: BaseModel, initial: Mapping[str, str] | None = None) -> None:
        self.base = base
        self.initial: Mapping[str, str] = initial or {}
        self.reset()

    def reset(self) -> None:
        """Back to the model (plus the manufacture-time values): drops every change."""
        self._paths: Sequence[str] = self.base.paths
        self._extra: dict[str, Node] | None = None
        self._removed: set[str] | None = None
        self._templated: set[str] | None = None
        self._own = False
        self.values: dict[str, str] = dict(self.initial)

    # ------------------------------------------------------------------ queries
    def __contains__(self, path: object) -> bool:
        if not self._own:
            return path in self.base.index
        if path in self.base.index:
            return self._removed is None or path not in self._removed
        return self._extra is not None and path in self._extra

    def _position(self, path: str) -> int | None:
        if not self._own:
            return self.base.index.get(path)
        if path not in self:
            return None
        paths = self._paths
        assert isinstance(paths, list)
        return paths.index(path)

    def __len__(self) -> int:
        return len(self._paths)

    def node(self, path: str) -> Node | None:
        """The node at ``path``, or None when it does not exist on this device."""
        if path not in self:
            return None
        if self._extra is not None:
            extra = self._extra.get(path)
            if extra is not None:
                return extra
        return self.base.nodes[path]

    def is_templated(self, path: str) -> bool:
        """True when the node's raw value has placeholders to substitute."""
        if path in self.base.templated:
            return True
        return self._templated is not None and path in self._templated

    def raw_value(self, path: str) -> str | None:
        """The current unsubstituted value of a parameter (None for objects / unknown paths)."""
        value = self.values.get(path)
        if value is not None:
            return value
        node = self.node(path)
        return None if node is None else node.value

    def subtree(self, prefix: str) -> Iterator[str]:
        """Paths of ``prefix`` and everything under it, depth-first (``""`` = whole tree).

        Args:
            prefix: an object path ending in ``.``, a parameter name, or ``""``.
        """
        paths = self._paths
        if prefix == "":
            yield from paths
            return
        start = self._position(prefix)
        if start is None:
            return
        yield paths[start]
        if not prefix.endswith("."):
            return
        for i in range(start + 1, len(paths)):
            path = paths[i]
            if not path.startswith(prefix):
                return
            yield path

    def children(self, prefix: str) -> Iterator[str]:
        """The immediate children of an object (``""``: the root object)."""
        if prefix == "":
            yield self.base.root
            return
        plen = len(prefix)
        for path in self.subtree(prefix):
            rest = path[plen:]
            if not rest:
                continue
            dot = rest.find(".")
            if dot < 0 or dot == len(rest) - 1:
                yield path

    def instances(self, table: str) -> list[int]:
        """The instance numbers present under a table object."""
        out: list[int] = []
        for path in self.children(table):
            seg = path[len(table):-1]
            if path.endswith(".") and seg.isdigit():
                out.append(int(seg))
        return out

    # ------------------------------------------------------------------ changes
    def _make_own(self) -> None:
        if not self._own:
            self._paths = list(self._paths)
            self._own = True

    def insert_after_subtree(self, parent: str, new_nodes: Sequence[tuple[str, Node]]) -> None:
        """Insert nodes (already depth-first) at the end of ``parent``'s subtree.

        Args:
            parent: an existing object path.
            new_nodes: ``(path, node)`` pairs to add.
        """
        start = self._position(parent)
        if start is None:
            raise KeyError(parent)
        self._make_own()
        paths = self._paths
        assert isinstance(paths, list)
        end = start + 1
        while end < len(paths) and paths[end].startswith(parent):
            end += 1
        paths[end:end] = [p for p, _ in new_nodes]
        if self._extra is None:
            self._extra = {}
        for path, node in new_nodes:
            self._extra[path] = node
            if has_placeholder(node.value):
                if self._templated is None:
                    self._templated = set()
                self._templated.add(path)

    def remove_subtree(self, prefix: str) -> list[str]:
        """Remove an object and everything under it; returns the removed paths."""
        start = self._position(prefix)
        if start is None:
            raise KeyError(prefix)
        self._make_own()
        paths = self._paths
        assert isinstance(paths, list)
        end = start + 1
        while end < len(paths) and paths[end].startswith(prefix):
            end += 1
        removed = paths[start:end]
        del paths[start:end]
        for path in removed:
            self.values.pop(path, None)
            if self._extra is not None and path in self._extra:
                del self._extra[path]
                if self._templated is not None:
                    self._templated.discard(path)
            else:
                if self._removed is None:
                    self._removed = set()
                self._removed.add(path)
        return removed

    def parent_exists(self, path: str) -> bool:
        """True when the parent object of ``path`` exists."""
        parent = parent_of(path)
        return parent == "" or parent in self
