"""Retention: schedules, due dates, tombstones, the retention index and legal holds.

Pure: no I/O and no clock. Services pass `now` / `as_of` in.

Periods are whole calendar months (6 years = 72 months): a due date is the basis
time plus that many calendar months, the day clamped to the month's last day
(31 August + 6 months = 28 or 29 February), so "exactly at the boundary" means the
same wall-clock time on the same day of the month.
"""

from __future__ import annotations

import calendar
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class RecordType(StrEnum):
    """What a schedule sets a period for."""

    INCIDENT = "incident"  # incidents without a police case, from when they occurred
    INCIDENT_POLICE_CASE = "incident_police_case"  # incidents a force acknowledged (crime reference)
    POI_IMAGE = "poi_image"  # person-of-interest images, from the last linked incident
    EVIDENCE = "evidence"  # evidence files: the blob immutability period set at upload
    ANPR_HIT = "anpr_hit"  # hits not linked to an incident (linked ones go with the incident)
    D2P_EMAIL_BODY = "d2p_email_body"  # dispatched email bodies, from acknowledgement
    FOOTAGE_REQUEST = "footage_request"  # police requests for footage, from when answered or called off
    LOOKOUT = "lookout"  # lookouts to stores and their acknowledgements, from expiry or withdrawal
    REFERRAL = "referral"  # referrals to a national unit, from their last step
    CRIME_GROUP = "crime_group"  # organised crime group records, from a review date passed unreviewed
    AUDIT = "audit"  # never shorter than the data it describes


DATA_TYPES = tuple(t for t in RecordType if t != RecordType.AUDIT)

# The sweep lanes of the retention index: which period applies to an entry, or "held".
HELD_LANE = "held"
# Person-of-interest entries (one per organisation and offender, basis = the offender's
# last linked incident) wait in this lane when a held incident kept some of their images;
# releasing the hold puts them back in the `poi_image` lane.
POI_HELD_LANE = "poi_held"


# ---- calendar arithmetic ---------------------------------------------------------------


def add_months(moment: datetime, months: int) -> datetime:
    """`moment` plus whole calendar months, the day clamped to the target month's length."""
    index = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def month_of(moment: datetime | str) -> str:
    """`YYYY-MM` of a time (ISO text or datetime): the bucket statistics are kept in."""
    text = moment if isinstance(moment, str) else moment.isoformat()
    return text[:7]


def basis_cutoff(as_of: datetime, months: int) -> datetime:
    """A basis time at or after which nothing can be due at `as_of` for a `months` period.

    Month-end clamping makes `add_months` not exactly invertible, so this errs late by a
    few days; callers check each candidate with `is_due` and stop at the first that is not.
    """
    return add_months(as_of, -months) + timedelta(days=4)


def is_due(basis: datetime, months: int, as_of: datetime) -> bool:
    return add_months(basis, months) <= as_of


# ---- schedules -------------------------------------------------------------------------


class TypeRule(BaseModel):
    """A region's period for one record type and the bounds organisations may choose within."""

    model_config = ConfigDict(extra="forbid")

    months: int = Field(ge=1, le=1200, description="Default period in calendar months")
    min_months: int = Field(ge=1, le=1200, description="Shortest an organisation may choose")
    max_months: int = Field(ge=1, le=1200, description="Longest an organisation may choose")

    @model_validator(mode="after")
    def _within(self) -> TypeRule:
        if not self.min_months <= self.months <= self.max_months:
            raise ValueError(f"months {self.months} is outside its own bounds {self.min_months}..{self.max_months}")
        return self


class RegionScheduleIn(BaseModel):
    """A region's schedule as Platform.Operator sets it: every record type, with bounds."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "rules": {
                        "incident": {"months": 72, "min_months": 24, "max_months": 120},
                        "incident_police_case": {"months": 120, "min_months": 72, "max_months": 240},
                        "poi_image": {"months": 24, "min_months": 6, "max_months": 36},
                        "evidence": {"months": 72, "min_months": 24, "max_months": 120},
                        "anpr_hit": {"months": 12, "min_months": 1, "max_months": 12},
                        "d2p_email_body": {"months": 12, "min_months": 1, "max_months": 24},
                        "footage_request": {"months": 24, "min_months": 6, "max_months": 72},
                        "lookout": {"months": 1, "min_months": 1, "max_months": 6},
                        "referral": {"months": 72, "min_months": 24, "max_months": 120},
                        "crime_group": {"months": 6, "min_months": 1, "max_months": 24},
                        "audit": {"months": 120, "min_months": 72, "max_months": 240},
                    },
                    "reason": "Annual review of the UK schedule against MoPI guidance",
                }
            ]
        },
    )

    rules: dict[RecordType, TypeRule]
    reason: str = Field(min_length=3, max_length=500, description="Why the schedule changes (audited)")

    @model_validator(mode="after")
    def _complete(self) -> RegionScheduleIn:
        missing = [t.value for t in RecordType if t not in self.rules]
        if missing:
            raise ValueError(f"rules must name every record type; missing: {', '.join(missing)}")
        return self


class ProposalCancellationIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"reason": "The DPO has not reviewed the shorter audit period yet"}]}
    )

    reason: str = Field(min_length=10, max_length=500, description="Why the change is stopped (audited)")


class OrganisationScheduleIn(BaseModel):
    """An organisation's own periods (months), each within the region's bounds."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"overrides": {"incident": 36, "poi_image": 12}, "reason": "Board decision 2026-11: keep unsolved thefts 3 years"}]
        },
    )

    overrides: dict[RecordType, int] = Field(description="Record type -> months; types left out follow the region")
    reason: str = Field(min_length=3, max_length=500)


