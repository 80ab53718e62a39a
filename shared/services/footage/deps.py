"""What every footage-request use case shares: its adapters and collaborators, and the
reads and writes more than one use case needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.domain.audit import ChainKeys
from shared.domain.errors import NotFound
from shared.domain.footage import FootageRequest
from shared.domain.tenancy import Principal, Role
from shared.evidence_ports import TemplateRenderer
from shared.ports import Clock, MailSender, RecordStore, UnitOfWork
from shared.records import FOOTAGE_REQUESTS
from shared.services.audit import AuditTrail
from shared.services.directory import Directory
from shared.services.incidents import IncidentService
from shared.services.outbox import Outbox
from shared.services.repository import Stored, dump, load

QUEUE = "footage_mail"
POLICE = (Role.POLICE_OFFICER, Role.POLICE_ANALYST, Role.POLICE_ADMIN)
RETAILERS = (Role.RETAILER_REPORTER, Role.RETAILER_INVESTIGATOR, Role.RETAILER_ADMIN)


@dataclass
class FootageDeps:
    """Built once in the composition root and shared by every footage use case."""

    records: RecordStore
    clock: Clock
    directory: Directory
    audit: AuditTrail
    outbox: Outbox  # the store's email is owed by the change that asks for it
    mail: MailSender
    templates: TemplateRenderer
    incidents: IncidentService
    chain_keys: ChainKeys  # custody events of supplied files
    region_base_url: str = ""  # links in the store's email to its console pages
    region: str = "uk"
    mail_from: str = "footage@vigil.example.net"

    def now(self) -> datetime:
        return self.clock.now()


def request_id_ok(request_id: str) -> bool:
    return len(request_id) == 32 and all(c in "0123456789abcdef" for c in request_id)


def may_see(principal: Principal, request: FootageRequest) -> bool:
    """The force that asked, and the retailer whose store was asked: its investigators and
    admins, and its store staff for their own stores. Anyone else is told it does not exist."""
    if principal.is_police:
        return principal.organisation_id == request.force_id
    if principal.organisation_id != request.organisation_id:
        return False
    return principal.has(Role.RETAILER_INVESTIGATOR, Role.RETAILER_ADMIN) or request.store_id in principal.stores


def find(uow: UnitOfWork, principal: Principal, request_id: str) -> Stored[FootageRequest]:
    """The request as the caller may see it, or NotFound exactly as if it did not exist.

    Requests live in the store's retailer's partition, and the id alone does not name it: a
    force looks in the retailers with a store in its area."""
    missing = NotFound(f"Footage request {request_id} was not found.")
    if not request_id_ok(request_id):
        raise missing
    if principal.is_retailer:
        owners = [principal.organisation_id]
    elif principal.is_police:
        from shared.services.d2p.deps import retailers_in_area

        owners = retailers_in_area(uow, principal.organisation_id)
    else:
        raise missing
    for owner in owners:
        doc = uow.get(FOOTAGE_REQUESTS.name, owner, request_id)
        if doc is not None:
            stored = load(FootageRequest, doc)
            if may_see(principal, stored.record):
                return stored
    raise missing


def replace(uow: UnitOfWork, stored: Stored[FootageRequest]) -> str:
    """Write the request back over the version read (PreconditionFailed if it moved meanwhile)."""
    return uow.replace(FOOTAGE_REQUESTS.name, stored.record.organisation_id, dump(stored.record), if_match=stored.etag)


def owe_mail(deps: FootageDeps, uow: UnitOfWork, request: FootageRequest, kind: str) -> str:
    """Owe the store an email about `request` from this unit of work; returns its message id.
    One id per request and kind, so a retried job never sends the same email twice."""
    message_id = f"footage-{request.id}-{kind}"
    deps.outbox.put(
        uow,
        request.organisation_id,
        queue=QUEUE,
        message_id=message_id,
        body={"tenant": request.organisation_id, "request_id": request.id, "kind": kind},
    )
    return message_id
