"""A person's network (GET /offenders/{id}/network): co-offenders, shared vehicles and
shared times and places, two hops, bounded, with the incidents behind every edge.

Grown from the read model (each person's incidents with the persons and plates they name),
so a hop is a point read per person; vehicles and times and places are indexed queries on
incidents (`plates`; `store_id` and `occurred_at`). What a force sees is confined to the
incidents in its area of the retailers sharing with it, and a person shows only as the
ranking would show them (shared/services/intel/persons.py).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.errors import NotFound
from shared.domain.networks import EdgeKind, Link, grow, parse_key, person_key, vehicle_key
from shared.domain.tenancy import Principal
from shared.domain.timestamps import to_iso
from shared.ports import UnitOfWork, Where
from shared.records import INCIDENTS
from shared.services.audit import ReadEntry
from shared.services.intel.deps import ORG_SCOPE, IntelDeps, Sight, sight_of
from shared.services.intel.persons import visible_persons
from shared.services.intel.standing import Standing

# Incidents at the same store this close in time put their persons together.
WINDOW = timedelta(hours=2)
MAX_NODES = 100
MAX_EDGES = 300
# The newest incidents looked at for times and places: more for the person asked about than
# for each person one hop away (each look-up is a query; a busy store's window holds
# several incidents, so hop-one persons' look-ups fill the graph fastest and cost most).
PLACE_INCIDENTS = 10
PLACE_INCIDENTS_HOP = 3
VEHICLE_INCIDENTS = 50


@dataclass
class Network:
    deps: IntelDeps

    def of(
        self, principal: Principal, person_id: str, *, hops: int = 2, purpose: str | None = None, max_nodes: int = MAX_NODES
    ) -> dict[str, Any]:
        """The person's network as the caller may see it; NotFound when the person is not
        one the caller may be shown. Audited like the ranking: the persons shown."""
        sight = sight_of(self.deps, principal, purpose)
        now = self.deps.clock.now()
        missing = NotFound(f"Person of interest {person_id} was not found.")
        with self.deps.records.read_only() as uow:
            walk = _Walk(self.deps, uow, principal, sight, now)
            owner = walk.owner_of(person_id)
            if owner is None:
                raise missing
            start = walk.start = person_key(owner, person_id)
            graph = grow(start, walk.neighbours, hops=hops, max_nodes=max_nodes, max_edges=MAX_EDGES)
            nodes = []
            for key, hop in sorted(graph.hops.items(), key=lambda kv: (kv[1], kv[0])):
                kind, org, ident = parse_key(key)
                if kind == "person":
                    nodes.append({"id": key, "kind": "person", "hop": hop, "person": walk.persons[(org, ident)]})
                else:
                    nodes.append({"id": key, "kind": "vehicle", "hop": hop, "plate": ident})
        answer = {
            "start": start,
            "nodes": nodes,
            "edges": [e.as_dict() for e in graph.edges],
            "truncated": graph.truncated,
            "limits": {"hops": hops, "max_nodes": max_nodes, "max_edges": MAX_EDGES, "window_minutes": int(WINDOW.total_seconds() // 60)},
        }
        self.deps.audit.record_read(principal, _entries(principal, nodes, purpose))
        return answer


class _Walk:
    """One network's reads, remembering every person already seen."""

    def __init__(self, deps: IntelDeps, uow: UnitOfWork, principal: Principal, sight: Sight, now: datetime):
        self.deps, self.uow, self.principal, self.sight, self.now = deps, uow, principal, sight, now
        self.persons: dict[tuple[str, str], dict[str, Any]] = {}
        self.start: str | None = None
        self._hidden: set[tuple[str, str]] = set()

    def owner_of(self, person_id: str) -> str | None:
        for tenant in self.sight.tenants:
            if Standing.of_person(self.uow, tenant, person_id, self.sight.scope) is not None and self.visible(tenant, [person_id]):
                return tenant
        return None

    def visible(self, owner: str, ids: Iterable[str]) -> set[str]:
        """Which of `ids` (persons of `owner`) the caller may be shown."""
        todo = [i for i in set(ids) if (owner, i) not in self.persons and (owner, i) not in self._hidden]
        if todo:
            level = self.sight.level(self.deps.directory, self.principal, owner)
            shown = visible_persons(self.uow, self.principal, owner, todo, level, self.now)
            for i in todo:
                if i in shown:
                    self.persons[(owner, i)] = shown[i]
                else:
                    self._hidden.add((owner, i))
        return {i for i in ids if (owner, i) in self.persons}

    def _facts(self, owner: str, person_id: str) -> list[dict[str, Any]]:
        scope = self.sight.scope if self.sight.force_id else ORG_SCOPE
        doc = Standing.of_person(self.uow, owner, person_id, scope)
        return list((doc or {}).get("incidents") or [])

    def neighbours(self, key: str) -> list[Link]:
        kind, owner, ident = parse_key(key)
        if kind == "person":
            return self._of_person(owner, ident, PLACE_INCIDENTS if key == self.start else PLACE_INCIDENTS_HOP)
        return self._of_vehicle(ident)

    def _of_person(self, owner: str, person_id: str, places: int) -> list[Link]:
        links: list[Link] = []
        facts = self._facts(owner, person_id)
        for f in facts:
            ref = ((f["id"], f["reference"]),)
            others = [p for p in f.get("persons") or [] if p != person_id]
            for other in sorted(self.visible(owner, others)):
                links.append(Link(person_key(owner, other), EdgeKind.CO_OFFENDER, ref))
            for plate in f.get("plates") or []:
                links.append(Link(vehicle_key(plate), EdgeKind.VEHICLE, ref))
        own_incidents = {f["id"] for f in facts}
        for f in sorted(facts, key=lambda d: d["occurred_at"], reverse=True)[:places]:
            at = datetime.fromisoformat(f["occurred_at"].replace("Z", "+00:00"))
            where = [
                Where("store_id", "eq", f["store_id"]),
                Where("occurred_at", "ge", to_iso(at - WINDOW)),
                Where("occurred_at", "le", to_iso(at + WINDOW)),
            ]
            page = self.uow.query(INCIDENTS.name, [owner], where, order_by="occurred_at", limit=20)
            for doc in page.items:
                if doc["id"] in own_incidents or (self.sight.force_id and doc.get("force_id") != self.sight.force_id):
                    continue
                refs = ((f["id"], f["reference"]), (doc["id"], doc.get("reference", "")))
                for other in sorted(self.visible(owner, [i for i in doc.get("offender_ids") or [] if i != person_id])):
                    links.append(Link(person_key(owner, other), EdgeKind.TIME_AND_PLACE, refs))
        return links

    def _of_vehicle(self, plate: str) -> list[Link]:
        where = [Where("plates", "contains", plate)]
        if self.sight.force_id:
            where.append(Where("force_id", "eq", self.sight.force_id))
        page = self.uow.query(INCIDENTS.name, self.sight.tenants, where, order_by="occurred_at", descending=True, limit=VEHICLE_INCIDENTS)
        links: list[Link] = []
        for doc in page.items:
            owner = doc["_tenant"]
            ref = ((doc["id"], doc.get("reference", "")),)
            for person in sorted(self.visible(owner, doc.get("offender_ids") or [])):
                links.append(Link(person_key(owner, person), EdgeKind.VEHICLE, ref))
        return links


def _entries(principal: Principal, nodes: list[dict[str, Any]], purpose: str | None) -> list[ReadEntry]:
    persons = [n["person"] for n in nodes if n["kind"] == "person"]
    entries = [
        ReadEntry(
            owner_org=principal.organisation_id,
            action=AuditAction.CONSULTATION,
            operation="intel.network",
            entity="intel/network",
            fields=["network"],
            subjects=[f"offender/{p['id']}" for p in persons],
            purpose=purpose,
        )
    ]
    owners: dict[str, list[str]] = {}
    for p in persons:
        if p["organisation_id"] != principal.organisation_id:
            owners.setdefault(p["organisation_id"], []).append(f"offender/{p['id']}")
    for owner, ids in sorted(owners.items()):
        entries.append(
            ReadEntry(
                owner_org=owner,
                action=AuditAction.DISCLOSURE,
                operation="intel.network",
                entity="intel/network",
                fields=["network"],
                subjects=ids,
                purpose=purpose,
                recipient_org=principal.organisation_id,
            )
        )
    return entries
