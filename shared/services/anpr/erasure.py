"""What erasing an incident does to ANPR hits (run by the IncidentErased handler)."""

from __future__ import annotations

from shared.ports import UnitOfWork, Where, iterate_all
from shared.records import ANPR_HITS
from shared.services import repository


def erase_hits_for_incident(uow: UnitOfWork, org: str, incident_id: str) -> int:
    """ANPR hits are kept with the incidents they link: a hit linked to this incident
    only goes with it; one linked to others too just loses the link."""
    removed = 0
    for hit in list(iterate_all(uow, ANPR_HITS.name, [org], [Where("incident_ids", "contains", incident_id)])):
        others = [i for i in hit.get("incident_ids", []) if i != incident_id]
        if others:
            uow.replace(ANPR_HITS.name, org, {**repository.body(hit), "incident_ids": others}, if_match=repository.etag(hit))
        else:
            removed += uow.delete(ANPR_HITS.name, org, hit["id"])
    return removed
