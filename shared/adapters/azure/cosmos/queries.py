"""Port queries as Cosmos SQL, and their continuation tokens.

Every query names its tenants in the WHERE clause (`c.tenantId = @tenant` or
`c.tenantId IN (...)`) rather than relying on the `partition_key=` argument alone: that
is the tenant-isolation rule, and cosmosdb-server ignores the argument anyway. Only
`tenants=None` (platform timer sweeps) queries across tenants.

The continuation token carries a fingerprint of the query, so a token replayed against
another query (another filter, another tenant) is refused as invalid rather than
silently continuing something else. It wraps the SDK's token, or (for a query merged
with a unit's own writes) the number of items already returned.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from azure.cosmos import exceptions

from shared.adapters.azure.cosmos.items import cosmos_id, domain_id, jsonable
from shared.adapters.azure.cosmos.sdk import io
from shared.domain.errors import Invalid
from shared.ports import Where
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
    """`{"c": SDK token}` or `{"o": offset}` (see `fetch`); Invalid when the token is garbage or
    belongs to another query."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
    except (ValueError, binascii.Error, TypeError) as exc:
        raise bad_token(exc) from exc
    if not isinstance(data, dict) or data.get("q") != fingerprint:
        raise bad_token()
    if isinstance(data.get("c"), str) and data["c"]:
        return {"c": data["c"]}
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


def scope(coll: Collection, tenants: Sequence[str] | None, where: Sequence[Where]) -> Scope | None:
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
            if not coll.hierarchical_bucket:
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
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params, kwargs


def order_clause(coll: Collection, where: Sequence[Where], order_by: str | None, descending: bool) -> str:
    if order_by is None:
        return ""
    if order_by not in coll.all_indexed:
        raise ValueError(f"{coll.name}.{order_by} is not indexed for ordering")
    direction = "DESC" if descending else "ASC"
    fields = [order_by]
    # With an equality filter on the first field of a composite index ending in the order
    # field, order by both (same result) so Cosmos can serve it from that composite index.
    fixed = {w.field for w in where if w.op == "eq" and w.value is not None}
    for composite in coll.composite:
        if len(composite) == 2 and composite[1] == order_by and composite[0] in fixed:
            fields = list(composite)
            break
    return " ORDER BY " + ", ".join(f"c[{json.dumps(f)}] {direction}" for f in fields)


# ---- running them ------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """A port query as Cosmos SQL; `empty` when nothing can match."""

    sql: str
    params: list[dict[str, Any]]
    kwargs: dict[str, Any]
    fingerprint: str
    empty: bool


def plan(coll: Collection, tenants: Sequence[str] | None, where: Sequence[Where], order_by: str | None, descending: bool) -> Plan:
    order = order_clause(coll, where, order_by, descending)
    found = scope(coll, tenants, where)
    sql = "SELECT * FROM c" + (found[0] if found else "") + order
    fingerprint = hashlib.sha256(
        json.dumps([coll.name, sql, found[1] if found else None], sort_keys=True, default=str).encode()
    ).hexdigest()[:16]
    if found is None:
        return Plan(sql, [], {}, fingerprint, empty=True)
    return Plan(sql, found[1], found[2], fingerprint, empty=False)


def fetch(
    container: Any, query: Plan, limit: int, sdk_token: str | None, skip: Callable[[dict[str, Any]], bool] | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """Up to `limit` stored items (raw, less those `skip` rejects) and the SDK token for the
    rest; None once the answer is exhausted."""
    if query.empty:
        return [], None
    raws: list[dict[str, Any]] = []
    while len(raws) < limit:
        try:
            with io():
                pager = container.query_items(query.sql, parameters=query.params, max_item_count=limit - len(raws), **query.kwargs).by_page(
                    sdk_token
                )
                try:
                    page = list(next(pager))
                except StopIteration:
                    sdk_token = None
                    break
        except exceptions.CosmosHttpResponseError as exc:
            if sdk_token and exc.status_code == 400:
                raise bad_token(exc) from exc
            raise
        raws.extend(raw for raw in page if skip is None or not skip(raw))
        sdk_token = pager.continuation_token
        if not sdk_token:
            break
    return raws, sdk_token


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