# Floors no schedule may go below, region default or organisation choice alike (months).
# Why each figure is what it is: docs/retention.md, "Statutory floors".
STATUTORY_FLOOR_MONTHS: dict[RecordType, int] = {
    RecordType.INCIDENT: 12,
    RecordType.INCIDENT_POLICE_CASE: 72,
    RecordType.EVIDENCE: 24,
    RecordType.AUDIT: 72,
}


def floor_of(record_type: RecordType) -> int:
    """The shortest period any schedule may set for `record_type` (1 where no law sets one)."""
    return STATUTORY_FLOOR_MONTHS.get(record_type, 1)


def check_floors(rules: dict[RecordType, TypeRule]) -> list[dict[str, Any]]:
    """Field errors for a region schedule whose default, or the shortest period it lets an
    organisation choose, is below a record type's statutory floor."""
    errors = []
    for t, rule in rules.items():
        floor = floor_of(t)
        for name in ("months", "min_months"):
            value = getattr(rule, name)
            if value < floor:
                errors.append(
                    {
                        "field": f"rules.{t.value}.{name}",
                        "message": f"{t.value}: {name} {value} is below the statutory floor of {floor} months",
                    }
                )
                break
    return errors


def region_rules_from_defaults(defaults: dict[str, int], bounds: dict[str, list[int]]) -> dict[RecordType, TypeRule]:
    """The region's starting schedule from settings (months per type and [min, max] bounds)."""
    rules = {}
    for t in RecordType:
        months = int(defaults[t.value])
        lo, hi = bounds.get(t.value, [months, months])
        rules[t] = TypeRule(months=months, min_months=min(lo, months), max_months=max(hi, months))
    return rules


def check_region_rules(rules: dict[RecordType, TypeRule]) -> list[dict[str, Any]]:
    """Field errors for a region schedule whose audit period could be shorter than the
    data it describes: the audit trail of a record must outlive the record, or a deletion
    could not be accounted for.

    The audit default must cover the longest data default, and the longest audit period
    an organisation may choose must cover the longest data period it may choose, so every
    choice within the bounds can be honoured.
    """
    audit = rules[RecordType.AUDIT]
    errors = []
    longest = max(DATA_TYPES, key=lambda t: rules[t].months)
    if audit.months < rules[longest].months:
        errors.append(
            {
                "field": "rules.audit.months",
                "message": f"audit {audit.months} months is shorter than the data it describes ({longest.value}: {rules[longest].months} months)",
            }
        )
    longest_max = max(DATA_TYPES, key=lambda t: rules[t].max_months)
    if audit.max_months < rules[longest_max].max_months:
        errors.append(
            {
                "field": "rules.audit.max_months",
                "message": f"audit max_months {audit.max_months} is shorter than the longest period organisations may choose ({longest_max.value}: {rules[longest_max].max_months} months)",
            }
        )
    return errors


def check_overrides(rules: dict[RecordType, TypeRule], overrides: dict[RecordType, int]) -> list[dict[str, Any]]:
    """Field errors for overrides outside the region's bounds, or an audit period shorter
    than the longest data period the organisation would then have (empty when all fit)."""
    errors = []
    for t, months in overrides.items():
        rule = rules[t]
        if not rule.min_months <= months <= rule.max_months:
            errors.append(
                {
                    "field": f"overrides.{t.value}",
                    "message": f"{months} months is outside the region's bounds {rule.min_months}..{rule.max_months}",
                }
            )
    if RecordType.AUDIT in overrides and not errors:
        data = {t: overrides.get(t, rules[t].months) for t in DATA_TYPES}
        longest = max(DATA_TYPES, key=lambda t: data[t])
        if overrides[RecordType.AUDIT] < data[longest]:
            errors.append(
                {
                    "field": "overrides.audit",
                    "message": f"audit {overrides[RecordType.AUDIT]} months is shorter than the data it describes ({longest.value}: {data[longest]} months)",
                }
            )
    return errors


def effective_months(rules: dict[RecordType, TypeRule], overrides: dict[RecordType, int]) -> dict[RecordType, int]:
    """The periods that apply to one organisation.

    Overrides are clamped to the region's current bounds (a region may tighten its bounds
    after an organisation chose) and the statutory floors, and audit is never shorter than
    the longest data period.
    """
    out: dict[RecordType, int] = {}
    for t in RecordType:
        rule = rules[t]
        months = overrides.get(t, rule.months)
        # The floor too: a schedule stored before the floors existed never deletes earlier.
        out[t] = max(floor_of(t), rule.min_months, min(rule.max_months, months))
    out[RecordType.AUDIT] = max(out[RecordType.AUDIT], *(out[t] for t in DATA_TYPES))
    return out


