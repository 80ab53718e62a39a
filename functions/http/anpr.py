"""ANPR routes: plate reads, hits, vehicles of interest, settings (alert subscriptions are in
`anpr_alerts`).

Thin: parse, check who is asking, call the ANPR service, shape the answer.
"""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from functions.http.deps import ContainerDep, IfMatch, PageCursor, etag_header, require, require_offset
from functions.http.problems import AUTH_ERRORS, responses
from functions.http.raw_body import json_body, validated
from shared.domain.anpr import AuthorisingOfficer, AuthorisingOfficersIn, PromoteIn, ReadBatchIn, VehicleOfInterestIn
from shared.domain.tenancy import Principal, Role
from shared.services.anpr import READ_SEARCHERS, VEHICLE_KEEPERS, ReadQuery
from shared.services.anpr.vehicles import VehicleWritten
from shared.settings import Settings

PlateParam = Annotated[str, Path(min_length=1, max_length=20, description="Number plate, as written (normalised for matching)")]
Purpose = Annotated[str | None, Query(min_length=3, max_length=500, description="Why you are searching: recorded in the audit trail")]
AuthorisedBy = Annotated[
    str | None,
    Query(
        min_length=2,
        max_length=100,
        description="Sign-in id of the officer who authorised a search of reads older than the ordinary window (Police.Analyst "
        "only): one on the force's register of authorising officers",
    ),
]

INGEST_DESCRIPTION = """
A batch of plate reads from one camera system (role `Device.Anpr`). The token's `stores`
claim names the stores the camera system posts for: a read for any other store refuses the
batch (422), and a token without the claim is refused (403, `missing_claim: stores`).

**Batch policy: all or nothing.** Every read is checked before anything is stored. If any
read is bad (shape, unknown or foreign store, captured in the future or already past its
retention, plate patch too large) the whole batch is refused with 422, each bad read named
by its index in `errors[].field` (e.g. `reads.3.plate`) and listed in `bad_reads`; nothing is
stored. Fix or drop those reads and send the batch again. More reads than
`anpr_max_batch_reads` (default 1,000) is 413 with `max_reads`.

Plates are normalised for matching (upper case, no spaces or punctuation, Cyrillic/Greek
look-alike letters mapped to Latin; anything else refused) and kept as read in `plate_raw`.
A re-sent read (same store, camera, plate and moment) is not stored twice: it counts under
`duplicates`. Each stored read expires from birth (captured_at + the organisation's read
retention, default 30 days).

**Re-send a batch not answered 200.** A 503 (or no answer) may come after part of the batch
was stored. Send the same batch again: reads already stored count under `duplicates`, the
rest are stored once, and no hit is made or alerted twice (`hits` lists only hits new with
that answer).
"""


class HitRef(BaseModel):
    """A hit on one of the poster's own vehicles of interest (hits on a force's vehicles go to the force only)."""

    id: str
    read_index: int = Field(description="Index of the read in the batch")
    plate: str


class IngestOut(BaseModel):
    accepted: int
    stored: int
    duplicates: int
    hits: list[HitRef]


class ReadOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    plate: str
    plate_raw: str
    camera_id: str
    store_id: str
    force_id: str
    captured_at: str
    confidence: float
    direction: str
    plate_image: str | None = None
    received_at: str
    expires_at: str


class ReadPage(BaseModel):
    items: list[ReadOut]
    continuation: str | None = None
    searched_from: str = Field(description="The oldest moment this search reached back to")
    tier: str = Field(description="ordinary, or authorised for reads older than the ordinary window")


class HitOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    read_id: str
    plate: str
    store_id: str
    camera_id: str
    force_id: str
    captured_at: str
    vehicle_owner: str
    vehicle_reason: str | None = Field(description="Shown only to the organisation that listed the vehicle")
    incident_ids: list[str]


class HitPage(BaseModel):
    items: list[HitOut]
    continuation: str | None = None


class VehicleOfInterestOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    plate: str
    plate_raw: str
    reason: str
    incident_ids: list[str]
    until: str
    added_by: str
    added_at: str
    owner_org: str
    etag: str


class VehiclePage(BaseModel):
    items: list[VehicleOfInterestOut]
    continuation: str | None = None


class AnprSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"read_retention_days": 14}]})

    read_retention_days: int = Field(description="Days a new read lives from capture (1 to the stamp's maximum)")


class AuthorisingOfficersOut(BaseModel):
    officers: list[AuthorisingOfficer]


class AnprSettingsOut(BaseModel):
    read_retention_days: int
    max_read_retention_days: int
    default_read_retention_days: int


def _vehicle_written(written: VehicleWritten, response: Response) -> dict[str, Any]:
    """201 and the ETag for a newly listed vehicle, 200 for a changed one."""
    response.status_code = 201 if written.created else 200
    response.headers.update(etag_header(written.etag))
    return written.vehicle


def router(settings: Settings) -> APIRouter:
    r = APIRouter(tags=["anpr"])
    Limit = Annotated[int, Query(ge=1, le=settings.max_page_size)]

    @r.post(
        "/anpr/reads",
        summary="Post a batch of plate reads (camera systems)",
        description=INGEST_DESCRIPTION,
        response_model=IngestOut,
        responses=responses(400, *AUTH_ERRORS, 413, 422),
        openapi_extra=json_body(ReadBatchIn),
        response_description="How many reads were stored and which matched a vehicle of interest",
    )
    async def ingest_plate_reads(
        request: Request, principal: Annotated[Principal, Depends(require(Role.DEVICE_ANPR))], container: ContainerDep
    ) -> Any:
        # The raw body is validated with the batch's storage on the handler thread: see functions/http/raw_body.py.
        body = await request.body()
        return await run_in_threadpool(lambda: container.anpr.ingest.post_batch(principal, validated(ReadBatchIn, body)))

    @r.get(
        "/anpr/reads",
        summary="Search reads of a plate",
        description=(
            "Reads of one plate the caller may see, newest first: a retailer its own cameras' reads, police the reads of "
            "organisations sharing ANPR with their force. Without `from` the search covers the last "
            f"{settings.anpr_search_days_without_authorisation} days. Reaching further back needs Police.Analyst, a "
            "`purpose` and `authorised_by` (the authorising officer's id); otherwise 403. Every search needs a `purpose` and is audited with it."
        ),
        response_model=ReadPage,
        responses=responses(*AUTH_ERRORS, 422),
        response_description="One page of reads of the plate, newest first",
    )
    def list_plate_reads(
        plate: Annotated[str, Query(min_length=1, max_length=20)],
        principal: Annotated[Principal, Depends(require(*READ_SEARCHERS))],
        container: ContainerDep,
        store: Annotated[str | None, Query(max_length=64)] = None,
        captured_from: Annotated[datetime | None, Query(alias="from", description="Captured at or after (ISO 8601 with offset)")] = None,
        captured_to: Annotated[datetime | None, Query(alias="to", description="Captured before (ISO 8601 with offset)")] = None,
        purpose: Purpose = None,
        authorised_by: AuthorisedBy = None,
        limit: Limit = settings.default_page_size,
        *,
        page: PageCursor,
    ) -> Any:
        require_offset(("from", captured_from), ("to", captured_to))
        q = ReadQuery(
            plate=plate, store_id=store, captured_from=captured_from, captured_to=captured_to, purpose=purpose, authorised_by=authorised_by
        )
        found = container.anpr.search.search_reads(principal, q, limit=limit, continuation=page.token)
        return {**found, "continuation": page.next(found["continuation"])}

    @r.get(
        "/anpr/reads/{read_id}",
        summary="Read one plate read",
        response_model=ReadOut,
        responses=responses(*AUTH_ERRORS, 404, 422),
        response_description="The plate read",
    )
    def get_plate_read(
        read_id: Annotated[str, Path(min_length=1, max_length=64)],
        principal: Annotated[Principal, Depends(require(*READ_SEARCHERS))],
        container: ContainerDep,
        purpose: Purpose = None,
        authorised_by: AuthorisedBy = None,
    ) -> Any:
        """One plate read you may see (a retailer its own cameras', a force those shared with it)."""
        return container.anpr.search.get_read(principal, read_id, purpose=purpose, authorised_by=authorised_by)

    @r.get(
        "/anpr/hits",
        summary="Hits: reads that matched a vehicle of interest",
        description="Hits on your own vehicles of interest, newest first: a retailer's on its cameras, a force's on the cameras of organisations whose ANPR sharing it accepted. Police need a `purpose`.",
        response_model=HitPage,
        responses=responses(*AUTH_ERRORS, 422),
        response_description="One page of hits, newest first",
    )
    def list_anpr_hits(
        principal: Annotated[Principal, Depends(require(*READ_SEARCHERS))],
        container: ContainerDep,
        plate: Annotated[str | None, Query(max_length=20)] = None,
        store: Annotated[str | None, Query(max_length=64)] = None,
        captured_from: Annotated[datetime | None, Query(alias="from")] = None,
        captured_to: Annotated[datetime | None, Query(alias="to")] = None,
        purpose: Purpose = None,
        limit: Limit = settings.default_page_size,
        *,
        page: PageCursor,
    ) -> Any:
        require_offset(("from", captured_from), ("to", captured_to))
        found = container.anpr.search.list_hits(
            principal,
            captured_from=captured_from,
            captured_to=captured_to,
            store_id=store,
            plate=plate,
            purpose=purpose,
            limit=limit,
            continuation=page.token,
        )
        return {**found, "continuation": page.next(found["continuation"])}

    # ---- vehicles of interest --------------------------------------------------------
    @r.get(
        "/vehicles",
        summary="Your organisation's vehicles of interest",
        response_model=VehiclePage,
        responses=responses(*AUTH_ERRORS, 422),
        response_description="One page of your organisation's vehicles of interest",
    )
    def list_vehicles_of_interest(
        principal: Annotated[Principal, Depends(require(*VEHICLE_KEEPERS))],
        container: ContainerDep,
        limit: Limit = settings.default_page_size,
        *,
        page: PageCursor,
    ) -> Any:
        """The vehicles your organisation watches for, with why and until when."""
        found = container.anpr.vehicles.list_vehicles(principal, limit=limit, continuation=page.token)
        return {**found, "continuation": page.next(found["continuation"])}

    @r.put(
        "/vehicles/{plate}",
        summary="List a vehicle of interest, or change one",
        description="201 when newly listed. Changing a listed vehicle needs `If-Match` with its ETag (428 without, 412 when stale). Linked incidents must be ones you can see.",
        response_model=VehicleOfInterestOut,
        responses={200: {"description": "Changed", "model": VehicleOfInterestOut}, **responses(400, *AUTH_ERRORS, 412, 413, 422, 428)},
        status_code=201,
        response_description="Newly listed",
    )
    def put_vehicle_of_interest(
        plate: PlateParam,
        body: Annotated[VehicleOfInterestIn, Body()],
        response: Response,
        principal: Annotated[Principal, Depends(require(*VEHICLE_KEEPERS))],
        container: ContainerDep,
        if_match: IfMatch = None,
    ) -> Any:
        written = container.anpr.vehicles.put_vehicle(principal, plate, body, if_match)
        return _vehicle_written(written, response)

    @r.delete(
        "/vehicles/{plate}",
        summary="Stop matching a vehicle (its hits stay)",
        status_code=204,
        responses=responses(*AUTH_ERRORS, 404, 422),
        response_description="No longer matched",
    )
    def delete_vehicle_of_interest(
        plate: PlateParam, principal: Annotated[Principal, Depends(require(*VEHICLE_KEEPERS))], container: ContainerDep
    ) -> Response:
        """Stops matching plate reads against the vehicle; hits already made stay."""
        container.anpr.vehicles.delete_vehicle(principal, plate)
        return Response(status_code=204)

    @r.post(
        "/incidents/{incident_id}/vehicles/{plate}/promote",
        summary="Make a vehicle recorded on an incident a vehicle of interest",
        description="Links the incident; if the plate is already listed by your organisation the incident is added to its links. 201 when newly listed, 200 otherwise.",
        response_model=VehicleOfInterestOut,
        responses={
            200: {"description": "Already listed: incident linked", "model": VehicleOfInterestOut},
            **responses(400, *AUTH_ERRORS, 404, 413, 422),
        },
        status_code=201,
        response_description="Newly listed as a vehicle of interest, linked to the incident",
    )
    def promote_incident_vehicle(
        incident_id: Annotated[str, Path(min_length=1, max_length=64)],
        plate: PlateParam,
        response: Response,
        principal: Annotated[Principal, Depends(require(*VEHICLE_KEEPERS))],
        container: ContainerDep,
        body: Annotated[
            PromoteIn | None,
            Body(
                openapi_examples={
                    "promote": {"summary": "Why, and until when", "value": PromoteIn.model_config["json_schema_extra"]["examples"][0]}
                }
            ),
        ] = None,
    ) -> Any:
        written = container.anpr.vehicles.promote(principal, incident_id, plate, body or PromoteIn())
        return _vehicle_written(written, response)

    # ---- settings --------------------------------------------------------------------
    @r.get(
        "/anpr/settings",
        summary="Your organisation's ANPR settings",
        response_model=AnprSettingsOut,
        responses=responses(*AUTH_ERRORS),
        response_description="Your organisation's ANPR settings",
    )
    def get_anpr_settings(principal: Annotated[Principal, Depends(require(Role.RETAILER_ADMIN))], container: ContainerDep) -> Any:
        """How long your organisation's new plate reads are kept."""
        return container.anpr.settings.get(principal)

    @r.put(
        "/anpr/settings",
        summary="Set how long your organisation's new reads live",
        description="Applies to reads stored from now on; reads already stored keep the expiry they were born with.",
        response_model=AnprSettingsOut,
        responses=responses(400, *AUTH_ERRORS, 413, 422),
        response_description="Your organisation's ANPR settings as now stored",
    )
    def replace_anpr_settings(
        body: AnprSettingsIn, principal: Annotated[Principal, Depends(require(Role.RETAILER_ADMIN))], container: ContainerDep
    ) -> Any:
        return container.anpr.settings.set(principal, body.read_retention_days)

    # ---- authorising officers ----------------------------------------------------------
    ForceAdmin = Annotated[Principal, Depends(require(Role.POLICE_ADMIN))]
    ForceId = Annotated[str, Path(min_length=1, max_length=64)]

    @r.get(
        "/forces/{force_id}/anpr-authorising-officers",
        summary="Who may authorise searches of older reads for your force",
        response_model=AuthorisingOfficersOut,
        responses=responses(*AUTH_ERRORS, 404, 422),
        response_description="The force's register of authorising officers",
    )
    def get_authorising_officers(force_id: ForceId, principal: ForceAdmin, container: ContainerDep) -> Any:
        """The officers of your force who may authorise a search of plate reads older than the ordinary window."""
        return container.anpr.authorisers.get(principal, force_id)

    @r.put(
        "/forces/{force_id}/anpr-authorising-officers",
        summary="Replace your force's register of ANPR authorising officers",
        description="`authorised_by` on a search of reads older than the ordinary window must be the `user_id` of one of them.",
        response_model=AuthorisingOfficersOut,
        responses=responses(400, *AUTH_ERRORS, 404, 413, 422),
        response_description="The force's register as now stored",
    )
    def replace_authorising_officers(force_id: ForceId, body: AuthorisingOfficersIn, principal: ForceAdmin, container: ContainerDep) -> Any:
        return container.anpr.authorisers.set(principal, force_id, body)

    return r
