"""Retention routes: schedules, legal holds, tombstones and statistics. Thin: parse, check the role, one service call;
the route chooses the status and headers, and its output model what leaves."""

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, Field

from functions.http.deps import API_PREFIX, ContainerDep, IfMatch, PageCursor, etag_header, require, require_offset
from functions.http.problems import AUTH_ERRORS, responses
from shared.domain.errors import Invalid
from shared.domain.retention import LegalHoldIn, OrganisationScheduleIn, ProposalCancellationIn, RecordType, RegionScheduleIn, TypeRule
from shared.domain.tenancy import Principal, Role
from shared.services.retention.holds import HOLDERS_POLICE, HOLDERS_RETAIL
from shared.services.retention.schedules import OrganisationSchedule, RegionProposal, RegionSchedule
from shared.settings import get_settings

IncidentId = Annotated[str, Path(min_length=1, max_length=64, description="Incident id")]
ProposalNumber = Annotated[int, Path(ge=1, le=999_999, description="Schedule proposal number")]
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
MAX_STATISTICS_MONTHS = 36
_PAGES = get_settings()


# ---- output models -----------------------------------------------------------------------


class RegionScheduleOut(BaseModel):
    region: str
    version: int = Field(description="The version in force; 0 until a change first takes effect")
    rules: dict[RecordType, TypeRule]
    effective_at: str | None = Field(description="Since when this version is in force (none for the defaults)")

    @classmethod
    def of(cls, schedule: RegionSchedule) -> "RegionScheduleOut":
        return cls(region=schedule.region, version=schedule.version, rules=schedule.rules, effective_at=schedule.effective_at)


class EffectiveRule(BaseModel):
    months: int = Field(description="The period that applies to your organisation")
    min_months: int
    max_months: int
    region_months: int = Field(description="The region's default")


class OrganisationScheduleOut(BaseModel):
    organisation_id: str
    version: int = Field(description="0 until your organisation first chooses its own periods")
    schedule_version: str = Field(description="How tombstones name this schedule, e.g. uk:3/northwind:1")
    overrides: dict[RecordType, int]
    effective: dict[RecordType, EffectiveRule]

    @classmethod
    def of(cls, chosen: OrganisationSchedule) -> "OrganisationScheduleOut":
        schedule = chosen.schedule
        months = schedule.months
        return cls(
            organisation_id=schedule.org_id,
            version=schedule.org_version,
            schedule_version=schedule.version,
            overrides=schedule.overrides,
            effective={
                t: EffectiveRule(months=months[t], min_months=r.min_months, max_months=r.max_months, region_months=r.months)
                for t, r in schedule.rules.items()
            },
        )


class ScheduleVersionOut(BaseModel):
    version: int
    rules: dict[RecordType, TypeRule] | None = Field(default=None, description="A region version: the rules it set")
    overrides: dict[RecordType, int] | None = Field(default=None, description="An organisation version: the periods it chose")
    changed_at: str
    changed_by: str
    reason: str
    approved_by: str | None = Field(default=None, description="A region version: the second operator who approved it")
    effective_at: str | None = Field(default=None, description="A region version: when it takes (or took) effect")
    cancelled_at: str | None = Field(default=None, description="A region version cancelled before it took effect")


class HoldEvent(BaseModel):
    at: str
    by: str
    action: str
    reason: str


class HoldOut(BaseModel):
    holder_org: str
    status: str = Field(description="active or released")
    reason: str
    placed_at: str
    placed_by: str
    released_at: str | None
    history: list[HoldEvent]


class HoldsOut(BaseModel):
    incident_id: str
    held: bool = Field(description="Whether any active hold stops deletion")
    holds: list[HoldOut]


class TombstoneOut(BaseModel):
    id: str
    entity_id: str
    type: str
    deleted_at: str
    rule: str
    schedule_version: str
    cause: str
    request_id: str | None = None
    count: int | None = Field(default=None, description="For type audit_entries: how many entries were pruned")
    first_seq: int | None = None
    last_seq: int | None = None


