"""Partial-path GetParameterValues: a whole object in one name (TR-069 A.3.2.2).

Where every parameter under a listed object is wanted (or was already read in this session,
as the Inform's are), the object is asked for by its partial path, the highest such object
first; other parameters are named in full. A CPE that faults on it, or leaves a wanted
parameter out of its answer, is asked by full names from then on (the planner's caller
remembers that per device).
"""

from __future__ import annotations

from acs_engine.cwmp import rpc
from acs_engine.session.index import SPECIAL_ROOTS, Index, parent_name


def partial_request(
    values: list[str], index: Index, batch: int, session_timestamp: int
) -> tuple[tuple[str, ...], dict[str, list[str]]]:
    """The names for a GetParameterValues of ``values`` (parameters in depth-first order).

    Returns:
        The names (partial paths end in '.'; at most ``batch`` of them), and for each partial
        path the wanted parameters it is to return.
    """
    wanted = set(values)
    nodes = index.nodes
    complete: dict[str, bool] = {}

    def whole(name: str) -> bool:  # every known parameter below ``name`` may be read
        known = complete.get(name)
        if known is None:
            node = nodes[name]
            if node.object is True:  # listed: its children are all known
                known = node.children_ts > 0 and all(whole(c) for c in node.children)
            else:  # wanted, or already read in this session (the Inform's): no harm
                known = node.object is False and (
                    name in wanted or node.value_ts >= session_timestamp
                )
            complete[name] = known
        return known

    names: list[str] = []
    sent: dict[str, list[str]] = {}
    covered = ""
    for leaf in values:
        if covered and leaf.startswith(covered):
            sent[covered].append(leaf)
            continue
        top = leaf
        up = parent_name(leaf)
        while up and up.partition(".")[0] not in SPECIAL_ROOTS and whole(up):
            top = up
            up = parent_name(up)
        if len(names) >= batch:
            break
        if top == leaf:
            names.append(leaf)
            covered = ""
        else:
            covered = top + "."
            names.append(covered)
            sent[covered] = [leaf]
    return tuple(names), sent


def left_out(partial: dict[str, list[str]], response: rpc.Message) -> bool:
    """True when the answer to partial paths lacks a parameter they were to return."""
    got = (
        {pv.name for pv in response.parameters}
        if isinstance(response, rpc.GetParameterValuesResponse) else set()
    )
    return any(leaf not in got for leaves in partial.values() for leaf in leaves)
