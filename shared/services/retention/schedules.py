"""Retention schedules: the region's periods and bounds (Platform.Operator) and each
organisation's own choices within them (Retailer.Admin), every change a new version.

A region change is a proposal: a second operator approves it and it takes effect only
after a delay, during which any operator can cancel it; no schedule goes below the
statutory floors. A schedule in force applies at the next sweep without rewriting any
index entry: the period is applied at query time (the sweep's `as_of`), never stored
with the entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field

from shared.domain.audit import AuditAction
from shared.domain.errors import Conflict, Forbidden, Invalid, NotFound, PreconditionFailed, PreconditionRequired
from shared.domain.retention import (
    OrganisationScheduleIn,
    RecordType,
    RegionScheduleIn,
    TypeRule,
    check_floors,
    check_overrides,
    check_region_rules,
    effective_months,
    region_rules_from_defaults,
    schedule_version,
)
from shared.domain.tenancy import PLATFORM_TENANT, Principal, Role
from shared.domain.timestamps import from_iso, to_iso
from shared.ports import UnitOfWork, Where, iterate_all
from shared.records import RETENTION_SCHEDULE_VERSIONS, RETENTION_SCHEDULES
from shared.services.repository import body, etag
from shared.services.retention.deps import RetentionDeps

DEFAULT_ETAG = "default"  # the ETag of a schedule nobody has changed yet (settings defaults)


def default_organisation_etag(org_id: str) -> str:
    """The ETag of an organisation schedule nobody has changed yet. Every organisation
    reads its own schedule at the same URL, so the ETag names the organisation: one
    organisation's ETag never matches another's, changed or not."""
    return f"{DEFAULT_ETAG}-{org_id}"


@dataclass
class Schedule:
    """The periods that apply to one organisation: the region's rules and its overrides."""

    rules: dict[RecordType, TypeRule]
    region_version: int
    overrides: dict[RecordType, int]
    org_version: int
    org_id: str
    region: str

    @property
    def months(self) -> dict[RecordType, int]:
        return effective_months(self.rules, self.overrides)

    @property
    def version(self) -> str:
        return schedule_version(self.region, self.region_version, self.org_id, self.org_version)


@dataclass(frozen=True)
class RegionSchedule:
    region: str
    version: int
    rules: dict[RecordType, TypeRule]
    effective_at: str | None  # None for the settings defaults nobody has changed


class RegionProposal(BaseModel):
    """A proposed change of the region's schedule and where it stands."""

    number: int
    status: str = Field(description="proposed, approved (in force from effective_at) or cancelled")
    rules: dict[RecordType, TypeRule]
    reason: str
    proposed_by: str
    proposed_at: str
    base_version: int = Field(description="The region version in force when it was proposed")
    approved_by: str | None = None
    approved_at: str | None = None
    version: int | None = Field(default=None, description="The region version it becomes once approved")
    effective_at: str | None = Field(default=None, description="When it takes effect; cancellable until then")
    cancelled_by: str | None = None
    cancelled_at: str | None = None
    cancel_reason: str | None = None


@dataclass(frozen=True)
class OrganisationSchedule:
    schedule: Schedule
    etag: str


REGION_SCOPE = "region"
PROPOSAL_SCOPE = "region-proposal"


def _region_versions(uow: UnitOfWork) -> list[dict[str, Any]]:
    return list(
        iterate_all(
            uow, RETENTION_SCHEDULE_VERSIONS.name, [PLATFORM_TENANT], [Where("scope", "eq", REGION_SCOPE)], order_by="version", limit=200
        )
    )


def _effective_at(doc: dict[str, Any]) -> str:
    # Versions stored before changes were delayed took effect when they were made.
    return doc.get("effective_at") or doc["changed_at"]


def _region_at(deps: RetentionDeps, uow: UnitOfWork, at: datetime) -> tuple[dict[RecordType, TypeRule], int, str | None]:
    """The region's rules in force at `at`: the newest approved version, not cancelled,
    whose effective time has come; the settings defaults (version 0) before any."""
    return _region_in_force(deps, _region_versions(uow), at)


def _region_in_force(
    deps: RetentionDeps, versions: list[dict[str, Any]], at: datetime
) -> tuple[dict[RecordType, TypeRule], int, str | None]:
    in_force = None
    for doc in versions:
        if doc.get("cancelled_at") is None and from_iso(_effective_at(doc)) <= at:
            in_force = doc
    if in_force is None:
        return region_rules_from_defaults(deps.defaults, deps.bounds), 0, None
    # A record type added after this version was approved runs on its settings default
    # until the next approved version names it.
    rules = region_rules_from_defaults(deps.defaults, deps.bounds)
    rules.update({RecordType(k): TypeRule.model_validate(v) for k, v in in_force["rules"].items()})
    return rules, in_force["version"], _effective_at(in_force)


