"""The force's evaluation: its Police.Admin uploads the other channels' figures (aggregates
as JSON, or a row-level CSV extract counted as it streams and then dropped); its admins
and analysts read them. The table itself is part of `GET /kpis/d2p`."""

from collections.abc import Iterator
from datetime import date
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Body, Depends, Path, Query, Request
from starlette.requests import ClientDisconnect

from functions.http.deps import ContainerDep, require
from functions.http.evaluation_schemas import ChannelFiguresListOut, ChannelFiguresOut
from functions.http.problems import AUTH_ERRORS, responses
from shared.domain import evaluation as ev
from shared.domain.errors import Invalid, UnsupportedMediaType
from shared.domain.tenancy import Principal, Role

ForceId = Annotated[str, Path(min_length=1, max_length=64, description="Force (organisation) id", examples=["devon-and-cornwall"])]
PoliceAdmin = Annotated[Principal, Depends(require(Role.POLICE_ADMIN))]
Readers = Annotated[Principal, Depends(require(Role.POLICE_ADMIN, Role.POLICE_ANALYST))]

EXTRACT_SUFFIX = "/channel-figures/extract"
_PULL_BYTES = 64 * 1024
_EXTRACT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {
                "schema": {"type": "string"},
                "example": "crime_reference,channel,reported_at,recorded_at,outcome_code\n"
                "CR/100001/26,online,2026-10-01T08:12:00Z,2026-10-03T13:12:00Z,14\n",
            }
        },
    }
}

router = APIRouter(tags=["direct to police"])


def _chunks(request: Request) -> Iterator[bytes]:
    """The body for the worker thread, pulled from the event loop a piece at a time."""
    stream = request.stream().__aiter__()

    async def pull() -> bytes | None:
        try:
            return await stream.__anext__()
        except StopAsyncIteration:
            return None

    while True:
        try:
            chunk = anyio.from_thread.run(pull)
        except ClientDisconnect:
            raise Invalid("The extract was cut off; nothing was stored.", errors=[{"field": "body"}]) from None
        if chunk is None:
            return
        if chunk:
            yield chunk


@router.post(
    "/forces/{force_id}/channel-figures",
    status_code=201,
    summary="Upload one channel's figures for a period (again: a new version)",
    response_model=ChannelFiguresOut,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
    response_description="The figures as stored, with their version",
)
def upload_channel_figures(
    force_id: ForceId, body: Annotated[ev.ChannelFiguresIn, Body()], principal: PoliceAdmin, container: ContainerDep
) -> ChannelFiguresOut:
    """A channel's figures from the force's records system (reports, charged, outcome code
    counts, mean and median hours to record) for the evaluation table. The same channel
    and period again replace them as a new version; an overlapping period is refused."""
    return ChannelFiguresOut.of(container.d2p.channel_figures.upload(principal, force_id, body))


@router.post(
    "/forces/{force_id}" + EXTRACT_SUFFIX,
    status_code=201,
    summary="Upload a row-level CSV extract: counted per channel, rows dropped",
    response_model=ChannelFiguresListOut,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 415, 422),
    openapi_extra=_EXTRACT_BODY,
    response_description="One set of figures per channel in the extract, as stored",
)
def upload_channel_extract(
    force_id: ForceId,
    request: Request,
    principal: PoliceAdmin,
    container: ContainerDep,
    first: Annotated[date, Query(alias="from", description="First day of the period (UTC)", examples=["2026-10-01"])],
    last: Annotated[date, Query(alias="to", description="Last day of the period, included", examples=["2026-10-31"])],
) -> ChannelFiguresListOut:
    """A CSV with the columns crime_reference, channel, reported_at, recorded_at and
    outcome_code, every report of the period. Read as it arrives and counted; only the
    counts and hours to record are kept. A bad row is refused with a problem naming its
    row and column, and nothing is stored."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in ("text/csv", "text/plain"):
        raise UnsupportedMediaType("Send the extract as text/csv (UTF-8).")
    lines = ev.lines(_chunks(request), ev.MAX_EXTRACT_BYTES)
    stored = container.d2p.channel_figures.upload_extract(principal, force_id, first, last, lines)
    return ChannelFiguresListOut(items=[ChannelFiguresOut.of(d) for d in stored])


@router.get(
    "/forces/{force_id}/channel-figures",
    summary="The channels' figures the force uploaded (current versions)",
    response_model=ChannelFiguresListOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="Every channel's current figures, oldest period first",
)
def list_channel_figures(force_id: ForceId, principal: Readers, container: ContainerDep) -> ChannelFiguresListOut:
    """What the evaluation compares D2P with: each channel's current figures per period (the first 1,000)."""
    return ChannelFiguresListOut(items=[ChannelFiguresOut.of(d) for d in container.d2p.channel_figures.listing(principal, force_id)])
