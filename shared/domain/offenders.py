"""Persons of interest: an organisation's profile of a person it has recorded offending,
and the rules deciding when that listing may be acted on and who may see what of it.

Pure: no I/O and no clock. Services pass `now` in.

A profile's id is the `offender_id` that incident persons already carry, so the incidents
of a person are the indexed query `offender_ids contains <id>` on incidents.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_serializer

from shared.domain.incidents import age_on
from shared.domain.subject_requests import name_key
from shared.domain.tenancy import ShareLevel
from shared.domain.timestamps import to_iso


class ListingStatus(StrEnum):
    LISTED = "listed"
    # A subject contests it: suspended from lookouts and rankings until the listing
    # organisation reviews it.
    CONTESTED = "contested"
    UNLISTED = "unlisted"  # removed, kept for history until retention takes it
    MERGED = "merged"  # merged into another profile, named by `merged_into`


class MergeRecord(BaseModel):
    """What merging a profile into another changed, so that unmerging restores it exactly."""

    into: str
    persons: list[str] = Field(default_factory=list, description="'<incident id>#<person index>' relinked to `into`")
    incidents_added: list[str] = Field(default_factory=list, description="Incidents `into` gained")
    aliases_added: list[str] = Field(default_factory=list, description="Aliases `into` gained")
    images_added: list[str] = Field(default_factory=list, description="Suspect images `into` gained")
    version_before: int = Field(description="This profile's version before the merge")


class PersonOfInterest(BaseModel):
    """One organisation's profile of a person of interest (tenant = `organisation_id`)."""

    # Stored documents carry derived index fields (`name_key`): read back, they are ignored.
    model_config = ConfigDict(extra="ignore")

    id: str = Field(max_length=64, description="The offender_id incident persons carry")
    organisation_id: str
    name: str | None = Field(default=None, max_length=200)
    aliases: list[str] = Field(default_factory=list)
    date_of_birth: date | None = None
    # Known or believed to be under 18 (an incident said so): treated as a minor even
    # without a date of birth, since nothing shows the person is an adult.
    believed_under_18: bool = False
    description: str = Field(default="", max_length=2000, description="Height, build, marks, clothing habits; no special-category data")
    image_evidence_ids: list[str] = Field(default_factory=list, description="Redacted stills derived from the organisation's evidence")
    incident_ids: list[str] = Field(default_factory=list)
    plates: list[str] = Field(default_factory=list, description="Normalised plates")
    status: ListingStatus = ListingStatus.LISTED
    listing_reason: str = ""
    listed_by: str = ""
    listed_at: datetime
    review_at: datetime
    expires_at: datetime
    merged_into: str | None = None
    # An open contest: the subject request that raised it and when the review is due.
    contest_request_id: str | None = None
    contest_due_at: datetime | None = None
    merge_record: MergeRecord | None = None  # set while merged into another profile
    version: int = 1

    @field_serializer("listed_at", "review_at", "expires_at", "contest_due_at", when_used="json")
    def _time(self, moment: datetime | None) -> str | None:
        # Stored times are compared and ordered as strings (the review and expiry sweeps).
        return to_iso(moment) if moment is not None else None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def name_key(self) -> str:
        """The name folded for matching (stored and indexed; "" when no name is known)."""
        return name_key(self.name) if self.name else ""


def is_minor(p: PersonOfInterest, on: date) -> bool:
    """Under 18 on `on`: by the date of birth when known, else when believed under 18."""
    if p.date_of_birth is not None:
        return age_on(p.date_of_birth, on) < 18
    return p.believed_under_18


def listing_in_force(p: PersonOfInterest, now: datetime) -> bool:
    """Listed, and neither past its review date nor expired. A contested listing is
    suspended, and one past its review date lapses, until the organisation reviews it."""
    return p.status == ListingStatus.LISTED and now < p.review_at and now < p.expires_at


def may_leave_organisation(p: PersonOfInterest, now: datetime) -> bool:
    """Whether anything of the profile may be shown outside its organisation (rankings for
    a force, networks across retailers, lookouts, referrals): a listing in force, never a minor."""
    return listing_in_force(p, now) and not is_minor(p, now.date())


def partner_view(p: PersonOfInterest, level: ShareLevel, *, incident_ids: Collection[str] | None = None) -> dict[str, Any]:
    """What a partner sharing at `level` sees of a profile. Callers check
    `may_leave_organisation` first: this only decides which fields. `incident_ids`, when
    given, are the only linked incidents the partner may be shown (a force: those in its
    area); the count below `descriptions` stays the profile's whole count.

    `full`: the profile as listed; `descriptions`: no name, aliases or date of birth
    (description, images, incidents and plates); `counts` and `none`: nothing personal,
    only how many incidents the profile links.
    """
    if level.rank < ShareLevel.DESCRIPTIONS.rank:
        return {"organisation_id": p.organisation_id, "incident_count": len(p.incident_ids)}
    view: dict[str, Any] = {
        "id": p.id,
        "organisation_id": p.organisation_id,
        "description": p.description,
        "image_evidence_ids": list(p.image_evidence_ids),
        "incident_ids": [i for i in p.incident_ids if incident_ids is None or i in incident_ids],
        "plates": list(p.plates),
        "status": p.status.value,
        "review_at": p.review_at.isoformat(),
        "expires_at": p.expires_at.isoformat(),
        "name": None,
        "aliases": [],
        "date_of_birth": None,
    }
    if level == ShareLevel.FULL:
        view["name"] = p.name
        view["aliases"] = list(p.aliases)
        view["date_of_birth"] = p.date_of_birth.isoformat() if p.date_of_birth else None
    return view
