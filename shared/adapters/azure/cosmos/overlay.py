"""A unit's own writes in its queries and counts.

Writes are buffered until commit, so Cosmos cannot see them when the unit queries. When a
unit queries or counts a collection it has written to, the committed items it has changed
are left out of Cosmos's answer and its own versions that match are merged in, with the
filters and the order evaluated here on JSON values as Cosmos does (values of different
types never compare; in an ordering undefined < null < booleans < numbers < strings).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from shared.adapters.azure.cosmos.items import jsonable
from shared.ports import Branch, Where, named_tenants

_MISSING = object()


def _rank(value: Any) -> int:
    if value is _MISSING:
        return 0
    if value is None:
        return 1
    if isinstance(value, bool):
        return 2
    if isinstance(value, (int, float)):
        return 3
    if isinstance(value, str):
        return 4
    return 5


def _same(a: Any, b: Any) -> bool:
    return a is not _MISSING and _rank(a) == _rank(b) and a == b


def _compare(a: Any, b: Any, op: str) -> bool:
    if _rank(a) != _rank(b) or _rank(a) not in (2, 3, 4):
        return False
    return {"ge": a >= b, "gt": a > b, "le": a <= b, "lt": a < b}[op]


def _holds(doc: dict[str, Any], w: Where) -> bool:
    value = doc.get(w.field, _MISSING)
    if w.op == "contains":
        target = jsonable(w.value)
        return isinstance(value, list) and any(_same(v, target) for v in value)
    if w.op == "in":
        return any(_same(value, jsonable(v)) for v in w.value)
    if w.value is None and w.op in ("eq", "ne"):
        absent = value is _MISSING or value is None
        return absent if w.op == "eq" else not absent
    target = jsonable(w.value)
    if w.op == "eq":
        return _same(value, target)
    if w.op == "ne":
        return value is not _MISSING and value is not None and not _same(value, target)
    return _compare(value, target, w.op)


def matches(doc: dict[str, Any], tenants: Sequence[str] | None, where: Sequence[Where], any_of: Sequence[Branch] = ()) -> bool:
    """Whether a document (public form, with `_tenant`) is in a query's answer."""
    if tenants is not None and doc.get("_tenant") not in tenants:
        return False
    if not all(_holds(doc, w) for w in where):
        return False
    if not any_of:
        return True
    tenant = doc.get("_tenant")
    named = named_tenants(any_of)
    return any(
        (tenant in b.tenants if b.tenants is not None else tenant not in named) and all(_holds(doc, w) for w in b.where) for b in any_of
    )


def sort_key(order_by: str | None) -> Callable[[dict[str, Any]], tuple[Any, ...]]:
    """The key Cosmos orders by (constant without `order_by`)."""
    if order_by is None:
        return lambda doc: ()

    def key(doc: dict[str, Any]) -> tuple[Any, ...]:
        value = doc.get(order_by, _MISSING)
        rank = _rank(value)
        if rank <= 1:
            return (rank, 0)
        if rank == 5:
            return (rank, json.dumps(value, sort_keys=True))
        return (rank, value)

    return key


def merge(
    stored: list[dict[str, Any]], mine: list[dict[str, Any]], key: Callable[[dict[str, Any]], Any], descending: bool
) -> list[dict[str, Any]]:
    """Both lists in order (each already is); on a tie the stored item comes first, so
    without an ordering the unit's own documents follow everything stored."""
    out: list[dict[str, Any]] = []
    i = j = 0
    while i < len(stored) and j < len(mine):
        a, b = key(stored[i]), key(mine[j])
        if (b > a) if descending else (b < a):
            out.append(mine[j])
            j += 1
        else:
            out.append(stored[i])
            i += 1
    out.extend(stored[i:])
    out.extend(mine[j:])
    return out
