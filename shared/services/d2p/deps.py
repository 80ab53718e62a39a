"""What every D2P use case shares: its adapters and collaborators, its settings, and the
few helpers more than one use case needs (the force check, dispatch reads and writes)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.domain.d2p import Dispatch
from shared.domain.errors import NotFound
from shared.domain.events import Event
from shared.domain.tenancy import PLATFORM_TENANT, Principal, Role
from shared.domain.timestamps import to_iso
from shared.evidence_ports import TemplateRenderer
from shared.ports import Clock, DeliveryEventVerifier, MailSender, MessageQueue, RecordStore, UnitOfWork, Where, iterate_all
from shared.records import DISPATCHES, STORES
from shared.services.audit import AuditTrail
from shared.services.d2p.rules_cache import ForceRulesCache
from shared.services.directory import Directory
from shared.services.incidents import IncidentService
from shared.services.outbox import Outbox
from shared.services.repository import Stored, dump, load

QUEUE = "d2p_dispatch"
POLICE = (Role.POLICE_OFFICER, Role.POLICE_ANALYST, Role.POLICE_ADMIN)


@dataclass
class D2PDeps:
    """Built once in the composition root and shared by every D2P use case (tests swap
    `mail` or `webhook_public_key` here and every use case sees it)."""

    records: RecordStore
    clock: Clock
    directory: Directory
    audit: AuditTrail
    queue: MessageQueue
    mail: MailSender
    templates: TemplateRenderer
    delivery_events: DeliveryEventVerifier  # checks the mail provider's signed event webhook
    outbox: Outbox  # dispatch messages are written with their change
    incidents: IncidentService  # reports are found with the same 404 rule as every other read
    bus: Any  # the message bus: acknowledgements and outcomes move the evaluation's counters
    region_base_url: str  # the stamp's public address: the email's links to console pages start with it
    region: str = "uk"
    mail_from: str = "d2p@vigil.example.net"
    max_deliveries: int = 10
    webhook_public_key: str = ""
    webhook_max_age_seconds: int = 300
    # Each force's current rules, held briefly: every report is evaluated against them.
    rules_cache: ForceRulesCache = field(default_factory=ForceRulesCache)

    def publish(self, uow: UnitOfWork, event: Event) -> None:
        """Announce a fact in `uow`: its handlers' writes commit with it."""
        self.bus.publish(uow, event)

    def now(self) -> str:
        return to_iso(self.clock.now())


def own_force(principal: Principal, force_id: str) -> None:
    """A force's D2P settings and figures are its own: any other caller gets the 404 of a missing force."""
    if principal.organisation_id != force_id or not principal.is_police:
        raise NotFound(f"Force {force_id} was not found.")


def retailers_in_area(uow: UnitOfWork, force_id: str) -> list[str]:
    """The organisations with a store in the force's area: where its dispatches live."""
    stores = iterate_all(uow, STORES.name, [PLATFORM_TENANT], [Where("force_id", "eq", force_id)])
    return sorted({s["organisation_id"] for s in stores})


def get_dispatch(uow: UnitOfWork, owner_org: str, dispatch_id: str) -> Stored[Dispatch] | None:
    doc = uow.get(DISPATCHES.name, owner_org, dispatch_id)
    return load(Dispatch, doc) if doc is not None else None


def replace_dispatch(uow: UnitOfWork, stored: Stored[Dispatch], dispatch: Dispatch | None = None) -> str:
    """Write the dispatch back over the version read (PreconditionFailed if it moved meanwhile)."""
    record = dispatch if dispatch is not None else stored.record
    return uow.replace(DISPATCHES.name, record.owner_org, dump(record), if_match=stored.etag)


def put_message(deps: D2PDeps, uow: UnitOfWork, dispatch: Dispatch) -> None:
    """Owe the dispatch's queue message from this unit of work (the outbox moves it after commit)."""
    deps.outbox.put(
        uow,
        dispatch.owner_org,
        queue=QUEUE,
        message_id=dispatch.message_id,
        dispatch_id=dispatch.id,
        body={"dispatch_id": dispatch.id, "owner_org": dispatch.owner_org},
    )
