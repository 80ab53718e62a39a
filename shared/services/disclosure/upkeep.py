"""Shares after their time: built packages deleted once a share expires or is revoked,
and every share of an erased incident erased with it."""

from __future__ import annotations

import logging
from datetime import datetime

from shared.domain.disclosure import ShareStatus, status_at
from shared.domain.errors import Conflict, PreconditionFailed
from shared.domain.timestamps import to_iso
from shared.ports import JobReport, UnitOfWork, Where, iterate_all
from shared.records import PACKAGE_SHARES
from shared.services.disclosure.deps import DisclosureDeps
from shared.services.repository import body, etag

log = logging.getLogger("vigil.disclosure")

SWEEP_BATCH = 200


def drop_package(deps: DisclosureDeps, owner_org: str, share_id: str) -> bool:
    """Delete a share's built package if its time is up, and mark the share as holding
    none. False when it stays for now (the next sweep tries again)."""
    with deps.records.read_only() as uow:
        doc = uow.get(PACKAGE_SHARES.name, owner_org, share_id)
    if doc is None or not doc.get("package_until"):
        return False
    try:
        deps.packages.delete(doc["package_key"])
    except Conflict:
        return False
    try:
        with deps.records.unit_of_work() as uow:
            current = uow.get(PACKAGE_SHARES.name, owner_org, share_id)
            if current is None:
                return True
            tag, fresh = etag(current), body(current)
            fresh["package_until"] = None
            fresh["package_deleted_at"] = to_iso(deps.clock.now())
            if status_at(fresh, deps.clock.now()) is ShareStatus.EXPIRED:
                fresh["status"] = ShareStatus.EXPIRED.value
            uow.replace(PACKAGE_SHARES.name, owner_org, fresh, if_match=tag)
    except PreconditionFailed:
        return False  # a recipient's access landed meanwhile: the next sweep finishes
    return True


class ShareUpkeep:
    def __init__(self, deps: DisclosureDeps):
        self.deps = deps

    def sweep(self, as_of: datetime) -> JobReport:
        """Delete the built package of every share expired or revoked by `as_of`."""
        report = JobReport(job="package-share-sweep", as_of=as_of)
        removed = waiting = 0
        with self.deps.records.read_only() as uow:
            due = uow.query(
                PACKAGE_SHARES.name, None, [Where("package_until", "le", to_iso(as_of))], order_by="package_until", limit=SWEEP_BATCH
            ).items
        for doc in due:
            if drop_package(self.deps, doc["_tenant"], doc["id"]):
                removed += 1
            else:
                waiting += 1
        report.counts.update({"packages_removed": removed, "waiting": waiting})
        return report

    def erase_for_incident(self, uow: UnitOfWork, owner_org: str, incident_id: str) -> int:
        """An erased incident's shares, their access logs and built packages go with it
        (the audit entries stay for the audit trail's own period)."""
        docs = list(iterate_all(uow, PACKAGE_SHARES.name, [owner_org], [Where("incident_id", "eq", incident_id)], limit=100))
        for doc in docs:
            try:
                self.deps.packages.delete(doc["package_key"])
            except Conflict:
                log.warning("shared package not deleted with its incident", extra={"share_id": doc["id"]})
            uow.delete(PACKAGE_SHARES.name, owner_org, doc["id"])
        return len(docs)
