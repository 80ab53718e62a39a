"""Port queries as Cosmos SQL, and their continuation tokens.

Every query names its tenants in the WHERE clause (`c.tenantId = @tenant` or
`c.tenantId IN (...)`) rather than relying on the `partition_key=` argument alone: that
is the tenant-isolation rule, and cosmosdb-server ignores the argument anyway. Only
`tenants=None` (platform timer sweeps) queries across tenants.

The continuation token carries a fingerprint of the query, so a token replayed against
another query (another filter, another tenant) is refused as invalid rather than
silently continuing something else. It is a keyset position: the last item's sort values
and id (`{"k": [...]}`), and the next page's query asks for what sorts after it. The SDK's
own continuation is never used: Cosmos refuses it for cross-partition ORDER BY queries,
and a position survives items inserted or deleted between pages. A query merged with a
unit's own writes is paged by the number of items already returned (`{"o": n}`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from shared.adapters.azure.cosmos.items import cosmos_id, domain_id, jsonable
from shared.adapters.azure.cosmos.sdk import io
from shared.domain.errors import Invalid
from shared.ports import Branch, Where, named_tenants
from shared.records import Collection

_OPS = {"eq": "=", "ne": "!=", "ge": ">=", "gt": ">", "le": "<=", "lt": "<"}
_ID_CHUNK = 100

Scope = tuple[str, list[dict[str, Any]], dict[str, Any]]


# ---- continuation tokens ---------------------------------------------------------------
def encode_token(data: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(data, separators=(",", ":")).encode()).decode().rstrip("=")


def bad_token(exc: BaseException | None = None) -> Invalid:
    err = Invalid("The continuation token is not valid.", errors=[{"field": "continuation"}])
    if exc is not None:
        err.__cause__ = exc
    return err


def decode_token(token: str, fingerprint: str) -> dict[str, Any]:
    """`{"k": keyset position}` or `{"o": offset}` (see `fetch`); Invalid when the token is garbage or
    belongs to another query."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (ValueError, binascii.Error, TypeError) as exc:
        raise bad_token(exc) from exc
    if not isinstance(data, dict) or data.get("q") != fingerprint:
        raise bad_token()
    if isinstance(data.get("k"), list) and data["k"] and isinstance(data["k"][-1], str):
        return {"k": data["k"]}
    if type(data.get("o")) is int and data["o"] > 0:
        return {"o": data["o"]}
    raise bad_token()


# ---- SQL -------------------------------------------------------------------------------
def where_clauses(coll: Collection, where: Sequence[Where], params: list[dict[str, Any]]) -> list[str] | None:
    """SQL conditions for `where`, appending to `params`; None when they can match nothing."""
    clauses: list[str] = []

    def param(value: Any) -> str:
        name = f"@p{len(params)}"
        params.append({"name": name, "value": value})
        return name

    for w in where:
        if w.field == "id":
            path = "c.id"
        elif w.field in coll.all_indexed:
            path = f"c[{json.dumps(w.field)}]"
        elif w.field in coll.indexed_lists and w.op == "contains":
            path = f"c[{json.dumps(w.field)}]"
        else:
            raise ValueError(f"{coll.name}.{w.field} is not indexed for {w.op}")
        convert = cosmos_id if w.field == "id" else jsonable
        if w.op == "contains":
            clauses.append(f"ARRAY_CONTAINS({path}, {param(jsonable(w.value))})")
        elif w.op == "in":
            values = [convert(v) for v in w.value]
            if not values:
                return None
            clauses.append(f"{path} IN ({', '.join(param(v) for v in values)})")
        elif w.value is None and w.op in ("eq", "ne"):
            if w.op == "eq":
                clauses.append(f"(NOT IS_DEFINED({path}) OR IS_NULL({path}))")
            else:
                clauses.append(f"(IS_DEFINED({path}) AND NOT IS_NULL({path}))")
        elif w.op == "ne":
            # As in SQL: a missing or null field is not "different from" a value.
            clauses.append(f"({path} != {param(convert(w.value))} AND NOT IS_NULL({path}))")
        elif w.op in _OPS:
            clauses.append(f"{path} {_OPS[w.op]} {param(convert(w.value))}")
        else:
            raise ValueError(f"unknown operator {w.op!r}")
    return clauses


def _tenant_in(tenants: Sequence[str], params: list[dict[str, Any]]) -> str:
    names = []
    for t in tenants:
        names.append(f"@t{len(params)}")
        params.append({"name": names[-1], "value": t})
    return f"c.tenantId IN ({', '.join(names)})"


