"""What every lookout use case shares: its adapters, who may do what, finding a lookout
as the caller may see it, and whether its subject's listing still stands."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.domain.errors import NotFound
from shared.domain.lookouts import Lookout, LookoutKind, LookoutState, recipient_level
from shared.domain.offenders import PersonOfInterest, listing_in_force, may_leave_organisation, partner_view
from shared.domain.tenancy import OrgKind, Principal, Role, ShareLevel, Store
from shared.domain.timestamps import from_iso
from shared.evidence_ports import EvidenceBlobStore
from shared.ports import Clock, MailSender, RecordStore, UnitOfWork, WebhookSender
from shared.records import LOOKOUTS, VEHICLES
from shared.services.audit import AuditTrail
from shared.services.directory import Directory
from shared.services.offenders.catalogue import profiles_by_ids
from shared.services.outbox import Outbox
from shared.services.repository import Stored, load
from shared.settings import Settings

QUEUE = "lookout_deliveries"
# Who issues: a retailer's investigators, a force's officers and analysts.
ISSUERS = (Role.RETAILER_INVESTIGATOR, Role.POLICE_OFFICER, Role.POLICE_ANALYST)
# Who reads lookouts for a store: its staff (their assigned stores), and the retailer's
# investigators and admins (every store of theirs).
STORE_STAFF = (Role.RETAILER_REPORTER, Role.RETAILER_INVESTIGATOR, Role.RETAILER_ADMIN)
READERS = tuple(dict.fromkeys((*ISSUERS, *STORE_STAFF)))


@dataclass
class LookoutDeps:
    """Built once in the composition root and shared by every lookout use case."""

    records: RecordStore
    clock: Clock
    directory: Directory
    audit: AuditTrail
    outbox: Outbox  # each recipient's email and webhook is owed by the change that issues the lookout
    mail: MailSender
    webhooks: WebhookSender
    settings: Settings
    # Built on first image only: issuing and listing lookouts need no evidence store.
    evidence_blobs: Callable[[], EvidenceBlobStore]
    region_base_url: str = ""

    def now(self) -> datetime:
        return self.clock.now()


def person_for_staff(profile: PersonOfInterest | None, level: ShareLevel) -> dict[str, Any] | None:
    """What store staff are shown of the person: only what picking them out needs (name and
    aliases at `full`, never a date of birth or the incidents behind the listing)."""
    if profile is None:
        return None
    view = partner_view(profile, level)
    return {"name": view.get("name"), "aliases": view.get("aliases") or [], "description": view.get("description", "")}


def level_now(deps: LookoutDeps, lk: Lookout, store: Store) -> ShareLevel | None:
    """What `store` may see of `lk` now: the level it was sent at, lowered (or taken away)
    when the agreement behind it has since been narrowed or ended."""
    sent = lk.level_for(store.id)
    if sent is None:
        return None
    issuer = deps.directory.organisation(lk.organisation_id)
    now_level = recipient_level(
        issuer_id=lk.organisation_id,
        issuer_is_police=issuer is not None and issuer.kind == OrgKind.POLICE_FORCE,
        store=store,
        issuer_shares=deps.directory.share_level(lk.organisation_id, store.organisation_id),
        store_owner_shares_with_issuer=deps.directory.share_level(store.organisation_id, lk.organisation_id),
    )
    if now_level is None:
        return None
    return sent if sent.rank <= now_level.rank else now_level


def lookout_id_ok(lookout_id: str) -> bool:
    return len(lookout_id) == 32 and all(c in "0123456789abcdef" for c in lookout_id)


def may_read_for_store(principal: Principal, store: Store) -> bool:
    """Staff of the store's retailer: reporters for their assigned stores, investigators and admins for any."""
    if principal.organisation_id != store.organisation_id:
        return False
    return principal.has(Role.RETAILER_INVESTIGATOR, Role.RETAILER_ADMIN) or (
        principal.has(Role.RETAILER_REPORTER) and store.id in principal.stores
    )


