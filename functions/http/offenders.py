"""Person-of-interest routes: an organisation's profiles (list, read, change, review,
revert, merge), linking suggestions, and what a force may see of retailers' profiles.
Thin: parse, who, one call, and the answer's status and headers."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from functions.http.deps import API_PREFIX, ContainerDep, IfMatch, PageCursor, etag_header, require
from functions.http.problems import AUTH_ERRORS, responses
from functions.http.schemas import RevertIn
from shared.domain.offender_listing import PersonLink, ProfileIn, ProfilePatch, ReviewIn
from shared.domain.offenders import ListingStatus, PersonOfInterest, is_minor, listing_in_force
from shared.domain.tenancy import Principal
from shared.services.offenders import EDITORS
from shared.services.offenders.profiles import ProfileFilters
from shared.services.offenders.suggestions import Suggestion
from shared.settings import get_settings

OffenderId = Annotated[str, Path(min_length=1, max_length=64, description="Person of interest id (the offender_id incident persons carry)")]
IncidentId = Annotated[str, Path(min_length=1, max_length=64, description="Incident id")]
PersonIndex = Annotated[int, Path(ge=0, le=49, description="The person's index in the incident's persons")]
IntoId = Annotated[str, Path(min_length=1, max_length=64, description="The profile it is merged into (which keeps its id)")]
SuggestionId = Annotated[str, Path(min_length=1, max_length=160, description="Suggestion id, as listed")]
Investigator = Annotated[Principal, Depends(require(*EDITORS))]

_page = get_settings()

router = APIRouter(tags=["persons of interest"])

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


def _answer(saved: Any, container: Any, response: Response) -> ProfileOut:
    response.headers.update(etag_header(saved.etag))
    return ProfileOut.of(saved.profile, container.clock.now(), saved.etag)


# Declared before /offenders/{offender_id}, which would otherwise take "suggestions" as an id.
@router.get(
    "/offenders/suggestions",
    summary="Linking suggestions within your organisation, each with what matched",
    response_model=SuggestionPageOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="One page of suggestions, with a continuation while more incidents remain",
)
def list_offender_suggestions(
    principal: Investigator,
    container: ContainerDep,
    incident_id: Annotated[str | None, Query(min_length=1, max_length=64, description="Only this incident's persons")] = None,
    limit: Annotated[int, Query(ge=1, le=_page.max_page_size, description="Incidents looked at per page")] = 20,
    *,
    page: PageCursor,
) -> SuggestionPageOut:
    """Persons of your incidents (one incident, or those of the last 30 days) who may be a person of interest or a person of another of your incidents: the same name and date of birth, the same vehicle, or a close description at the same store within 14 days. Never across organisations; nothing is linked until you confirm."""
    found = container.offenders.suggestions.list(principal, incident_id=incident_id, limit=limit, continuation=page.token)
    return SuggestionPageOut(items=[SuggestionOut.of(s) for s in found.items], continuation=page.next(found.continuation))


@router.post(
    "/offenders/suggestions/{suggestion_id}/confirm",
    summary="Confirm a suggestion: link the incident's person",
    response_model=SuggestionOut,
    responses=responses(*AUTH_ERRORS, 404, 409, 412, 422),
    response_description="The suggestion confirmed",
)
def confirm_offender_suggestion(suggestion_id: SuggestionId, principal: Investigator, container: ContainerDep) -> SuggestionOut:
    """Names the suggested offender id on the incident's person (a new version of the incident, audited); a person of interest gains the incident."""
    return SuggestionOut.of(container.offenders.suggestions.confirm(principal, suggestion_id))


@router.post(
    "/offenders/suggestions/{suggestion_id}/reject",
    summary="Reject a suggestion: they are different people",
    response_model=SuggestionOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="The suggestion rejected; it is not made again",
)
def reject_offender_suggestion(suggestion_id: SuggestionId, principal: Investigator, container: ContainerDep) -> SuggestionOut:
    """Remembers the judgement, so the same suggestion is not made again."""
    return SuggestionOut.of(container.offenders.suggestions.reject(principal, suggestion_id))


@router.post(
    "/incidents/{incident_id}/persons/{person_index}/listing",
    status_code=201,
    summary="List a person of an incident as a person of interest",
    response_model=ProfileOut,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
    response_description="The profile as stored (Location names it)",
)
def create_offender(
    incident_id: IncidentId,
    person_index: PersonIndex,
    body: Annotated[ProfileIn, Body()],
    principal: Investigator,
    container: ContainerDep,
    response: Response,
) -> ProfileOut:
    """Lists the person (with any further persons of your incidents in `links`) when the listing criteria are met (docs/offenders.md): two incidents within 12 months, or one involving violence, a weapon, threats, injured staff or high-value goods; never one low-value incident. A reason is required; the review date is at most 12 months ahead and the expiry at most the retention period. Refusals name the unmet criterion; nothing is written."""
    saved = container.offenders.listing.create(principal, PersonLink(incident_id=incident_id, person_index=person_index), body)
    response.headers["Location"] = f"{API_PREFIX}/offenders/{saved.profile.id}"
    return _answer(saved, container, response)


