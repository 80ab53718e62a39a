"""The organisation the person approached records how it checked their identity; the
operator can then route the request, naming that check."""

from __future__ import annotations

import uuid
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.subject_requests import IdentityCheckIn
from shared.domain.tenancy import Principal
from shared.domain.timestamps import to_iso
from shared.records import SUBJECT_REQUESTS
from shared.services import repository
from shared.services.subject_requests.deps import SubjectRequestDeps
from shared.services.subject_requests.results import IdentityCheck

# Identity checks share the organisation's subject-request partition; this marks them.
IDENTITY_CHECK = "identity_check"


class IdentityChecks:
    def __init__(self, deps: SubjectRequestDeps) -> None:
        self.deps = deps

    def record(self, principal: Principal, body: IdentityCheckIn) -> IdentityCheck:
        """Record that the caller's organisation checked the person's identity (who, how, when), audited."""
        d = self.deps
        doc: dict[str, Any] = {
            "id": str(uuid.uuid4()),
            "record": IDENTITY_CHECK,
            "organisation_id": principal.organisation_id,
            "name": body.name,
            "date_of_birth": body.date_of_birth.isoformat() if body.date_of_birth else None,
            "method": body.method.value,
            "verified_by": principal.user_id,
            "verified_at": to_iso(d.clock.now()),
            "request_id": None,
        }
        with d.records.unit_of_work() as uow:
            uow.insert(SUBJECT_REQUESTS.name, principal.organisation_id, doc)
            d.audit.record(
                uow,
                owner_org=principal.organisation_id,
                principal=principal,
                action=AuditAction.COLLECTION,
                operation="subject_request.identity_check",
                entity=f"identity_check/{doc['id']}",
                fields=["name", "date_of_birth", "method"],
                purpose="verify the identity of a person making a subject request",
            )
        return IdentityCheck.model_validate(repository.body(doc))
