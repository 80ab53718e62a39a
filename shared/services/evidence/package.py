"""The court package: one zip with a case summary, every file, a manifest of hashes and
each item's custody log, streamed as it is built. The manifest's SHA-256 goes into every
item's custody as an `exported` event."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.domain.custody import CustodyEvent, public_custody
from shared.domain.errors import IntegrityFailure
from shared.domain.evidence import MANIFEST_NAME, PACKAGE_FORMAT, EvidenceItem, manifest_bytes, safe_filename
from shared.domain.incidents import view_for_partner
from shared.domain.tenancy import Principal
from shared.domain.timestamps import to_iso
from shared.ports import ArchiveMember
from shared.services.evidence import custody, integrity
from shared.services.evidence.deps import EvidenceDeps
from shared.services.evidence.lookup import audit_access, items_of_incident, locate_incident, need_purpose
from shared.services.repository import body

SUMMARY_NAME = "case-summary.html"
SUMMARY_TEMPLATE = "evidence/summary.html"


@dataclass(frozen=True)
class Package:
    """A court package ready to stream: its file name, the manifest's SHA-256 and the zip's bytes."""

    filename: str
    manifest_sha256: str
    body: Iterator[bytes]


class Packages:
    def __init__(self, deps: EvidenceDeps):
        self.deps = deps

    def build(self, principal: Principal, incident_id: str, purpose: str | None) -> Package:
        """A zip for court: case summary, every file, manifest of hashes, custody logs. The
        manifest's SHA-256 is recorded as an `exported` custody event on each item."""
        deps = self.deps
        need_purpose(principal, purpose)
        now = deps.clock.now()
        # Checked before anything is recorded or sent: a court package missing a file is
        # refused whole, never answered with a 200 that stops part way.
        with deps.records.read_only() as uow:
            loc = locate_incident(deps, uow, principal, incident_id)
            absent = [i for i in items_of_incident(uow, loc.owner_org, incident_id) if not integrity.present(deps, i)]
        if absent:
            raise self._refused(principal, absent, purpose)
        with deps.records.unit_of_work() as uow:
            loc = locate_incident(deps, uow, principal, incident_id)
            items = items_of_incident(uow, loc.owner_org, incident_id)
            chains = {i.id: [public_custody(e) for e in custody.events(uow, loc.owner_org, i.id)] for i in items}
            incident = body(loc.doc)
            if loc.share_level is not None:
                incident = view_for_partner(incident, loc.share_level, dispatched_to_viewer=loc.dispatched_to_viewer)
            members: list[ArchiveMember] = []
            files: list[dict[str, Any]] = []
            for item in items:
                path = f"evidence/{item.id}-{safe_filename(item.filename)}"
                members.append(
                    ArchiveMember(path, chunks=self._opener(principal, item, purpose), compress=False)
                )  # media is compressed already
                files.append(
                    {
                        "path": path,
                        "evidence_id": item.id,
                        "size": item.size,
                        "sha256": item.sha256,
                        "kind": item.kind.value,
                        "content_type": item.content_type,
                        "derived_from": item.derived_from,
                    }
                )
                log_bytes = json.dumps({"evidence_id": item.id, "events": chains[item.id]}, indent=2, sort_keys=True).encode()
                log_path = f"custody/{item.id}.json"
                members.append(ArchiveMember(log_path, data=log_bytes))
                files.append(
                    {
                        "path": log_path,
                        "evidence_id": item.id,
                        "size": len(log_bytes),
                        "sha256": hashlib.sha256(log_bytes).hexdigest(),
                        "kind": "custody-log",
                    }
                )
            summary = self._summary(incident, items, chains, now, principal).encode()
            members.insert(0, ArchiveMember(SUMMARY_NAME, data=summary))
            files.insert(
                0, {"path": SUMMARY_NAME, "size": len(summary), "sha256": hashlib.sha256(summary).hexdigest(), "kind": "case-summary"}
            )
            manifest = {
                "format": PACKAGE_FORMAT,
                "incident": {"id": incident_id, "reference": loc.doc.get("reference"), "organisation_id": loc.owner_org},
                "generated_at": to_iso(now),
                "generated_by": {"user": principal.user_id, "organisation": principal.organisation_id, "role": principal.primary_role},
                "purpose": purpose,
                "files": files,
                "custody_heads": {
                    i.id: ({"seq": chains[i.id][-1]["seq"], "hash": chains[i.id][-1]["hash"]} if chains[i.id] else None) for i in items
                },
            }
            mbytes = manifest_bytes(manifest)
            msha = hashlib.sha256(mbytes).hexdigest()
            for item in items:
                custody.record_event(
                    uow,
                    self.deps.chain_keys,
                    loc.owner_org,
                    item.id,
                    CustodyEvent.EXPORTED,
                    principal,
                    at=deps.clock.now(),
                    purpose=purpose,
                    details={"manifest_sha256": msha, "package": "court package", "incident_id": incident_id},
                )
            audit_access(
                deps, uow, principal, loc.owner_org, "evidence.package", f"incident/{incident_id}", purpose, subjects=[i.id for i in items]
            )
        members.append(ArchiveMember(MANIFEST_NAME, data=mbytes))
        members.append(ArchiveMember("manifest.sha256", data=f"{msha}  {MANIFEST_NAME}\n".encode(), compress=False))
        reference = safe_filename(loc.doc.get("reference") or incident_id)
        return Package(
            filename=f"{reference}-evidence-package.zip", manifest_sha256=msha, body=deps.archives.stream(members, modified_at=now)
        )

    def _opener(self, principal: Principal, item: EvidenceItem, purpose: str | None) -> Callable[[], Iterable[bytes]]:
        # Each file is re-hashed as it goes into the zip; one that went missing or changed
        # since the check above stops the stream, so the archive never gets its central
        # directory and cannot be opened as if complete.
        return lambda: integrity.verified_chunks(self.deps, principal, item, during="package", purpose=purpose)

    def _refused(self, principal: Principal, absent: list[EvidenceItem], purpose: str | None) -> IntegrityFailure:
        for item in absent:
            size = self.deps.blobs.size(item.id)
            integrity.serving_failed(self.deps, principal, item, found_sha256=None, found_size=size, during="package", purpose=purpose)
        ids = [i.id for i in absent]
        return IntegrityFailure(
            f"The package cannot be built: the stored file of {', '.join(ids)} is missing or incomplete. "
            "Each failure is recorded in the item's custody and an integrity alert was raised.",
            missing=ids,
        )

    def _summary(
        self,
        incident: dict[str, Any],
        items: list[EvidenceItem],
        chains: dict[str, list[dict[str, Any]]],
        now: datetime,
        principal: Principal,
    ) -> str:
        """The human-readable first page of the package (HTML, escaped by the template)."""
        fields = [
            ("Reference", incident.get("reference")),
            ("Incident id", incident.get("id")),
            ("Category", incident.get("category")),
            ("Occurred at", incident.get("occurred_at")),
            ("Store", incident.get("store_id")),
            ("Police force", incident.get("force_id")),
            ("Reported at", incident.get("reported_at")),
        ]
        return self.deps.templates.render(
            SUMMARY_TEMPLATE,
            title=str(incident.get("reference") or incident.get("id")),
            generated_at=to_iso(now),
            principal=principal,
            facts=[(label, str(value)) for label, value in fields if value is not None],
            narrative=str(incident.get("narrative") or ""),
            items=[item.model_dump(mode="json") for item in items],
            chains=chains,
        )
