"""Reading one incident, and `locate`: the one rule deciding whether a caller may see an
incident, which every capability uses so that "not yours to see" is always a 404
indistinguishable from "does not exist"."""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.errors import Invalid, NotFound
from shared.domain.events import IncidentViewed
from shared.domain.tenancy import Principal, Role, ShareLevel
from shared.ports import UnitOfWork, Where
from shared.records import ACCESS_GRANTS, INCIDENTS
from shared.services.directory import Directory
from shared.services.incidents.common import IncidentDeps, IncidentView, Located, present_located, read_entries


def locate(uow: UnitOfWork, directory: Directory, principal: Principal, incident_id: str) -> Located:
    """Find an incident the caller may see, or raise NotFound exactly as if it did not exist.

    Retailers see their own organisation's (reporters only their stores'); a force sees an
    incident dispatched to it, and those of retailers sharing descriptions with it that
    happened in its area.
    """
    missing = NotFound(f"Incident {incident_id} was not found.")
    if len(incident_id) > 64:
        raise missing
    if principal.is_retailer:
        doc = uow.get(INCIDENTS.name, principal.organisation_id, incident_id)
        if doc is None or not _retailer_may_see(principal, doc):
            raise missing
        return Located(doc=doc, owner_org=principal.organisation_id)
    if principal.is_police:
        grant = uow.get(ACCESS_GRANTS.name, principal.organisation_id, incident_id)
        if grant is not None:
            doc = uow.get(INCIDENTS.name, grant["owner_org"], incident_id)
            if doc is not None:
                level = directory.share_level(grant["owner_org"], principal.organisation_id)
                return Located(
                    doc=doc,
                    owner_org=grant["owner_org"],
                    share_level=max(level, ShareLevel.DESCRIPTIONS, key=lambda s: s.rank),
                    dispatched_to_viewer=True,
                )
        sharers = directory.sharers_with(principal.organisation_id, ShareLevel.DESCRIPTIONS)
        if sharers:
            docs = uow.query(
                INCIDENTS.name, sharers, [Where("id", "eq", incident_id), Where("force_id", "eq", principal.organisation_id)], limit=1
            ).items
            if docs:
                owner = docs[0]["organisation_id"]
                return Located(doc=docs[0], owner_org=owner, share_level=directory.share_level(owner, principal.organisation_id))
    raise missing


def _retailer_may_see(principal: Principal, doc: dict) -> bool:
    # Checked on the raw document: a capability locating an incident should not pay for
    # loading the aggregate just to be refused.
    if principal.has(Role.RETAILER_INVESTIGATOR):
        return True
    return principal.has(Role.RETAILER_REPORTER) and doc["store_id"] in principal.stores


@dataclass
class ReadIncident:
    """GET /incidents/{id}."""

    deps: IncidentDeps

    def get(self, principal: Principal, incident_id: str, purpose: str | None) -> IncidentView:
        """One incident as the caller may see it (404 when it is not theirs to see); audited
        before it answers, without waiting for writes. A force states why it is looking,
        as it does for a search: a disclosure without a purpose could not be accounted for."""
        if principal.is_police and not purpose:
            raise Invalid("Police reads of an incident need a stated purpose (query parameter 'purpose').", errors=[{"field": "purpose"}])
        with self.deps.records.read_only() as uow:
            loc = self.locate(uow, principal, incident_id)
            extras = self.deps.bus.gather(uow, IncidentViewed(principal=principal, incident=loc.doc))
        self.deps.audit.record_read(principal, read_entries(principal, loc, purpose, "incident.read"))
        return present_located(loc, extras)

    def locate(self, uow: UnitOfWork, principal: Principal, incident_id: str) -> Located:
        """`locate` with this capability's directory (see the module function)."""
        return locate(uow, self.deps.directory, principal, incident_id)
