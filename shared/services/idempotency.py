"""Idempotency-Key handling: a replay answers with what the first request created; a
reused key with a different request is refused. The key is written in the same unit of
work as the change itself, so a key is never remembered for a change that did not land.

A key remembers which record the request created (`resource`, e.g. "incident/<id>") and
a digest of the request, never a copy of the record: personal data lives in one place,
so a correction or an erasure reaches every answer. A key lives for
`VIGIL_IDEMPOTENCY_KEY_HOURS` (24 by default): past that it no longer answers, and the
`expiry-sweep` timer deletes it. When the record it answers for is erased, the key keeps
only the fact of the erasure until it expires, so a retry is told the record is gone
(410) instead of quietly recording the erased data again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.domain.errors import Gone, Invalid
from shared.domain.tenancy import Principal
from shared.domain.timestamps import from_iso, to_iso
from shared.ports import UnitOfWork, Where, iterate_all
from shared.records import IDEMPOTENCY

DEFAULT_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class Remembered:
    """What the first keyed request created: the kind and id of its record."""

    resource: str

    @property
    def record_id(self) -> str:
        return self.resource.partition("/")[2]


def fingerprint(operation: str, payload: Any) -> str:
    """A digest of the request, so a key reused for a different request is recognised."""
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{operation}\n{canonical}".encode()).hexdigest()


def _key_id(principal: Principal, operation: str, key: str) -> str:
    return hashlib.sha256(f"{principal.user_id}\n{operation}\n{key}".encode()).hexdigest()


def check_key(key: str | None) -> str | None:
    """The key as given, or Invalid when it is not 1 to 200 printable characters."""
    if key is None:
        return None
    if not (1 <= len(key) <= 200) or not key.isprintable():
        raise Invalid("Idempotency-Key must be 1 to 200 printable characters.", errors=[{"field": "Idempotency-Key"}])
    return key


def _expired(doc: dict[str, Any], now: datetime) -> bool:
    expires_at = doc.get("expires_at")
    return not expires_at or from_iso(str(expires_at)) <= now


def replay(
    uow: UnitOfWork, principal: Principal, operation: str, key: str | None, request_fingerprint: str, *, now: datetime
) -> Remembered | None:
    """What the first request with this key created, or None when the key is new or has
    expired. Gone when that record has since been erased; Invalid for another request."""
    if key is None:
        return None
    doc = uow.get(IDEMPOTENCY.name, principal.organisation_id, _key_id(principal, operation, key))
    if doc is None or _expired(doc, now):
        return None
    if doc.get("erased"):
        raise Gone(
            "The record this Idempotency-Key created has since been erased; it is not recorded again. Use a new key to make a new request.",
            errors=[{"field": "Idempotency-Key"}],
        )
    if doc.get("fingerprint") != request_fingerprint:
        raise Invalid(
            "This Idempotency-Key was already used for a different request; use a new key for a new request.",
            errors=[{"field": "Idempotency-Key"}],
        )
    if "resource" in doc:
        return Remembered(resource=str(doc["resource"]))
    # Keys written before keys held only the resource carried the answer itself.
    return Remembered(resource=f"{operation.partition('.')[0]}/{doc['body']['id']}")


def remember(
    uow: UnitOfWork,
    principal: Principal,
    operation: str,
    key: str | None,
    request_fingerprint: str,
    resource: str,
    *,
    now: datetime,
    ttl: timedelta = DEFAULT_TTL,
) -> None:
    """Keep the key for `ttl`, in the unit of work of the change it answers. An expired
    key still waiting for the sweep is taken over; a live one conflicts (a concurrent
    request with the same key won)."""
    if key is None:
        return
    doc = {
        "id": _key_id(principal, operation, key),
        "fingerprint": request_fingerprint,
        "resource": resource,
        "expires_at": to_iso(now + ttl),
    }
    old = uow.get(IDEMPOTENCY.name, principal.organisation_id, doc["id"])
    if old is not None and _expired(old, now):
        uow.replace(IDEMPOTENCY.name, principal.organisation_id, doc, if_match=old["_etag"])
        return
    uow.insert(IDEMPOTENCY.name, principal.organisation_id, doc)


def forget_resource(uow: UnitOfWork, organisation_id: str, resource: str) -> int:
    """On erasure of `resource`: its keys keep only that it was erased (no digest of the
    request that described it) until they expire. Returns how many keys were changed."""
    changed = 0
    for doc in list(iterate_all(uow, IDEMPOTENCY.name, [organisation_id], [Where("resource", "eq", resource)])):
        if doc.get("erased"):
            continue
        kept = {"id": doc["id"], "resource": resource, "erased": True, "expires_at": doc.get("expires_at")}
        uow.replace(IDEMPOTENCY.name, organisation_id, kept, if_match=doc["_etag"])
        changed += 1
    return changed
