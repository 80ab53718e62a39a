"""Intelligence routes: repeat and prolific offending ranked with reasons, and a person's
network. Thin: parse, who, one call."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from functions.http.deps import API_PREFIX, ContainerDep, IfMatch, PageCursor, etag_header, require
from functions.http.problems import AUTH_ERRORS, responses
from shared.domain.crime_groups import CrimeGroupIn, CrimeGroupPatch, IncidentRef, MemberRef
from shared.domain.tenancy import Principal
from shared.services.intel import ANALYSTS, GROUP_KEEPERS
from shared.services.intel.groups import GroupView
from shared.services.intel.network import MAX_NODES
from shared.settings import get_settings

Analyst = Annotated[Principal, Depends(require(*ANALYSTS))]
Keeper = Annotated[Principal, Depends(require(*GROUP_KEEPERS))]
GroupId = Annotated[str, Path(min_length=1, max_length=64, description="Group id")]
OffenderId = Annotated[str, Path(min_length=1, max_length=64, description="The person of interest's id (the offender_id incidents carry)")]
Purpose = Annotated[
    str | None,
    Query(min_length=3, max_length=500, description="Why you are looking: required for police, recorded in the audit trail"),
]

_page = get_settings()
router = APIRouter(tags=["intelligence"])

PERSON_EXAMPLE: dict[str, Any] = {
    "id": "off-5f0e3c1a9b2d4e6f",
    "organisation_id": "northwind",
    "description": "Male, 30s, about 180 cm, slim; grey hoodie; tattoo on the left hand",
    "image_evidence_ids": [],
    "incident_ids": ["7d1c2b3a4e5f60718293a4b5c6d7e8f9", "0a1b2c3d4e5f60718293a4b5c6d7e8f9"],
    "plates": ["WR21XKD"],
    "status": "listed",
    "review_at": "2027-02-28T00:00:00+00:00",
    "expires_at": "2027-11-30T00:00:00+00:00",
    "name": None,
    "aliases": [],
    "date_of_birth": None,
}
REF = {"id": "7d1c2b3a4e5f60718293a4b5c6d7e8f9", "reference": "NW-000123"}
RANKED_EXAMPLE: dict[str, Any] = {
    "rank": 1,
    "person": PERSON_EXAMPLE,
    "organisation_id": "northwind",
    "score": 3.412,
    "reasons": [
        {"reason": "count", "points": 2.0, "weight": "1 per incident", "incidents": [REF]},
        {"reason": "value", "points": 1.8, "weight": "1 per £100 of goods, at most 5 per incident", "incidents": [REF]},
        {"reason": "violence", "points": 0.0, "weight": "3 per incident with violence or threats, 2 more with a weapon", "incidents": []},
        {"reason": "recency", "points": -0.388, "weight": "points halve every 180 days", "incidents": [REF]},
        {"reason": "spread", "points": 0.0, "weight": "x1.00: 1 stores, 1 retailers, 1 force areas", "incidents": []},
    ],
    "incident_count": 2,
    "last_incident_at": "2026-11-20T14:05:00Z",
    "stores": 1,
    "force_areas": 1,
}


class ScoreReasonOut(BaseModel):
    reason: str = Field(description="count, value, violence, recency or spread")
    points: float = Field(description="What this reason adds to the score (recency takes away); the points add up to the score")
    weight: str = Field(description="The weight behind the points, in words")
    incidents: list[dict[str, str]] = Field(description="The incidents behind this reason: id and reference")


class RankedOut(BaseModel):
    rank: int
    person: dict[str, Any] = Field(description="The person as you may see them: no name, aliases or date of birth below `full` sharing")
    organisation_id: str = Field(description="The organisation that lists the person")
    score: float
    reasons: list[ScoreReasonOut]
    incident_count: int
    last_incident_at: str | None
    stores: int
    force_areas: int


class RankingPageOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={"examples": [{"scope": "force:devon-and-cornwall", "items": [RANKED_EXAMPLE], "continuation": None}]}
    )

    scope: str = Field(description="`org` (your organisation's incidents) or `force:<id>` (the incidents in your force area)")
    items: list[RankedOut]
    continuation: str | None = Field(description="Send as `continuation` for the next page; null on the last")


class NodeOut(BaseModel):
    id: str = Field(description="`person:<organisation>/<id>` or `vehicle:<plate>`")
    kind: str = Field(description="person or vehicle")
    hop: int = Field(description="How many edges from the person asked about")
    person: dict[str, Any] | None = None
    plate: str | None = None


class EdgeOut(BaseModel):
    source: str
    target: str
    kind: str = Field(description="co_offender, vehicle or time_and_place")
    weight: int = Field(description="How many incidents are behind the edge")
    incidents: list[dict[str, str]]


NETWORK_EXAMPLE: dict[str, Any] = {
    "start": "person:northwind/off-5f0e3c1a9b2d4e6f",
    "nodes": [
        {"id": "person:northwind/off-5f0e3c1a9b2d4e6f", "kind": "person", "hop": 0, "person": PERSON_EXAMPLE, "plate": None},
        {"id": "vehicle:WR21XKD", "kind": "vehicle", "hop": 1, "person": None, "plate": "WR21XKD"},
    ],
    "edges": [
        {
            "source": "person:northwind/off-5f0e3c1a9b2d4e6f",
            "target": "vehicle:WR21XKD",
            "kind": "vehicle",
            "weight": 2,
            "incidents": [REF, {"id": "0a1b2c3d4e5f60718293a4b5c6d7e8f9", "reference": "NW-000124"}],
        }
    ],
    "truncated": False,
    "limits": {"hops": 2, "max_nodes": 100, "max_edges": 300, "window_minutes": 120},
}


class NetworkOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [NETWORK_EXAMPLE]})

    start: str
    nodes: list[NodeOut]
    edges: list[EdgeOut]
    truncated: bool = Field(description="Nodes or edges past the bounds were left out")
    limits: dict[str, int]


@router.get(
    "/intel/repeat-offending",
    summary="Repeat and prolific offending, ranked and explained",
    description="Persons of interest ranked by a score from their incidents' count, value, violence, recency and spread across "
    "stores and force areas; each score is broken down into those reasons with the incidents behind them. A force sees the "
    "persons of the retailers sharing with it over the incidents in its area; a retailer its own. Listings not in force and "
    "minors outside their organisation never appear. Audited.",
    response_model=RankingPageOut,
    responses=responses(*AUTH_ERRORS, 422),
    response_description="One page of the ranking, highest score first",
)
def repeat_offending(
    principal: Analyst,
    container: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=_page.max_page_size)] = _page.default_page_size,
    purpose: Purpose = None,
    *,
    page: PageCursor,
):
    ranked = container.intel.ranking.rank(principal, limit=limit, continuation=page.token, purpose=purpose)
    return {"scope": ranked.scope, "items": ranked.items, "continuation": page.next(ranked.continuation)}


@router.get(
    "/offenders/{offender_id}/network",
    summary="A person's network: co-offenders, shared vehicles, shared times and places",
    description="A graph two hops from the person: persons and vehicles as nodes, edges of kind co_offender (named in the same "
    "incident), vehicle (a person and a vehicle in the same incident) and time_and_place (incidents at the same store within "
    "two hours), each with the incidents behind it. Bounded: `truncated` says when nodes or edges were left out. Audited.",
    response_model=NetworkOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="The network as you may see it",
)
def offender_network(
    offender_id: OffenderId,
    principal: Analyst,
    container: ContainerDep,
    hops: Annotated[int, Query(ge=1, le=2, description="1 or 2")] = 2,
    max_nodes: Annotated[int, Query(ge=2, le=MAX_NODES)] = MAX_NODES,
    purpose: Purpose = None,
):
    return container.intel.network.of(principal, offender_id, hops=hops, purpose=purpose, max_nodes=max_nodes)


GROUP_EXAMPLE: dict[str, Any] = {
    "id": "grp-3c9d1e2f4a5b6c7d",
    "organisation_id": "devon-and-cornwall",
    "name": "Silver Focus team",
    "reason": "Three persons named together in thefts at Plymouth and Exeter stores, travelling in WR21XKD",
    "review_at": "2027-02-28T00:00:00Z",
    "members": [{"organisation_id": "northwind", "offender_id": "off-5f0e3c1a9b2d4e6f"}],
    "incidents": [{"organisation_id": "northwind", "incident_id": "7d1c2b3a4e5f60718293a4b5c6d7e8f9"}],
    "created_by": "devon-and-cornwall-analyst",
    "created_at": "2026-11-30T09:00:00Z",
    "updated_at": "2026-11-30T09:00:00Z",
    "version": 1,
}


class GroupOut(BaseModel):
    """An organised crime group record as you may see it: a partner sees only the members
    and incidents it may be shown."""

    model_config = ConfigDict(json_schema_extra={"examples": [GROUP_EXAMPLE]})

    id: str
    organisation_id: str = Field(description="The organisation keeping the record")
    name: str
    reason: str
    review_at: datetime
    members: list[MemberRef]
    incidents: list[IncidentRef]
    created_by: str
    created_at: datetime
    updated_at: datetime
    version: int


class GroupPageOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"items": [GROUP_EXAMPLE], "continuation": None}]})

    items: list[GroupOut]
    continuation: str | None = Field(description="Send as `continuation` for the next page; null on the last")


def _group(view: GroupView, response: Response) -> dict[str, Any]:
    response.headers.update(etag_header(view.etag))
    return view.body


@router.post(
    "/groups",
    status_code=201,
    summary="Record an organised crime group",
    description="Members are persons of interest you may see (your own, or a partner's shown to you), incidents ones you "
    "may see; the review date is at most a year ahead. Audited as a combination of the persons it links.",
    response_model=GroupOut,
    responses=responses(400, *AUTH_ERRORS, 413, 422),
    response_description="The group as stored, with its ETag (Location names it)",
)
def create_group(group: Annotated[CrimeGroupIn, Body()], principal: Keeper, container: ContainerDep, response: Response):
    view = container.intel.groups.create(principal, group)
    response.headers["Location"] = f"{API_PREFIX}/groups/{view.body['id']}"
    return _group(view, response)


@router.get(
    "/groups",
    summary="Organised crime groups you keep or may see",
    description="Groups your organisation keeps, and those of organisations sharing descriptions or more with you that "
    "have a member you may be shown (with only those members). Audited.",
    response_model=GroupPageOut,
    responses=responses(*AUTH_ERRORS, 422),
    response_description="One page of groups, most recently changed first",
)
def list_groups(
    principal: Keeper,
    container: ContainerDep,
    limit: Annotated[int, Query(ge=1, le=_page.max_page_size)] = _page.default_page_size,
    *,
    page: PageCursor,
):
    found = container.intel.groups.find(principal, limit=limit, continuation=page.token)
    return {"items": [v.body for v in found.items], "continuation": page.next(found.continuation)}


@router.get(
    "/groups/{group_id}",
    summary="Read an organised crime group",
    description="A group your organisation keeps, or a partner's group as you may see it (404 when none of its members "
    "may be shown to you, exactly as for a group that does not exist). Audited.",
    response_model=GroupOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="The group as you may see it, with its ETag",
)
def read_group(group_id: GroupId, principal: Keeper, container: ContainerDep, response: Response):
    return _group(container.intel.groups.get(principal, group_id), response)


@router.patch(
    "/groups/{group_id}",
    summary="Change an organised crime group you keep",
    description="Each field given replaces the stored one (members and incidents as whole lists). Needs If-Match.",
    response_model=GroupOut,
    responses=responses(400, *AUTH_ERRORS, 404, 412, 413, 422, 428),
    response_description="The group after the change, with its new ETag",
)
def change_group(
    group_id: GroupId,
    patch: Annotated[CrimeGroupPatch, Body()],
    principal: Keeper,
    container: ContainerDep,
    response: Response,
    if_match: IfMatch = None,
):
    return _group(container.intel.groups.update(principal, group_id, patch, if_match), response)
