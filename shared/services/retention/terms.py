"""The retention terms of new evidence, asked by the evidence locker at upload."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from shared.domain.evidence import EvidenceKind
from shared.domain.retention import RecordType, add_months
from shared.domain.timestamps import from_iso
from shared.ports import UnitOfWork
from shared.services.retention.deps import RetentionDeps
from shared.services.retention.index import is_held
from shared.services.retention.schedules import schedule_for


class EvidenceTerms:
    def __init__(self, deps: RetentionDeps):
        self.deps = deps

    def evidence_terms(
        self, uow: UnitOfWork, org: str, incident: dict[str, Any], received_at: datetime, kind: str | None = None
    ) -> tuple[datetime, bool]:
        """How long new evidence of `incident` stays immutable, and whether it starts held.

        Protection runs on the incident's own clock (from when it was first reported, a time
        the server sets and no edit moves, for the
        evidence period of the organisation's schedule), so it ends no later than the
        incident falls due and the sweep can remove the files with it. A suspect image may
        become a person-of-interest image, due the POI period after its offender's last
        incident (never earlier than after this one), so its protection ends by then. Never
        less than a day past receipt: a store cannot set an immutability period in the past.
        """
        all_months = schedule_for(self.deps, uow, org).months
        months = all_months[RecordType.EVIDENCE]
        if kind == EvidenceKind.SUSPECT_IMAGE.value:
            months = min(months, all_months[RecordType.POI_IMAGE])
        until = add_months(from_iso(incident["reported_at"]), months)
        return max(until, received_at + timedelta(days=1)), is_held(uow, org, incident["id"])