def branches_clause(coll: Collection, any_of: Sequence[Branch], params: list[dict[str, Any]]) -> str | None:
    """SQL for "matches one of the branches", appending to `params`; None when none can match."""
    named = sorted(named_tenants(any_of))
    alternatives = []
    for branch in any_of:
        conditions = where_clauses(coll, branch.where, params)
        if conditions is None or (branch.tenants is not None and not branch.tenants):
            continue
        if branch.tenants is not None:
            conditions.insert(0, _tenant_in(branch.tenants, params))
        elif named:
            conditions.insert(0, f"NOT ({_tenant_in(named, params)})")
        alternatives.append("(" + (" AND ".join(conditions) or "true") + ")")
    return "(" + " OR ".join(alternatives) + ")" if alternatives else None


def scope(coll: Collection, tenants: Sequence[str] | None, where: Sequence[Where], any_of: Sequence[Branch] = ()) -> Scope | None:
    """(WHERE text, parameters, query kwargs); None when nothing can match."""
    params: list[dict[str, Any]] = []
    clauses: list[str] = []
    kwargs: dict[str, Any] = {"enable_cross_partition_query": True}
    if tenants is not None:
        tenants = list(dict.fromkeys(tenants))
        if not tenants:
            return None
        if len(tenants) == 1:
            params.append({"name": "@tenant", "value": tenants[0]})
            clauses.append("c.tenantId = @tenant")
            if not coll.bucketed:
                clauses.append("c.pk = @tenant")
                kwargs = {"partition_key": tenants[0]}
        else:
            names = []
            for i, t in enumerate(tenants):
                names.append(f"@t{i}")
                params.append({"name": f"@t{i}", "value": t})
            clauses.append(f"c.tenantId IN ({', '.join(names)})")
    conditions = where_clauses(coll, where, params)
    if conditions is None:
        return None
    clauses.extend(conditions)
    if any_of:
        either = branches_clause(coll, any_of, params)
        if either is None:
            return None
        clauses.append(either)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params, kwargs


def order_fields(coll: Collection, where: Sequence[Where], order_by: str | None) -> list[str]:
    """The fields a query sorts on, always ending in `id` so that every item has one place
    in the order (the keyset a continuation resumes from)."""
    if order_by is None:
        return ["id"]
    if order_by not in coll.all_indexed:
        raise ValueError(f"{coll.name}.{order_by} is not indexed for ordering")
    fields = [order_by]
    # With an equality filter on the first field of a composite index ending in the order
    # field, order by both (same result) so Cosmos can serve it from that composite index.
    fixed = {w.field for w in where if w.op == "eq" and w.value is not None}
    for composite in coll.composite:
        if len(composite) == 2 and composite[1] == order_by and composite[0] in fixed:
            fields = list(composite)
            break
    return [*fields, "id"]


def _path(field: str) -> str:
    return "c.id" if field == "id" else f"c[{json.dumps(field)}]"


def order_clause(fields: Sequence[str], descending: bool) -> str:
    direction = "DESC" if descending else "ASC"
    return " ORDER BY " + ", ".join(f"{_path(f)} {direction}" for f in fields)


def position(raw: dict[str, Any], fields: Sequence[str]) -> list[Any]:
    """A stored item's place in the order: its sort values (None when missing), id last."""
    return [raw.get(f) for f in fields[:-1]] + [raw["id"]]


def after_clause(fields: Sequence[str], values: Sequence[Any], descending: bool, params: list[dict[str, Any]]) -> str:
    """SQL for "sorts after `values`" in the order of `fields`, appending to `params`.

    Lexicographic: (a after va) OR (a = va AND b after vb) OR ... Missing and null values
    sort first (as Cosmos orders them), so they come after everything when descending.
    """
    if len(values) != len(fields):
        raise bad_token()

    def param(value: Any) -> str:
        name = f"@k{len(params)}"
        params.append({"name": name, "value": value})
        return name

    def absent(path: str) -> str:
        return f"(NOT IS_DEFINED({path}) OR IS_NULL({path}))"

    def after(field: str, value: Any) -> str | None:
        path = _path(field)
        if value is None:
            return None if descending else f"(IS_DEFINED({path}) AND NOT IS_NULL({path}))"
        if descending:
            return f"({path} < {param(value)} OR {absent(path)})"
        return f"{path} > {param(value)}"

    def same(field: str, value: Any) -> str:
        return absent(_path(field)) if value is None else f"{_path(field)} = {param(value)}"

    alternatives: list[str] = []
    prefix: list[str] = []
    for n, (field, value) in enumerate(zip(fields, values, strict=True)):
        if isinstance(value, (dict, list)):
            raise bad_token()
        step = after(field, value)
        if step is not None:
            alternatives.append("(" + " AND ".join([*prefix, step]) + ")")
        if n < len(fields) - 1:
            prefix.append(same(field, value))
    return "(" + (" OR ".join(alternatives) or "false") + ")"


