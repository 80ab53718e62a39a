"""Incidents as retailers report them, and the pure rules around them.

No I/O and no clock: services pass `now` in.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from shared.domain.errors import Invalid
from shared.domain.tenancy import Principal, Role, ShareLevel
from shared.domain.timestamps import from_iso, to_iso

# The form must not hold special-category personal data (ethnicity, religion, health and
# the like): there is no field for it and no filter on it.
SPECIAL_CATEGORY_FIELDS = {
    "ethnicity",
    "ethnic_origin",
    "race",
    "racial_origin",
    "religion",
    "religious_belief",
    "beliefs",
    "political_views",
    "political_opinion",
    "politics",
    "sexual_orientation",
    "sexuality",
    "health",
    "medical",
    "medical_condition",
    "disability",
    "nationality_ethnic",
    "skin_colour",
    "skin_color",
}


class Category(StrEnum):
    SHOP_THEFT = "shop_theft"
    ROBBERY = "robbery"  # theft with violence
    VIOLENCE_AGAINST_STAFF = "violence_against_staff"
    ABUSE_THREATS = "abuse_threats"
    CRIMINAL_DAMAGE = "criminal_damage"
    FRAUD = "fraud"
    BURGLARY = "burglary"
    ANTI_SOCIAL_BEHAVIOUR = "anti_social_behaviour"
    HATE_INCIDENT = "hate_incident"
    SUSPICIOUS_ACTIVITY = "suspicious_activity"
    PREVENTED_OFFENCE = "prevented_offence"


# ---- plates --------------------------------------------------------------------

# Look-alike letters from other scripts that cameras and keyboards produce, mapped to
# the Latin letter they show. Anything else outside A-Z/0-9 after NFKC is refused.
_LOOKALIKES = str.maketrans(
    {
        "А": "A",
        "В": "B",
        "Е": "E",
        "К": "K",
        "М": "M",
        "Н": "H",
        "О": "O",
        "Р": "P",
        "С": "C",
        "Т": "T",
        "Х": "X",
        "У": "Y",
        "Ι": "I",
        "Ο": "O",
        "Α": "A",
        "Β": "B",
        "Ε": "E",
        "Ζ": "Z",
        "Η": "H",
        "Κ": "K",
        "Μ": "M",
        "Ν": "N",
        "Ρ": "P",
        "Τ": "T",
        "Υ": "Y",
        "Χ": "X",
    }
)
_PLATE_SEPARATORS = re.compile(r"[\s\-_.·•/]+")
_PLATE_OK = re.compile(r"^[A-Z0-9]{1,10}$")


class PlateError(ValueError):
    pass


# Invisible format characters that ride along when a plate is copied from a web page or
# a chat (zero-width space and joiners, word joiner, BOM, soft hyphen): dropped, not refused.
_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060-\u2064\ufeff]")


@lru_cache(maxsize=8192)
def normalise_plate(raw: str) -> str:
    """Upper case, no spaces or punctuation; Cyrillic/Greek look-alikes mapped to Latin.

    NFKC first folds full-width and styled forms ("ＡＢ１２") to plain ones; invisible
    format characters are dropped. Raises PlateError for anything that is not letters and
    digits afterwards. Cached: a batch of reads normalises each plate when validated and
    again when stored.
    """
    if raw.isascii():
        # What cameras send: no look-alikes or invisible characters to fold. Plain
        # replaces cost a tenth of the regular expressions below (per read, at thousands
        # of reads a second); anything unusual falls through to them.
        text = raw.upper().replace(" ", "").replace("-", "")
        if 0 < len(text) <= 10 and text.isalnum():
            return text
        text = _PLATE_SEPARATORS.sub("", raw.upper())
    else:
        text = unicodedata.normalize("NFKC", _INVISIBLE.sub("", raw)).upper().translate(_LOOKALIKES)
        text = _PLATE_SEPARATORS.sub("", text)
    if not _PLATE_OK.match(text):
        raise PlateError(f"'{raw}' is not a number plate: use letters A-Z and digits only (1 to 10 characters)")
    return text


def _plate(value: str) -> str:
    normalise_plate(value)
    return value.strip()


# ---- value ---------------------------------------------------------------------


class Money(BaseModel):
    """An amount in minor units (pence, cents) with its ISO 4217 currency."""

    model_config = ConfigDict(extra="forbid")

    amount_minor: int = Field(ge=0, le=10_000_000_000, description="Minor units: 4599 is £45.99")
    currency: str = Field(pattern=r"^[A-Z]{3}$", examples=["GBP"])


class GoodsItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    description: str = Field(min_length=1, max_length=200)
    quantity: int = Field(default=1, ge=1, le=100_000)
    unit_value: Money
    recovered: bool = False


class Flags(BaseModel):
    model_config = ConfigDict(extra="forbid")

    violence: bool = False
    weapon: bool = False
    threats: bool = False
    staff_injured: bool = False
    offender_detained: bool = Field(default=False, description="Offender detained by security")
    hate_element: bool = False


class FlagsPatch(BaseModel):
    """Flags in a merge patch: each one set, or null to clear it (back to false)."""

    model_config = ConfigDict(extra="forbid")

    violence: bool | None = None
    weapon: bool | None = None
    threats: bool | None = None
    staff_injured: bool | None = None
    offender_detained: bool | None = None
    hate_element: bool | None = None


class PersonDescription(BaseModel):
    model_config = ConfigDict(extra="forbid")

    build: Literal["slim", "medium", "heavy", "athletic", "unknown"] = "unknown"
    height_min_cm: int | None = Field(default=None, ge=50, le=250)
    height_max_cm: int | None = Field(default=None, ge=50, le=250)
    hair: str | None = Field(default=None, max_length=200)
    clothing: str | None = Field(default=None, max_length=500)
    distinguishing_marks: str | None = Field(default=None, max_length=500)
    apparent_age_range: str | None = Field(default=None, max_length=20, examples=["25-35"])

    @model_validator(mode="after")
    def _height_range(self) -> PersonDescription:
        if self.height_min_cm and self.height_max_cm and self.height_min_cm > self.height_max_cm:
            raise ValueError("height_min_cm is above height_max_cm")
        return self


class PersonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["suspect", "accomplice", "offender"] = "suspect"
    description: PersonDescription = PersonDescription()
    name: str | None = Field(default=None, max_length=200, description="Only if known")
    date_of_birth: date | None = Field(default=None, description="Only if known")
    under_18: bool | None = Field(default=None, description="Set when the person is known or believed to be under 18")
    offender_id: str | None = Field(default=None, max_length=64, description="Links this person to a known offender of your organisation")


class VehicleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    plate: Annotated[str, AfterValidator(_plate)] = Field(max_length=20, description="As seen; normalised for matching")
    make: str | None = Field(default=None, max_length=60)
    model: str | None = Field(default=None, max_length=60)
    colour: str | None = Field(default=None, max_length=40)


MAX_WITNESSES = 50


class WitnessIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "Alice Till",
                    "kind": "staff",
                    "statement": "I saw the man fill a bag with six bottles of whisky at aisle 4 and leave without paying.",
                    "is_reporter": True,
                },
                {
                    "name": "Jo Reed",
                    "kind": "security",
                    "statement": "I stopped the man at the door with the bag. I produce the CCTV from the door camera as exhibit ST/1.",
                    "occupation": "Store detective",
                    "mg11": True,
                    "declaration_accepted": True,
                },
            ]
        },
    )

    name: str = Field(min_length=1, max_length=200, description="The witness's name as typed on the statement")
    kind: Literal["staff", "security", "customer", "other"] = "staff"
    contact: str | None = Field(default=None, max_length=200)
    statement: str = Field(min_length=1, max_length=20_000)
    is_reporter: bool = Field(default=False, description="The statement is the reporter's own")
    occupation: str | None = Field(default=None, max_length=100, description="Printed on the MG11 when given")
    age_if_under_18: int | None = Field(
        default=None, ge=0, le=17, description="Only for a witness under 18 (the MG11 prints 'over 18' otherwise); never a date of birth"
    )
    mg11: bool = Field(default=False, description="Make this an MG11 witness statement: needs declaration_accepted")
    declaration_accepted: bool = Field(
        default=False,
        description="The witness accepted the section 9 Criminal Justice Act 1967 declaration; the statement is signed "
        "(signed_at and signature_sha256 set by the server) when it is recorded",
    )

    @model_validator(mode="after")
    def _mg11_needs_declaration(self) -> WitnessIn:
        if self.mg11 and not self.declaration_accepted:
            raise ValueError(
                "declaration_accepted: an MG11 statement is made under the section 9 Criminal Justice Act 1967 declaration; "
                "the witness must accept it before the statement is recorded"
            )
        return self


# ---- MG11 signatures --------------------------------------------------------------

SECTION_9_DECLARATION = (
    "This statement (consisting of {pages} page(s) each signed by me) is true to the best of my knowledge and belief "
    "and I make it knowing that, if it is tendered in evidence, I shall be liable to prosecution if I have wilfully "
    "stated in it anything which I know to be false, or do not believe to be true."
)
# Set by the server when a statement under the declaration is recorded; never sent by a client.
SIGNATURE_FIELDS = ("signed_at", "signature_sha256")
_SIGNED_FIELDS = ("name", "age_if_under_18", "occupation", "statement")


def signature_record(witness: dict[str, Any], signed_at: str) -> bytes:
    """The exact bytes whose SHA-256 is a statement's signature record: the form, what the
    witness signed (name, age if under 18, occupation, statement) and when, as compact
    JSON with sorted keys (docs/evidence.md shows how to recompute it)."""
    record: dict[str, Any] = {"form": "MG11", "declaration": "s.9 Criminal Justice Act 1967", "signed_at": signed_at}
    record.update({k: witness.get(k) for k in _SIGNED_FIELDS})
    return json.dumps(record, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode()


def signature_holds(witness: dict[str, Any]) -> bool:
    """Whether a signed statement still reads as it did when signed."""
    signed_at = witness.get("signed_at")
    if not signed_at or not witness.get("signature_sha256"):
        return False
    return bool(hashlib.sha256(signature_record(witness, signed_at)).hexdigest() == witness["signature_sha256"])


def sign_statements(witnesses: list[dict[str, Any]], now: datetime) -> None:
    """Sign, at `now`, each statement made under the declaration that is not signed yet."""
    at = to_iso(now)
    for w in witnesses:
        if w.get("declaration_accepted") and not w.get("signed_at"):
            w["signed_at"] = at
            w["signature_sha256"] = hashlib.sha256(signature_record(w, at)).hexdigest()


def carry_signatures(before: list[dict[str, Any]], after: list[dict[str, Any]]) -> None:
    """Keep the signature of each statement a change left exactly as signed. One whose
    signed text changed is signed again when the change lands (its earlier text stays in
    the incident's versions), so no signature ever covers words the witness did not see."""
    signed = [w for w in before if w.get("signed_at") and w.get("signature_sha256")]
    for w in after:
        if not w.get("declaration_accepted"):
            continue
        for old in signed:
            if hashlib.sha256(signature_record(w, old["signed_at"])).hexdigest() == old["signature_sha256"]:
                w["signed_at"], w["signature_sha256"] = old["signed_at"], old["signature_sha256"]
                signed.remove(old)
                break


class Reporter(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    job_title: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=40)


def _reject_special_categories(data: Any) -> Any:
    if isinstance(data, dict):
        bad = sorted(k for k in data if isinstance(k, str) and k.lower() in SPECIAL_CATEGORY_FIELDS)
        if bad:
            raise ValueError(
                f"{', '.join(bad)}: special category data (ethnicity, race, religion, political views, "
                "sexual orientation, health) is never collected by Vigil"
            )
    return data


class IncidentIn(BaseModel):
    """A report as a retailer submits it."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "store_id": "nw-plymouth",
                    "category": "shop_theft",
                    "occurred_at": "2026-11-20T14:32:00+00:00",
                    "narrative": "Male filled a rucksack with spirits from aisle 4 and left without paying. Challenged at the door; pushed a colleague aside.",
                    "flags": {"violence": True, "threats": False, "staff_injured": False},
                    "goods": [{"description": "Whisky 70cl", "quantity": 6, "unit_value": {"amount_minor": 2899, "currency": "GBP"}}],
                    "persons": [
                        {
                            "role": "suspect",
                            "description": {
                                "build": "slim",
                                "height_min_cm": 175,
                                "height_max_cm": 185,
                                "hair": "short, dark",
                                "clothing": "grey hoodie, black joggers, red rucksack",
                            },
                        }
                    ],
                    "vehicles": [{"plate": "WR21 XKD", "make": "Ford", "model": "Focus", "colour": "silver"}],
                    "witnesses": [
                        {
                            "name": "Sam Taylor",
                            "kind": "staff",
                            "statement": "I saw the man take six bottles and walk past the tills.",
                            "is_reporter": True,
                        }
                    ],
                    "prosecution_supported": True,
                    "reporter": {"name": "Sam Taylor", "job_title": "Duty manager"},
                }
            ]
        },
    )

    store_id: str = Field(min_length=1, max_length=64)
    category: Category
    occurred_at: datetime
    narrative: str = Field(min_length=1, max_length=20_000)
    flags: Flags = Flags()
    goods: list[GoodsItem] = Field(default_factory=list, max_length=200)
    persons: list[PersonIn] = Field(default_factory=list, max_length=50)
    vehicles: list[VehicleIn] = Field(default_factory=list, max_length=20)
    witnesses: list[WitnessIn] = Field(default_factory=list, max_length=MAX_WITNESSES)
    prosecution_supported: bool = False
    reporter: Reporter
    external_reference: str | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="Your own system's reference for this incident (e.g. the row id of a historical export). Unique per "
        "organisation: a second report with the same external reference records nothing new (see the route).",
        examples=["LP-2019-004711"],
    )

    @model_validator(mode="before")
    @classmethod
    def _special(cls, data: Any) -> Any:
        return _reject_special_categories(data)

    @field_validator("external_reference")
    @classmethod
    def _printable(cls, v: str | None) -> str | None:
        if v is not None and (not v.isprintable() or v != v.strip()):
            raise ValueError("external_reference must be printable text without leading or trailing spaces")
        return v

    def report_fields(self) -> dict[str, Any]:
        """The report as JSON, without an external reference it does not carry (so reports
        without one read and fingerprint as they always have)."""
        return self.model_dump(mode="json", exclude={"external_reference"} if self.external_reference is None else None)

    @field_validator("occurred_at")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("occurred_at needs a UTC offset, e.g. 2026-11-20T14:32:00+00:00")
        return v

    @field_validator("goods")
    @classmethod
    def _one_currency(cls, goods: list[GoodsItem]) -> list[GoodsItem]:
        # A report's total is one sum: goods in two currencies have none, and no rate
        # chosen here would be the one a court or insurer uses.
        currencies = sorted({g.unit_value.currency for g in goods})
        if len(currencies) > 1:
            raise ValueError(f"goods must all be valued in one currency; these are in {', '.join(currencies)}")
        return goods


class IncidentPatch(BaseModel):
    """A JSON merge patch (RFC 7396) of the fields a retailer may change after reporting."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"narrative": "Updated: the suspect returned the next day and was recognised.", "prosecution_supported": True}]
        },
    )

    store_id: str | None = Field(default=None, min_length=1, max_length=64)
    category: Category | None = None
    occurred_at: datetime | None = None
    narrative: str | None = Field(default=None, min_length=1, max_length=20_000)
    flags: FlagsPatch | None = None
    goods: list[GoodsItem] | None = Field(default=None, max_length=200)
    persons: list[PersonIn] | None = Field(default=None, max_length=50)
    vehicles: list[VehicleIn] | None = Field(default=None, max_length=20)
    witnesses: list[WitnessIn] | None = Field(default=None, max_length=MAX_WITNESSES)
    prosecution_supported: bool | None = None
    reporter: Reporter | None = None

    @model_validator(mode="before")
    @classmethod
    def _special(cls, data: Any) -> Any:
        return _reject_special_categories(data)


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
