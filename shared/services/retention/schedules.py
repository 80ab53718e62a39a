"""Retention schedules: the region's periods and bounds (Platform.Operator) and each
organisation's own choices within them (Retailer.Admin), every change a new version.

A schedule change applies at the next sweep without rewriting any index entry: the
period is applied at query time, never stored with the entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.errors import Invalid, PreconditionFailed, PreconditionRequired
from shared.domain.retention import (
    OrganisationScheduleIn,
    RecordType,
    RegionScheduleIn,
    TypeRule,
    check_overrides,
    check_region_rules,
    effective_months,
    region_rules_from_defaults,
    schedule_version,
)
from shared.domain.tenancy import PLATFORM_TENANT, Principal
from shared.domain.timestamps import to_iso
from shared.ports import UnitOfWork, Where, iterate_all
from shared.records import RETENTION_SCHEDULE_VERSIONS, RETENTION_SCHEDULES
from shared.services.repository import body, etag
from shared.services.retention.deps import RetentionDeps

DEFAULT_ETAG = "default"  # the ETag of a region schedule nobody has changed yet (settings defaults)


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
    etag: str


@dataclass(frozen=True)
class OrganisationSchedule:
    schedule: Schedule
    etag: str


def _region_doc(deps: RetentionDeps, uow: UnitOfWork) -> tuple[dict[RecordType, TypeRule], int, str]:
    doc = uow.get(RETENTION_SCHEDULES.name, PLATFORM_TENANT, "region")
    if doc is None:
        return region_rules_from_defaults(deps.defaults, deps.bounds), 0, DEFAULT_ETAG
    rules = {RecordType(k): TypeRule.model_validate(v) for k, v in doc["rules"].items()}
    return rules, doc["version"], etag(doc)


def _org_doc(uow: UnitOfWork, org_id: str) -> tuple[dict[RecordType, int], int, str]:
    doc = uow.get(RETENTION_SCHEDULES.name, org_id, "organisation")
    if doc is None:
        return {}, 0, default_organisation_etag(org_id)
    return {RecordType(k): v for k, v in doc["overrides"].items()}, doc["version"], etag(doc)


def schedule_for(deps: RetentionDeps, uow: UnitOfWork, org_id: str) -> Schedule:
    """The schedule that applies to an organisation now (region rules plus its overrides)."""
    rules, rv, _ = _region_doc(deps, uow)
    overrides, ov, _ = _org_doc(uow, org_id)
    return Schedule(rules=rules, region_version=rv, overrides=overrides, org_version=ov, org_id=org_id, region=deps.region)


def _need_etag(if_match: str | None) -> str:
    if not if_match:
        raise PreconditionRequired("Send If-Match with the ETag you last read (GET the schedule for it).")
    return if_match


class Schedules:
    def __init__(self, deps: RetentionDeps):
        self.deps = deps

    def region(self) -> RegionSchedule:
        """The region's schedule with bounds and version (Platform.Operator)."""
        with self.deps.records.read_only() as uow:
            rules, version, tag = _region_doc(self.deps, uow)
        return RegionSchedule(region=self.deps.region, version=version, rules=rules, etag=tag)

    def set_region(self, principal: Principal, change: RegionScheduleIn, if_match: str | None) -> RegionSchedule:
        """Replace the region's schedule as a new version (`if_match`: the stored ETag last read), audited."""
        etag_in = _need_etag(if_match)
        errors = check_region_rules(change.rules)
        if errors:
            raise Invalid("; ".join(e["message"] for e in errors), errors=errors)
        deps = self.deps
        with deps.records.unit_of_work() as uow:
            _, version, tag = _region_doc(deps, uow)
            if etag_in != tag:
                raise PreconditionFailed("The region schedule has changed since you read it; read it again.")
            new_version = version + 1
            doc = {
                "id": "region",
                "version": new_version,
                "rules": {t.value: r.model_dump() for t, r in change.rules.items()},
                "changed_at": to_iso(deps.clock.now()),
                "changed_by": principal.user_id,
                "reason": change.reason,
            }
            new_etag = (
                uow.upsert(RETENTION_SCHEDULES.name, PLATFORM_TENANT, doc)
                if version == 0
                else uow.replace(RETENTION_SCHEDULES.name, PLATFORM_TENANT, doc, if_match=tag)
            )
            uow.insert(RETENTION_SCHEDULE_VERSIONS.name, PLATFORM_TENANT, {**doc, "id": f"region:{new_version:06d}", "scope": "region"})
            deps.audit.record(
                uow,
                owner_org=principal.organisation_id,
                principal=principal,
                action=AuditAction.ALTERATION,
                operation="retention.schedule.region",
                entity=f"retention_schedule/{deps.region}",
                fields=sorted(t.value for t in change.rules),
                purpose=change.reason,
            )
        return RegionSchedule(region=deps.region, version=new_version, rules=dict(change.rules), etag=new_etag)

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
            rules, _, _ = _region_doc(deps, uow)
            errors = check_overrides(rules, change.overrides)
            if errors:
                raise Invalid("; ".join(e["message"] for e in errors), errors=errors)
            _, version, tag = _org_doc(uow, org)
            if etag_in != tag:
                raise PreconditionFailed("Your organisation's schedule has changed since you read it; read it again.")
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
