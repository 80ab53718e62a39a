"""Integrity: re-hashing stored bytes on request and in the daily rolling sample, the
alerts a mismatch raises, and the sweep of abandoned upload staging."""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.domain.custody import CustodyEvent
from shared.domain.errors import IntegrityFailure, NotFound
from shared.domain.evidence import EvidenceItem
from shared.domain.tenancy import Principal
from shared.domain.timestamps import to_iso
from shared.ports import JobReport, UnitOfWork, Where
from shared.records import EVIDENCE, EVIDENCE_ALERTS, EVIDENCE_UPLOADS
from shared.services.evidence import custody
from shared.services.evidence.deps import EvidenceDeps
from shared.services.evidence.lookup import audit_access, locate_item, need_purpose
from shared.services.repository import body, dump, load, tenant

log = logging.getLogger("vigil.evidence")

SWEEP_BATCH = 200


@dataclass(frozen=True)
class Verification:
    """What re-reading an item's bytes found, against what was recorded at ingest."""

    evidence_id: str
    result: str  # match | mismatch
    expected_sha256: str
    expected_size: int
    found_sha256: str | None
    found_size: int | None
    missing: bool
    verified_at: datetime

    @property
    def matched(self) -> bool:
        return self.result == "match"


def raise_alert(
    uow: UnitOfWork, item: EvidenceItem, result: Verification, as_of: datetime, during: str | None = None, alert_id: str | None = None
) -> None:
    """An open integrity alert for the item's owner: what was recorded against what was
    found. With `alert_id`, one stays open however often the failure is seen."""
    if alert_id is not None:
        current = uow.get(EVIDENCE_ALERTS.name, item.organisation_id, alert_id)
        if current is not None and current.get("status") == "open":
            return
    uow.upsert(
        EVIDENCE_ALERTS.name,
        item.organisation_id,
        {
            "id": alert_id or uuid.uuid4().hex,
            "evidence_id": item.id,
            "incident_id": item.incident_id,
            "raised_at": to_iso(as_of),
            "status": "open",
            "expected_sha256": item.sha256,
            "expected_size": item.size,
            "found_sha256": result.found_sha256,
            "found_size": result.found_size,
            "missing": result.missing,
            "during": during,
        },
    )


def serving_failed(
    deps: EvidenceDeps,
    principal: Principal | None,
    item: EvidenceItem,
    *,
    found_sha256: str | None,
    found_size: int | None,
    during: str,
    purpose: str | None = None,
) -> IntegrityFailure:
    """Record that an item's stored bytes were missing or altered when someone asked for
    them (a `verified` custody event with result mismatch, the item marked, an alert) and
    return the problem to answer with."""
    now = deps.clock.now()
    missing = found_size is None
    result = Verification(
        evidence_id=item.id,
        result="mismatch",
        expected_sha256=item.sha256,
        expected_size=item.size,
        found_sha256=found_sha256,
        found_size=found_size,
        missing=missing,
        verified_at=now,
    )
    with deps.records.unit_of_work() as uow:
        Integrity(deps)._record(uow, principal, item, result, purpose, actor="evidence-serve")
        raise_alert(uow, item, result, now, during, alert_id=f"served-{item.id}")
    log.warning("evidence integrity failure while serving", extra={"evidence_id": item.id, "missing": missing, "during": during})
    what = "is missing from storage" if missing else "no longer matches the SHA-256 recorded when it was received"
    return IntegrityFailure(
        f"Evidence {item.id} {what}; it is not served as if intact. The failure is recorded in its custody and an integrity alert was raised.",
        evidence_id=item.id,
        missing=missing,
    )


def present(deps: EvidenceDeps, item: EvidenceItem) -> bool:
    """Whether the item's object exists with its recorded size (one metadata read)."""
    return deps.blobs.size(item.id) == item.size


def verified_chunks(
    deps: EvidenceDeps, principal: Principal | None, item: EvidenceItem, *, during: str, purpose: str | None = None
) -> Iterator[bytes]:
    """The item's whole stored bytes, re-hashed as they pass. The last chunk is held back
    until size and SHA-256 match the record; on a mismatch the failure is recorded and
    IntegrityFailure raised instead, so the reader's copy ends short of its declared
    length (a download) or without its end (a package) and can never pass as intact."""
    hasher = hashlib.sha256()
    size = 0
    held: bytes | None = None
    try:
        for chunk in deps.blobs.open(item.id):
            if not chunk:
                continue
            hasher.update(chunk)
            size += len(chunk)
            if held is not None:
                yield held
            held = chunk
    except NotFound:
        raise serving_failed(deps, principal, item, found_sha256=None, found_size=None, during=during, purpose=purpose) from None
    found = hasher.hexdigest()
    if size != item.size or found != item.sha256:
        raise serving_failed(deps, principal, item, found_sha256=found, found_size=size, during=during, purpose=purpose)
    if held is not None:
        yield held


