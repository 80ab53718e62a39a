"""The answers of the person-of-interest routes (functions/http/offenders.py), with the
examples the API documents."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared.domain.offenders import ListingStatus, PersonOfInterest, is_minor, listing_in_force
from shared.services.offenders.suggestions import Suggestion

EXAMPLE: dict[str, Any] = {
    "id": "off-3f2a9c1e5b7d4e0f",
    "organisation_id": "northwind",
    "name": "Jamie Doyle",
    "aliases": ["JD"],
    "date_of_birth": "1990-04-12",
    "believed_under_18": False,
    "description": "About 180 cm, slim, grey hooded top, scar across the back of the left hand",
    "image_evidence_ids": [],
    "incident_ids": ["inc-0001", "inc-0002"],
    "plates": ["WR21XKD"],
    "status": "listed",
    "listing_reason": "Two thefts from Plymouth within a week, the second pushing past staff",
    "listed_by": "nw-inv",
    "listed_at": "2026-11-23T12:00:00Z",
    "review_at": "2027-05-23T12:00:00Z",
    "expires_at": "2028-11-23T12:00:00Z",
    "merged_into": None,
    "contest_request_id": None,
    "contest_due_at": None,
    "version": 1,
    "in_force": True,
    "minor": False,
    "review_overdue": False,
    "etag": '"1"',
}
SUGGESTION_EXAMPLE: dict[str, Any] = {
    "id": "inc-0002.0.off-3f2a9c1e5b7d4e0f",
    "incident_id": "inc-0002",
    "person_index": 0,
    "offender_id": "off-3f2a9c1e5b7d4e0f",
    "profile": False,
    "reasons": [{"kind": "name_and_date_of_birth", "fields": ["name", "date_of_birth"], "incident_ids": ["inc-0001", "inc-0002"]}],
}


class ProfileOut(BaseModel):
    """A person of interest as its organisation sees it."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    id: str
    organisation_id: str
    name: str | None
    aliases: list[str]
    date_of_birth: date | None
    believed_under_18: bool
    description: str
    image_evidence_ids: list[str]
    incident_ids: list[str]
    plates: list[str]
    status: ListingStatus
    listing_reason: str
    listed_by: str
    listed_at: datetime
    review_at: datetime
    expires_at: datetime
    merged_into: str | None
    contest_request_id: str | None = Field(description="The subject request contesting the listing, while it is reviewed")
    contest_due_at: datetime | None = Field(description="When the contested listing must have been reviewed")
    version: int
    in_force: bool = Field(description="Listed and before its review date and expiry: acted on by lookouts and rankings")
    minor: bool = Field(description="Under 18 (or believed so): never shown beyond the organisation")
    review_overdue: bool = Field(description="Past its review date, or a contest past its review deadline")
    etag: str | None = None

    @classmethod
    def of(cls, p: PersonOfInterest, now: datetime, etag: str | None = None) -> ProfileOut:
        overdue = now >= p.review_at or (p.contest_due_at is not None and now >= p.contest_due_at)
        return cls(
            **p.model_dump(exclude={"name_key"}),
            in_force=listing_in_force(p, now),
            minor=is_minor(p, now.date()),
            review_overdue=p.status in (ListingStatus.LISTED, ListingStatus.CONTESTED) and overdue,
            etag=f'"{etag}"' if etag else None,
        )


class ProfilePageOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [EXAMPLE], "continuation": None}]})
    items: list[ProfileOut]
    continuation: str | None = Field(description="Send as `continuation` for the next page; null on the last")


class ProfileVersionOut(BaseModel):
    version: int
    at: str
    by: str
    note: str


class ProfileHistoryOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "version": 1,
                            "at": "2026-11-23T12:00:00Z",
                            "by": "nw-inv",
                            "note": "listed (repeat: 2 incidents within 12 months)",
                        }
                    ]
                }
            ]
        }
    )
    items: list[ProfileVersionOut]


class ReasonOut(BaseModel):
    kind: str = Field(description="name_and_date_of_birth, plate or description")
    fields: list[str] = Field(description="What matched")
    incident_ids: list[str] = Field(description="The incidents the match is in")


class SuggestionOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [SUGGESTION_EXAMPLE]})

    id: str
    incident_id: str
    person_index: int
    offender_id: str = Field(description="Who the person may be: a person of interest, or a person of another incident")
    profile: bool = Field(description="Whether offender_id is a person of interest")
    reasons: list[ReasonOut]

    @classmethod
    def of(cls, s: Suggestion) -> SuggestionOut:
        return cls(
            id=s.id,
            incident_id=s.incident_id,
            person_index=s.person_index,
            offender_id=s.offender_id,
            profile=s.profile,
            reasons=[ReasonOut(kind=r.kind, fields=r.fields, incident_ids=r.incident_ids) for r in s.reasons],
        )


class SuggestionPageOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [SUGGESTION_EXAMPLE], "continuation": None}]})
    items: list[SuggestionOut]
    continuation: str | None = Field(description="Send as `continuation` for the next page; null on the last")


PARTNER_EXAMPLE: dict[str, Any] = {
    "profiles": [
        {
            "matched": "plate WR21XKD",
            "id": "off-3f2a9c1e5b7d4e0f",
            "organisation_id": "northwind",
            "name": None,
            "aliases": [],
            "date_of_birth": None,
            "description": "About 180 cm, slim, grey hooded top",
            "image_evidence_ids": [],
            "incident_ids": ["inc-0001", "inc-0002"],
            "plates": ["WR21XKD"],
            "status": "listed",
            "review_at": "2027-05-23T12:00:00.000000+00:00",
            "expires_at": "2028-11-23T12:00:00.000000+00:00",
        }
    ],
    "pointers": [
        {
            "force_id": "avon-and-somerset",
            "force_name": "Avon and Somerset Police",
            "contact_email": "intel@avon-somerset.police.example",
            "matched": "plate WR21XKD",
        }
    ],
}


class PointerOut(BaseModel):
    force_id: str
    force_name: str
    contact_email: str | None = Field(description="Whom to contact at that force")
    matched: str = Field(description="What appears in that force's area")


class PartnerProfilesOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [PARTNER_EXAMPLE]})

    profiles: list[dict[str, Any]] = Field(
        description="Retailers' profiles at each agreement's level: no name, aliases or date of birth below `full`"
    )
    pointers: list[PointerOut] = Field(description="Other forces' areas where the same person or vehicle appears")