class TombstonePage(BaseModel):
    items: list[TombstoneOut]
    continuation: str | None = None


TOMBSTONE_TYPES = ("incident", "poi_image", "audit_entries", "footage_request", "lookout", "referral", "crime_group", "offender")


class StatisticsRow(BaseModel):
    month: str
    store_id: str
    category: str
    kept: int
    deleted: int
    total: int
    poi_images_deleted: int = Field(0, description="Person-of-interest images of these incidents erased ahead of them (the incidents stay)")


class StatisticsOut(BaseModel):
    organisation_id: str
    items: list[StatisticsRow]


def _month(name: str, value: str) -> str:
    if not _MONTH.match(value):
        raise Invalid(f"{name} must be a month, YYYY-MM.", errors=[{"field": name}])
    return value


def _months_between(a: str, b: str) -> int:
    return (int(b[:4]) * 12 + int(b[5:])) - (int(a[:4]) * 12 + int(a[5:])) + 1


router = APIRouter(tags=["retention"])
Operator = Annotated[Principal, Depends(require(Role.PLATFORM_OPERATOR))]
Admin = Annotated[Principal, Depends(require(Role.RETAILER_ADMIN))]
Holder = Annotated[Principal, Depends(require(*HOLDERS_RETAIL, *HOLDERS_POLICE))]
Reader = Annotated[Principal, Depends(require(Role.RETAILER_ADMIN, Role.RETAILER_INVESTIGATOR))]


# ---- schedules --------------------------------------------------------------------------
@router.get(
    "/retention/schedules/region",
    summary="This region's retention schedule in force and the bounds organisations choose within",
    response_model=RegionScheduleOut,
    responses=responses(*AUTH_ERRORS),
    response_description="The region's schedule in force and its bounds",
)
def get_region_schedule(principal: Operator, container: ContainerDep):
    """The retention periods in force in this region and the bounds within which each organisation chooses its own."""
    return RegionScheduleOut.of(container.retention.schedules.region())


@router.post(
    "/retention/schedules/region/proposals",
    status_code=201,
    summary="Propose a change of the region's schedule: a second operator approves it, and it takes effect after a delay",
    response_model=RegionProposal,
    response_model_exclude_none=True,
    responses=responses(400, *AUTH_ERRORS, 409, 413, 422),
    response_description="The proposal, waiting for a second operator",
)
def propose_region_schedule(body: RegionScheduleIn, principal: Operator, container: ContainerDep, response: Response):
    """A platform operator proposes new retention periods for the region; nothing changes until another operator approves it and the delay has passed."""
    proposal = container.retention.schedules.propose_region(principal, body)
    response.headers["Location"] = f"{API_PREFIX}/retention/schedules/region/proposals/{proposal.number}"
    return proposal


@router.get(
    "/retention/schedules/region/proposals",
    summary="Every proposed change of the region's schedule, oldest first",
    response_model=list[RegionProposal],
    response_model_exclude_none=True,
    responses=responses(*AUTH_ERRORS),
    response_description="Every proposal, oldest first, with its state",
)
def list_region_schedule_proposals(principal: Operator, container: ContainerDep):
    """Proposed changes of the region's schedule and whether each is pending, approved, in force or cancelled."""
    return container.retention.schedules.proposals()


@router.post(
    "/retention/schedules/region/proposals/{number}/approval",
    summary="Approve another operator's proposal; it takes effect after the delay",
    response_model=RegionProposal,
    response_model_exclude_none=True,
    responses=responses(*AUTH_ERRORS, 404, 409, 422),
    response_description="The approved proposal and when it takes effect",
)
def approve_region_schedule(number: ProposalNumber, principal: Operator, container: ContainerDep):
    """A second platform operator approves a proposal (never their own); it takes effect after the delay."""
    return container.retention.schedules.approve_region(principal, number)


