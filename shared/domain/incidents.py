"""Incidents as retailers report them, and the pure rules around them.

No I/O and no clock: services pass `now` in.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shared.domain.errors import Invalid
from shared.domain.incident_report import IncidentIn
from shared.domain.plates import normalise_plate
from shared.domain.statements import SIGNATURE_FIELDS, carry_signatures, sign_statements
from shared.domain.tenancy import Principal, Role, ShareLevel
from shared.domain.timestamps import from_iso, to_iso


def age_on(dob: date, moment: date) -> int:
    return moment.year - dob.year - ((moment.month, moment.day) < (dob.month, dob.day))


def is_minor(person: dict[str, Any], occurred_at: datetime) -> bool:
    """Under 18 when stated, or when the date of birth says so on the day of the incident."""
    if person.get("under_18"):
        return True
    dob = person.get("date_of_birth")
    if dob:
        return age_on(date.fromisoformat(dob), occurred_at.date()) < 18
    return False


def total_value(goods: list[dict[str, Any]]) -> dict[str, Any] | None:
    if not goods:
        return None
    return {
        "amount_minor": sum(g["unit_value"]["amount_minor"] * g.get("quantity", 1) for g in goods),
        "currency": goods[0]["unit_value"]["currency"],
    }


EDITABLE_FIELDS = (
    "store_id",
    "category",
    "occurred_at",
    "narrative",
    "flags",
    "goods",
    "persons",
    "vehicles",
    "witnesses",
    "prosecution_supported",
    "reporter",
)


def view_for_partner(incident: dict[str, Any], level: ShareLevel, *, dispatched_to_viewer: bool) -> dict[str, Any]:
    """What a partner organisation (a force) sees of an incident.

    Minors never leave the reporting organisation, except to the police force the
    incident was dispatched to. Below FULL, names and dates of birth are withheld,
    witnesses appear without name or contact details, and the reporter without name or
    phone (their job title stays).
    """
    view = dict(incident)
    persons = []
    withheld = 0
    for p in incident.get("persons", []):
        if p.get("under_18") and not dispatched_to_viewer:
            withheld += 1
            continue
        p = dict(p)
        if level != ShareLevel.FULL and not dispatched_to_viewer:
            p["name"] = None
            p["date_of_birth"] = None
        persons.append(p)
    view["persons"] = persons
    view["persons_withheld"] = withheld
    if level != ShareLevel.FULL and not dispatched_to_viewer:
        # What was seen is shared, never who saw it or who reported it.
        view["witnesses"] = [dict(w, name=None, contact=None) for w in incident.get("witnesses", [])]
        if view.get("reporter"):
            view["reporter"] = dict(view["reporter"], name=None, phone=None)
    return view


# How much earlier than its first report a change may move an incident's time. A report
# can only correct a recent mistake in its time; it cannot pass an incident off as years old.
OCCURRED_AT_EARLIEST_BEFORE_REPORT = timedelta(days=31)


def check_occurred_at_change(current: datetime, new: datetime, reported_at: datetime) -> None:
    """Refuse a change of when an incident occurred outside the bounds a correction needs.

    Never later than when it was first reported (the server's time of the report, which no
    edit moves), and never earlier than `OCCURRED_AT_EARLIEST_BEFORE_REPORT` before it,
    unless the report itself already said earlier (then not earlier than that).
    """
    if new == current:
        return
    if new > reported_at:
        raise Invalid(
            f"occurred_at cannot be later than when the incident was first reported ({to_iso(reported_at)}).",
            errors=[{"field": "occurred_at"}],
        )
    earliest = min(current, reported_at - OCCURRED_AT_EARLIEST_BEFORE_REPORT)
    if new < earliest:
        raise Invalid(
            f"occurred_at cannot be moved earlier than {to_iso(earliest)}: a change may correct the time by at most "
            f"{OCCURRED_AT_EARLIEST_BEFORE_REPORT.days} days before the incident was first reported.",
            errors=[{"field": "occurred_at"}],
        )


# Reported fields a change may set but never remove.
REQUIRED_FIELDS = ("narrative", "reporter", "category", "store_id", "occurred_at", "prosecution_supported")
# Derived matching keys: stored for queries, never shown.
_MATCHING_KEYS = {"plates", "offender_ids"}


class Incident(BaseModel):
    """An incident as stored: the report, who reported it and when, and what Vigil derives
    from it (matching keys, total value, the minor flag). Nested parts stay plain JSON so a
    record reads back exactly as it was written."""

    # Records may carry fields a later release added; they are kept, not dropped.
    model_config = ConfigDict(extra="allow")

    id: str
    reference: str
    organisation_id: str
    force_id: str
    store_id: str
    category: str
    occurred_at: str
    narrative: str
    flags: dict[str, Any] = Field(default_factory=dict)
    goods: list[dict[str, Any]] = Field(default_factory=list)
    persons: list[dict[str, Any]] = Field(default_factory=list)
    vehicles: list[dict[str, Any]] = Field(default_factory=list)
    witnesses: list[dict[str, Any]] = Field(default_factory=list)
    prosecution_supported: bool = False
    reporter: dict[str, Any]
    reported_at: str
    created_at: str
    updated_at: str
    created_by: str
    version: int
    plates: list[str] = Field(default_factory=list)
    offender_ids: list[str] = Field(default_factory=list)
    total_value: dict[str, Any] | None = None
    has_minor: bool = False

    @classmethod
    def reported(
        cls, report: IncidentIn, *, id: str, reference: str, organisation_id: str, force_id: str, by: str, now: datetime
    ) -> Incident:
        """A new incident, version 1, from a validated report."""
        at = to_iso(now)
        incident = cls(
            id=id,
            reference=reference,
            organisation_id=organisation_id,
            force_id=force_id,
            **report.report_fields(),
            reported_at=at,
            created_at=at,
            updated_at=at,
            created_by=by,
            version=1,
        )
        incident.derive()
        sign_statements(incident.witnesses, now)
        return incident

    def derive(self) -> None:
        """Recompute what follows from the report: normalised time and plates, the minor
        flag of each person, matching keys, total value."""
        occurred = from_iso(self.occurred_at)
        self.occurred_at = to_iso(occurred)
        for v in self.vehicles:
            v["plate_normalised"] = normalise_plate(v["plate"])
        for p in self.persons:
            p["under_18"] = is_minor(p, occurred) or bool(p.get("under_18"))
        self.plates = sorted({v["plate_normalised"] for v in self.vehicles})
        self.offender_ids = sorted({p["offender_id"] for p in self.persons if p.get("offender_id")})
        self.total_value = total_value(self.goods)
        self.has_minor = any(p["under_18"] for p in self.persons)

    @property
    def occurred(self) -> datetime:
        return from_iso(self.occurred_at)

    def reported_fields(self) -> dict[str, Any]:
        """The editable fields without what `derive` adds, ready to validate as a report again."""
        out = {k: getattr(self, k) for k in EDITABLE_FIELDS}
        out["vehicles"] = [{k: v for k, v in veh.items() if k != "plate_normalised"} for veh in self.vehicles]
        out["witnesses"] = [{k: v for k, v in w.items() if k not in SIGNATURE_FIELDS} for w in self.witnesses]
        return out

    def snapshot(self) -> dict[str, Any]:
        """The editable fields as a version keeps them."""
        return {k: getattr(self, k) for k in EDITABLE_FIELDS}

    def merge_patch(self, changes: dict[str, Any]) -> IncidentIn:
        """The report after a JSON merge patch (RFC 7396), validated as a report; Invalid
        naming each field the result breaks. Does not change this incident.

        Flags merge key by key. null removes a field: required fields cannot be removed,
        the others go back to their default (no goods, no flags set)."""
        fields = self.reported_fields()
        for name, value in changes.items():
            if value is None and name in REQUIRED_FIELDS:
                raise Invalid(f"{name} cannot be removed.", errors=[{"field": name}])
            if value is None:
                fields.pop(name, None)
            elif name == "flags":
                merged = {**self.flags, **value}
                fields["flags"] = {k: v for k, v in merged.items() if v is not None}
            else:
                fields[name] = value
        try:
            return IncidentIn.model_validate(fields)
        except ValidationError as exc:
            # Each part was valid on its own; the whole is not (goods in two currencies).
            errors = [{"field": ".".join(str(p) for p in e["loc"]) or "body", "message": e["msg"]} for e in exc.errors()[:50]]
            detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
            raise Invalid(f"The incident after this change would not be valid: {detail}", errors=errors) from exc

    def adopt(self, report: IncidentIn) -> None:
        """Take every reported field from a validated report; statements left as signed keep
        their signature (the others are signed when the change lands, `next_version`)."""
        before = self.witnesses
        # The external reference names the incident in the sender's system: set once, never patched.
        for name, value in report.model_dump(mode="json", exclude={"external_reference"}).items():
            setattr(self, name, value)
        carry_signatures(before, self.witnesses)

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Take the editable fields a version kept (those it has)."""
        for name in EDITABLE_FIELDS:
            if name in snapshot:
                setattr(self, name, snapshot[name])

    def next_version(self, now: datetime) -> None:
        """A change lands: one version up, stamped, derived fields recomputed."""
        self.version += 1
        self.updated_at = to_iso(now)
        self.derive()
        sign_statements(self.witnesses, now)

    def visible_to_retailer(self, principal: Principal) -> bool:
        """Investigators see every incident of their organisation; reporters those of their stores."""
        if principal.has(Role.RETAILER_INVESTIGATOR):
            return True
        return principal.has(Role.RETAILER_REPORTER) and self.store_id in principal.stores

    def view(self, share_level: ShareLevel | None = None, *, dispatched_to_viewer: bool = False) -> dict[str, Any]:
        """What a reader sees: the whole record for its own organisation (`share_level`
        None), the partner view otherwise; never the matching keys."""
        doc = self.model_dump(exclude=_MATCHING_KEYS)
        if share_level is None:
            return doc
        return view_for_partner(doc, share_level, dispatched_to_viewer=dispatched_to_viewer)


def version_id(incident_id: str, version: int) -> str:
    """The id of one kept version of an incident."""
    return f"{incident_id}:{version:06d}"