def issuers_reaching(deps: LookoutDeps, store: Store) -> list[str]:
    """The organisations whose lookouts may reach `store`: its retailer, retailers sharing
    with that retailer at `descriptions` or deeper, and the force whose area holds it."""
    owners = {store.organisation_id, store.force_id}
    owners.update(deps.directory.sharers_with(store.organisation_id, ShareLevel.DESCRIPTIONS))
    return sorted(owners)


@dataclass(frozen=True)
class Subjects:
    """Whether each lookout's subject still stands, read once for a page of lookouts."""

    profiles: dict[tuple[str, str], PersonOfInterest]
    vehicles: dict[tuple[str, str], dict[str, Any]]

    @classmethod
    def read(cls, uow: UnitOfWork, lookouts: Iterable[Lookout]) -> Subjects:
        people: dict[str, set[str]] = {}
        plates: set[tuple[str, str]] = set()
        for lk in lookouts:
            if lk.kind == LookoutKind.PERSON and lk.offender_id:
                people.setdefault(lk.organisation_id, set()).add(lk.offender_id)
            elif lk.plate:
                plates.add((lk.organisation_id, lk.plate))
        profiles = {(org, pid): p for org, ids in people.items() for pid, p in profiles_by_ids(uow, org, sorted(ids)).items()}
        vehicles = {}
        for org, plate in plates:
            doc = uow.get(VEHICLES.name, org, plate)
            if doc is not None:
                vehicles[(org, plate)] = doc
        return cls(profiles, vehicles)

    def profile(self, lk: Lookout) -> PersonOfInterest | None:
        return self.profiles.get((lk.organisation_id, lk.offender_id or ""))

    def in_force(self, lk: Lookout, now: datetime, *, for_org: str) -> bool:
        """The listing is in force (and, beyond the issuer, may leave it); a vehicle is still of interest."""
        if lk.kind == LookoutKind.PERSON:
            p = self.profile(lk)
            if p is None or not listing_in_force(p, now):
                return False
            return for_org == lk.organisation_id or may_leave_organisation(p, now)
        doc = self.vehicles.get((lk.organisation_id, lk.plate or ""))
        return doc is not None and from_iso(doc["until"]) > now

    def state(self, lk: Lookout, now: datetime, *, for_org: str) -> LookoutState:
        return lk.state(now, subject_in_force=self.in_force(lk, now, for_org=for_org))


def find(deps: LookoutDeps, uow: UnitOfWork, principal: Principal, lookout_id: str) -> Stored[Lookout]:
    """The lookout as the caller may see it, or NotFound exactly as if it did not exist:
    its issuer's people, and staff of a recipient store (only while it is active)."""
    missing = NotFound(f"Lookout {lookout_id} was not found.")
    if not lookout_id_ok(lookout_id):
        raise missing
    if principal.organisation_id and principal.has(*ISSUERS):
        doc = uow.get(LOOKOUTS.name, principal.organisation_id, lookout_id)
        if doc is not None:
            return load(Lookout, doc)
    if not principal.is_retailer:
        raise missing
    stores = {s.id: s for s in deps.directory.stores_of(principal.organisation_id) if may_read_for_store(principal, s)}
    for owner in sorted({o for s in stores.values() for o in issuers_reaching(deps, s)}):
        doc = uow.get(LOOKOUTS.name, owner, lookout_id)
        if doc is None:
            continue
        stored = load(Lookout, doc)
        if not any(level_now(deps, stored.record, stores[s]) for s in stores.keys() & set(stored.record.store_ids)):
            raise missing
        subjects = Subjects.read(uow, [stored.record])
        if subjects.state(stored.record, deps.now(), for_org=principal.organisation_id) != LookoutState.ACTIVE:
            raise missing
        return stored
    raise missing


def readable_stores(deps: LookoutDeps, principal: Principal, lookout: Lookout) -> list[Store]:
    """The lookout's recipient stores the caller reads for."""
    mine = [deps.directory.store(s) for s in lookout.store_ids]
    return [s for s in mine if s is not None and may_read_for_store(principal, s) and level_now(deps, lookout, s) is not None]