@router.post(
    "/retention/schedules/region/proposals/{number}/cancellation",
    summary="Cancel a proposal, or an approved change before it takes effect",
    response_model=RegionProposal,
    response_model_exclude_none=True,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
    response_description="The cancelled proposal",
)
def cancel_region_schedule_proposal(number: ProposalNumber, body: ProposalCancellationIn, principal: Operator, container: ContainerDep):
    """Cancels a pending proposal, or an approved one before it takes effect, with the reason."""
    return container.retention.schedules.cancel_region(principal, number, body.reason)


@router.get(
    "/retention/schedules/region/versions",
    summary="Every version of the region's schedule",
    response_model=list[ScheduleVersionOut],
    response_model_exclude_unset=True,
    responses=responses(*AUTH_ERRORS),
    response_description="Every version of the region's schedule, oldest first",
)
def list_region_schedule_versions(principal: Operator, container: ContainerDep):
    """Each version of the region's schedule that has been in force, so a deletion can be traced to its rule."""
    return container.retention.schedules.versions(principal, region=True)


@router.get(
    "/retention/schedules/organisation",
    summary="Your organisation's schedule: what applies, your choices, the region's bounds",
    response_model=OrganisationScheduleOut,
    responses=responses(*AUTH_ERRORS),
    response_description="What applies to your organisation, your choices and the region's bounds",
)
def get_organisation_schedule(principal: Admin, container: ContainerDep, response: Response):
    """The retention periods that apply to your organisation's data, the ones you chose and the region's bounds."""
    chosen = container.retention.schedules.organisation(principal)
    response.headers.update(etag_header(chosen.etag))
    return OrganisationScheduleOut.of(chosen)


@router.put(
    "/retention/schedules/organisation",
    summary="Choose your organisation's periods within the region's bounds",
    response_model=OrganisationScheduleOut,
    responses=responses(400, *AUTH_ERRORS, 412, 413, 422, 428),
    response_description="Your organisation's schedule as now stored",
)
def set_organisation_schedule(
    body: OrganisationScheduleIn, principal: Admin, container: ContainerDep, if_match: IfMatch, response: Response
):
    """Your organisation chooses its retention periods within the region's bounds, as a new version; needs `If-Match`."""
    chosen = container.retention.schedules.set_organisation(principal, body, if_match)
    response.headers.update(etag_header(chosen.etag))
    return OrganisationScheduleOut.of(chosen)


@router.get(
    "/retention/schedules/organisation/versions",
    summary="Every version of your organisation's schedule",
    response_model=list[ScheduleVersionOut],
    response_model_exclude_unset=True,
    responses=responses(*AUTH_ERRORS),
    response_description="Every version of your organisation's schedule, oldest first",
)
def list_organisation_schedule_versions(principal: Admin, container: ContainerDep):
    """Each version of your organisation's choices, so a deletion can be traced to the schedule it followed."""
    return container.retention.schedules.versions(principal, region=False)


# ---- legal holds ------------------------------------------------------------------------
@router.get(
    "/incidents/{incident_id}/legal-hold",
    summary="Legal holds on an incident",
    response_model=HoldsOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="The holds on the incident",
)
def list_legal_holds(incident_id: IncidentId, principal: Holder, container: ContainerDep):
    """The legal holds keeping this incident, its evidence and linked hits from deletion."""
    return container.retention.holds.view(principal, incident_id)


@router.post(
    "/incidents/{incident_id}/legal-hold",
    status_code=201,
    summary="Hold an incident, its evidence and linked hits from every deletion (investigator of the organisation, or an officer of a force it was dispatched to)",
    response_model=HoldsOut,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
    response_description="The holds on the incident, including the new one",
)
def place_legal_hold(incident_id: IncidentId, body: LegalHoldIn, principal: Holder, container: ContainerDep):
    """Keeps an incident, its evidence and linked hits from every deletion until the hold is released, for an investigation or legal proceedings."""
    return container.retention.holds.place(principal, incident_id, body.reason)


