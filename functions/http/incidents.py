"""Incident routes: thin — parse, check who is asking, call the use case, shape the answer."""

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Path, Query, Response

from functions.http.deps import API_PREFIX, ContainerDep, IdempotencyKey, IfMatch, PageCursor, etag_header, require, require_offset
from functions.http.problems import AUTH_ERRORS, responses
from functions.http.schemas import HistoryOut, IncidentOut, IncidentPage, ReportCheckOut, RevertIn
from shared.domain.incident_report import Category, IncidentIn, IncidentPatch, WitnessIn
from shared.domain.tenancy import Principal
from shared.services.incidents import EDITORS, READERS, REPORTERS, Filters, IncidentView
from shared.settings import get_settings

IncidentId = Annotated[str, Path(min_length=1, max_length=64, description="Incident id")]
Purpose = Annotated[
    str | None,
    Query(
        min_length=3, max_length=500, description="Why you are looking: required for police searches and reads, recorded in the audit trail"
    ),
]
Reader = Annotated[Principal, Depends(require(*READERS))]
Reporter = Annotated[Principal, Depends(require(*REPORTERS))]
Editor = Annotated[Principal, Depends(require(*EDITORS))]

_page = get_settings()

router = APIRouter(tags=["incidents"])


def _out(view: IncidentView) -> dict[str, Any]:
    """The answer body: what the reader may see, and the version as its ETag text."""
    return {**view.body, "etag": f'"{view.etag}"'}


def _answer(view: IncidentView, response: Response) -> dict[str, Any]:
    response.headers.update(etag_header(view.etag))
    return _out(view)


@router.post(
    "/incidents",
    status_code=201,
    summary="Report an incident",
    description=(
        "A retailer's report of an incident at one of its stores. Send an `Idempotency-Key` so a retry cannot report it "
        "twice. An `external_reference` (your own system's id for the incident) is unique in your organisation for as long "
        "as the incident is kept, whoever sends it: the same report again records nothing and answers the incident as it "
        "now stands (201, with `Vigil-Repeat: external-reference`; a retry with the same key has `Vigil-Repeat: idempotency-key`); a different report with that reference is 409 naming "
        "the incident (`incident_id`, `reference`); one whose incident has been erased is 410."
    ),
    response_model=IncidentOut,
    responses=responses(400, *AUTH_ERRORS, 409, 410, 413, 422),
    response_description="The incident as stored (Location names it; a replay or a repeat answers the same)",
)
def report_incident(
    body: IncidentIn, principal: Reporter, container: ContainerDep, response: Response, idempotency_key: IdempotencyKey = None
):
    # A replay answers as the first request did (201, Location) with the incident as it now stands.
    reported = container.incidents.report.submit(principal, body, idempotency_key)
    response.headers["Location"] = f"{API_PREFIX}/incidents/{reported.incident.id}"
    # Says that nothing was recorded by this request, so an importer can count it apart.
    if reported.repeat:
        response.headers["Vigil-Repeat"] = "external-reference"
    elif reported.replayed:
        response.headers["Vigil-Repeat"] = "idempotency-key"
    return _answer(reported.incident, response)


@router.post(
    "/incidents/validate",
    status_code=200,
    summary="Check a report without recording it",
    description=(
        "The same body, roles and rules as reporting an incident (POST /incidents), but nothing is recorded, audited or "
        "sent anywhere: 200 when the report would be accepted as it stands, else the problem reporting it would answer "
        "(422 naming each field, 403 for a store you do not report for). Use it to check a batch of historical reports "
        "before importing them (`vigil import --dry-run`). It does not spend your write budget. It does not say whether "
        "an `external_reference` is already used."
    ),
    response_model=ReportCheckOut,
    responses=responses(400, *AUTH_ERRORS, 413, 422),
    response_description="The report would be accepted",
)
def validate_report(body: IncidentIn, principal: Reporter, container: ContainerDep) -> ReportCheckOut:
    container.incidents.validate.check(principal, body)
    return ReportCheckOut()


