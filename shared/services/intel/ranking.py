"""Repeat and prolific offending (GET /intel/repeat-offending): persons of interest ranked
by the score of shared/domain/intel.py, each with the reasons and incidents behind it.

The order comes from the read model (`offender_standing`, one index read ordered by the
stored `rank_key`); only the page shown is explained. Persons the caller may not see
(listing not in force, a minor outside their organisation, a partner sharing counts only)
are skipped while the page fills, so a page holds visible persons only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.intel import IncidentFacts, explain, rounded, spread_of
from shared.domain.tenancy import Principal
from shared.domain.timestamps import to_iso
from shared.ports import Where
from shared.records import OFFENDER_STANDING
from shared.services.audit import ReadEntry
from shared.services.intel.deps import IntelDeps, sight_of
from shared.services.intel.persons import visible_persons

# How many read-model pages one call reads while skipping persons it may not show.
MAX_ROUNDS = 10


@dataclass(frozen=True)
class Ranked:
    items: list[dict[str, Any]]
    continuation: str | None
    scope: str


@dataclass
class Ranking:
    deps: IntelDeps

    def rank(self, principal: Principal, *, limit: int, continuation: str | None, purpose: str | None) -> Ranked:
        """The caller's persons of interest, highest score first, each explained; audited
        (one consultation entry naming the persons shown, and a disclosure entry in each
        other organisation's chain for its persons)."""
        sight = sight_of(self.deps, principal, purpose)
        now = self.deps.clock.now()
        items: list[dict[str, Any]] = []
        cursor = continuation
        with self.deps.records.read_only() as uow:
            for _ in range(MAX_ROUNDS):
                if not sight.tenants:
                    cursor = None
                    break
                page = uow.query(
                    OFFENDER_STANDING.name,
                    sight.tenants,
                    [Where("scope", "eq", sight.scope)],
                    order_by="rank_key",
                    descending=True,
                    limit=limit - len(items),
                    continuation=cursor,
                )
                by_owner: dict[str, list[dict[str, Any]]] = {}
                for doc in page.items:
                    by_owner.setdefault(doc["_tenant"], []).append(doc)
                shown: dict[tuple[str, str], dict[str, Any]] = {}
                for owner, docs in by_owner.items():
                    level = sight.level(self.deps.directory, principal, owner)
                    for pid, person in visible_persons(uow, principal, owner, [d["person_id"] for d in docs], level, now).items():
                        shown[(owner, pid)] = person
                for doc in page.items:
                    found = shown.get((doc["_tenant"], doc["person_id"]))
                    if found is not None:
                        items.append(_item(doc, found, now))
                cursor = page.continuation
                if not cursor or len(items) >= limit:
                    break
        for position, item in enumerate(items, start=1):
            item["rank"] = position
        self.deps.audit.record_read(principal, _entries(principal, items, purpose))
        return Ranked(items=items, continuation=cursor, scope=sight.scope)


def _item(doc: dict[str, Any], person: dict[str, Any], now) -> dict[str, Any]:
    facts = [IncidentFacts.from_doc(d) for d in doc.get("incidents") or []]
    spread = spread_of(facts, areas=len(doc.get("areas") or []), retailers=1)
    e = explain(facts, spread, now)
    return {
        "rank": 0,
        "person": person,
        "organisation_id": doc["_tenant"],
        "score": rounded(e.score),
        "reasons": [r.as_dict() for r in e.reasons],
        "incident_count": e.incident_count,
        "last_incident_at": to_iso(e.last_incident_at) if e.last_incident_at else None,
        "stores": spread.stores,
        "force_areas": spread.areas,
    }


def _entries(principal: Principal, items: list[dict[str, Any]], purpose: str | None) -> list[ReadEntry]:
    subjects = [f"offender/{i['person']['id']}" for i in items]
    entries = [
        ReadEntry(
            owner_org=principal.organisation_id,
            action=AuditAction.CONSULTATION,
            operation="intel.repeat_offending",
            entity="intel/repeat-offending",
            fields=["score", "reasons"],
            subjects=subjects,
            purpose=purpose,
        )
    ]
    owners: dict[str, list[str]] = {}
    for i in items:
        if i["organisation_id"] != principal.organisation_id:
            owners.setdefault(i["organisation_id"], []).append(f"offender/{i['person']['id']}")
    for owner, ids in sorted(owners.items()):
        entries.append(
            ReadEntry(
                owner_org=owner,
                action=AuditAction.DISCLOSURE,
                operation="intel.repeat_offending",
                entity="intel/repeat-offending",
                fields=["score", "reasons"],
                subjects=ids,
                purpose=purpose,
                recipient_org=principal.organisation_id,
            )
        )
    return entries
