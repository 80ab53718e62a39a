"""A person contests a listing through a subject request: each listing that matches the
person is suspended (`contested`, so no longer in force) until its organisation reviews
it by the deadline (`POST /offenders/{id}/review`), which records the outcome."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from shared.domain.events import ListingContested
from shared.domain.offender_listing import contest_due
from shared.domain.offenders import ListingStatus, PersonOfInterest
from shared.domain.subject_requests import dob_compatible, name_key
from shared.ports import UnitOfWork, Where, iterate_all
from shared.records import OFFENDERS
from shared.services.offenders.deps import OffenderDeps, write
from shared.services.repository import load


@dataclass
class Contest:
    deps: OffenderDeps

    def suspend(self, uow: UnitOfWork, event: ListingContested) -> int:
        """Suspend every listed profile of the organisations asked whose folded name matches
        and whose date of birth does not rule the person out; returns how many. Each is a
        new version, audited in its organisation's trail, due for review in 30 days."""
        key = name_key(event.name)
        due = contest_due(self.deps.now())
        asked = date.fromisoformat(event.date_of_birth) if event.date_of_birth else None
        suspended = 0
        for org in event.organisations:
            for doc in list(
                iterate_all(uow, OFFENDERS.name, [org], [Where("name_key", "eq", key), Where("status", "eq", ListingStatus.LISTED.value)])
            ):
                stored = load(PersonOfInterest, doc)
                current = stored.record
                recorded = current.date_of_birth.isoformat() if current.date_of_birth else None
                if not dob_compatible(recorded, asked):
                    continue
                profile = current.model_copy(
                    update={
                        "status": ListingStatus.CONTESTED,
                        "contest_request_id": event.request_id,
                        "contest_due_at": due,
                        "version": current.version + 1,
                    }
                )
                write(
                    self.deps,
                    uow,
                    event.principal,
                    profile,
                    etag=stored.etag,
                    note=f"contested by subject request {event.request_id}; review due {due.date().isoformat()}",
                    operation="offender.contest",
                    fields=["status", "contest_request_id", "contest_due_at"],
                )
                suspended += 1
        return suspended
