"""The incident report form a retailer fills in (and the patch that changes it), kept apart from the stored record."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.domain.plates import normalise_plate

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
