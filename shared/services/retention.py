"""Retention without operators: schedules, the retention index, the sweep, legal holds,
tombstones and the counts that outlive deletion.

The retention index
-------------------
Every incident has one entry in `retention_index` (tenant = the owning organisation),
written by `on_incident` inside the incident's own unit of work. An entry carries a
`lane` (the record type whose period applies: `incident`, `incident_police_case`, or
`held` while a legal hold is active) and a `basis_at` (when the period starts). The
sweep asks, per organisation and lane, for `lane = L and basis_at <= as_of - period`,
ordered by `basis_at`, so it reads only what is due, and a schedule change applies at
the next sweep without rewriting any entry (the period is applied at query time, not
stored). Whether an incident has a police case is checked again for each due entry
(an acknowledged dispatch moves it to the longer police-case lane), so D2P needs no
hook into retention.

Deletion
--------
One path for the timer and for subject-request erasure (`delete_incident`): tombstone
(no personal data), deleted-count for statistics, erasure audit entry, dependent
records (versions, person index, evidence through the IncidentErased event, ANPR hits,
partner access grants), then the incident and its index entry. The sweep deletes in
batches of `batch` incidents per unit of work; a batch that fails leaves nothing
half-done on SQLite (one transaction) and a re-run finishes it. The tombstone is
written first and checked first, so a re-run after a partial commit (Cosmos has no
cross-container transaction) never counts or tombstones a record twice.

Person-of-interest images
-------------------------
An image of kind `suspect_image` on an incident that names an offender is a
person-of-interest image: it goes once the POI period has passed since that offender's
last linked incident, even though the incident lives longer. The index holds one entry
per (organisation, offender) (`poi_image:<offender id>`, lane `poi_image`, basis the
occurred-at of the newest incident listing the offender), kept by the incident hook on
create, change and evidence added. The sweep asks for due entries like every other lane
and erases the suspect images of each of the offender's incidents, except an incident
under a legal hold (the entry then waits in lane `poi_held` until the hold is released)
or with a police case (its images stay with it and go when it goes). Each image leaves a
tombstone (`poi_image:<evidence id>`), an erasure audit entry and a count; its custody
chain ends with a `deleted` event and goes with the incident.

Audit
-----
Each organisation's audit chain loses its oldest entries once they are older than its
audit period, as a prefix only, behind a chain anchor (shared/services/audit.py), in
batches of `audit_batch`; each batch leaves a tombstone of type `audit_entries` (counts
and seq range, nothing personal) and a pruning entry in the chain. The schedule refuses
an audit period shorter than the data it describes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.errors import Conflict, Forbidden, Invalid, NotFound, PreconditionFailed, PreconditionRequired
from shared.domain.events import EvidenceErasureDue, IncidentErased, LegalHoldChanged
from shared.domain.evidence import EvidenceKind
from shared.domain.retention import (
    HELD_LANE,
    POI_HELD_LANE,
    OrganisationScheduleIn,
    RecordType,
    RegionScheduleIn,
    TypeRule,
    add_months,
    basis_cutoff,
    check_overrides,
    check_region_rules,
    effective_months,
    is_due,
    month_of,
    name_key,
    region_rules_from_defaults,
    rule_text,
    schedule_version,
    tombstone_id,
)
from shared.domain.tenancy import PLATFORM_TENANT, OrgKind, Principal, Role
from shared.domain.timestamps import from_iso, to_iso
from shared.ports import Clock, JobReport, RecordStore, UnitOfWork, Where, iterate_all
from shared.records import (
    ACCESS_GRANTS,
    ANPR_HITS,
    DISPATCHES,
    INCIDENT_VERSIONS,
    INCIDENTS,
    LEGAL_HOLDS,
    ORGANISATIONS,
    PERSON_INDEX,
    RETENTION_COUNTS,
    RETENTION_INDEX,
    RETENTION_SCHEDULE_VERSIONS,
    RETENTION_SCHEDULES,
    TOMBSTONES,
)
from shared.services.audit import AuditTrail
from shared.services.directory import Directory
from shared.services.evidence.erasure import suspect_images
from shared.services.incidents import IncidentService
from shared.services.messagebus import MessageBus

INCIDENT_LANES = (RecordType.INCIDENT, RecordType.INCIDENT_POLICE_CASE)
HOLDERS_RETAIL = (Role.RETAILER_INVESTIGATOR,)
HOLDERS_POLICE = (Role.POLICE_OFFICER, Role.POLICE_ANALYST)
SYSTEM_ACTOR = "retention-timer"
DEFAULT_ETAG = "default"  # the ETag of a region schedule nobody has changed yet (settings defaults)


def default_organisation_etag(org_id: str) -> str:
    """The ETag of an organisation schedule nobody has changed yet. Every organisation
    reads its own schedule at the same URL, so the ETag names the organisation: one
    organisation's ETag never matches another's, changed or not."""
    return f"{DEFAULT_ETAG}-{org_id}"


def index_id(record_type: str, entity_id: str) -> str:
    return f"{record_type}:{entity_id}"


@dataclass
class Schedule:
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


@dataclass
class RetentionService:
    records: RecordStore
    clock: Clock
    directory: Directory
    audit: AuditTrail
    region: str
    defaults: dict[str, int]
    bounds: dict[str, list[int]]
    # Holds find incidents with the same 404 rule as every other read.
    incidents: IncidentService
    # Evidence and other dependents hear of erasures and holds through domain events.
    bus: MessageBus
    batch: int = 100
    audit_batch: int = 500  # audit entries pruned per unit of work

    # ---- schedules ---------------------------------------------------------------------
    def _region_doc(self, uow: UnitOfWork) -> tuple[dict[RecordType, TypeRule], int, str]:
        doc = uow.get(RETENTION_SCHEDULES.name, PLATFORM_TENANT, "region")
        if doc is None:
            return region_rules_from_defaults(self.defaults, self.bounds), 0, DEFAULT_ETAG
        rules = {RecordType(k): TypeRule.model_validate(v) for k, v in doc["rules"].items()}
        return rules, doc["version"], doc["_etag"]

    def _org_doc(self, uow: UnitOfWork, org_id: str) -> tuple[dict[RecordType, int], int, str]:
        doc = uow.get(RETENTION_SCHEDULES.name, org_id, "organisation")
        if doc is None:
            return {}, 0, default_organisation_etag(org_id)
        return {RecordType(k): v for k, v in doc["overrides"].items()}, doc["version"], doc["_etag"]

    def schedule_for(self, uow: UnitOfWork, org_id: str) -> Schedule:
        """The schedule that applies to an organisation now (region rules plus its overrides)."""
        rules, rv, _ = self._region_doc(uow)
        overrides, ov, _ = self._org_doc(uow, org_id)
        return Schedule(rules=rules, region_version=rv, overrides=overrides, org_version=ov, org_id=org_id, region=self.region)

    def region_schedule(self, principal: Principal) -> tuple[dict[str, Any], str]:
        """The region's schedule with bounds and version (Platform.Operator)."""
        with self.records.unit_of_work() as uow:
            rules, version, etag = self._region_doc(uow)
        return {"region": self.region, "version": version, "rules": {t.value: r.model_dump() for t, r in rules.items()}}, etag

    def set_region_schedule(self, principal: Principal, body: RegionScheduleIn, if_match: str | None) -> tuple[dict[str, Any], str]:
        """Replace the region's schedule as a new version (If-Match), audited."""
        etag_in = _need_etag(if_match)
        errors = check_region_rules(body.rules)
        if errors:
            raise Invalid("; ".join(e["message"] for e in errors), errors=errors)
        with self.records.unit_of_work() as uow:
            _, version, etag = self._region_doc(uow)
            if etag_in != etag:
                raise PreconditionFailed("The region schedule has changed since you read it; read it again.")
            new_version = version + 1
            doc = {
                "id": "region",
                "version": new_version,
                "rules": {t.value: r.model_dump() for t, r in body.rules.items()},
                "changed_at": to_iso(self.clock.now()),
                "changed_by": principal.user_id,
                "reason": body.reason,
            }
            new_etag = (
                uow.upsert(RETENTION_SCHEDULES.name, PLATFORM_TENANT, doc)
                if version == 0
                else uow.replace(RETENTION_SCHEDULES.name, PLATFORM_TENANT, doc, if_match=etag)
            )
            uow.insert(RETENTION_SCHEDULE_VERSIONS.name, PLATFORM_TENANT, {**doc, "id": f"region:{new_version:06d}", "scope": "region"})
            self.audit.record(
                uow,
                owner_org=principal.organisation_id,
                principal=principal,
                action=AuditAction.ALTERATION,
                operation="retention.schedule.region",
                entity=f"retention_schedule/{self.region}",
                fields=sorted(t.value for t in body.rules),
                purpose=body.reason,
            )
        return {"region": self.region, "version": new_version, "rules": doc["rules"]}, new_etag

    def organisation_schedule(self, principal: Principal) -> tuple[dict[str, Any], str]:
        """An organisation's schedule: what applies, its own choices and the region's bounds."""
        with self.records.unit_of_work() as uow:
            schedule = self.schedule_for(uow, principal.organisation_id)
            _, _, etag = self._org_doc(uow, principal.organisation_id)
        return self._present_org(schedule), etag

    def set_organisation_schedule(
        self, principal: Principal, body: OrganisationScheduleIn, if_match: str | None
    ) -> tuple[dict[str, Any], str]:
        """Set an organisation's own periods within the region's bounds, as a new version."""
        etag_in = _need_etag(if_match)
        org = principal.organisation_id
        with self.records.unit_of_work() as uow:
            rules, _, _ = self._region_doc(uow)
            errors = check_overrides(rules, body.overrides)
            if errors:
                raise Invalid("; ".join(e["message"] for e in errors), errors=errors)
            _, version, etag = self._org_doc(uow, org)
            if etag_in != etag:
                raise PreconditionFailed("Your organisation's schedule has changed since you read it; read it again.")
            new_version = version + 1
            doc = {
                "id": "organisation",
                "version": new_version,
                "overrides": {t.value: m for t, m in body.overrides.items()},
                "changed_at": to_iso(self.clock.now()),
                "changed_by": principal.user_id,
                "reason": body.reason,
            }
            new_etag = (
                uow.upsert(RETENTION_SCHEDULES.name, org, doc)
                if version == 0
                else uow.replace(RETENTION_SCHEDULES.name, org, doc, if_match=etag)
            )
            uow.insert(RETENTION_SCHEDULE_VERSIONS.name, org, {**doc, "id": f"{org}:{new_version:06d}", "scope": org})
            self.audit.record(
                uow,
                owner_org=org,
                principal=principal,
                action=AuditAction.ALTERATION,
                operation="retention.schedule.organisation",
                entity=f"retention_schedule/{org}",
                fields=sorted(t.value for t in body.overrides),
                purpose=body.reason,
            )
            schedule = self.schedule_for(uow, org)
        return self._present_org(schedule), new_etag

    def schedule_versions(self, principal: Principal, *, region: bool) -> list[dict[str, Any]]:
        """Every stored version of the region's or the caller's organisation's schedule, oldest first."""
        tenant, scope = (PLATFORM_TENANT, "region") if region else (principal.organisation_id, principal.organisation_id)
        with self.records.unit_of_work() as uow:
            docs = list(
                iterate_all(uow, RETENTION_SCHEDULE_VERSIONS.name, [tenant], [Where("scope", "eq", scope)], order_by="version", limit=200)
            )
        return [{k: v for k, v in d.items() if not k.startswith("_") and k not in ("id", "scope")} for d in docs]

    @staticmethod
    def _present_org(schedule: Schedule) -> dict[str, Any]:
        months = schedule.months
        return {
            "organisation_id": schedule.org_id,
            "version": schedule.org_version,
            "schedule_version": schedule.version,
            "overrides": {t.value: m for t, m in schedule.overrides.items()},
            "effective": {
                t.value: {"months": months[t], "min_months": r.min_months, "max_months": r.max_months, "region_months": r.months}
                for t, r in schedule.rules.items()
            },
        }

    # ---- the index, kept by the incident hook ------------------------------------------
    def on_incident(self, uow: UnitOfWork, principal: Principal, incident: dict[str, Any]) -> dict[str, Any]:
        """Keep the incident's retention and person index entries current (on report,
        change and evidence added)."""
        org = incident["organisation_id"]
        before = uow.get(RETENTION_INDEX.name, org, index_id("incident", incident["id"]))
        self._index_incident(uow, org, incident)
        self._index_persons(uow, org, incident)
        previous = set(before.get("offender_ids", [])) if before else set()
        for offender_id in sorted(previous | set(incident.get("offender_ids", []))):
            self._index_offender(uow, org, offender_id, incident)
        return {}

    def _index_offender(
        self, uow: UnitOfWork, org: str, offender_id: str, incident: dict[str, Any] | None, *, gone: str | None = None
    ) -> None:
        """Set the offender's person-of-interest entry to its last linked incident.

        `incident` is the incident being written (queries may not see this unit's writes
        yet, so it is taken as given); `gone` an incident being deleted. The entry goes back
        to the `poi_image` lane: a change (a later incident, an image added to an old one)
        is looked at again by the next sweep. No incident left: the entry goes.
        """
        this = incident["id"] if incident else gone
        last_at: str | None = None
        last_id: str | None = None
        if incident is not None and offender_id in incident.get("offender_ids", []):
            last_at, last_id = incident["occurred_at"], incident["id"]
        page = uow.query(
            INCIDENTS.name, [org], [Where("offender_ids", "contains", offender_id)], order_by="occurred_at", descending=True, limit=2
        )
        for doc in page.items:
            if doc["id"] == this:
                continue
            if last_at is None or doc["occurred_at"] > last_at:
                last_at, last_id = doc["occurred_at"], doc["id"]
            break
        entry_id = index_id(RecordType.POI_IMAGE.value, offender_id)
        if last_at is None:
            uow.delete(RETENTION_INDEX.name, org, entry_id)
            return
        uow.upsert(
            RETENTION_INDEX.name,
            org,
            {
                "id": entry_id,
                "entity_id": offender_id,
                "type": RecordType.POI_IMAGE.value,
                "lane": RecordType.POI_IMAGE.value,
                "basis_at": last_at,
                "last_incident_id": last_id,
            },
        )

    def _index_incident(self, uow: UnitOfWork, org: str, incident: dict[str, Any], *, holds: int | None = None) -> dict[str, Any]:
        entry_id = index_id("incident", incident["id"])
        existing = uow.get(RETENTION_INDEX.name, org, entry_id)
        if holds is None:
            holds = existing.get("holds", 0) if existing else 0
        if holds > 0:
            lane = HELD_LANE
        elif self._has_police_case(uow, org, incident["id"]):
            lane = RecordType.INCIDENT_POLICE_CASE.value
        else:
            lane = RecordType.INCIDENT.value
        entry = {
            "id": entry_id,
            "entity_id": incident["id"],
            "type": "incident",
            "lane": lane,
            "basis_at": incident["occurred_at"],
            "month": month_of(incident["occurred_at"]),
            "store_id": incident["store_id"],
            "category": incident["category"],
            "holds": holds,
            # Which offenders the incident names (to move their POI entries when that
            # changes) and which of its images were erased as person-of-interest images
            # (their custody chains go with the incident).
            "offender_ids": list(incident.get("offender_ids", [])),
            "poi_erased": existing.get("poi_erased", []) if existing else [],
        }
        uow.upsert(RETENTION_INDEX.name, org, entry)
        return entry

    def _index_persons(self, uow: UnitOfWork, org: str, incident: dict[str, Any]) -> None:
        keep = set()
        for i, person in enumerate(incident.get("persons", [])):
            key = name_key(person.get("name") or "")
            if not key:
                continue
            pid = f"{incident['id']}:{i:03d}"
            keep.add(pid)
            uow.upsert(
                PERSON_INDEX.name,
                org,
                {"id": pid, "incident_id": incident["id"], "person": i, "name_key": key, "date_of_birth": person.get("date_of_birth")},
            )
        for old in iterate_all(uow, PERSON_INDEX.name, [org], [Where("incident_id", "eq", incident["id"])]):
            if old["id"] not in keep:
                uow.delete(PERSON_INDEX.name, org, old["id"])

    @staticmethod
    def _has_police_case(uow: UnitOfWork, org: str, incident_id: str) -> bool:
        """An incident has a police case once a force acknowledged a dispatch of it."""
        for d in iterate_all(uow, DISPATCHES.name, [org], [Where("incident_id", "eq", incident_id)]):
            if d.get("acknowledged_at") or d.get("crime_reference"):
                return True
        return False

    # ---- the sweep ---------------------------------------------------------------------
    def retailers(self) -> list[str]:
        """Retailers homed in this region: the organisations whose records are swept here."""
        with self.records.unit_of_work() as uow:
            docs = iterate_all(uow, ORGANISATIONS.name, [PLATFORM_TENANT], [Where("kind", "eq", OrgKind.RETAILER.value)])
            return sorted(d["id"] for d in docs if d.get("home_region") == self.region)

    def sweep(self, as_of: datetime, *, organisations: Sequence[str] | None = None) -> JobReport:
        """Delete every incident due at `as_of` (not held), organisation by organisation.

        Reads only due entries (index on lane and basis_at); deletes in batches of `batch`,
        one unit of work each; safe to re-run after a crash at any point.
        """
        report = JobReport(job="retention", as_of=as_of)
        report.counts = {"incidents_deleted": 0, "moved_to_police_case": 0, "dependents_deleted": 0}
        for org in organisations if organisations is not None else self.retailers():
            with self.records.unit_of_work() as uow:
                schedule = self.schedule_for(uow, org)
            months = schedule.months
            # Images first: an image due under the POI rule goes even if its incident is due today.
            self._sweep_poi_images(org, months[RecordType.POI_IMAGE], schedule, as_of, report)
            for lane in INCIDENT_LANES:
                self._sweep_lane(org, lane, months[lane], schedule, as_of, report)
            self._sweep_email_bodies(org, months[RecordType.D2P_EMAIL_BODY], schedule, as_of, report)
            self._sweep_unlinked_hits(org, months[RecordType.ANPR_HIT], as_of, report)
        # Every organisation homed here keeps an audit chain (forces and the platform too).
        for org in organisations if organisations is not None else self.homed():
            with self.records.unit_of_work() as uow:
                schedule = self.schedule_for(uow, org)
            self._sweep_audit(org, schedule.months[RecordType.AUDIT], schedule, as_of, report)
        return report

    def homed(self) -> list[str]:
        """Every organisation homed in this region, of any kind."""
        with self.records.unit_of_work() as uow:
            return sorted(
                d["id"] for d in iterate_all(uow, ORGANISATIONS.name, [PLATFORM_TENANT], []) if d.get("home_region") == self.region
            )

    def _sweep_audit(self, org: str, months: int, schedule: Schedule, as_of: datetime, report: JobReport) -> None:
        """Prune the organisation's audit chain of entries older than `months`, oldest
        first, `audit_batch` per unit of work, each batch anchored, tombstoned and audited."""
        rule = rule_text(RecordType.AUDIT, months)
        report.counts.setdefault("audit_entries_pruned", 0)

        def due(entry: dict[str, Any]) -> bool:
            return is_due(from_iso(entry["at"]), months, as_of)

        while True:
            with self.records.unit_of_work() as uow:
                removed = self.audit.prune_prefix(uow, org, due=due, limit=self.audit_batch, rule=rule, schedule_version=schedule.version)
                if removed:
                    first, last = removed[0]["seq"], removed[-1]["seq"]
                    uow.insert(
                        TOMBSTONES.name,
                        org,
                        {
                            "id": tombstone_id("audit_entries", f"{first:012d}-{last:012d}"),
                            "entity_id": f"audit/{first}-{last}",
                            "type": "audit_entries",
                            "deleted_at": to_iso(self.clock.now()),
                            "rule": rule,
                            "schedule_version": schedule.version,
                            "cause": "schedule",
                            "request_id": None,
                            "count": len(removed),
                            "first_seq": first,
                            "last_seq": last,
                        },
                    )
            report.counts["audit_entries_pruned"] += len(removed)
            if len(removed) < self.audit_batch:
                return

    def _sweep_poi_images(self, org: str, months: int, schedule: Schedule, as_of: datetime, report: JobReport) -> None:
        """Erase person-of-interest images of offenders whose last linked incident is
        `months` old, through (lane, basis_at), at most `batch` images per unit of work."""
        cutoff = to_iso(basis_cutoff(as_of, months))
        where = [Where("lane", "eq", RecordType.POI_IMAGE.value), Where("basis_at", "le", cutoff)]
        rule = rule_text(RecordType.POI_IMAGE, months)
        for key in ("poi_images_deleted", "poi_images_kept_held", "poi_images_kept_police_case"):
            report.counts.setdefault(key, 0)
        continuation = None
        while True:
            finished = exhausted = False
            with self.records.unit_of_work() as uow:
                page = uow.query(RETENTION_INDEX.name, [org], where, order_by="basis_at", limit=self.batch, continuation=continuation)
                budget = self.batch
                for entry in page.items:
                    if not is_due(from_iso(entry["basis_at"]), months, as_of):
                        finished = True  # ordered by basis: nothing after this one is due either
                        break
                    erased, complete = self._erase_offender_images(uow, org, entry, rule, schedule.version, budget, report)
                    budget -= erased
                    if not complete:
                        exhausted = True
                        break
            if exhausted:
                continue  # the same page again: finished entries left the lane, the unfinished one resumes
            continuation = page.continuation
            if finished or not continuation:
                return

    def _erase_offender_images(
        self, uow: UnitOfWork, org: str, entry: dict[str, Any], rule: str, version: str, budget: int, report: JobReport
    ) -> tuple[int, bool]:
        """Erase the suspect images of every incident naming the entry's offender (held and
        police-case incidents excepted). Returns (images erased, whether the entry is done);
        stops unfinished when `budget` images were erased."""
        offender_id = entry["entity_id"]
        erased = 0
        held = protected = False
        for incident in list(iterate_all(uow, INCIDENTS.name, [org], [Where("offender_ids", "contains", offender_id)])):
            items = suspect_images(uow, org, incident["id"])
            if not items:
                continue
            if self.is_held(uow, org, incident["id"]):
                held = True
                report.counts["poi_images_kept_held"] += len(items)
                continue
            if self._has_police_case(uow, org, incident["id"]):
                report.counts["poi_images_kept_police_case"] += len(items)
                continue
            for item in items:
                if erased >= budget:
                    return erased, False
                try:
                    self._erase_poi_image(uow, org, incident, item, rule, version)
                except Conflict as exc:
                    # Still immutable (the schedule was shortened after upload) or held on the
                    # item itself: nothing of it was written; the entry stays due and is
                    # looked at again by the next run.
                    protected = True
                    report.counts["kept_protected"] = report.counts.get("kept_protected", 0) + 1
                    report.notes.append(f"person-of-interest image {item['id']} kept: {exc.detail}")
                    continue
                erased += 1
                report.counts["poi_images_deleted"] += 1
        if held:
            uow.upsert(RETENTION_INDEX.name, org, {**_strip(entry), "lane": POI_HELD_LANE})
        elif not protected:
            uow.delete(RETENTION_INDEX.name, org, entry["id"])
        return erased, True

    def _erase_poi_image(self, uow: UnitOfWork, org: str, incident: dict[str, Any], item: dict[str, Any], rule: str, version: str) -> None:
        tid = tombstone_id(RecordType.POI_IMAGE.value, item["id"])
        first = uow.get(TOMBSTONES.name, org, tid) is None
        # An earlier attempt that wrote its tombstone also wrote the custody event: not twice.
        self.bus.publish(uow, EvidenceErasureDue(organisation_id=org, item=item, rule=rule, custody_event=first))
        if not first:
            return
        uow.insert(
            TOMBSTONES.name,
            org,
            {
                "id": tid,
                "entity_id": item["id"],
                "type": RecordType.POI_IMAGE.value,
                "deleted_at": to_iso(self.clock.now()),
                "rule": rule,
                "schedule_version": version,
                "cause": "schedule",
                "request_id": None,
            },
        )
        self.audit.record(
            uow,
            owner_org=org,
            principal=None,
            action=AuditAction.ERASURE,
            operation="retention.poi_image",
            entity=f"evidence/{item['id']}",
            subjects=[incident["id"]],
            purpose=rule,
            system_actor=SYSTEM_ACTOR,
        )
        entry = uow.get(RETENTION_INDEX.name, org, index_id("incident", incident["id"]))
        if entry is None:
            entry = self._index_incident(uow, org, incident)
        uow.upsert(RETENTION_INDEX.name, org, {**_strip(entry), "poi_erased": [*entry.get("poi_erased", []), item["id"]]})
        self._count(uow, org, entry, "poi_images_deleted")

    def _sweep_unlinked_hits(self, org: str, months: int, as_of: datetime, report: JobReport) -> None:
        """Delete ANPR hits linked to no incident once `months` have passed since the read.

        Linked hits are kept with their incidents (and go with them). Found through
        (linked, captured_at), in bounded batches, so the cost follows what is due.
        """
        cutoff = to_iso(basis_cutoff(as_of, months))
        where = [Where("linked", "eq", False), Where("captured_at", "le", cutoff)]
        rule = rule_text(RecordType.ANPR_HIT, months)
        report.counts.setdefault("unlinked_hits_deleted", 0)
        while True:
            with self.records.unit_of_work() as uow:
                page = uow.query(ANPR_HITS.name, [org], where, order_by="captured_at", limit=self.batch)
                due = [h["id"] for h in page.items if is_due(from_iso(h["captured_at"]), months, as_of)]
                if due:
                    uow.delete_many(ANPR_HITS.name, [(org, i) for i in due])
                    self.audit.record(
                        uow,
                        owner_org=org,
                        principal=None,
                        action=AuditAction.ERASURE,
                        operation="retention.anpr_hit",
                        entity="anpr_hit",
                        subjects=due,
                        purpose=rule,
                        system_actor="retention",
                    )
                    report.counts["unlinked_hits_deleted"] += len(due)
            # Ordered by capture time: a page with anything not yet due ends the lane.
            if len(due) < len(page.items) or len(page.items) < self.batch:
                return

    def _sweep_email_bodies(self, org: str, months: int, schedule: Schedule, as_of: datetime, report: JobReport) -> None:
        """Remove the body of each D2P email whose acknowledgement is `months` old.

        The dispatch keeps its subject, recipient, Message-ID and states (no personal data),
        so KPIs and the delivery record survive. Found through (email_body_kept,
        acknowledged_at), so the cost follows what is due; a held incident keeps its body.
        """
        cutoff = to_iso(basis_cutoff(as_of, months))
        where = [Where("email_body_kept", "eq", True), Where("acknowledged_at", "le", cutoff)]
        rule = rule_text(RecordType.D2P_EMAIL_BODY, months)
        report.counts.setdefault("email_bodies_deleted", 0)
        continuation = None
        while True:
            with self.records.unit_of_work() as uow:
                page = uow.query(DISPATCHES.name, [org], where, order_by="acknowledged_at", limit=self.batch, continuation=continuation)
                purged = []
                finished = False
                for dispatch in page.items:
                    if not is_due(from_iso(dispatch["acknowledged_at"]), months, as_of):
                        finished = True  # ordered by acknowledgement: nothing later is due either
                        break
                    if self.is_held(uow, org, dispatch["incident_id"]):
                        continue
                    body = _strip(dispatch)
                    email = dict(body.get("email") or {})
                    email.pop("text", None)
                    body.update(
                        email=email,
                        email_body_kept=False,
                        email_body_deleted_at=to_iso(as_of),
                        email_body_rule=rule,
                        email_body_schedule_version=schedule.version,
                    )
                    uow.replace(DISPATCHES.name, org, body, if_match=dispatch["_etag"])
                    purged.append(dispatch["id"])
                if purged:
                    self.audit.record(
                        uow,
                        owner_org=org,
                        principal=None,
                        action=AuditAction.ERASURE,
                        operation="retention.d2p_email_body",
                        entity="dispatch",
                        subjects=purged,
                        purpose=rule,
                        system_actor="retention",
                    )
                    report.counts["email_bodies_deleted"] += len(purged)
            # Purged items leave the index; held ones stay, so page past them.
            continuation = page.continuation
            if finished or not continuation:
                return

    def _sweep_lane(self, org: str, lane: RecordType, months: int, schedule: Schedule, as_of: datetime, report: JobReport) -> None:
        cutoff = to_iso(basis_cutoff(as_of, months))
        where = [Where("lane", "eq", lane.value), Where("basis_at", "le", cutoff)]
        rule = rule_text(lane, months)
        while True:
            finished = False
            progress = 0
            with self.records.unit_of_work() as uow:
                page = uow.query(RETENTION_INDEX.name, [org], where, order_by="basis_at", limit=self.batch)
                for entry in page.items:
                    if not is_due(from_iso(entry["basis_at"]), months, as_of):
                        finished = True  # ordered by basis: nothing after this one is due either
                        break
                    if lane == RecordType.INCIDENT and self._has_police_case(uow, org, entry["entity_id"]):
                        uow.upsert(RETENTION_INDEX.name, org, {**_strip(entry), "lane": RecordType.INCIDENT_POLICE_CASE.value})
                        report.counts["moved_to_police_case"] += 1
                        progress += 1
                        continue
                    try:
                        removed = self._delete(uow, org, entry, rule=rule, version=schedule.version, cause="schedule", principal=None)
                    except Conflict as exc:
                        # Evidence still under its immutability period: nothing of this incident
                        # was written; it is tried again on the next run.
                        report.counts["kept_protected"] = report.counts.get("kept_protected", 0) + 1
                        report.notes.append(f"incident {entry['entity_id']} kept: {exc.detail}")
                        continue
                    progress += 1
                    report.counts["incidents_deleted"] += 1
                    report.counts["dependents_deleted"] += removed
            # Stop at the end, or when a whole batch was passed over (nothing more can move).
            if finished or page.continuation is None or progress == 0:
                return

    def evidence_terms(
        self, uow: UnitOfWork, org: str, incident: dict[str, Any], received_at: datetime, kind: str | None = None
    ) -> tuple[datetime, bool]:
        """How long new evidence of `incident` stays immutable, and whether it starts held.

        Protection runs on the incident's own clock (from when it occurred, for the
        evidence period of the organisation's schedule), so it ends no later than the
        incident falls due and the sweep can remove the files with it. A suspect image may
        become a person-of-interest image, due the POI period after its offender's last
        incident (never earlier than after this one), so its protection ends by then. Never
        less than a day past receipt: a store cannot set an immutability period in the past.
        """
        all_months = self.schedule_for(uow, org).months
        months = all_months[RecordType.EVIDENCE]
        if kind == EvidenceKind.SUSPECT_IMAGE.value:
            months = min(months, all_months[RecordType.POI_IMAGE])
        until = add_months(from_iso(incident["occurred_at"]), months)
        return max(until, received_at + timedelta(days=1)), self.is_held(uow, org, incident["id"])

    # ---- one deletion path -------------------------------------------------------------
    def is_held(self, uow: UnitOfWork, org: str, incident_id: str) -> bool:
        """Whether an active legal hold covers the incident."""
        entry = uow.get(RETENTION_INDEX.name, org, index_id("incident", incident_id))
        return entry is not None and entry["lane"] == HELD_LANE

    def delete_incident(
        self, uow: UnitOfWork, org: str, incident_id: str, *, principal: Principal | None, cause: str, request_id: str | None = None
    ) -> int:
        """Delete an incident and everything that is only its, leaving a tombstone.

        Raises Conflict while a legal hold is active. Used by subject-request erasure; the
        sweep takes the same path.
        """
        entry = uow.get(RETENTION_INDEX.name, org, index_id("incident", incident_id))
        if entry is None:
            doc = uow.get(INCIDENTS.name, org, incident_id)
            if doc is None:
                raise NotFound(f"Incident {incident_id} was not found.")
            entry = self._index_incident(uow, org, doc)
        if entry["lane"] == HELD_LANE:
            raise Conflict(f"Incident {incident_id} is under a legal hold and cannot be deleted until the hold is released.")
        schedule = self.schedule_for(uow, org)
        lane = RecordType(entry["lane"])
        return self._delete(
            uow,
            org,
            entry,
            rule=f"erasure on request ({rule_text(lane, schedule.months[lane])} not yet reached)",
            version=schedule.version,
            cause=cause,
            principal=principal,
            request_id=request_id,
        )

    def _delete(
        self,
        uow: UnitOfWork,
        org: str,
        entry: dict[str, Any],
        *,
        rule: str,
        version: str,
        cause: str,
        principal: Principal | None,
        request_id: str | None = None,
    ) -> int:
        incident_id = entry["entity_id"]
        tid = tombstone_id("incident", incident_id)
        # Dependents first: an eraser that refuses (evidence still immutable) raises Conflict
        # before anything of this incident is written, so the sweep can pass it over.
        erased = IncidentErased(
            organisation_id=org, incident_id=incident_id, rule=rule, erased_evidence_ids=tuple(entry.get("poi_erased", []))
        )
        removed = sum(self.bus.publish(uow, erased))
        doc = uow.get(INCIDENTS.name, org, incident_id)
        if uow.get(TOMBSTONES.name, org, tid) is None:
            uow.insert(
                TOMBSTONES.name,
                org,
                {
                    "id": tid,
                    "entity_id": incident_id,
                    "type": "incident",
                    "deleted_at": to_iso(self.clock.now()),
                    "rule": rule,
                    "schedule_version": version,
                    "cause": "erasure" if cause == "erasure" else "schedule",
                    "request_id": request_id,
                },
            )
            self._count_deleted(uow, org, entry)
            self.audit.record(
                uow,
                owner_org=org,
                principal=principal,
                action=AuditAction.ERASURE,
                operation="retention.delete" if cause != "erasure" else "subject_request.erase",
                entity=f"incident/{incident_id}",
                purpose=rule,
                system_actor=SYSTEM_ACTOR,
            )
        for ver in list(iterate_all(uow, INCIDENT_VERSIONS.name, [org], [Where("incident_id", "eq", incident_id)])):
            removed += uow.delete(INCIDENT_VERSIONS.name, org, ver["id"])
        for person in list(iterate_all(uow, PERSON_INDEX.name, [org], [Where("incident_id", "eq", incident_id)])):
            uow.delete(PERSON_INDEX.name, org, person["id"])
        for hold in list(iterate_all(uow, LEGAL_HOLDS.name, [org], [Where("incident_id", "eq", incident_id)])):
            uow.delete(LEGAL_HOLDS.name, org, hold["id"])
        forces = self._forces()
        if forces:
            for grant in list(iterate_all(uow, ACCESS_GRANTS.name, forces, [Where("incident_id", "eq", incident_id)])):
                if grant.get("owner_org") == org:
                    uow.delete(ACCESS_GRANTS.name, grant["_tenant"], grant["id"])
        uow.delete(INCIDENTS.name, org, incident_id)
        uow.delete(RETENTION_INDEX.name, org, entry["id"])
        # The offender's last linked incident may now be an older one.
        for offender_id in (doc or {}).get("offender_ids", []):
            self._index_offender(uow, org, offender_id, None, gone=incident_id)
        return removed

    def _forces(self) -> list[str]:
        with self.records.unit_of_work() as uow:
            return sorted(
                d["id"] for d in iterate_all(uow, ORGANISATIONS.name, [PLATFORM_TENANT], [Where("kind", "eq", OrgKind.POLICE_FORCE.value)])
            )

    def _count_deleted(self, uow: UnitOfWork, org: str, entry: dict[str, Any]) -> None:
        self._count(uow, org, entry, "deleted")

    @staticmethod
    def _count(uow: UnitOfWork, org: str, entry: dict[str, Any], what: str) -> None:
        """Add one to a count kept per (month, store, category) of the incident's entry."""
        key = f"{entry['month']}|{entry['store_id']}|{entry['category']}"
        doc = uow.get(RETENTION_COUNTS.name, org, key)
        if doc is None:
            base = {
                "id": key,
                "month": entry["month"],
                "store_id": entry["store_id"],
                "category": entry["category"],
                "deleted": 0,
                "poi_images_deleted": 0,
            }
            uow.insert(RETENTION_COUNTS.name, org, {**base, what: 1})
        else:
            uow.replace(RETENTION_COUNTS.name, org, {**_strip(doc), what: doc.get(what, 0) + 1}, if_match=doc["_etag"])

    # ---- legal holds -------------------------------------------------------------------
    def _locate_for_hold(self, uow: UnitOfWork, principal: Principal, incident_id: str):
        loc = self.incidents.locate(uow, principal, incident_id)
        if principal.is_police and not loc.dispatched_to_viewer:
            raise Forbidden("Only a force this incident was dispatched to may place or release a legal hold on it.")
        return loc

    def holds(self, principal: Principal, incident_id: str) -> dict[str, Any]:
        """The incident's holds (active and released) as the caller may see them."""
        with self.records.unit_of_work() as uow:
            loc = self._locate_for_hold(uow, principal, incident_id)
            return self._hold_view(uow, loc.owner_org, incident_id, {})

    def place_hold(self, principal: Principal, incident_id: str, reason: str) -> dict[str, Any]:
        """Hold an incident (and its evidence and linked hits) from every deletion, audited."""
        return self._set_hold(principal, incident_id, reason, held=True)

    def release_hold(self, principal: Principal, incident_id: str, reason: str) -> dict[str, Any]:
        """Release the caller's organisation's hold; expiry resumes when no hold remains."""
        return self._set_hold(principal, incident_id, reason, held=False)

    def _set_hold(self, principal: Principal, incident_id: str, reason: str, *, held: bool) -> dict[str, Any]:
        with self.records.unit_of_work() as uow:
            loc = self._locate_for_hold(uow, principal, incident_id)
            owner = loc.owner_org
            hold_id = f"{incident_id}|{principal.organisation_id}"
            existing = uow.get(LEGAL_HOLDS.name, owner, hold_id)
            active = existing is not None and existing["status"] == "active"
            if held and active:
                raise Conflict("Your organisation already holds this incident; release it first to change the reason.")
            if not held and not active:
                raise NotFound("Your organisation has no active legal hold on this incident.")
            now = to_iso(self.clock.now())
            event = {"at": now, "by": principal.user_id, "action": "placed" if held else "released", "reason": reason}
            doc = {
                "id": hold_id,
                "incident_id": incident_id,
                "holder_org": principal.organisation_id,
                "status": "active" if held else "released",
                "reason": reason if held else existing["reason"],
                "placed_at": now if held else existing["placed_at"],
                "placed_by": principal.user_id if held else existing["placed_by"],
                "released_at": None if held else now,
                "history": [*(existing.get("history", []) if existing else []), event],
            }
            uow.upsert(LEGAL_HOLDS.name, owner, doc)
            changed = {hold_id: doc}
            others = [
                h
                for h in iterate_all(uow, LEGAL_HOLDS.name, [owner], [Where("incident_id", "eq", incident_id)])
                if h["id"] != hold_id and h["status"] == "active"
            ]
            count = len(others) + (1 if held else 0)
            self._index_incident(uow, owner, loc.doc, holds=count)
            operation = "legal_hold.place" if held else "legal_hold.release"
            self.audit.record(
                uow,
                owner_org=owner,
                principal=principal,
                action=AuditAction.ALTERATION,
                operation=operation,
                entity=f"incident/{incident_id}",
                fields=["legal_hold"],
                purpose=reason,
                recipient_org=None if owner == principal.organisation_id else principal.organisation_id,
            )
            if owner != principal.organisation_id:
                self.audit.record(
                    uow,
                    owner_org=principal.organisation_id,
                    principal=principal,
                    action=AuditAction.ALTERATION,
                    operation=operation,
                    entity=f"incident/{incident_id}",
                    fields=["legal_hold"],
                    purpose=reason,
                )
            # Evidence and other capabilities hear only when the incident's held state flips.
            if (held and count == 1) or (not held and count == 0):
                self.bus.publish(
                    uow, LegalHoldChanged(principal=principal, organisation_id=owner, incident_id=incident_id, held=held, reason=reason)
                )
            if not held and count == 0:
                # Person-of-interest images the hold kept are due again at the next sweep.
                for offender_id in loc.doc.get("offender_ids", []):
                    poi = uow.get(RETENTION_INDEX.name, owner, index_id(RecordType.POI_IMAGE.value, offender_id))
                    if poi is not None and poi["lane"] == POI_HELD_LANE:
                        uow.upsert(RETENTION_INDEX.name, owner, {**_strip(poi), "lane": RecordType.POI_IMAGE.value})
            return self._hold_view(uow, owner, incident_id, changed)

    @staticmethod
    def _hold_view(uow: UnitOfWork, owner: str, incident_id: str, changed: dict[str, dict[str, Any]]) -> dict[str, Any]:
        holds = {h["id"]: _strip(h) for h in iterate_all(uow, LEGAL_HOLDS.name, [owner], [Where("incident_id", "eq", incident_id)])}
        holds.update(changed)  # a store may show a unit's own writes to queries only after commit
        items = sorted(holds.values(), key=lambda h: h["placed_at"])
        return {
            "incident_id": incident_id,
            "held": any(h["status"] == "active" for h in items),
            "holds": [
                {k: h[k] for k in ("holder_org", "status", "reason", "placed_at", "placed_by", "released_at", "history")} for h in items
            ],
        }

    # ---- tombstones and statistics -----------------------------------------------------
    def tombstones(
        self,
        principal: Principal,
        *,
        record_type: str | None,
        deleted_from: datetime | None,
        deleted_to: datetime | None,
        limit: int,
        continuation: str | None,
    ) -> dict[str, Any]:
        """The caller's organisation's tombstones, newest first. They hold no personal data
        (ids, type, when, rule, schedule version), so reading them is not audited."""
        where: list[Where] = []
        if record_type:
            where.append(Where("type", "eq", record_type))
        if deleted_from:
            where.append(Where("deleted_at", "ge", to_iso(deleted_from)))
        if deleted_to:
            where.append(Where("deleted_at", "lt", to_iso(deleted_to)))
        with self.records.read_only() as uow:
            page = uow.query(
                TOMBSTONES.name,
                [principal.organisation_id],
                where,
                order_by="deleted_at",
                descending=True,
                limit=limit,
                continuation=continuation,
            )
        return {"items": [_strip(d) for d in page.items], "continuation": page.continuation}

    def tombstone(self, principal: Principal, incident_id: str) -> dict[str, Any]:
        """The proof an incident of the caller's organisation was deleted (404 if none)."""
        with self.records.unit_of_work() as uow:
            doc = uow.get(TOMBSTONES.name, principal.organisation_id, tombstone_id("incident", incident_id))
        if doc is None:
            raise NotFound(f"No deletion of incident {incident_id} is recorded for your organisation.")
        return _strip(doc)

    def statistics_org(self, principal: Principal, organisation: str | None) -> str:
        """Whose statistics the caller may read: a retailer its own; the operator any retailer here."""
        if not principal.has(Role.PLATFORM_OPERATOR):
            if organisation not in (None, principal.organisation_id):
                raise NotFound(f"Organisation {organisation} was not found.")
            return principal.organisation_id
        if organisation is None:
            raise Invalid("Name the organisation (query parameter 'organisation').", errors=[{"field": "organisation"}])
        if organisation not in self.retailers():
            raise NotFound(f"Organisation {organisation} was not found.")
        return organisation

    def statistics(self, org: str, from_month: str, to_month: str) -> list[dict[str, Any]]:
        """Incidents per month, store and category: those still held plus those deleted."""
        rows: dict[tuple[str, str, str], dict[str, Any]] = {}

        def row(month: str, store: str, category: str) -> dict[str, Any]:
            return rows.setdefault(
                (month, store, category),
                {"month": month, "store_id": store, "category": category, "kept": 0, "deleted": 0, "poi_images_deleted": 0},
            )

        where = [Where("month", "ge", from_month), Where("month", "le", to_month)]
        with self.records.unit_of_work() as uow:
            for e in iterate_all(uow, RETENTION_INDEX.name, [org], where, limit=1000):
                row(e["month"], e["store_id"], e["category"])["kept"] += 1
            for c in iterate_all(uow, RETENTION_COUNTS.name, [org], where, limit=1000):
                r = row(c["month"], c["store_id"], c["category"])
                r["deleted"] += c.get("deleted", 0)
                r["poi_images_deleted"] += c.get("poi_images_deleted", 0)
        out = sorted(rows.values(), key=lambda r: (r["month"], r["store_id"], r["category"]))
        for r in out:
            r["total"] = r["kept"] + r["deleted"]
        return out


def _need_etag(if_match: str | None) -> str:
    if not if_match:
        raise PreconditionRequired("Send If-Match with the ETag you last read (GET the schedule for it).")
    return if_match.strip().removeprefix("W/").strip('"')


def _strip(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_")}