def _org_doc(uow: UnitOfWork, org_id: str) -> tuple[dict[RecordType, int], int, str]:
    doc = uow.get(RETENTION_SCHEDULES.name, org_id, "organisation")
    if doc is None:
        return {}, 0, default_organisation_etag(org_id)
    return {RecordType(k): v for k, v in doc["overrides"].items()}, doc["version"], etag(doc)


def schedule_for(deps: RetentionDeps, uow: UnitOfWork, org_id: str, at: datetime | None = None) -> Schedule:
    """The schedule that applies to an organisation at `at` (now by default): the region
    rules in force then plus its overrides. The sweep passes its `as_of`."""
    rules, rv, _ = _region_at(deps, uow, at or deps.clock.now())
    overrides, ov, _ = _org_doc(uow, org_id)
    return Schedule(rules=rules, region_version=rv, overrides=overrides, org_version=ov, org_id=org_id, region=deps.region)


@dataclass(frozen=True)
class ScheduleBook:
    """Every organisation's schedule at one moment, read at once: the region's rules in
    force then and the organisations' own choices (those without any follow the region)."""

    region: str
    rules: dict[RecordType, TypeRule]
    region_version: int
    choices: dict[str, tuple[dict[RecordType, int], int]]  # organisation -> (overrides, version)

    def schedule(self, org_id: str) -> Schedule:
        """The schedule that applies to `org_id` (as `schedule_for` reads it)."""
        overrides, version = self.choices.get(org_id, ({}, 0))
        return Schedule(
            rules=self.rules,
            region_version=self.region_version,
            overrides=overrides,
            org_version=version,
            org_id=org_id,
            region=self.region,
        )

    def choosing(self) -> list[str]:
        """Organisations with a period of their own for some record type."""
        return sorted(org for org, (overrides, _) in self.choices.items() if overrides)

    @property
    def region_months(self) -> dict[RecordType, int]:
        """The periods of every organisation that chose none of its own."""
        return effective_months(self.rules, {})


def schedule_book(deps: RetentionDeps, uow: UnitOfWork, at: datetime) -> ScheduleBook:
    """Every schedule in force at `at` in one query across organisations (a timer's read):
    the region's versions and each organisation's versions, the newest of which is its
    current choice (`set_organisation` writes both together)."""
    region_versions: list[dict[str, Any]] = []
    newest: dict[str, dict[str, Any]] = {}
    for doc in iterate_all(uow, RETENTION_SCHEDULE_VERSIONS.name, None, [Where("scope", "ne", PROPOSAL_SCOPE)], limit=1000):
        tenant = doc.get("_tenant")
        if tenant == PLATFORM_TENANT and doc.get("scope") == REGION_SCOPE:
            region_versions.append(doc)
        elif tenant and doc.get("scope") == tenant and doc["version"] > newest.get(tenant, {"version": 0})["version"]:
            newest[tenant] = doc
    rules, version, _ = _region_in_force(deps, sorted(region_versions, key=lambda d: d["version"]), at)
    choices = {org: ({RecordType(k): v for k, v in doc["overrides"].items()}, doc["version"]) for org, doc in newest.items()}
    return ScheduleBook(region=deps.region, rules=rules, region_version=version, choices=choices)


def _check_region(rules: dict[RecordType, TypeRule]) -> None:
    errors = check_floors(rules) + check_region_rules(rules)
    if errors:
        raise Invalid("; ".join(e["message"] for e in errors), errors=errors)


def _need_etag(if_match: str | None) -> str:
    if not if_match:
        raise PreconditionRequired("Send If-Match with the ETag you last read (GET the schedule for it).")
    return if_match


def _proposal_id(number: int) -> str:
    return f"{PROPOSAL_SCOPE}:{number:06d}"


def _read_proposal(uow: UnitOfWork, number: int) -> dict[str, Any]:
    doc = uow.get(RETENTION_SCHEDULE_VERSIONS.name, PLATFORM_TENANT, _proposal_id(number)) if 0 < number < 1_000_000 else None
    if doc is None:
        raise NotFound(f"Schedule proposal {number} was not found.")
    return doc


def _proposal(doc: dict[str, Any]) -> RegionProposal:
    out = {k: v for k, v in body(doc).items() if k not in ("id", "scope", "version", "schedule_version")}
    return RegionProposal.model_validate({**out, "version": doc.get("schedule_version")})


