"""The chain of custody: every event in an item's life, hash-linked per owner organisation."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.domain.audit import ChainKeys
from shared.domain.custody import CustodyEvent, custody_chain, custody_linker, public_custody, verify_custody
from shared.domain.tenancy import Principal
from shared.domain.timestamps import to_iso
from shared.ports import UnitOfWork, Where, iterate_all
from shared.records import CHAIN_HEADS, CUSTODY
from shared.services.evidence.deps import EvidenceDeps
from shared.services.evidence.lookup import access_entries, locate_item, need_purpose


def record_event(
    uow: UnitOfWork,
    keys: ChainKeys,
    owner: str,
    evidence_id: str,
    event: CustodyEvent,
    principal: Principal | None,
    *,
    at: datetime,
    purpose: str | None = None,
    details: dict[str, Any] | None = None,
    system_actor: str = "system",
) -> None:
    """Append one event to the item's chain; without a principal, `system_actor` acts."""
    entry = {
        "id": uuid.uuid4().hex,
        "evidence_id": evidence_id,
        "event": event.value,
        "at": to_iso(at),
        "actor_user": principal.user_id if principal else system_actor,
        "actor_org": principal.organisation_id if principal else "_platform",
        "actor_role": principal.primary_role if principal else "system",
        "purpose": purpose,
        "details": details or {},
        "key_id": keys.current,
    }
    # Through JSON once so the hash covers exactly what the store will hand back.
    uow.append_chained(CUSTODY.name, owner, custody_chain(evidence_id), json.loads(json.dumps(entry, default=str)), custody_linker(keys))


def events(uow: UnitOfWork, owner: str, evidence_id: str) -> list[dict[str, Any]]:
    """The item's custody events as stored, in chain order."""
    return list(iterate_all(uow, CUSTODY.name, [owner], [Where("chain", "eq", custody_chain(evidence_id))], order_by="seq", limit=500))


def drop_chain(uow: UnitOfWork, owner: str, evidence_id: str) -> int:
    """Delete the item's whole chain and its head; returns how many events went."""
    found = events(uow, owner, evidence_id)
    for event in found:
        uow.delete(CUSTODY.name, owner, event["id"])
    uow.delete(CHAIN_HEADS.name, owner, custody_chain(evidence_id))
    return len(found)


@dataclass(frozen=True)
class CustodyReport:
    """An item's chain and whether every link verifies."""

    evidence_id: str
    events: list[dict[str, Any]]
    verified: bool
    first_broken: dict[str, Any] | None
    head: str | None


class Custody:
    """Reading an item's chain of custody."""

    def __init__(self, deps: EvidenceDeps):
        self.deps = deps

    def chain(self, principal: Principal, evidence_id: str, purpose: str | None) -> CustodyReport:
        """The item's custody chain and whether every link verifies (audited)."""
        need_purpose(principal, purpose)
        with self.deps.records.read_only() as uow:
            _, loc = locate_item(self.deps, uow, principal, evidence_id)
            found = events(uow, loc.owner_org, evidence_id)
            head = uow.get(CHAIN_HEADS.name, loc.owner_org, custody_chain(evidence_id))
        self.deps.audit.record_read(
            principal, access_entries(principal, loc.owner_org, "evidence.custody", f"evidence/{evidence_id}", purpose)
        )
        check = verify_custody(found, head, self.deps.chain_keys)
        return CustodyReport(
            evidence_id=evidence_id,
            events=[public_custody(e) for e in found],
            verified=check["verified"],
            first_broken=check["first_broken"],
            head=found[-1]["hash"] if found else None,
        )