@router.get(
    "/incidents",
    summary="Search incidents",
    description="Filters combine (all must match). `reference` finds one incident by the reference police see in a D2P email subject. "
    "Unknown query parameters are refused (422), not ignored.",
    response_model=IncidentPage,
    responses=responses(*AUTH_ERRORS, 422),
    response_description="One page of the incidents you may see, with a continuation while more remain",
)
def list_incidents(
    principal: Reader,
    container: ContainerDep,
    store: Annotated[str | None, Query(max_length=64)] = None,
    category: Category | None = None,
    occurred_from: Annotated[datetime | None, Query(alias="from", description="Occurred at or after (ISO 8601 with offset)")] = None,
    occurred_to: Annotated[datetime | None, Query(alias="to", description="Occurred before (ISO 8601 with offset)")] = None,
    plate: Annotated[str | None, Query(max_length=20)] = None,
    offender: Annotated[str | None, Query(max_length=64)] = None,
    reference: Annotated[
        str | None,
        Query(
            max_length=64,
            description="The incident's reference, e.g. NW-000123 (the one in a D2P email subject), exactly as issued",
            examples=["NW-000123"],
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=_page.max_page_size)] = _page.default_page_size,
    purpose: Purpose = None,
    *,
    page: PageCursor,
):
    require_offset(("from", occurred_from), ("to", occurred_to))
    filters = Filters(
        store_id=store,
        category=category.value if category else None,
        occurred_from=occurred_from,
        occurred_to=occurred_to,
        plate=plate,
        offender_id=offender,
        reference=reference,
    )
    found = container.incidents.search.find(principal, filters, limit=limit, continuation=page.token, purpose=purpose)
    return {"items": [_out(v) for v in found.items], "continuation": page.next(found.continuation)}


@router.get(
    "/incidents/{incident_id}",
    summary="Read an incident",
    response_model=IncidentOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="The incident as you may see it, with its ETag",
)
def get_incident(incident_id: IncidentId, principal: Reader, container: ContainerDep, response: Response, purpose: Purpose = None):
    """One incident, as your organisation's sharing lets you see it. Police give a purpose, recorded in the audit trail."""
    return _answer(container.incidents.read.get(principal, incident_id, purpose), response)


@router.patch(
    "/incidents/{incident_id}",
    summary="Change an incident (JSON merge patch, If-Match required)",
    description=(
        "A JSON merge patch (RFC 7396): flags merge key by key; null removes a field, so lists go back to empty and "
        "flags to false, while the required fields (narrative, reporter, category, store_id, occurred_at, "
        "prosecution_supported) cannot be removed (422). The incident after the change must still be a valid report: "
        "goods in one currency, no special-category data (422 naming the field). occurred_at cannot move once the "
        "report was sent to a force (409: tell the force of the correction instead)."
    ),
    response_model=IncidentOut,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 412, 413, 422, 428),
    response_description="The incident after the change, with its new ETag",
)
def change_incident(
    incident_id: IncidentId,
    patch: Annotated[IncidentPatch, Body()],
    principal: Editor,
    container: ContainerDep,
    response: Response,
    if_match: IfMatch = None,
):
    return _answer(container.incidents.change.apply(principal, incident_id, patch, if_match), response)


@router.post(
    "/incidents/{incident_id}/statements",
    status_code=201,
    summary="Add a witness statement (store staff: to their own reports only; existing statements are never changed)",
    response_model=IncidentOut,
    responses=responses(400, *AUTH_ERRORS, 404, 413, 422),
    response_description="The incident with the statement added, as a new version, with its new ETag",
)
def add_statement(
    incident_id: IncidentId, statement: Annotated[WitnessIn, Body()], principal: Reporter, container: ContainerDep, response: Response
):
    """A witness's statement added to the incident as a new version, audited, and the incident's D2P
    eligibility evaluated again. Store staff may add to the reports they filed only (403 for a
    colleague's); a statement already recorded is never changed or removed this way."""
    return _answer(container.incidents.change.add_statement(principal, incident_id, statement), response)


@router.get(
    "/incidents/{incident_id}/history",
    summary="Every version of an incident",
    response_model=HistoryOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="Every stored version of the incident, oldest first",
)
def list_incident_versions(incident_id: IncidentId, principal: Editor, container: ContainerDep):
    """Each version of the incident with who made it and when, as kept for the audit trail and for reverting."""
    return {"items": container.incidents.history.versions(principal, incident_id)}


@router.post(
    "/incidents/{incident_id}/revert",
    summary="Make an earlier version current (as a new version)",
    response_model=IncidentOut,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 412, 413, 422, 428),
    response_description="The incident with the earlier version's content as a new version",
)
def revert_incident(
    incident_id: IncidentId, body: RevertIn, principal: Editor, container: ContainerDep, response: Response, if_match: IfMatch = None
):
    """Copies an earlier version's content into a new version (nothing is overwritten); needs `If-Match` with the current ETag."""
    return _answer(container.incidents.change.revert(principal, incident_id, body.version, if_match), response)
