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
from pathlib import Path
from typing import Any

from shared.domain.court_package import (
    CHUNK_INDEX_NAME,
    MANIFEST_NAME,
    PACKAGE_CHUNK_BYTES,
    PACKAGE_FORMAT,
    ChunkHasher,
    chunk_digests,
    label_path,
    manifest_bytes,
)
from shared.domain.custody import CustodyEvent
from shared.domain.errors import IntegrityFailure
from shared.domain.evidence import EvidenceItem
from shared.domain.http_fields import safe_filename
from shared.domain.tenancy import Principal
from shared.domain.timestamps import to_iso
from shared.evidence_ports import ArchiveMember
from shared.services.evidence import custody, integrity
from shared.services.evidence.deps import EvidenceDeps
from shared.services.evidence.documents import gather, package_documents, who_asked
from shared.services.evidence.lookup import audit_access, items_of_incident, locate_incident, need_purpose

KIT = Path(__file__).resolve().parents[2] / "court_package"
KIT_FILES = ("verify.py", "README.txt")


@dataclass(frozen=True)
class Package:
    """A court package ready to stream: its file name, the manifest's SHA-256, the zip's
    bytes and the items it holds."""

    filename: str
    manifest_sha256: str
    body: Iterator[bytes]
    evidence_ids: tuple[str, ...] = ()


class Packages:
    def __init__(self, deps: EvidenceDeps):
        self.deps = deps

    def build(self, principal: Principal, incident_id: str, purpose: str | None) -> Package:
        """A zip for court: the court documents as PDF, every file under its exhibit label,
        custody logs, the manifest of hashes, and verify.py with its README. The manifest's
        SHA-256 is recorded as an `exported` custody event on each item."""
        pkg = self.assemble(principal, incident_id, purpose)
        self.record_export(principal, incident_id, purpose, list(pkg.evidence_ids), pkg.manifest_sha256)
        return pkg

    def assemble(self, principal: Principal, incident_id: str, purpose: str | None) -> Package:
        """The package `build` answers, recording nothing: for building it once into the
        package store, where handing it out is what gets recorded (`record_export`)."""
        deps = self.deps
        now = deps.clock.now()
        self.check_present(principal, incident_id, purpose)
        got = gather(deps, principal, incident_id)
        loc, items, chains = got.loc, got.items, got.chains
        # Rendered outside any unit of work: laying out PDFs takes long enough that no
        # write anywhere else should wait for it.
        generated_by = who_asked(principal, got.facts)
        documents = package_documents(deps, got.facts, now, generated_by)
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
            filename=f"{reference}-evidence-package.zip",
            manifest_sha256=msha,
            body=deps.archives.stream(members, modified_at=now),
            evidence_ids=tuple(i.id for i in items),
        )

    def record_export(
        self, principal: Principal, incident_id: str, purpose: str | None, evidence_ids: list[str], manifest_sha256: str, **details: Any
    ) -> None:
        """Handing a package out: an `exported` custody event on each item naming the
        manifest's SHA-256, and the `evidence.package` audit entry."""
        deps = self.deps
        with deps.records.unit_of_work() as uow:
            loc = locate_incident(deps, uow, principal, incident_id)
            for evidence_id in evidence_ids:
                custody.record_event(
                    uow,
                    deps.chain_keys,
                    loc.owner_org,
                    evidence_id,
                    CustodyEvent.EXPORTED,
                    principal,
                    at=deps.clock.now(),
                    purpose=purpose,
                    details={"manifest_sha256": manifest_sha256, "package": "court package", "incident_id": incident_id, **details},
                )
            audit_access(deps, uow, principal, loc.owner_org, "evidence.package", f"incident/{incident_id}", purpose, subjects=evidence_ids)

    def check_present(self, principal: Principal, incident_id: str, purpose: str | None) -> None:
        """Refuse (409, `missing` naming the items) a package of which a file is missing or
        short, recording each failure; checked before anything is recorded or sent, so a
        court package is refused whole, never answered with a 200 that stops part way."""
        deps = self.deps
        need_purpose(principal, purpose)
        with deps.records.read_only() as uow:
            loc = locate_incident(deps, uow, principal, incident_id)
            absent = [i for i in items_of_incident(uow, loc.owner_org, incident_id) if not integrity.present(deps, i)]
        if absent:
            raise self._refused(principal, absent, purpose)

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
