"""Offender networks: who offends with whom, in which vehicles, at the same times and places.

Pure: the graph is grown breadth first from one person through a `neighbours` function the
service supplies (it knows what the caller may see), at most `hops` away, and stops at
`max_nodes` or `max_edges` with `truncated` set, so a prolific person's network stays a
bounded answer. Edges of the same kind between the same two nodes are merged: their weight
is the number of incidents behind them, and every one of those incidents is named.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class EdgeKind(StrEnum):
    CO_OFFENDER = "co_offender"  # named in the same incident
    VEHICLE = "vehicle"  # a person and a vehicle named in the same incident
    TIME_AND_PLACE = "time_and_place"  # incidents at the same store within the window


@dataclass(frozen=True)
class Link:
    """One reason two nodes are connected, found in the incidents named."""

    target: str
    kind: EdgeKind
    incidents: tuple[tuple[str, str], ...]  # (incident id, reference)


@dataclass
class Edge:
    source: str
    target: str
    kind: EdgeKind
    incidents: dict[str, str] = field(default_factory=dict)

    @property
    def weight(self) -> int:
        return len(self.incidents)

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "kind": self.kind.value,
            "weight": self.weight,
            "incidents": [{"id": i, "reference": r} for i, r in sorted(self.incidents.items(), key=lambda kv: kv[1])],
        }


@dataclass
class Graph:
    start: str
    hops: dict[str, int]
    edges: list[Edge]
    truncated: bool


def person_key(organisation_id: str, person_id: str) -> str:
    return f"person:{organisation_id}/{person_id}"


def vehicle_key(plate: str) -> str:
    return f"vehicle:{plate}"


def parse_key(key: str) -> tuple[str, str, str]:
    """("person", organisation, person id) or ("vehicle", "", plate)."""
    kind, _, rest = key.partition(":")
    if kind == "person":
        org, _, pid = rest.partition("/")
        return kind, org, pid
    return kind, "", rest


def grow(
    start: str,
    neighbours: Callable[[str], Iterable[Link]],
    *,
    hops: int = 2,
    max_nodes: int = 100,
    max_edges: int = 300,
) -> Graph:
    """The graph within `hops` of `start`, breadth first, bounded. Nodes beyond the bounds
    are left out, with every edge to them, and `truncated` says so."""
    seen: dict[str, int] = {start: 0}
    edges: dict[tuple[str, str, EdgeKind], Edge] = {}
    frontier = [start]
    truncated = False
    for depth in range(1, hops + 1):
        nxt: list[str] = []
        for node in frontier:
            for link in neighbours(node):
                if link.target == node:
                    continue
                a, b = sorted((node, link.target))
                key = (a, b, link.kind)
                edge = edges.get(key)
                # A node is only added with an edge to it: no node stands in the graph alone.
                if edge is None and len(edges) >= max_edges:
                    truncated = True
                    continue
                if link.target not in seen:
                    if len(seen) >= max_nodes:
                        truncated = True
                        continue
                    seen[link.target] = depth
                    nxt.append(link.target)
                if edge is None:
                    edge = edges[key] = Edge(a, b, link.kind)
                edge.incidents.update(dict(link.incidents))
        frontier = nxt
    ordered = sorted(edges.values(), key=lambda e: (-e.weight, e.kind.value, e.source, e.target))
    return Graph(start=start, hops=seen, edges=ordered, truncated=truncated)