def schedule_version(region: str, region_version: int, org_id: str, org_version: int) -> str:
    """How a tombstone names the schedule that deleted a record, e.g. `uk:3/northwind:1`."""
    return f"{region}:{region_version}/{org_id}:{org_version}"


def rule_text(record_type: RecordType, months: int) -> str:
    basis = {
        RecordType.INCIDENT: "after it occurred (no police case)",
        RecordType.INCIDENT_POLICE_CASE: "after it occurred (police case)",
        RecordType.POI_IMAGE: "after the last linked incident",
        RecordType.EVIDENCE: "after upload",
        RecordType.ANPR_HIT: "after the read",
        RecordType.D2P_EMAIL_BODY: "after acknowledgement",
        RecordType.FOOTAGE_REQUEST: "after it was answered, withdrawn or its deadline",
        RecordType.LOOKOUT: "after it expired or was withdrawn",
        RecordType.REFERRAL: "after its last step",
        RecordType.CRIME_GROUP: "after its review date passed unreviewed",
        RecordType.AUDIT: "after the entry",
    }[record_type]
    return f"{record_type.value}: {months} months {basis}"


# ---- tombstones ------------------------------------------------------------------------


class Tombstone(BaseModel):
    """What remains of a deleted record: proof of the deletion and nothing personal."""

    model_config = ConfigDict(extra="forbid")

    id: str
    entity_id: str
    type: str
    deleted_at: str
    rule: str
    schedule_version: str
    cause: Literal["schedule", "erasure"]
    request_id: str | None = None
    # Pruned audit entries (type `audit_entries`): how many, and the range of the chain.
    count: int | None = None
    first_seq: int | None = None
    last_seq: int | None = None


def tombstone_id(record_type: str, entity_id: str) -> str:
    return f"{record_type}:{entity_id}"


# ---- the retention index ---------------------------------------------------------------


def index_id(record_type: str, entity_id: str) -> str:
    return f"{record_type}:{entity_id}"


class IncidentEntry(BaseModel):
    """An incident's place in the retention index: which period applies (its lane) and
    from when (its basis), plus what statistics count it under once it is gone."""

    id: str
    entity_id: str
    type: Literal["incident"] = "incident"
    lane: str = Field(description="incident, incident_police_case, or held while a legal hold is active")
    basis_at: str
    month: str
    store_id: str
    category: str
    holds: int = 0
    # Which offenders the incident names (their person-of-interest entries move when that
    # changes), and its images erased as person-of-interest images (their custody chains
    # go with the incident).
    offender_ids: list[str] = Field(default_factory=list)
    poi_erased: list[str] = Field(default_factory=list)

    @classmethod
    def of(cls, incident: dict[str, Any], *, lane: str, holds: int, poi_erased: list[str]) -> IncidentEntry:
        return cls(
            id=index_id("incident", incident["id"]),
            entity_id=incident["id"],
            lane=lane,
            basis_at=incident["reported_at"],
            month=month_of(incident["occurred_at"]),
            store_id=incident["store_id"],
            category=incident["category"],
            holds=holds,
            offender_ids=list(incident.get("offender_ids", [])),
            poi_erased=poi_erased,
        )

    @property
    def held(self) -> bool:
        return self.lane == HELD_LANE

    @property
    def count_key(self) -> str:
        """The (month, store, category) bucket its counts are kept in."""
        return f"{self.month}|{self.store_id}|{self.category}"

    def in_lane(self, lane: str) -> IncidentEntry:
        return self.model_copy(update={"lane": lane})

    def with_poi_erased(self, evidence_id: str) -> IncidentEntry:
        return self.model_copy(update={"poi_erased": [*self.poi_erased, evidence_id]})


class PoiEntry(BaseModel):
    """An offender's person-of-interest entry: their images are due the POI period after
    their last linked incident (`basis_at`)."""

    id: str
    entity_id: str = Field(description="The offender id")
    type: Literal["poi_image"] = "poi_image"
    lane: str = Field(default=RecordType.POI_IMAGE.value, description="poi_image, or poi_held while a held incident kept images")
    basis_at: str
    last_incident_id: str

    @classmethod
    def of(cls, offender_id: str, *, last_at: str, last_incident_id: str) -> PoiEntry:
        return cls(
            id=index_id(RecordType.POI_IMAGE.value, offender_id), entity_id=offender_id, basis_at=last_at, last_incident_id=last_incident_id
        )

    def in_lane(self, lane: str) -> PoiEntry:
        return self.model_copy(update={"lane": lane})


class LegalHoldIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "Crown Court trial listed for March 2027; CPS asked us to preserve all evidence"}]},
    )

    reason: str = Field(min_length=10, max_length=1000)
