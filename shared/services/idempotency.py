"""Idempotency-Key handling: a replay returns the first answer; a reused key with a
different request is refused. The remembered answer is written in the same unit of
work as the change itself, so a key is never remembered for a change that did not land.

What is remembered is the domain result (the record as answered and its version), not
an HTTP response: the route rebuilds status and headers from it the same way each time.
"""

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


@dataclass(frozen=True)
class Remembered:
    """The first answer to a keyed request: the record as answered and its stored version."""

    body: dict[str, Any]
    etag: str


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


def replay(uow: UnitOfWork, principal: Principal, operation: str, key: str | None, request_fingerprint: str) -> Remembered | None:
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
    if "etag" in doc:
        return Remembered(body=doc["body"], etag=doc["etag"])
    # Keys remembered before answers were stored as results carry the quoted ETag in the body.
    body = dict(doc["body"])
    return Remembered(body=body, etag=str(body.pop("etag", "")).strip('"'))


def remember(
    uow: UnitOfWork, clock: Clock, principal: Principal, operation: str, key: str | None, request_fingerprint: str, answer: Remembered
) -> None:
    """Keep the answer for `KEY_TTL`, in the unit of work of the change it answers."""
    if key is None:
        return
    uow.insert(
        IDEMPOTENCY.name,
        principal.organisation_id,
        {
            "id": _key_id(principal, operation, key),
            "fingerprint": request_fingerprint,
            "body": answer.body,
            "etag": answer.etag,
            "expires_at": to_iso(clock.now() + KEY_TTL),
        },
    )
