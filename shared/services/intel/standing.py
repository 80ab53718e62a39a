"""The repeat-offending read model: per organisation and person, the scored facts of
their incidents and the stored ordering number, kept current by the incident events.

A ranking must not load incidents per call (a force area holds a million), so each
report, change or erasure naming a person recomputes that person's documents from their
own incidents (an indexed query on `offender_ids`; a person has tens, not millions): one
document for the organisation as a whole (scope `org`) and one per force area they
offend in (scope `force:<id>`), each with `rank_key` (shared/domain/intel.py) so a ranking
is one index read. A document `incident:<id>` remembers which persons an incident named
when last indexed, so a person taken off an incident is recomputed too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shared.domain.intel import IncidentFacts, facts_of_incident, rank_key, spread_of
from shared.domain.plates import normalise_plate
from shared.ports import UnitOfWork, Where, iterate_all
from shared.records import INCIDENTS, OFFENDER_STANDING
from shared.services.intel.deps import ORG_SCOPE, IntelDeps, force_scope

# Past this many incidents a person's document keeps the newest only: the score of a
# person with more is already at the top, and the document stays well under a Cosmos item.
MAX_FACTS = 1000


def standing_id(person_id: str, scope: str) -> str:
    return f"{person_id}|{scope}"


def _link_id(incident_id: str) -> str:
    return f"incident:{incident_id}"


def _plates(incident: Mapping[str, Any]) -> list[str]:
    out = []
    for v in incident.get("vehicles") or []:
        try:
            out.append(normalise_plate(str(v.get("plate", ""))))
        except ValueError:
            continue
    return sorted(set(out) | set(incident.get("plates") or []))


def fact_doc(incident: Mapping[str, Any]) -> dict[str, Any]:
    """An incident as the read model keeps it: its scored facts, the persons it names and
    its vehicles (the network reads these)."""
    doc = facts_of_incident(incident).to_doc()
    doc["persons"] = sorted({p["offender_id"] for p in incident.get("persons") or [] if p.get("offender_id")})
    doc["plates"] = _plates(incident)
    return doc


def standing_docs(org: str, person_id: str, facts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The person's documents, one per scope, from the fact documents of their incidents."""
    facts = sorted(facts, key=lambda d: d["occurred_at"], reverse=True)[:MAX_FACTS]
    parsed = [IncidentFacts.from_doc(d) for d in facts]
    areas = sorted({f.force_id for f in parsed})
    scopes: dict[str, list[int]] = {ORG_SCOPE: list(range(len(parsed)))}
    for i, f in enumerate(parsed):
        scopes.setdefault(force_scope(f.force_id), []).append(i)
    out = []
    for scope, idx in scopes.items():
        mine = [parsed[i] for i in idx]
        # Behind a force's ranking the other areas still count: a person offending across
        # forces is the cross-border offender the spread reason is for.
        spread = spread_of(mine, areas=len(areas), retailers=1)
        out.append(
            {
                "id": standing_id(person_id, scope),
                "person_id": person_id,
                "organisation_id": org,
                "scope": scope,
                "rank_key": rank_key(mine, spread),
                "areas": areas,
                "stores": len({f.store_id for f in mine}),
                "incidents": [facts[i] for i in idx],
            }
        )
    return out


@dataclass
class Standing:
    deps: IntelDeps

    def on_incident(self, uow: UnitOfWork, incident: Mapping[str, Any], *, created: bool = False) -> None:
        """Recompute every person the incident names now or named before (handler of
        IncidentRecorded, IncidentChanged and EvidenceAdded). `created`: the incident is
        recorded in this unit, so it named nobody before and its link is not looked up."""
        org = incident["organisation_id"]
        now_named = {p["offender_id"] for p in incident.get("persons") or [] if p.get("offender_id")}
        link = None if created else uow.get(OFFENDER_STANDING.name, org, _link_id(incident["id"]))
        before = set(link.get("persons") or []) if link else set()
        for person in sorted(now_named | before):
            self.recompute(uow, org, person)
        if now_named != before or link is None:
            uow.upsert(
                OFFENDER_STANDING.name,
                org,
                {"id": _link_id(incident["id"]), "scope": "incident", "person_id": "", "rank_key": 0.0, "persons": sorted(now_named)},
            )

    def on_erased(self, uow: UnitOfWork, org: str, incident_id: str) -> int:
        """The erased incident leaves every person's score (handler of IncidentErased)."""
        link = uow.get(OFFENDER_STANDING.name, org, _link_id(incident_id))
        if link is None:
            return 0
        for person in link.get("persons") or []:
            self.recompute(uow, org, person, without=incident_id)
        uow.delete(OFFENDER_STANDING.name, org, _link_id(incident_id))
        return 0

    def recompute(self, uow: UnitOfWork, org: str, person_id: str, *, without: str | None = None) -> None:
        """Rewrite the person's documents from their incidents (none left: removed)."""
        incidents = iterate_all(uow, INCIDENTS.name, [org], [Where("offender_ids", "contains", person_id)], limit=500)
        facts = [fact_doc(d) for d in incidents if d["id"] != without]
        self.write(uow, org, person_id, facts)

    def write(self, uow: UnitOfWork, org: str, person_id: str, facts: list[dict[str, Any]]) -> None:
        docs = standing_docs(org, person_id, facts) if facts else []
        wanted = {d["id"] for d in docs}
        for old in iterate_all(uow, OFFENDER_STANDING.name, [org], [Where("person_id", "eq", person_id)]):
            if old["id"] not in wanted:
                uow.delete(OFFENDER_STANDING.name, org, old["id"])
        for d in docs:
            uow.upsert(OFFENDER_STANDING.name, org, d)

    @staticmethod
    def of_person(uow: UnitOfWork, org: str, person_id: str, scope: str) -> dict[str, Any] | None:
        """The person's document for a scope, or None."""
        return uow.get(OFFENDER_STANDING.name, org, standing_id(person_id, scope))