@router.delete(
    "/incidents/{incident_id}/legal-hold",
    summary="Release your organisation's hold; expiry resumes when no hold remains",
    response_model=HoldsOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="The holds that remain on the incident",
)
def release_legal_hold(
    incident_id: IncidentId,
    reason: Annotated[
        str,
        Query(
            min_length=10,
            max_length=1000,
            description="Why the hold ends (audited)",
            examples=["Trial concluded 2027-03-14; no appeal lodged"],
        ),
    ],
    principal: Holder,
    container: ContainerDep,
):
    """Releases your organisation's hold; deletion under the schedule resumes once no hold remains."""
    return container.retention.holds.release(principal, incident_id, reason)


# ---- proof and statistics ---------------------------------------------------------------
@router.get(
    "/retention/tombstones",
    summary="Your organisation's tombstones: proof of every deletion (incidents, persons of interest and their images, lookouts, referrals, crime groups, pruned audit entries), newest first",
    response_model=TombstonePage,
    response_model_exclude_unset=True,
    responses=responses(*AUTH_ERRORS, 422),
    response_description="One page of deletion proofs, newest first",
)
def list_tombstones(
    principal: Reader,
    container: ContainerDep,
    type: Annotated[
        str | None, Query(description=f"One of {', '.join(TOMBSTONE_TYPES)}", pattern="^(" + "|".join(TOMBSTONE_TYPES) + ")$")
    ] = None,  # noqa: A002 - the query parameter's name
    deleted_from: Annotated[datetime | None, Query(alias="from", description="Deleted at or after (ISO 8601 with offset)")] = None,
    deleted_to: Annotated[datetime | None, Query(alias="to", description="Deleted before (ISO 8601 with offset)")] = None,
    limit: Annotated[int, Query(ge=1, le=_PAGES.max_page_size)] = _PAGES.default_page_size,
    *,
    page: PageCursor,
):
    """Proof of every deletion made under the schedule: what was deleted, when, and by which rule; never the deleted content."""
    require_offset(("from", deleted_from), ("to", deleted_to))
    found = container.retention.tombstones.list(
        principal, record_type=type, deleted_from=deleted_from, deleted_to=deleted_to, limit=limit, continuation=page.token
    )
    # Each tombstone as stored: an incident's carries no audit counts, not even as nulls.
    return {"items": [t.model_dump(exclude_unset=True) for t in found.items], "continuation": page.next(found.continuation)}


@router.get(
    "/retention/tombstones/{incident_id}",
    summary="Proof an incident of your organisation was deleted: when, by which rule and schedule version",
    response_model=TombstoneOut,
    response_model_exclude_unset=True,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="The proof of the incident's deletion",
)
def get_tombstone(incident_id: IncidentId, principal: Reader, container: ContainerDep):
    """Whether an incident of your organisation was deleted, when, by which rule and schedule version."""
    return container.retention.tombstones.incident(principal, incident_id).model_dump(exclude_unset=True)


@router.get(
    "/retention/statistics",
    summary="Incidents per month, store and category, kept and deleted (counts survive deletion)",
    response_model=StatisticsOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="Counts per month, store and category, kept and deleted",
)
def get_retention_statistics(
    from_month: Annotated[str, Query(alias="from", max_length=7, description="First month, YYYY-MM", examples=["2026-01"])],
    to_month: Annotated[str, Query(alias="to", max_length=7, description="Last month, YYYY-MM", examples=["2026-12"])],
    principal: Annotated[Principal, Depends(require(Role.RETAILER_ADMIN, Role.RETAILER_INVESTIGATOR, Role.PLATFORM_OPERATOR))],
    container: ContainerDep,
    organisation: Annotated[str | None, Query(max_length=64, description="Platform.Operator only: which organisation")] = None,
):
    """Incident counts that survive deletion, so trends can be reported without keeping personal data."""
    _month("from", from_month)
    _month("to", to_month)
    span = _months_between(from_month, to_month)
    if not 1 <= span <= MAX_STATISTICS_MONTHS:
        raise Invalid(f"from..to must span 1 to {MAX_STATISTICS_MONTHS} months.", errors=[{"field": "to"}])
    org = container.retention.statistics.organisation(principal, organisation)
    return {"organisation_id": org, "items": container.retention.statistics.rows(org, from_month, to_month)}
