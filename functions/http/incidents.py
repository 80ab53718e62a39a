"""Incident routes: thin — parse, check who is asking, call the service, shape the answer."""

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, Path, Query
from fastapi.responses import JSONResponse

from functions.http.deps import container, require, require_offset
from functions.http.problems import AUTH_ERRORS, responses
from functions.http.schemas import HistoryOut, IncidentOut, IncidentPage, RevertIn
from shared.bootstrap import Container
from shared.domain.incidents import Category, IncidentIn, IncidentPatch
from shared.domain.tenancy import Principal
from shared.services.incidents import EDITORS, READERS, REPORTERS, Filters
from shared.settings import Settings

IncidentId = Annotated[str, Path(min_length=1, max_length=64, description="Incident id")]
Purpose = Annotated[
    str | None,
    Query(min_length=3, max_length=500, description="Why you are looking: required for police searches, recorded in the audit trail"),
]


def router(settings: Settings) -> APIRouter:
    r = APIRouter(tags=["incidents"])

    @r.post(
        "/incidents",
        status_code=201,
        summary="Report an incident",
        response_model=IncidentOut,
        responses=responses(400, *AUTH_ERRORS, 413, 422),
    )
    def report(
        body: IncidentIn,
        p: Principal = Depends(require(*REPORTERS)),
        c: Container = Depends(container),
        idempotency_key: Annotated[
            str | None, Header(max_length=200, description="Retry-safe key: a replay returns the first answer")
        ] = None,
    ):
        answer = c.incidents.report(p, body, idempotency_key)
        headers = dict(answer.headers)
        return JSONResponse(answer.body, status_code=answer.status, headers=headers)

    @r.get(
        "/incidents",
        summary="Search incidents",
        description="Filters combine (all must match). `reference` finds one incident by the reference police see in a D2P email subject. "
        "Unknown query parameters are refused (422), not ignored.",
        response_model=IncidentPage,
        responses=responses(*AUTH_ERRORS, 422),
    )
    def search(
        p: Principal = Depends(require(*READERS)),
        c: Container = Depends(container),
        store: Annotated[str | None, Query(max_length=64)] = None,
        reference: Annotated[
            str | None,
            Query(
                max_length=64,
                description="The incident's reference, e.g. NW-000123 (the one in a D2P email subject), exactly as issued",
                examples=["NW-000123"],
            ),
        ] = None,
        category: Category | None = None,
        occurred_from: Annotated[datetime | None, Query(alias="from", description="Occurred at or after (ISO 8601 with offset)")] = None,
        occurred_to: Annotated[datetime | None, Query(alias="to", description="Occurred before (ISO 8601 with offset)")] = None,
        plate: Annotated[str | None, Query(max_length=20)] = None,
        offender: Annotated[str | None, Query(max_length=64)] = None,
        limit: Annotated[int, Query(ge=1, le=settings.max_page_size)] = settings.default_page_size,
        continuation: Annotated[str | None, Query(max_length=2000)] = None,
        purpose: Purpose = None,
    ):
        require_offset(("from", occurred_from), ("to", occurred_to))
        filters = Filters(
            store_id=store,
            reference=reference,
            category=category.value if category else None,
            occurred_from=occurred_from,
            occurred_to=occurred_to,
            plate=plate,
            offender_id=offender,
        )
        items, token = c.incidents.search(p, filters, limit=limit, continuation=continuation, purpose=purpose)
        return JSONResponse({"items": items, "continuation": token})

    @r.get("/incidents/{incident_id}", summary="Read an incident", response_model=IncidentOut, responses=responses(*AUTH_ERRORS, 404, 422))
    def read(
        incident_id: IncidentId, p: Principal = Depends(require(*READERS)), c: Container = Depends(container), purpose: Purpose = None
    ):
        body, etag = c.incidents.get(p, incident_id, purpose)
        return JSONResponse(body, headers={"ETag": f'"{etag}"'})

    @r.patch(
        "/incidents/{incident_id}",
        summary="Change an incident (JSON merge patch, If-Match required)",
        response_model=IncidentOut,
        responses=responses(400, *AUTH_ERRORS, 404, 412, 413, 422, 428),
    )
    def change(
        incident_id: IncidentId,
        patch: Annotated[IncidentPatch, Body()],
        p: Principal = Depends(require(*EDITORS)),
        c: Container = Depends(container),
        if_match: Annotated[str | None, Header(max_length=200, description="The ETag you last read")] = None,
    ):
        body, etag = c.incidents.change(p, incident_id, patch, if_match)
        return JSONResponse(body, headers={"ETag": f'"{etag}"'})

    @r.get(
        "/incidents/{incident_id}/history",
        summary="Every version of an incident",
        response_model=HistoryOut,
        responses=responses(*AUTH_ERRORS, 404, 422),
    )
    def history(incident_id: IncidentId, p: Principal = Depends(require(*EDITORS)), c: Container = Depends(container)):
        return JSONResponse({"items": c.incidents.history(p, incident_id)})

    @r.post(
        "/incidents/{incident_id}/revert",
        summary="Make an earlier version current (as a new version)",
        response_model=IncidentOut,
        responses=responses(400, *AUTH_ERRORS, 404, 412, 413, 422, 428),
    )
    def revert(
        incident_id: IncidentId,
        body: RevertIn,
        p: Principal = Depends(require(*EDITORS)),
        c: Container = Depends(container),
        if_match: Annotated[str | None, Header(max_length=200)] = None,
    ):
        out, etag = c.incidents.revert(p, incident_id, body.version, if_match)
        return JSONResponse(out, headers={"ETag": f'"{etag}"'})

    return r
