"""The court package: one zip with the court documents (case summary, Impact Statement for
Business, MG11 witness statements, as PDF), every file under its exhibit label, each
item's custody log, a manifest of sizes and hashes, and a standalone `verify.py` with its
README so anyone can check it with nothing but Python. Streamed as it is built; the
manifest's SHA-256 goes into every item's custody as an `exported` event."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from shared.domain.court import (
    ROLE_WORDS,
    CaseFacts,
    CourtDocument,
    Exhibit,
    case_summary,
    impact_statement,
    local_words,
    mg11,
    mg11_statements,
    zone_of,
)
from shared.domain.custody import CustodyEvent, public_custody
from shared.domain.errors import IntegrityFailure
from shared.domain.evidence import (
    CHUNK_INDEX_NAME,
    MANIFEST_NAME,
    PACKAGE_CHUNK_BYTES,
    PACKAGE_FORMAT,
    ChunkHasher,
    EvidenceItem,
    chunk_digests,
    exhibit_order,
    label_path,
    manifest_bytes,
    safe_filename,
)
from shared.domain.incidents import view_for_partner
from shared.domain.tenancy import Principal
from shared.domain.timestamps import to_iso
from shared.ports import ArchiveMember, Where, iterate_all
from shared.records import DISPATCHES, OUTCOMES
from shared.services.evidence import custody, integrity
from shared.services.evidence.deps import EvidenceDeps
from shared.services.evidence.exhibits import label_unlabelled
from shared.services.evidence.lookup import audit_access, items_of_incident, locate_incident, need_purpose
from shared.services.incidents import Located
from shared.services.repository import body

SUMMARY_NAME = "case-summary.pdf"
IMPACT_NAME = "impact-statement-for-business.pdf"
KIT = Path(__file__).resolve().parents[2] / "court_package"
KIT_FILES = ("verify.py", "README.txt")


@dataclass(frozen=True)
class Package:
    """A court package ready to stream: its file name, the manifest's SHA-256 and the zip's bytes."""

    filename: str
    manifest_sha256: str
    body: Iterator[bytes]


@dataclass(frozen=True)
class _Gathered:
    loc: Located
    incident: dict[str, Any]
    items: list[EvidenceItem]
    chains: dict[str, list[dict[str, Any]]]
    facts: CaseFacts


class Packages:
    def __init__(self, deps: EvidenceDeps):
        self.deps = deps

    def build(self, principal: Principal, incident_id: str, purpose: str | None) -> Package:
        """A zip for court: the court documents as PDF, every file under its exhibit label,
        custody logs, the manifest of hashes, and verify.py with its README. The manifest's
        SHA-256 is recorded as an `exported` custody event on each item."""
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
        got = self._gather(principal, incident_id)
        loc, items, chains = got.loc, got.items, got.chains
        # Rendered outside any unit of work: laying out PDFs takes long enough that no
        # write anywhere else should wait for it.
        generated_by = f"{_role_words(principal)} of {got.facts.org_names.get(principal.organisation_id, principal.organisation_id)}"
        documents = self._documents(got.facts, now, generated_by)
        members: list[ArchiveMember] = []
        files: list[dict[str, Any]] = []

        def small(path: str, data: bytes, kind: str, **extra: Any) -> None:
            members.append(ArchiveMember(path, data=data))
            files.append(
                {
                    "path": path,
                    "size": len(data),
                    "sha256": hashlib.sha256(data).hexdigest(),
                    "kind": kind,
                    "chunks": chunk_digests(data),
                    **extra,
                }
            )

        for name in KIT_FILES:
            small(name, (KIT / name).read_bytes(), "verifier")
        for path, pdf, kind in documents:
            small(path, pdf, kind)
        evidence_chunks: dict[str, list[str]] = {}
        for item, exhibit in zip(items, got.facts.exhibits, strict=True):
            members.append(
                ArchiveMember(exhibit.path, chunks=self._opener(principal, item, purpose, exhibit.path, evidence_chunks), compress=False)
            )  # media is compressed already
            files.append(
                {
                    "path": exhibit.path,
                    "evidence_id": item.id,
                    "exhibit_label": item.exhibit_label,
                    "size": item.size,
                    "sha256": item.sha256,
                    "kind": item.kind.value,
                    "content_type": item.content_type,
                    "derived_from": item.derived_from,
                }
            )
            log = json.dumps(
                {"evidence_id": item.id, "exhibit_label": item.exhibit_label, "events": chains[item.id]}, indent=2, sort_keys=True
            ).encode()
            small(
                f"custody/{label_path(item.exhibit_label or item.id)}.json",
                log,
                "custody-log",
                evidence_id=item.id,
                exhibit_label=item.exhibit_label,
            )
        manifest = {
            "format": PACKAGE_FORMAT,
            "incident": {"id": incident_id, "reference": loc.doc.get("reference"), "organisation_id": loc.owner_org},
            "generated_at": to_iso(now),
            "generated_by": {"user": principal.user_id, "organisation": principal.organisation_id, "role": principal.primary_role},
            "purpose": purpose,
            "chunk_bytes": PACKAGE_CHUNK_BYTES,
            # Each evidence file's per-MiB hashes are only known once it has streamed past,
            # so they follow in their own file; the whole-file SHA-256 above decides intact.
            "chunk_index": CHUNK_INDEX_NAME,
            "files": files,
            "custody_heads": {
                i.id: ({"seq": chains[i.id][-1]["seq"], "hash": chains[i.id][-1]["hash"]} if chains[i.id] else None) for i in items
            },
        }
        mbytes = manifest_bytes(manifest)
        msha = hashlib.sha256(mbytes).hexdigest()
        with deps.records.unit_of_work() as uow:
            loc = locate_incident(deps, uow, principal, incident_id)
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
        members.append(
            ArchiveMember(
                CHUNK_INDEX_NAME,
                chunks=lambda: [
                    json.dumps({"chunk_bytes": PACKAGE_CHUNK_BYTES, "files": evidence_chunks}, indent=1, sort_keys=True).encode()
                ],
            )
        )
        reference = safe_filename(loc.doc.get("reference") or incident_id)
        return Package(
            filename=f"{reference}-evidence-package.zip", manifest_sha256=msha, body=deps.archives.stream(members, modified_at=now)
        )

    def _gather(self, principal: Principal, incident_id: str) -> _Gathered:
        """What the package holds, read in one unit: items (labelling any received before
        labels existed), their custody, and the names and references the documents show."""
        deps = self.deps
        with deps.records.unit_of_work() as uow:
            loc = locate_incident(deps, uow, principal, incident_id)
            items = items_of_incident(uow, loc.owner_org, incident_id)
            items = sorted(label_unlabelled(uow, loc.owner_org, body(loc.doc), items), key=exhibit_order)
            chains = {i.id: [public_custody(e) for e in custody.events(uow, loc.owner_org, i.id)] for i in items}
            incident = body(loc.doc)
            if loc.share_level is not None:
                incident = view_for_partner(incident, loc.share_level, dispatched_to_viewer=loc.dispatched_to_viewer)
            where = [Where("incident_id", "eq", incident_id)]
            dispatches = list(iterate_all(uow, DISPATCHES.name, [loc.owner_org], where))
            outcomes = sorted(iterate_all(uow, OUTCOMES.name, [loc.owner_org], where), key=lambda o: o.get("recorded_at") or "")
        if principal.is_police:
            # A force sees its own dealings with the case, not another force's.
            dispatches = [d for d in dispatches if d.get("force_id") == principal.organisation_id]
            outcomes = [o for o in outcomes if o.get("force_id") == principal.organisation_id]
        return _Gathered(loc, incident, items, chains, self._facts(incident, items, chains, dispatches, outcomes))

    def _facts(
        self,
        incident: dict[str, Any],
        items: list[EvidenceItem],
        chains: dict[str, list[dict[str, Any]]],
        dispatches: list[dict[str, Any]],
        outcomes: list[dict[str, Any]],
    ) -> CaseFacts:
        directory = self.deps.directory
        store = directory.store(incident.get("store_id") or "")
        org_ids = {incident.get("organisation_id"), incident.get("force_id")}
        org_ids |= {e.get("actor_org") for chain in chains.values() for e in chain}
        org_ids |= {d.get("force_id") for d in dispatches}
        org_names = {}
        for org_id in sorted(o for o in org_ids if o):
            org = directory.organisation(org_id)
            org_names[org_id] = org.name if org else org_id
        labels = {i.id: i.exhibit_label for i in items}
        exhibits = tuple(
            Exhibit(
                label=i.exhibit_label or i.id,
                kind=i.kind.value,
                filename=i.filename,
                size=i.size,
                sha256=i.sha256,
                received_at=to_iso(i.created_at),
                path=f"evidence/{label_path(i.exhibit_label or i.id)} {safe_filename(i.filename)}",
                derived_from_label=labels.get(i.derived_from or "") or ("an item not in this package" if i.derived_from else None),
                custody=tuple(chains[i.id]),
            )
            for i in items
        )
        return CaseFacts(
            incident=incident,
            retailer_name=org_names.get(incident.get("organisation_id") or "", ""),
            store=store.model_dump() if store else {"name": incident.get("store_id")},
            force_name=org_names.get(incident.get("force_id") or "", ""),
            zone=zone_of(self.deps.region),
            crime_references=tuple(sorted({d["crime_reference"] for d in dispatches if d.get("crime_reference")})),
            exhibits=exhibits,
            dispatches=tuple(dispatches),
            outcomes=tuple(outcomes),
            org_names=org_names,
        )

    def _documents(self, facts: CaseFacts, now: datetime, generated_by: str) -> list[tuple[str, bytes, str]]:
        """(path, PDF, kind) of each court document: the summary, the Impact Statement for
        Business, and an MG11 for each signed statement whose witness is named in this copy."""

        def pdf(doc: CourtDocument) -> bytes:
            return self.deps.documents.render(doc, created_at=now)

        out = [
            (
                SUMMARY_NAME,
                pdf(case_summary(facts, generated_at=local_words(to_iso(now), facts.zone), generated_by=generated_by)),
                "case-summary",
            ),
            (IMPACT_NAME, pdf(impact_statement(facts)), "impact-statement"),
        ]
        for n, witness in enumerate(mg11_statements(facts.incident), start=1):
            name = safe_filename(str(witness["name"]), fallback="witness")
            out.append((f"statements/MG11-{n:02d} {name}.pdf", pdf(mg11(witness, facts)), "mg11"))
        return out

    def _opener(
        self, principal: Principal, item: EvidenceItem, purpose: str | None, path: str, chunk_index: dict[str, list[str]]
    ) -> Callable[[], Iterable[bytes]]:
        # Each file is re-hashed as it goes into the zip; one that went missing or changed
        # since the check above stops the stream, so the archive never gets its central
        # directory and cannot be opened as if complete. Its per-MiB hashes are taken on
        # the way for the chunk index that closes the package.
        def chunks() -> Iterator[bytes]:
            hasher = ChunkHasher()
            for chunk in integrity.verified_chunks(self.deps, principal, item, during="package", purpose=purpose):
                hasher.update(chunk)
                yield chunk
            chunk_index[path] = hasher.finish()

        return chunks

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


def _role_words(principal: Principal) -> str:
    return ROLE_WORDS.get(principal.primary_role, "user")