class Integrity:
    def __init__(self, deps: EvidenceDeps):
        self.deps = deps

    def verify(self, principal: Principal, evidence_id: str, purpose: str | None) -> Verification:
        """Re-read the stored bytes, recompute SHA-256 and size, record the result in custody."""
        need_purpose(principal, purpose)
        with self.deps.records.read_only() as uow:
            stored, loc = locate_item(self.deps, uow, principal, evidence_id)
        result = self._rehash(stored.record)
        with self.deps.records.unit_of_work() as uow:
            self._record(uow, principal, stored.record, result, purpose)
            audit_access(self.deps, uow, principal, loc.owner_org, "evidence.verify", f"evidence/{evidence_id}", purpose)
        return result

    def _rehash(self, item: EvidenceItem) -> Verification:
        hasher = hashlib.sha256()
        size = 0
        try:
            for chunk in self.deps.blobs.open(item.id):
                hasher.update(chunk)
                size += len(chunk)
            found, missing = hasher.hexdigest(), False
        except NotFound:
            found, missing = None, True
        match = not missing and found == item.sha256 and size == item.size
        return Verification(
            evidence_id=item.id,
            result="match" if match else "mismatch",
            expected_sha256=item.sha256,
            expected_size=item.size,
            found_sha256=found,
            found_size=None if missing else size,
            missing=missing,
            verified_at=self.deps.clock.now(),
        )

    def _record(
        self,
        uow: UnitOfWork,
        principal: Principal | None,
        item: EvidenceItem,
        result: Verification,
        purpose: str | None,
        actor: str = "system",
    ) -> None:
        owner = item.organisation_id
        custody.record_event(
            uow,
            self.deps.chain_keys,
            owner,
            item.id,
            CustodyEvent.VERIFIED,
            principal,
            at=self.deps.clock.now(),
            purpose=purpose,
            system_actor=actor,
            details={
                "result": result.result,
                "found_sha256": result.found_sha256,
                "found_size": result.found_size,
                "missing": result.missing,
            },
        )
        current = uow.get(EVIDENCE.name, owner, item.id)
        if current is not None:
            stored = load(EvidenceItem, current)
            updated = stored.record.with_verification(result.verified_at, result.result)
            uow.replace(EVIDENCE.name, owner, dump(updated), if_match=stored.etag)

    def verify_sample(self, as_of: datetime) -> JobReport:
        """The daily rolling check: the least recently verified items, each re-hashed; a
        mismatch raises an alert record (and is logged without personal data)."""
        deps = self.deps
        report = JobReport(job="evidence-verify", as_of=as_of)
        counts = {"checked": 0, "matched": 0, "mismatched": 0}
        with deps.records.read_only() as uow:
            due = uow.query(
                EVIDENCE.name,
                None,
                [Where("last_verified_at", "le", to_iso(as_of))],
                order_by="last_verified_at",
                limit=deps.limits.verify_sample_size,
            ).items
        for doc in due:
            item = load(EvidenceItem, doc).record
            result = self._rehash(item)
            counts["checked"] += 1
            with deps.records.unit_of_work() as uow:
                self._record(uow, None, item, result, None, actor="evidence-verify")
                if result.matched:
                    counts["matched"] += 1
                    continue
                counts["mismatched"] += 1
                raise_alert(uow, item, result, as_of)
            log.warning("evidence integrity mismatch", extra={"evidence_id": item.id, "missing": result.missing})
        report.counts.update(counts)
        return report

    def alerts(self, owner_org: str, *, limit: int = 100) -> list[dict[str, Any]]:
        """Open integrity alerts of an organisation, newest first."""
        with self.deps.records.read_only() as uow:
            page = uow.query(
                EVIDENCE_ALERTS.name, [owner_org], [Where("status", "eq", "open")], order_by="raised_at", descending=True, limit=limit
            )
        return [body(a) for a in page.items]

    def sweep_staging(self, as_of: datetime) -> JobReport:
        """Remove abandoned upload bytes and expired upload sessions."""
        deps = self.deps
        report = JobReport(job="staging-sweep", as_of=as_of)
        cutoff = as_of - timedelta(hours=deps.limits.session_hours)
        report.counts["staged_removed"] = deps.blobs.sweep_staging(cutoff)
        removed = 0
        while True:
            with deps.records.unit_of_work() as uow:
                due = uow.query(
                    EVIDENCE_UPLOADS.name, None, [Where("expires_at", "le", to_iso(as_of))], order_by="expires_at", limit=SWEEP_BATCH
                ).items
                for s in due:
                    removed += uow.delete(EVIDENCE_UPLOADS.name, tenant(s), s["id"])
            for s in due:
                if s.get("state") == "open":
                    deps.blobs.discard_staged(s["id"])
            if len(due) < SWEEP_BATCH:
                break
        report.counts["sessions_removed"] = removed
        return report
