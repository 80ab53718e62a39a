"""Referrals and retention: the referral lane (a referral goes once its last step is the
referral period old, leaving a tombstone; one naming an incident under a legal hold
stays), and an erased incident leaving every referral that named it (only a marker stays;
a referral left with no incident at all goes, with a tombstone)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.referrals import Referral
from shared.domain.retention import RecordType
from shared.ports import UnitOfWork, Where, iterate_all
from shared.records import REFERRALS
from shared.services.referrals.deps import ReferralDeps, units_here
from shared.services.repository import dump, load
from shared.services.retention import tombstones
from shared.services.retention.index import is_held
from shared.services.retention.lanes import LaneRecords, LaneRun, Scope, TombstonedLane


def _bury(uow: UnitOfWork, unit: str, referral_id: str, *, at: datetime, rule: str, schedule_version: str, cause: str) -> None:
    tombstones.write_once(
        uow,
        unit,
        RecordType.REFERRAL.value,
        referral_id,
        deleted_at=at,
        rule=rule,
        schedule_version=schedule_version,
        cause=cause,  # type: ignore[arg-type]
    )
    uow.delete(REFERRALS.name, unit, referral_id)


class ReferralLane(TombstonedLane):
    """Referrals live in their unit's partition: the lane runs for every organisation homed
    here (a retailer or force simply has none)."""

    record_type = RecordType.REFERRAL
    scope: Scope = "homed"
    records = LaneRecords(REFERRALS.name, "retention_basis")
    pages_on = True  # held referrals stay due
    operation, entity, count = "retention.referral", "referral", "referrals_deleted"

    def kept(self, uow: UnitOfWork, run: LaneRun, item: dict[str, Any]) -> bool:
        # A series under a court case stays whole while any of its incidents is held.
        referral = load(Referral, item).record
        return any(e.erased_at is None and is_held(uow, e.owner_org, e.incident_id) for e in referral.incidents)


def erase_incident(deps: ReferralDeps, uow: UnitOfWork, owner_org: str, incident_id: str, rule: str) -> int:
    """Take an erased incident out of every referral naming it, in the erasure's unit of
    work; returns how many referrals were deleted for having no incident left."""
    now = deps.now()
    removed = 0
    for unit in units_here(uow, deps.region):
        for doc in list(iterate_all(uow, REFERRALS.name, [unit], [Where("incident_ids", "contains", incident_id)])):
            stored = load(Referral, doc)
            referral = stored.record
            if not any(e.owner_org == owner_org and e.incident_id == incident_id for e in referral.incidents) and not any(
                w.kind == "incident" and w.ref == incident_id for w in referral.withheld
            ):
                continue
            if not referral.mark_incident_erased(incident_id, now):
                continue
            if all(e.erased_at is not None for e in referral.incidents):
                _bury(uow, unit, referral.id, at=now, rule=rule, schedule_version="erasure", cause="erasure")
                removed += 1
                operation = "referral.erased"
            else:
                uow.replace(REFERRALS.name, unit, dump(referral), if_match=stored.etag)
                operation = "referral.incident_erased"
            deps.audit.record(
                uow,
                owner_org=unit,
                principal=None,
                action=AuditAction.ERASURE,
                operation=operation,
                entity=f"referral/{referral.id}",
                fields=["incidents", "persons", "vehicles"],
                subjects=[incident_id],
                system_actor="retention",
            )
    return removed
