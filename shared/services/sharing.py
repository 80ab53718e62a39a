"""Sharing agreements: which partners an organisation shares with, and how deeply.

A retailer's admin reads and replaces its own list (who it shares with, at which level,
and whether ANPR reads go too); a force's admin reads who shares with the force and
accepts (or declines) ANPR sharing offered to it. ANPR is shared with police forces only,
and only once the force has accepted: an offer is `pending` until then. The
agreements live in the `sharing` collection of the platform tenant, one document per
(owner, partner), where `Directory.share_level` and `sharers_with` read them.

The list is versioned as a whole: its ETag is a digest of the agreements, and a
replacement must name it in If-Match. A per-owner head document (id `"{owner}>"`, no
partner) is replaced under the store's own ETag check in the same unit of work, so two
replacements racing from the same version cannot both land, on either backend.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.errors import Conflict, Invalid, NotFound, PreconditionFailed, PreconditionRequired
from shared.domain.tenancy import PLATFORM_TENANT, OrgKind, Principal, Role, ShareLevel
from shared.domain.timestamps import to_iso
from shared.ports import Clock, RecordStore, Where, iterate_all
from shared.services import repository
from shared.services.audit import AuditTrail
from shared.services.directory import Directory, sharing_id

MAX_AGREEMENTS = 200


@dataclass(frozen=True)
class Agreement:
    partner_id: str
    level: ShareLevel
    anpr: bool = False


@dataclass(frozen=True)
class Agreements:
    """The agreements an organisation makes (`outgoing`) or receives (`incoming`), and the
    version a replacement must name."""

    organisation_id: str
    direction: str
    agreements: list[dict[str, Any]]
    etag: str


class SharingService:
    def __init__(self, records: RecordStore, clock: Clock, directory: Directory, audit: AuditTrail):
        self._records = records
        self._clock = clock
        self._directory = directory
        self._audit = audit

    def read(self, principal: Principal, org_id: str) -> Agreements:
        """The agreements `org_id` makes (its retailer admin) or receives (its force admin).

        Anyone else gets NotFound, exactly as for an organisation that does not exist.
        """
        self._own(principal, org_id)
        with self._records.read_only() as uow:
            if principal.has(Role.RETAILER_ADMIN):
                docs = self._outgoing(uow, org_id)
                direction = "outgoing"
            else:
                docs = [d for d in iterate_all(uow, "sharing", [PLATFORM_TENANT], [Where("partner_id", "eq", org_id)])]
                direction = "incoming"
        items = sorted((_public(d) for d in docs), key=lambda a: (a["owner_id"], a["partner_id"]))
        etag = _digest(self._outgoing_of(items, org_id) if direction == "outgoing" else items)
        return Agreements(organisation_id=org_id, direction=direction, agreements=items, etag=etag)

    def replace(self, principal: Principal, org_id: str, agreements: Sequence[Agreement], if_match: str | None) -> Agreements:
        """Make `agreements` the whole list `org_id` shares under, if `if_match` (the stored
        ETag) is the current version; audited in its chain."""
        self._own(principal, org_id, admin_roles=(Role.RETAILER_ADMIN,))
        if not if_match:
            raise PreconditionRequired("Send If-Match with the ETag of the agreements you last read.")
        now = to_iso(self._clock.now())
        try:
            with self._records.unit_of_work() as uow:
                current = {d["partner_id"]: d for d in self._outgoing(uow, org_id)}
                if _digest(sorted((_public(d) for d in current.values()), key=lambda a: a["partner_id"])) != if_match:
                    raise PreconditionFailed("The sharing agreements have changed since you read them; read them again.")
                # Validated after the precondition: an admin working from a stale list hears
                # 412 (read again) first, whatever else the list gets wrong.
                self._validate(org_id, agreements)
                self._bump_head(uow, org_id, now)
                wanted = {a.partner_id: a for a in agreements}
                changed: list[str] = []
                for partner, doc in current.items():
                    if partner not in wanted:
                        uow.delete("sharing", PLATFORM_TENANT, doc["id"])
                        changed.append(partner)
                for partner, a in wanted.items():
                    old = current.get(partner)
                    if old is not None and old["level"] == a.level.value and bool(old.get("anpr")) == a.anpr:
                        continue
                    doc = {
                        "id": sharing_id(org_id, partner),
                        "owner_id": org_id,
                        "partner_id": partner,
                        "level": a.level.value,
                        "anpr": a.anpr,
                        "since": now,
                    }
                    if old is None:
                        uow.insert("sharing", PLATFORM_TENANT, doc)
                    else:
                        # The force's acceptance holds while ANPR stays offered; a new offer
                        # (off, then on again) waits for a new acceptance.
                        if a.anpr and old.get("anpr"):
                            doc.update(anpr_accepted_at=old.get("anpr_accepted_at"), anpr_accepted_by=old.get("anpr_accepted_by"))
                        # Under the stored version: an acceptance landing meanwhile makes this 412, not lost.
                        uow.replace("sharing", PLATFORM_TENANT, doc, if_match=repository.etag(old))
                    changed.append(partner)
                self._audit.record(
                    uow,
                    owner_org=org_id,
                    principal=principal,
                    action=AuditAction.ALTERATION,
                    operation="sharing.replace",
                    entity=f"organisation/{org_id}/sharing",
                    fields=sorted(changed),
                )
        except (Conflict, PreconditionFailed) as exc:
            # Another replacement (or a force's answer) landed first: the caller's version is stale.
            raise PreconditionFailed("The sharing agreements have changed since you read them; read them again.") from exc
        finally:
            self._directory.invalidate()
        return self.read(principal, org_id)

    def answer_anpr(self, principal: Principal, force_id: str, owner_id: str, *, accept: bool) -> dict[str, Any]:
        """A force's admin accepts (or declines, withdrawing an acceptance) the ANPR sharing
        `owner_id` offers it. Until accepted, nothing of ANPR is shared either way.

        NotFound when `owner_id` offers the force no ANPR sharing (exactly as for no agreement)."""
        self._own(principal, force_id, admin_roles=(Role.POLICE_ADMIN,))
        now = to_iso(self._clock.now())
        missing = NotFound(f"{owner_id} offers {force_id} no ANPR sharing.")
        if len(owner_id) > 64:
            raise missing
        try:
            with self._records.unit_of_work() as uow:
                doc = uow.get("sharing", PLATFORM_TENANT, sharing_id(owner_id, force_id))
                if doc is None or not doc.get("anpr"):
                    raise missing
                body = repository.body(doc)
                if accept == bool(doc.get("anpr_accepted_at")):
                    return _public(body)
                if accept:
                    body.update(anpr_accepted_at=now, anpr_accepted_by=principal.user_id)
                else:
                    body.pop("anpr_accepted_at", None)
                    body.pop("anpr_accepted_by", None)
                uow.replace("sharing", PLATFORM_TENANT, body, if_match=repository.etag(doc))
                operation = "sharing.anpr.accept" if accept else "sharing.anpr.decline"
                # Both chains: the retailer's reads start (or stop) reaching the force.
                for chain in (owner_id, force_id):
                    self._audit.record(
                        uow,
                        owner_org=chain,
                        principal=principal,
                        action=AuditAction.ALTERATION,
                        operation=operation,
                        entity=f"organisation/{owner_id}/sharing",
                        fields=[force_id],
                    )
        finally:
            self._directory.invalidate()
        return _public(body)

    # ---- internals -----------------------------------------------------------
    def _own(self, principal: Principal, org_id: str, admin_roles: tuple[Role, ...] = (Role.RETAILER_ADMIN, Role.POLICE_ADMIN)) -> None:
        if org_id != principal.organisation_id or not principal.has(*admin_roles):
            raise NotFound(f"Organisation {org_id} was not found.")

    def _validate(self, org_id: str, agreements: Sequence[Agreement]) -> None:
        if len(agreements) > MAX_AGREEMENTS:
            raise Invalid(f"At most {MAX_AGREEMENTS} agreements.", errors=[{"field": "agreements"}])
        seen: set[str] = set()
        errors = []
        for i, a in enumerate(agreements):
            field = f"agreements.{i}.partner_id"
            partner = self._directory.organisation(a.partner_id)
            if a.partner_id in seen:
                errors.append({"field": field, "message": f"{a.partner_id} is listed twice"})
            elif a.partner_id == org_id:
                errors.append({"field": field, "message": "an organisation does not share with itself"})
            elif partner is None or partner.kind == OrgKind.PLATFORM:
                errors.append({"field": field, "message": f"{a.partner_id} is not a retailer or police force known to Vigil"})
            elif partner.kind == OrgKind.NATIONAL_UNIT:
                # A national unit sees only the series referred to it (docs/referrals.md):
                # an agreement would hand it a retailer's records wholesale.
                errors.append({"field": field, "message": f"{a.partner_id} is a national unit: refer a series to it instead of sharing"})
            elif a.anpr and partner.kind != OrgKind.POLICE_FORCE:
                # Plate reads and vehicles of interest are for law enforcement: another
                # retailer's list must never meet this retailer's cameras.
                errors.append(
                    {"field": f"agreements.{i}.anpr", "message": f"ANPR is shared with police forces only; {a.partner_id} is not a force"}
                )
            elif partner.home_region != self._region_of(org_id):
                errors.append(
                    {
                        "field": field,
                        "message": f"{a.partner_id} is served by the {partner.home_region} region: data does not leave this region",
                    }
                )
            seen.add(a.partner_id)
        if errors:
            raise Invalid("; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]), errors=errors)

    def _region_of(self, org_id: str) -> str | None:
        org = self._directory.organisation(org_id)
        return org.home_region if org else None

    @staticmethod
    def _outgoing(uow, org_id: str) -> list[dict[str, Any]]:
        return [d for d in iterate_all(uow, "sharing", [PLATFORM_TENANT], [Where("owner_id", "eq", org_id)]) if d.get("partner_id")]

    @staticmethod
    def _outgoing_of(items: list[dict[str, Any]], org_id: str) -> list[dict[str, Any]]:
        return sorted((i for i in items if i["owner_id"] == org_id), key=lambda a: a["partner_id"])

    @staticmethod
    def _bump_head(uow, org_id: str, now: str) -> None:
        head_id = f"{org_id}>"
        head = uow.get("sharing", PLATFORM_TENANT, head_id)
        if head is None:
            uow.insert("sharing", PLATFORM_TENANT, {"id": head_id, "owner_id": org_id, "version": 1, "updated_at": now})
        else:
            body = repository.body(head)
            body.update(version=int(head.get("version", 0)) + 1, updated_at=now)
            uow.replace("sharing", PLATFORM_TENANT, body, if_match=head["_etag"])


def anpr_status(doc: dict[str, Any]) -> str:
    """Where an agreement's ANPR sharing stands: `none` (not offered), `pending` (offered,
    the force has not accepted) or `accepted`. Only `accepted` shares anything."""
    if not doc.get("anpr"):
        return "none"
    return "accepted" if doc.get("anpr_accepted_at") else "pending"


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        "owner_id": doc["owner_id"],
        "partner_id": doc["partner_id"],
        "level": doc["level"],
        "anpr": bool(doc.get("anpr", False)),
        "anpr_status": anpr_status(doc),
        "anpr_accepted_at": doc.get("anpr_accepted_at"),
        "since": doc.get("since"),
    }


def _digest(items: list[dict[str, Any]]) -> str:
    canonical = json.dumps(
        [{k: i[k] for k in ("owner_id", "partner_id", "level", "anpr", "anpr_status")} for i in items],
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]