class Schedules:
    def __init__(self, deps: RetentionDeps):
        self.deps = deps

    def region(self, at: datetime | None = None) -> RegionSchedule:
        """The region's schedule in force at `at` (now by default), with bounds and version (Platform.Operator)."""
        with self.deps.records.read_only() as uow:
            rules, version, effective = _region_at(self.deps, uow, at or self.deps.clock.now())
        return RegionSchedule(region=self.deps.region, version=version, rules=rules, effective_at=effective)

    def propose_region(self, principal: Principal, change: RegionScheduleIn) -> RegionProposal:
        """Propose a change of the region's schedule, audited; nothing changes until a second
        operator approves it and the delay has passed. Refused (422) below a statutory floor
        or with an audit period shorter than the data it describes."""
        _check_region(change.rules)
        deps = self.deps
        with deps.records.unit_of_work() as uow:
            numbers = [
                d["version"]
                for d in iterate_all(uow, RETENTION_SCHEDULE_VERSIONS.name, [PLATFORM_TENANT], [Where("scope", "eq", PROPOSAL_SCOPE)])
            ]
            number = max(numbers, default=0) + 1
            doc: dict[str, Any] = {
                "id": _proposal_id(number),
                "scope": PROPOSAL_SCOPE,
                # `version` orders proposals in the versions collection's index; `number` names them.
                "version": number,
                "number": number,
                "status": "proposed",
                "rules": {t.value: r.model_dump() for t, r in change.rules.items()},
                "reason": change.reason,
                "proposed_by": principal.user_id,
                "proposed_at": to_iso(deps.clock.now()),
                # The newest approved version, in force or still waiting: approving checks nothing came after it.
                "base_version": max((d["version"] for d in _region_versions(uow)), default=0),
            }
            # A concurrent proposal taking the same number fails this insert instead of overwriting it.
            uow.insert(RETENTION_SCHEDULE_VERSIONS.name, PLATFORM_TENANT, doc)
            self._audit(uow, principal, "retention.schedule.region.propose", number, change.reason, sorted(t.value for t in change.rules))
        return _proposal(doc)

    def approve_region(self, principal: Principal, number: int) -> RegionProposal:
        """Approve another operator's proposal: it becomes the next region version, in force
        once the delay (`retention_schedule_delay_days`) has passed, audited."""
        deps = self.deps
        if Role.PLATFORM_OPERATOR not in principal.roles:
            raise Forbidden("Only a platform operator approves a region schedule change.")
        with deps.records.unit_of_work() as uow:
            doc = _read_proposal(uow, number)
            if doc["status"] != "proposed":
                raise Conflict(f"Schedule proposal {number} is {doc['status']}; only a proposed change can be approved.")
            if doc["proposed_by"] == principal.user_id:
                raise Forbidden("A schedule change needs a second person: you cannot approve your own proposal.")
            rules = {RecordType(k): TypeRule.model_validate(v) for k, v in doc["rules"].items()}
            _check_region(rules)
            latest = max((d["version"] for d in _region_versions(uow)), default=0)
            if latest != doc["base_version"]:
                raise Conflict(
                    f"Another change (version {latest}) was approved after proposal {number} was made; propose again from the current schedule."
                )
            now = deps.clock.now()
            version = latest + 1
            effective = to_iso(now + timedelta(days=deps.schedule_delay_days))
            approved = {
                **body(doc),
                "status": "approved",
                "approved_by": principal.user_id,
                "approved_at": to_iso(now),
                "schedule_version": version,
                "effective_at": effective,
            }
            uow.replace(RETENTION_SCHEDULE_VERSIONS.name, PLATFORM_TENANT, approved, if_match=etag(doc))
            uow.insert(
                RETENTION_SCHEDULE_VERSIONS.name,
                PLATFORM_TENANT,
                {
                    "id": f"{REGION_SCOPE}:{version:06d}",
                    "scope": REGION_SCOPE,
                    "version": version,
                    "rules": doc["rules"],
                    "changed_at": to_iso(now),
                    "changed_by": doc["proposed_by"],
                    "approved_by": principal.user_id,
                    "effective_at": effective,
                    "proposal": number,
                    "reason": doc["reason"],
                },
            )
            self._audit(
                uow,
                principal,
                "retention.schedule.region.approve",
                number,
                doc["reason"],
                [f"version:{version}", f"effective_at:{effective}"],
            )
        return _proposal(approved)

    def cancel_region(self, principal: Principal, number: int, reason: str) -> RegionProposal:
        """Stop a proposed, or approved but not yet effective, change (any operator), audited."""
        deps = self.deps
        now = deps.clock.now()
        with deps.records.unit_of_work() as uow:
            doc = _read_proposal(uow, number)
            if doc["status"] == "cancelled" or (doc["status"] == "approved" and from_iso(doc["effective_at"]) <= now):
                raise Conflict(
                    f"Schedule proposal {number} is already {'cancelled' if doc['status'] == 'cancelled' else 'in force'}; propose a new change instead."
                )
            stamp = {"cancelled_by": principal.user_id, "cancelled_at": to_iso(now), "cancel_reason": reason}
            if doc["status"] == "approved":
                version_id = f"{REGION_SCOPE}:{doc['schedule_version']:06d}"
                version_doc = uow.get(RETENTION_SCHEDULE_VERSIONS.name, PLATFORM_TENANT, version_id)
                if version_doc is not None:
                    uow.replace(
                        RETENTION_SCHEDULE_VERSIONS.name, PLATFORM_TENANT, {**body(version_doc), **stamp}, if_match=etag(version_doc)
                    )
            cancelled = {**body(doc), **stamp, "status": "cancelled"}
            uow.replace(RETENTION_SCHEDULE_VERSIONS.name, PLATFORM_TENANT, cancelled, if_match=etag(doc))
            self._audit(uow, principal, "retention.schedule.region.cancel", number, reason, [])
        return _proposal(cancelled)

    def proposals(self) -> list[RegionProposal]:
        """Every proposed change of the region's schedule, oldest first."""
        with self.deps.records.read_only() as uow:
            docs = list(
                iterate_all(
                    uow,
                    RETENTION_SCHEDULE_VERSIONS.name,
                    [PLATFORM_TENANT],
                    [Where("scope", "eq", PROPOSAL_SCOPE)],
                    order_by="version",
                    limit=200,
                )
            )
        return [_proposal(d) for d in docs]

    def _audit(self, uow: UnitOfWork, principal: Principal, operation: str, number: int, purpose: str, fields: list[str]) -> None:
        self.deps.audit.record(
            uow,
            owner_org=principal.organisation_id,
            principal=principal,
            action=AuditAction.ALTERATION,
            operation=operation,
            entity=f"retention_schedule/{self.deps.region}/proposal/{number}",
            fields=fields,
            purpose=purpose,
        )

    def organisation(self, principal: Principal) -> OrganisationSchedule:
        """The caller's organisation's schedule: what applies, its own choices and the region's bounds."""
        with self.deps.records.read_only() as uow:
            schedule = schedule_for(self.deps, uow, principal.organisation_id)
            _, _, tag = _org_doc(uow, principal.organisation_id)
        return OrganisationSchedule(schedule=schedule, etag=tag)

    def set_organisation(self, principal: Principal, change: OrganisationScheduleIn, if_match: str | None) -> OrganisationSchedule:
        """Set an organisation's own periods within the region's bounds, as a new version."""
        etag_in = _need_etag(if_match)
        deps = self.deps
        org = principal.organisation_id
        with deps.records.unit_of_work() as uow:
            # The precondition first: a stale copy is a 412 (read again) even when the
            # periods sent would also fall outside the region's bounds.
            _, version, tag = _org_doc(uow, org)
            if etag_in != tag:
                raise PreconditionFailed("Your organisation's schedule has changed since you read it; read it again.")
            rules, _, _ = _region_at(deps, uow, deps.clock.now())
            errors = check_overrides(rules, change.overrides)
            if errors:
                raise Invalid("; ".join(e["message"] for e in errors), errors=errors)
            new_version = version + 1
            doc = {
                "id": "organisation",
                "version": new_version,
                "overrides": {t.value: m for t, m in change.overrides.items()},
                "changed_at": to_iso(deps.clock.now()),
                "changed_by": principal.user_id,
                "reason": change.reason,
            }
            new_etag = (
                uow.upsert(RETENTION_SCHEDULES.name, org, doc)
                if version == 0
                else uow.replace(RETENTION_SCHEDULES.name, org, doc, if_match=tag)
            )
            uow.insert(RETENTION_SCHEDULE_VERSIONS.name, org, {**doc, "id": f"{org}:{new_version:06d}", "scope": org})
            deps.audit.record(
                uow,
                owner_org=org,
                principal=principal,
                action=AuditAction.ALTERATION,
                operation="retention.schedule.organisation",
                entity=f"retention_schedule/{org}",
                fields=sorted(t.value for t in change.overrides),
                purpose=change.reason,
            )
            schedule = schedule_for(deps, uow, org)
        return OrganisationSchedule(schedule=schedule, etag=new_etag)

    def versions(self, principal: Principal, *, region: bool) -> list[dict[str, Any]]:
        """Every stored version of the region's or the caller's organisation's schedule, oldest first."""
        tenant, scope = (PLATFORM_TENANT, "region") if region else (principal.organisation_id, principal.organisation_id)
        with self.deps.records.read_only() as uow:
            docs = list(
                iterate_all(uow, RETENTION_SCHEDULE_VERSIONS.name, [tenant], [Where("scope", "eq", scope)], order_by="version", limit=200)
            )
        return [{k: v for k, v in body(d).items() if k not in ("id", "scope")} for d in docs]
