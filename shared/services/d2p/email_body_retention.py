"""The D2P email-body lane: the body of each dispatched email goes once its
acknowledgement is the D2P email-body period old.

The dispatch keeps its subject, recipient, Message-ID and states (no personal data), so
KPIs and the delivery record survive. Found through (email_body_kept, acknowledged_at),
so the cost follows what is due; a held incident keeps its body.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shared.domain.retention import RecordType
from shared.domain.timestamps import to_iso
from shared.ports import UnitOfWork, Where
from shared.records import DISPATCHES
from shared.services.repository import body, etag
from shared.services.retention.index import is_held
from shared.services.retention.lanes import Batch, Lane, LaneRecords, LaneRun


class EmailBodyLane(Lane):
    record_type = RecordType.D2P_EMAIL_BODY
    counts = ("email_bodies_deleted",)
    pages_on = True  # held incidents' bodies stay due
    records = LaneRecords(DISPATCHES.name, "acknowledged_at", (Where("email_body_kept", "eq", True),))

    def apply(self, uow: UnitOfWork, run: LaneRun, items: Sequence[dict[str, Any]]) -> Batch:
        purged = []
        for dispatch in items:
            if is_held(uow, run.org, dispatch["incident_id"]):
                continue
            kept = body(dispatch)
            email = dict(kept.get("email") or {})
            email.pop("text", None)
            kept.update(
                email=email,
                email_body_kept=False,
                email_body_deleted_at=to_iso(run.as_of),
                email_body_rule=run.rule,
                email_body_schedule_version=run.schedule.version,
            )
            uow.replace(DISPATCHES.name, run.org, kept, if_match=etag(dispatch))
            purged.append(dispatch["id"])
        run.erased(uow, operation="retention.d2p_email_body", entity="dispatch", subjects=purged, count="email_bodies_deleted")
        return Batch(handled=len(purged))
