"""The expiry job: reads past their expiry are deleted in bounded batches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.domain.audit import AuditAction
from shared.domain.timestamps import to_iso
from shared.ports import JobReport, Where
from shared.records import ANPR_READS
from shared.services.anpr.common import (
    AnprDeps,
)


@dataclass
class Expiry:
    deps: AnprDeps

    def expire(self, as_of: datetime) -> JobReport:
        """Delete reads whose `expires_at` is at or before `as_of`, in bounded batches until
        none are due. Found through the expiry index, so the cost follows what is due. Hits
        are separate records and stay."""
        report = JobReport(job="anpr-expiry", as_of=as_of)
        cutoff = to_iso(as_of)
        batch = self.deps.settings.anpr_expiry_batch
        per_tenant: dict[str, int] = {}
        batches = 0
        while True:
            # Key-only: the store deletes by the expiry index without loading the reads.
            with self.deps.records.unit_of_work() as uow:
                gone = uow.delete_where(ANPR_READS.name, [Where("expires_at", "le", cutoff)], order_by="expires_at", limit=batch)
            if gone:
                batches += 1
                for tenant, _ in gone:
                    per_tenant[tenant] = per_tenant.get(tenant, 0) + 1
            if len(gone) < batch:
                break
        if per_tenant:
            with self.deps.records.unit_of_work() as uow:
                for tenant, n in sorted(per_tenant.items()):
                    self.deps.audit.record(
                        uow,
                        owner_org=tenant,
                        principal=None,
                        action=AuditAction.ERASURE,
                        operation="anpr.expiry",
                        entity="anpr_read",
                        purpose=f"retention: {n} reads past their expiry",
                        system_actor="anpr-expiry",
                    )
        report.counts = {"reads_deleted": sum(per_tenant.values()), "batches": batches, "organisations": len(per_tenant)}
        return report
