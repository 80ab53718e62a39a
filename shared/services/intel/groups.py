"""Organised crime group records: create, list, read and change, audited.

Kept by the organisation that records the group (an analyst's force, an investigator's
retailer). Partners see a group by the same rules as rankings: the keeping organisation
shares descriptions or more with them, and of its members only those the partner may be
shown (shared/services/intel/persons.py); a group none of whose members they may see is
not theirs to see at all. A member or incident must be one the keeper may see when it is
added: nobody links what they cannot see.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.crime_groups import CrimeGroup, CrimeGroupIn, CrimeGroupPatch, IncidentRef, MemberRef, review_problem
from shared.domain.errors import Forbidden, Invalid, NotFound, PreconditionFailed, PreconditionRequired
from shared.domain.tenancy import Principal, ShareLevel
from shared.ports import UnitOfWork
from shared.records import CRIME_GROUPS, INCIDENTS
from shared.services import repository
from shared.services.audit import ReadEntry
from shared.services.intel.deps import GROUP_KEEPERS, IntelDeps
from shared.services.intel.persons import visible_persons


@dataclass(frozen=True)
class GroupView:
    body: dict[str, Any]
    etag: str


@dataclass(frozen=True)
class GroupPage:
    items: list[GroupView]
    continuation: str | None


@dataclass
class Groups:
    deps: IntelDeps

    # ---- writes --------------------------------------------------------------------------
    def create(self, principal: Principal, group: CrimeGroupIn) -> GroupView:
        """Record a group kept by the caller's organisation; audited (collection, and the
        combination of the persons it links)."""
        self._keeper(principal)
        now = self.deps.clock.now()
        with self.deps.records.unit_of_work() as uow:
            self._check(uow, principal, group.review_at, group.members, group.incidents, now)
            record = CrimeGroup(
                id="grp-" + uuid.uuid4().hex[:16],
                organisation_id=principal.organisation_id,
                name=group.name,
                reason=group.reason,
                review_at=group.review_at,
                members=group.members,
                incidents=group.incidents,
                created_by=principal.user_id,
                created_at=now,
                updated_at=now,
            )
            etag = uow.insert(CRIME_GROUPS.name, principal.organisation_id, repository.dump(record))
            self._audit_write(
                uow, principal, record, AuditAction.COMBINATION, "group.create", ["name", "reason", "review_at", "members", "incidents"]
            )
        return GroupView(body=self._present_own(record), etag=etag)

    def update(self, principal: Principal, group_id: str, patch: CrimeGroupPatch, if_match: str | None) -> GroupView:
        """Change the caller's organisation's group under its ETag (412 when stale)."""
        self._keeper(principal)
        if not if_match:
            raise PreconditionRequired("Send If-Match with the ETag of the group you last read.")
        now = self.deps.clock.now()
        with self.deps.records.unit_of_work() as uow:
            doc = uow.get(CRIME_GROUPS.name, principal.organisation_id, group_id) if len(group_id) <= 64 else None
            if doc is None:
                raise NotFound(f"Group {group_id} was not found.")
            if repository.etag(doc) != if_match:
                raise PreconditionFailed("The group has changed since you read it; read it again.")
            stored = repository.load(CrimeGroup, doc).record
            changes = patch.model_dump(exclude_unset=True, exclude_none=True)
            if not changes:
                raise Invalid("Nothing to change.", errors=[{"field": "body"}])
            record = stored.model_copy(update={**{k: getattr(patch, k) for k in changes}, "updated_at": now, "version": stored.version + 1})
            added_members = [m for m in record.members if m not in stored.members]
            added_incidents = [i for i in record.incidents if i not in stored.incidents]
            review_at = record.review_at if "review_at" in changes else None
            self._check(uow, principal, review_at, added_members, added_incidents, now)
            etag = uow.replace(CRIME_GROUPS.name, principal.organisation_id, repository.dump(record), if_match=if_match)
            self._audit_write(uow, principal, record, AuditAction.ALTERATION, "group.update", sorted(changes))
        return GroupView(body=self._present_own(record), etag=etag)

    # ---- reads ---------------------------------------------------------------------------
    def get(self, principal: Principal, group_id: str) -> GroupView:
        """A group the caller keeps or may see as a partner; NotFound otherwise. Audited."""
        self._keeper(principal)
        now = self.deps.clock.now()
        missing = NotFound(f"Group {group_id} was not found.")
        if len(group_id) > 64:
            raise missing
        with self.deps.records.read_only() as uow:
            for tenant in self._tenants(principal):
                doc = uow.get(CRIME_GROUPS.name, tenant, group_id)
                if doc is None:
                    continue
                view = self._present(uow, principal, doc, now)
                if view is None:
                    break
                self.deps.audit.record_read(principal, _entries(principal, [view], "group.read"))
                return view
        raise missing

    def find(self, principal: Principal, *, limit: int, continuation: str | None) -> GroupPage:
        """The groups the caller keeps or may see, most recently changed first. Audited."""
        self._keeper(principal)
        now = self.deps.clock.now()
        with self.deps.records.read_only() as uow:
            page = uow.query(
                CRIME_GROUPS.name,
                self._tenants(principal),
                [],
                order_by="updated_at",
                descending=True,
                limit=limit,
                continuation=continuation,
            )
            views = [v for v in (self._present(uow, principal, d, now) for d in page.items) if v is not None]
        self.deps.audit.record_read(principal, _entries(principal, views, "group.list"))
        return GroupPage(items=views, continuation=page.continuation)

    # ---- internals -----------------------------------------------------------------------
    @staticmethod
    def _keeper(principal: Principal) -> None:
        if not principal.has(*GROUP_KEEPERS):
            raise Forbidden("This needs one of the roles: " + ", ".join(r.value for r in GROUP_KEEPERS) + ".")

    def _tenants(self, principal: Principal) -> list[str]:
        own = principal.organisation_id
        return [own, *(t for t in self.deps.directory.sharers_with(own, ShareLevel.DESCRIPTIONS) if t != own)]

    def _level(self, principal: Principal, org: str) -> ShareLevel | None:
        return None if org == principal.organisation_id else self.deps.directory.share_level(org, principal.organisation_id)

    def _check(
        self,
        uow: UnitOfWork,
        principal: Principal,
        review_at: datetime | None,
        members: list[MemberRef],
        incidents: list[IncidentRef],
        now: datetime,
    ) -> None:
        errors: list[dict[str, str]] = []
        if review_at is not None and (problem := review_problem(review_at, now)):
            errors.append({"field": "review_at", "message": problem})
        for i, m in enumerate(members):
            if not self._member_visible(uow, principal, m, now):
                errors.append({"field": f"members.{i}", "message": f"{m.key} is not a person of interest you may see"})
        for i, ref in enumerate(incidents):
            if not self._incident_visible(uow, principal, ref):
                errors.append({"field": f"incidents.{i}", "message": f"{ref.key} is not an incident you may see"})
        if errors:
            raise Invalid("; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]), errors=errors)

    def _member_visible(self, uow: UnitOfWork, principal: Principal, m: MemberRef, now: datetime) -> bool:
        level = self._level(principal, m.organisation_id)
        return bool(visible_persons(uow, principal, m.organisation_id, [m.offender_id], level, now))

    def _incident_visible(self, uow: UnitOfWork, principal: Principal, ref: IncidentRef) -> bool:
        level = self._level(principal, ref.organisation_id)
        if level is not None and level.rank < ShareLevel.DESCRIPTIONS.rank:
            return False
        doc = uow.get(INCIDENTS.name, ref.organisation_id, ref.incident_id)
        if doc is None:
            return False
        return level is None or not principal.is_police or doc.get("force_id") == principal.organisation_id

    def _present_own(self, record: CrimeGroup) -> dict[str, Any]:
        body = repository.dump(record)
        body.pop("member_ids", None)
        body.pop("incident_ids", None)
        return body

    def _present(self, uow: UnitOfWork, principal: Principal, doc: dict[str, Any], now: datetime) -> GroupView | None:
        """The group as the caller may see it, or None when it is not theirs to see."""
        stored = repository.load(CrimeGroup, doc)
        record = stored.record
        own = record.organisation_id == principal.organisation_id
        members = [
            m
            for m in record.members
            if self._member_visible(uow, principal, m, now) or (own and m.organisation_id == principal.organisation_id)
        ]
        if not own and not members:
            return None
        incidents = [i for i in record.incidents if own or self._incident_visible(uow, principal, i)]
        body = self._present_own(record.model_copy(update={"members": members, "incidents": incidents}))
        return GroupView(body=body, etag=stored.etag)

    def _audit_write(
        self, uow: UnitOfWork, principal: Principal, record: CrimeGroup, action: AuditAction, operation: str, fields: list[str]
    ) -> None:
        self.deps.audit.record(
            uow,
            owner_org=principal.organisation_id,
            principal=principal,
            action=action,
            operation=operation,
            entity=f"group/{record.id}",
            fields=fields,
            subjects=[f"offender/{m.offender_id}" for m in record.members],
        )


def _entries(principal: Principal, views: list[GroupView], operation: str) -> list[ReadEntry]:
    entries = [
        ReadEntry(
            owner_org=principal.organisation_id,
            action=AuditAction.CONSULTATION,
            operation=operation,
            entity="group",
            subjects=[f"group/{v.body['id']}" for v in views] + [f"offender/{m['offender_id']}" for v in views for m in v.body["members"]],
        )
    ]
    owners: dict[str, list[str]] = {}
    for v in views:
        if v.body["organisation_id"] != principal.organisation_id:
            owners.setdefault(v.body["organisation_id"], []).append(f"group/{v.body['id']}")
    for owner, ids in sorted(owners.items()):
        entries.append(
            ReadEntry(
                owner_org=owner,
                action=AuditAction.DISCLOSURE,
                operation=operation,
                entity="group",
                subjects=ids,
                recipient_org=principal.organisation_id,
            )
        )
    return entries