@router.get(
    "/offenders",
    summary="Your organisation's persons of interest (soonest review first)",
    response_model=ProfilePageOut,
    responses=responses(*AUTH_ERRORS, 422),
    response_description="One page of profiles, with a continuation while more remain",
)
def list_offenders(
    principal: Investigator,
    container: ContainerDep,
    status: ListingStatus | None = None,
    name: Annotated[str | None, Query(min_length=1, max_length=200, description="Exact name, any order, case and accents")] = None,
    plate: Annotated[str | None, Query(min_length=1, max_length=20)] = None,
    incident_id: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    due_for_review: Annotated[bool, Query(description="Only listings past their review date")] = False,
    limit: Annotated[int, Query(ge=1, le=_page.max_page_size)] = _page.default_page_size,
    *,
    page: PageCursor,
) -> ProfilePageOut:
    """Filters: status, name, vehicle, incident, and listings due for review."""
    filters = ProfileFilters(status=status, name=name, plate=plate, incident_id=incident_id, due_for_review=due_for_review)
    found = container.offenders.search.list(principal, filters, limit=limit, continuation=page.token)
    now = container.clock.now()
    return ProfilePageOut(items=[ProfileOut.of(s.record, now, s.etag) for s in found.items], continuation=page.next(found.continuation))


@router.get(
    "/offenders/{offender_id}",
    summary="One person of interest",
    response_model=ProfileOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="The profile, with its ETag",
)
def get_offender(offender_id: OffenderId, principal: Investigator, container: ContainerDep, response: Response) -> ProfileOut:
    """Your organisation's profile; any other organisation's is 404."""
    stored = container.offenders.profiles.read(principal, offender_id)
    response.headers.update(etag_header(stored.etag))
    return ProfileOut.of(stored.record, container.clock.now(), stored.etag)


@router.patch(
    "/offenders/{offender_id}",
    summary="Change a profile's details (JSON merge patch)",
    response_model=ProfileOut,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 412, 413, 422, 428),
    response_description="The profile after the change, with its new ETag",
)
def change_offender(
    offender_id: OffenderId,
    body: Annotated[ProfilePatch, Body()],
    principal: Investigator,
    container: ContainerDep,
    response: Response,
    if_match: IfMatch = None,
) -> ProfileOut:
    """Needs `If-Match` with the ETag you last read; each change is a new version."""
    return _answer(container.offenders.listing.update(principal, offender_id, body, if_match), container, response)


@router.post(
    "/offenders/{offender_id}/review",
    summary="Review a listing: uphold it with a new review date, or withdraw it",
    response_model=ProfileOut,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 412, 413, 422, 428),
    response_description="The profile after the review, with its new ETag",
)
def review_offender(
    offender_id: OffenderId,
    body: Annotated[ReviewIn, Body()],
    principal: Investigator,
    container: ContainerDep,
    response: Response,
    if_match: IfMatch = None,
) -> ProfileOut:
    """Upholding checks the listing criteria again against the linked incidents; a contested or lapsed listing is back in force only after this."""
    return _answer(container.offenders.listing.review(principal, offender_id, body, if_match), container, response)


@router.get(
    "/offenders/{offender_id}/versions",
    summary="Every version of a profile, oldest first",
    response_model=ProfileHistoryOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="Who changed the profile, when and why",
)
def list_offender_versions(offender_id: OffenderId, principal: Investigator, container: ContainerDep) -> ProfileHistoryOut:
    """Kept for the audit trail and for reverting."""
    return ProfileHistoryOut(items=[ProfileVersionOut(**v) for v in container.offenders.search.history(principal, offender_id)])


@router.post(
    "/offenders/{offender_id}/revert",
    summary="Make an earlier version's details current (as a new version)",
    response_model=ProfileOut,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 412, 413, 422, 428),
    response_description="The profile with the earlier version's details, with its new ETag",
)
def revert_offender(
    offender_id: OffenderId, body: RevertIn, principal: Investigator, container: ContainerDep, response: Response, if_match: IfMatch = None
) -> ProfileOut:
    """Restores the name, aliases, date of birth, description, images and reason; links change by linking, merging and unmerging."""
    return _answer(container.offenders.listing.revert(principal, offender_id, body.version, if_match), container, response)


@router.post(
    "/offenders/{offender_id}/merge-into/{into_id}",
    summary="Merge a profile into another profile of the same person",
    response_model=ProfileOut,
    responses=responses(*AUTH_ERRORS, 404, 409, 412, 422, 428),
    response_description="This profile, merged (its ETag)",
)
def merge_offender(
    offender_id: OffenderId,
    into_id: IntoId,
    principal: Investigator,
    container: ContainerDep,
    response: Response,
    if_match: IfMatch = None,
) -> ProfileOut:
    """Its incident persons are named with the other profile's id (new incident versions, audited); the other gains its incidents, name and aliases and images. Needs `If-Match` with this profile's ETag. Unmerge restores both."""
    return _answer(container.offenders.merging.merge(principal, offender_id, into_id, if_match), container, response)


@router.post(
    "/offenders/{offender_id}/unmerge",
    summary="Undo a merge, restoring both profiles",
    response_model=ProfileOut,
    responses=responses(*AUTH_ERRORS, 404, 409, 412, 422, 428),
    response_description="This profile as before the merge (its new ETag)",
)
def unmerge_offender(
    offender_id: OffenderId, principal: Investigator, container: ContainerDep, response: Response, if_match: IfMatch = None
) -> ProfileOut:
    """The persons the merge relinked are named with this profile again, and the other profile loses exactly what it gained. Needs `If-Match` with this profile's ETag."""
    return _answer(container.offenders.merging.unmerge(principal, offender_id, if_match), container, response)
