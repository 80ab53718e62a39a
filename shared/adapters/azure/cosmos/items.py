"""Documents as Cosmos items, and back.

The adapter writes `tenantId`, `pk`, `vigilEtag` and (where items expire) `ttl` on every
item, so a document may not carry those fields itself; reads strip them and Cosmos's
system fields again and add `_etag` and `_tenant`.

- `pk` is the tenant, or `"{tenant}|{bucket}"` for a collection with a
  `hierarchical_bucket`: the bucket is that field's value, cut to its month when it is a
  timestamp, so one tenant spreads over many logical partitions (each holds 20 GB at most);
  or `"{tenant}|{bucket}"` with the bucket the id itself names (`id_bucket`; the tenant
  alone for an id that names none), so a read by id is still a point read.
- `vigilEtag` is the adapter's own version token. Writes are buffered until commit, but
  the port hands out the new ETag at once; Cosmos only assigns `_etag` when the write
  lands, so the token is made here. An item written by something else shows its `_etag`.
- `ttl` is the seconds until `expires_at` (plus a grace), computed at write time. The
  timer sweep stays the policy; TTL is the backstop for a sweep that is not running.
- Cosmos ids may not contain `/ \\ ? #` or edge whitespace: such ids are stored
  base64-encoded behind a marker and decoded on the way out.
"""

from __future__ import annotations

import base64
import math
import re
import secrets
from collections.abc import Mapping
from datetime import UTC, date, datetime
from enum import Enum
from typing import Any

from shared.domain.timestamps import from_iso, to_iso
from shared.records import Collection

# Written by the adapter on every item; a document may not carry them itself.
RESERVED_FIELDS = ("tenantId", "pk", "ttl", "vigilEtag")
# Added by Cosmos; stripped from what the adapter returns.
SYSTEM_FIELDS = ("_rid", "_self", "_ts", "_attachments", "_etag", "_lsn")

_ID_FORBIDDEN = re.compile(r"[/\\?#]|\s$|^\s")
_ID_MARK = "~b64~"
_ISO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def jsonable(value: Any) -> Any:
    """What JSON can carry; times as UTC ISO 8601 so that string order is time order."""
    if value is None or isinstance(value, (bool, int, float, str)):
        if isinstance(value, Enum):
            return value.value
        return value
    if isinstance(value, datetime):
        return to_iso(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    return str(value)


def new_etag() -> str:
    return secrets.token_hex(10)


def cosmos_id(id_: str) -> str:
    if not isinstance(id_, str) or not id_:
        raise ValueError("a document id must be a non-empty string")
    if _ID_FORBIDDEN.search(id_) or id_.startswith(_ID_MARK):
        return _ID_MARK + base64.urlsafe_b64encode(id_.encode()).decode().rstrip("=")
    return id_


def domain_id(cosmos_id: str) -> str:
    if cosmos_id.startswith(_ID_MARK):
        raw = cosmos_id[len(_ID_MARK) :]
        return base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)).decode()
    return cosmos_id


def _bucket(value: Any) -> str:
    if isinstance(value, datetime):
        return to_iso(value)[:7]
    text = str(jsonable(value))
    if _ISO_TIME.match(text):
        return text[:7]
    return text


def partition_key(coll: Collection, tenant: str, body: Mapping[str, Any]) -> str:
    if coll.id_bucket is not None:
        bucket = coll.id_bucket(domain_id(str(body["id"])))
        return f"{tenant}|{bucket}" if bucket else tenant
    if not coll.hierarchical_bucket:
        return tenant
    value = body.get(coll.hierarchical_bucket)
    if value is None:
        raise ValueError(f"{coll.name} items need {coll.hierarchical_bucket!r} (their partition bucket)")
    return f"{tenant}|{_bucket(value)}"


def ttl_seconds(expires_at: Any, now: datetime) -> int | None:
    """Seconds from `now` until `expires_at`, at least 1; None when it is not a time."""
    if isinstance(expires_at, datetime):
        moment = expires_at.astimezone(UTC)
    elif isinstance(expires_at, str):
        try:
            moment = from_iso(expires_at)
        except ValueError:
            return None
    else:
        return None
    seconds = math.ceil((moment - now).total_seconds())
    return max(1, min(seconds, 2**31 - 1))


def to_item(coll: Collection, tenant: str, doc: Mapping[str, Any], etag: str, ttl_from: datetime) -> dict[str, Any]:
    """The Cosmos item for a document: JSON values, adapter fields, `ttl` counted from `ttl_from`."""
    clash = [k for k in RESERVED_FIELDS if k in doc]
    if clash:
        raise ValueError(f"{coll.name} documents may not carry the adapter's fields {clash}")
    if not tenant:
        raise ValueError("a tenant is required")
    body = {k: jsonable(v) for k, v in doc.items() if k not in ("_etag", "_tenant")}
    if "id" not in body:
        raise ValueError(f"{coll.name} documents need an id")
    body["id"] = cosmos_id(body["id"])
    body["tenantId"] = tenant
    body["pk"] = partition_key(coll, tenant, body)
    body["vigilEtag"] = etag
    if coll.expires and doc.get("expires_at") is not None:
        ttl = ttl_seconds(doc["expires_at"], ttl_from)
        if ttl is not None:
            body["ttl"] = ttl
    return body


def public(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A stored item as the port returns it: no system or adapter fields, `_etag` added."""
    doc = {k: v for k, v in raw.items() if k not in SYSTEM_FIELDS and k not in RESERVED_FIELDS}
    doc["id"] = domain_id(raw["id"])
    doc["_etag"] = raw.get("vigilEtag") or raw.get("_etag")
    doc["_tenant"] = raw.get("tenantId")
    return doc


def restorable(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A stored item as it can be written back (keeps tenantId, pk, ttl and vigilEtag)."""
    return {k: v for k, v in raw.items() if k not in SYSTEM_FIELDS}
