"""The reminder timer: one email to the store a day before an open request's deadline,
and requests past their deadline marked overdue. Safe to run any number of times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.domain.errors import PreconditionFailed
from shared.domain.footage import REMINDER_BEFORE, FootageRequest
from shared.domain.timestamps import to_iso
from shared.ports import JobReport, Where
from shared.records import FOOTAGE_REQUESTS
from shared.services.footage.deps import FootageDeps, owe_mail, replace
from shared.services.repository import load, tenant


@dataclass
class Reminders:
    deps: FootageDeps

    def run(self, as_of: datetime, *, batch: int = 200) -> JobReport:
        """Remind each open request due within a day (once: the request records it, in the
        same unit as the email it owes), and mark those past their deadline overdue."""
        deps = self.deps
        report = JobReport(job="footage-reminders", as_of=as_of, counts={"reminded": 0, "overdue": 0})
        with deps.records.read_only() as uow:
            # Closed requests have no `due_at`: only open ones come back.
            docs = uow.query(
                FOOTAGE_REQUESTS.name, None, [Where("due_at", "le", to_iso(as_of + REMINDER_BEFORE))], order_by="due_at", limit=batch
            ).items
        owed: list[tuple[str, str]] = []
        for doc in docs:
            try:
                with deps.records.unit_of_work() as uow:
                    fresh = uow.get(FOOTAGE_REQUESTS.name, tenant(doc), doc["id"])
                    if fresh is None:
                        continue
                    stored = load(FootageRequest, fresh)
                    request = stored.record
                    changed = False
                    if request.reminder_due(as_of):
                        request.reminder_sent_at = as_of
                        owed.append((request.organisation_id, owe_mail(deps, uow, request, "reminder")))
                        report.counts["reminded"] += 1
                        changed = True
                    if request.mark_overdue(as_of):
                        report.counts["overdue"] += 1
                        changed = True
                    if changed:
                        replace(uow, stored)
            except PreconditionFailed:
                continue  # answered meanwhile; the next run sees it as it now is
        for org, message_id in owed:
            deps.outbox.relay_now(org, [message_id])
        return report
