"""Idempotency-Key handling: a replay returns the first answer; a reused key with a
different request is refused. The remembered answer is written in the same unit of
work as the change itself, so a key is never remembered for a change that did not land."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from shared.domain.errors import Invalid
from shared.domain.tenancy import Principal
from shared.domain.timestamps import to_iso
from shared.ports import Clock, UnitOfWork
from shared.records import IDEMPOTENCY

KEY_TTL = timedelta(hours=24)


@dataclass
class StoredAnswer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]


def fingerprint(operation: str, payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{operation}\n{canonical}".encode()).hexdigest()


def _key_id(principal: Principal, operation: str, key: str) -> str:
    return hashlib.sha256(f"{principal.user_id}\n{operation}\n{key}".encode()).hexdigest()


def check_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not (1 <= len(key) <= 200) or not key.isprintable():
        raise Invalid("Idempotency-Key must be 1 to 200 printable characters.", errors=[{"field": "Idempotency-Key"}])
    return key


def replay(uow: UnitOfWork, principal: Principal, operation: str, key: str | None, request_fingerprint: str) -> StoredAnswer | None:
    """The first answer given for this key, or None when the key is new."""
    if key is None:
        return None
    doc = uow.get(IDEMPOTENCY.name, principal.organisation_id, _key_id(principal, operation, key))
    if doc is None:
        return None
    if doc["fingerprint"] != request_fingerprint:
        raise Invalid(
            "This Idempotency-Key was already used for a different request; use a new key for a new request.",
            errors=[{"field": "Idempotency-Key"}],
        )
    return StoredAnswer(status=doc["status"], body=doc["body"], headers=doc.get("headers", {}))


def remember(
    uow: UnitOfWork, clock: Clock, principal: Principal, operation: str, key: str | None, request_fingerprint: str, answer: StoredAnswer
) -> None:
    if key is None:
        return
    uow.insert(
        IDEMPOTENCY.name,
        principal.organisation_id,
        {
            "id": _key_id(principal, operation, key),
            "fingerprint": request_fingerprint,
            "status": answer.status,
            "body": answer.body,
            "headers": answer.headers,
            "expires_at": to_iso(clock.now() + KEY_TTL),
        },
    )
