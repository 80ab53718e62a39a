"""A force asks a store for footage: checked, stored in the store's retailer's partition,
the store's email owed through the outbox in the same unit, audited as a disclosure to
the retailer of what the force is investigating."""

from __future__ import annotations

from dataclasses import dataclass

from shared.domain.audit import AuditAction
from shared.domain.errors import Conflict, Invalid
from shared.domain.footage import FootageRequest, FootageRequestIn, check_request
from shared.domain.tenancy import Principal
from shared.records import ACCESS_GRANTS, FOOTAGE_REQUESTS
from shared.services import idempotency
from shared.services.footage.deps import FootageDeps, find, owe_mail
from shared.services.repository import dump

OPERATION = "footage_request.create"


@dataclass(frozen=True)
class Made:
    request: FootageRequest
    created: bool  # False when an Idempotency-Key retry answered the first request's


@dataclass
class CreateRequest:
    deps: FootageDeps

    def create(self, principal: Principal, body: FootageRequestIn, idempotency_key: str | None) -> Made:
        """Ask a store in the force's area for footage of a window, by a deadline.

        Invalid (field errors) for a window in the wrong order, longer than a day or in the
        future, a deadline already past, or a store outside the force's area; an incident
        named must be one dispatched to the force, at that store. A retry with the same
        Idempotency-Key answers the request it made."""
        deps = self.deps
        key = idempotency.check_key(idempotency_key)
        request_fingerprint = idempotency.fingerprint(OPERATION, body.model_dump(mode="json"))
        now = deps.now()
        with deps.records.unit_of_work() as uow:
            remembered = idempotency.replay(uow, principal, OPERATION, key, request_fingerprint, now=now)
            if remembered is not None:
                return Made(find(uow, principal, remembered.resource.rpartition("/")[2]).record, created=False)
            check_request(body, now)
            store = deps.directory.store(body.store_id)
            if store is None:
                raise Invalid(f"There is no store {body.store_id}.", errors=[{"field": "store_id", "message": "No such store."}])
            if store.force_id != principal.organisation_id:
                force = deps.directory.organisation(store.force_id)
                why = (
                    f"{store.name} is in the area of {force.name if force else store.force_id}, not yours: that force asks for its footage."
                )
                raise Invalid(why, errors=[{"field": "store_id", "message": why}])
            if body.incident_id is not None:
                grant = uow.get(ACCESS_GRANTS.name, principal.organisation_id, body.incident_id)
                # Only a report the retailer sent this force is known to it: any other id
                # is answered as unknown, whatever exists.
                if grant is None or grant.get("owner_org") != store.organisation_id:
                    raise Invalid(
                        "The incident named is not one sent to your force by that store's retailer.",
                        errors=[{"field": "incident_id", "message": "Not a report sent to your force by this retailer."}],
                    )
                incident = deps.incidents.locate(uow, principal, body.incident_id).doc
                if incident.get("store_id") != store.id:
                    raise Invalid(
                        "The incident named happened at another store.",
                        errors=[{"field": "incident_id", "message": "This report is from another store."}],
                    )
            request = FootageRequest.open(
                body, organisation_id=store.organisation_id, force_id=principal.organisation_id, by=principal.user_id, now=now
            )
            uow.insert(FOOTAGE_REQUESTS.name, request.organisation_id, dump(request))
            owe_mail(deps, uow, request, "asked")
            deps.audit.record(
                uow,
                owner_org=request.organisation_id,
                principal=principal,
                action=AuditAction.COLLECTION,
                operation=OPERATION,
                entity=f"footage_request/{request.id}",
                fields=sorted(body.model_dump().keys()),
                subjects=[request.incident_id] if request.incident_id else [],
            )
            try:
                idempotency.remember(
                    uow, principal, OPERATION, key, request_fingerprint, f"footage_request/{request.organisation_id}/{request.id}", now=now
                )
            except Conflict:
                raise Conflict("A request with this Idempotency-Key is being made; retry to see its answer.") from None
        deps.outbox.relay_now(request.organisation_id, [f"footage-{request.id}-asked"])
        return Made(request, created=True)