# ---- running them ------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """A port query as Cosmos SQL; `empty` when nothing can match."""

    where: str
    params: list[dict[str, Any]]
    kwargs: dict[str, Any]
    fields: list[str]
    descending: bool
    fingerprint: str
    empty: bool

    def sql(self, after: Sequence[Any] | None) -> tuple[str, list[dict[str, Any]]]:
        """The query text and parameters, resuming after the keyset position `after`."""
        params = list(self.params)
        where = self.where
        if after is not None:
            where += (" AND " if where else " WHERE ") + after_clause(self.fields, after, self.descending, params)
        return "SELECT * FROM c" + where + order_clause(self.fields, self.descending), params


def plan(
    coll: Collection,
    tenants: Sequence[str] | None,
    where: Sequence[Where],
    order_by: str | None,
    descending: bool,
    any_of: Sequence[Branch] = (),
) -> Plan:
    fields = order_fields(coll, where, order_by)
    found = scope(coll, tenants, where, any_of)
    text = found[0] if found else ""
    fingerprint = hashlib.sha256(
        json.dumps([coll.name, text, fields, descending, found[1] if found else None], sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    if found is None:
        return Plan(text, [], {}, fields, descending, fingerprint, empty=True)
    return Plan(text, found[1], found[2], fields, descending, fingerprint, empty=False)


def fetch(
    container: Any,
    query: Plan,
    limit: int,
    after: Sequence[Any] | None = None,
    skip: Callable[[dict[str, Any]], bool] | None = None,
) -> tuple[list[dict[str, Any]], list[Any] | None]:
    """Up to `limit` stored items sorting after the position `after` (raw, less those `skip`
    rejects), and the position to resume from; None once nothing follows.

    Asks for one item more than wanted to know whether anything follows, so a page never
    ends on an empty "next" page, and reads only through the SDK's item iterator (never its
    continuation token, which Cosmos refuses for cross-partition ORDER BY).
    """
    if query.empty:
        return [], None
    raws: list[dict[str, Any]] = []
    while True:
        want = limit - len(raws) + 1
        sql, params = query.sql(after)
        got: list[dict[str, Any]] = []
        with io():
            for raw in container.query_items(sql, parameters=params, max_item_count=want, **query.kwargs):
                got.append(raw)
                if len(got) >= want:
                    break
        for raw in got:
            after = position(raw, query.fields)
            if skip is not None and skip(raw):
                continue
            if len(raws) == limit:  # something follows the page
                return raws, position(raws[-1], query.fields)
            raws.append(raw)
        if len(got) < want:
            return raws, None


def count(container: Any, coll: Collection, tenants: Sequence[str] | None, where: Sequence[Where]) -> int:
    found = scope(coll, tenants, where)
    if found is None:
        return 0
    text, params, kwargs = found
    with io():
        values = list(container.query_items("SELECT VALUE COUNT(1) FROM c" + text, parameters=params, **kwargs))
    return int(sum(v for v in values if isinstance(v, (int, float))))


def matching_keys(
    container: Any, coll: Collection, tenants: Sequence[str] | None, where: Sequence[Where], keys: Sequence[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which of the (tenant, id) `keys` have a stored item that matches, a query per 100 ids."""
    found = scope(coll, tenants, where)
    if found is None or not keys:
        return set()
    text, params, kwargs = found
    wanted = set(keys)
    ids = sorted({cosmos_id(id_) for _, id_ in wanted})
    matched: set[tuple[str, str]] = set()
    for start in range(0, len(ids), _ID_CHUNK):
        sql = "SELECT c.tenantId, c.id FROM c" + (text + " AND " if text else " WHERE ") + "ARRAY_CONTAINS(@ids, c.id)"
        chunk = [*params, {"name": "@ids", "value": ids[start : start + _ID_CHUNK]}]
        with io():
            rows = list(container.query_items(sql, parameters=chunk, **kwargs))
        matched.update(key for key in ((r.get("tenantId"), domain_id(r["id"])) for r in rows) if key in wanted)
    return matched
