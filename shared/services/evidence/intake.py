"""A single upload: one file streamed in the request body, stored only if every check passes."""

from __future__ import annotations

from collections.abc import Iterable

from shared.domain.evidence import EvidenceItem, EvidenceKind
from shared.domain.tenancy import Principal
from shared.services.evidence import receiving
from shared.services.evidence.deps import EvidenceDeps
from shared.services.evidence.lookup import locate_to_add, new_evidence_id


class Intake:
    def __init__(self, deps: EvidenceDeps):
        self.deps = deps

    def upload(
        self,
        principal: Principal,
        incident_id: str,
        body: Iterable[bytes],
        *,
        content_type: str | None,
        filename: str | None,
        kind: EvidenceKind | None,
        content_digest: str | None,
        content_length: int | None,
    ) -> EvidenceItem:
        """Store one file streamed as it arrives: hashed, type-checked, size-bounded, written once.

        Returns the new item. Nothing is visible (record or bytes) unless every check passed.
        """
        deps = self.deps
        declared = receiving.declared(content_type)
        receiving.check_kind(kind, declared, "X-Evidence-Kind")  # refused before any bytes are read
        expected = receiving.client_digest(content_digest)
        name = receiving.display_name(filename)
        if content_length is not None and content_length > deps.limits.max_bytes:
            raise receiving.too_large(deps)
        received_at = deps.clock.now()
        with deps.records.unit_of_work() as uow:
            loc = locate_to_add(deps, uow, principal, incident_id)
            retention_until, held = deps.retention.evidence_terms(uow, loc.owner_org, loc.doc, received_at, kind.value if kind else None)
        evidence_id = new_evidence_id(loc.owner_org)
        writer = deps.blobs.writer(evidence_id, content_type=declared.content_type, retention_until=retention_until, legal_hold=held)
        try:
            got = receiving.receive(deps, body, declared, expected, writer)
            return receiving.record_new(
                deps,
                principal,
                loc,
                evidence_id,
                got,
                kind=kind,
                filename=name,
                received_at=received_at,
                retention_until=retention_until,
                derived_from=None,
                writer=writer,
                received_details={"declared_content_type": content_type, "client_digest": bool(expected), "via": "single upload"},
            )
        except BaseException:
            writer.abort()
            raise
