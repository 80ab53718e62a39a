"""Settling: the sweep that keeps records and write-once objects in step.

An item's record is written (pending) before its bytes are committed and marked stored
after. A failure between those steps leaves either a pending record whose bytes never
landed (removed here) or one whose bytes did (re-hashed and, when they match, finished
here as the upload would have finished it). An object that no record points at (the
record was removed while a commit that reported failure had in fact succeeded) is
deleted when its protection allows, and otherwise raised as an integrity alert for a
person to resolve.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.domain.errors import Conflict, NotFound
from shared.domain.evidence import EvidenceItem
from shared.domain.tenancy import Principal
from shared.domain.timestamps import to_iso
from shared.ports import JobReport, Where
from shared.records import EVIDENCE, EVIDENCE_ALERTS
from shared.services.evidence import receiving
from shared.services.evidence.deps import EvidenceDeps
from shared.services.evidence.lookup import owner_of
from shared.services.repository import load

log = logging.getLogger("vigil.evidence")

# A pending record younger than this may belong to an upload still committing its bytes
# (a commit takes seconds); the sweep leaves it alone.
PENDING_GRACE = timedelta(minutes=15)
# How far back the sweep looks for objects without a record. Such an object can only be
# made by a commit in flight, so the sweep (every hour) need only look at recent ones.
ORPHAN_LOOKBACK = timedelta(days=2)
SETTLE_BATCH = 200
SETTLER = "evidence-settle"


@dataclass(frozen=True)
class Settled:
    """What settling one pending item did: stored, removed, waiting or mismatched."""

    outcome: str
    item: EvidenceItem | None


class Settling:
    def __init__(self, deps: EvidenceDeps):
        self.deps = deps

    def settle(self, item: EvidenceItem, as_of: datetime, principal: Principal | None = None) -> Settled:
        """Finish or remove one pending item: its bytes are stored and match, so it is
        marked stored; or they never landed and it is past `PENDING_GRACE`, so the record
        goes; or it is too young to judge (`waiting`); or the bytes differ (`mismatched`,
        an alert is raised and the record stays pending)."""
        deps = self.deps
        if not item.pending:
            return Settled("stored", item)
        size = deps.blobs.size(item.id)
        young = item.pending_since is not None and item.pending_since > as_of - PENDING_GRACE
        if size is None:
            if young:
                return Settled("waiting", None)
            receiving.forget_pending(deps, item)
            log.info("pending evidence record removed: its bytes never landed", extra={"evidence_id": item.id})
            return Settled("removed", None)
        hasher = hashlib.sha256()
        found = 0
        try:
            for chunk in deps.blobs.open(item.id):
                hasher.update(chunk)
                found += len(chunk)
        except NotFound:
            return Settled("waiting", None)
        if hasher.hexdigest() != item.sha256 or found != item.size:
            self._alert(item, f"pending-{item.id}", as_of, reason="stored bytes differ from the pending record")
            return Settled("mismatched", None)
        done = receiving.complete(
            deps,
            principal,
            item,
            received_at=item.created_at,
            received_details={"via": "settled after an interrupted upload", "settled_by": principal.user_id if principal else SETTLER},
            system_actor=SETTLER,
        )
        return Settled("stored", done)

    def sweep(self, as_of: datetime) -> JobReport:
        """Settle every pending record older than `PENDING_GRACE`, then deal with recent
        objects that no record points at."""
        deps = self.deps
        report = JobReport(job="evidence-settle", as_of=as_of)
        counts = {"stored": 0, "removed": 0, "mismatched": 0, "waiting": 0, "orphans_removed": 0, "orphans_protected": 0}
        cutoff = as_of - PENDING_GRACE
        seen: set[str] = set()
        while True:
            with deps.records.read_only() as uow:
                due = uow.query(
                    EVIDENCE.name, None, [Where("pending_since", "le", to_iso(cutoff))], order_by="pending_since", limit=SETTLE_BATCH
                ).items
            fresh = [load(EvidenceItem, d).record for d in due if d["id"] not in seen]
            for item in fresh:
                seen.add(item.id)
                counts[self.settle(item, as_of).outcome] += 1
            # Mismatched items stay pending: stop once a batch brings nothing new.
            if len(due) < SETTLE_BATCH or not fresh:
                break
        for key in deps.blobs.objects(cutoff - ORPHAN_LOOKBACK, cutoff):
            owner = owner_of(key)
            with deps.records.read_only() as uow:
                known = owner is not None and uow.get(EVIDENCE.name, owner, key) is not None
            if known:
                continue
            try:
                deps.blobs.delete(key)
                counts["orphans_removed"] += 1
                log.warning("evidence object without a record deleted", extra={"evidence_id": key})
            except Conflict:
                counts["orphans_protected"] += 1
                if owner is not None:
                    self._alert(None, f"orphan-{key}", as_of, reason="stored object has no record", evidence_id=key, owner=owner)
        report.counts.update(counts)
        return report

    def _alert(
        self,
        item: EvidenceItem | None,
        alert_id: str,
        as_of: datetime,
        *,
        reason: str,
        evidence_id: str | None = None,
        owner: str | None = None,
    ) -> None:
        """One open integrity alert per problem, however many sweeps see it."""
        owner = owner or (item.organisation_id if item else None)
        assert owner is not None
        with self.deps.records.unit_of_work() as uow:
            if uow.get(EVIDENCE_ALERTS.name, owner, alert_id) is not None:
                return
            uow.insert(
                EVIDENCE_ALERTS.name,
                owner,
                {
                    "id": alert_id,
                    "evidence_id": item.id if item else evidence_id,
                    "incident_id": item.incident_id if item else None,
                    "raised_at": to_iso(as_of),
                    "status": "open",
                    "reason": reason,
                    "expected_sha256": item.sha256 if item else None,
                    "expected_size": item.size if item else None,
                },
            )
        log.warning("evidence settling alert", extra={"evidence_id": item.id if item else evidence_id, "reason": reason})
