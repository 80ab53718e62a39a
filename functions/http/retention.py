"""Retention and rights routes: schedules, legal holds, tombstones, statistics, subject
requests and the organisations' answers. Thin: parse, check the role, one service call."""

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Body, Depends, Header, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from functions.http.deps import bare_etag, container, require, require_offset
from functions.http.problems import AUTH_ERRORS, responses
from shared.bootstrap import Container
from shared.domain.errors import Invalid
from shared.domain.retention import ExtensionIn, LegalHoldIn, OrganisationScheduleIn, RegionScheduleIn, SubjectRequestIn, TaskAnswerIn
from shared.domain.tenancy import Principal, Role
from shared.services.retention.holds import HOLDERS_POLICE, HOLDERS_RETAIL, HoldsView
from shared.services.retention.schedules import OrganisationSchedule, RegionSchedule
from shared.settings import Settings

IncidentId = Annotated[str, Path(min_length=1, max_length=64, description="Incident id")]
RequestId = Annotated[str, Path(min_length=1, max_length=64, description="Subject request id (an organisation's task has the same id)")]
IfMatch = Annotated[str | None, Header(max_length=200, description="The ETag you last read (GET the schedule for it)")]
_MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
MAX_STATISTICS_MONTHS = 36


class Out(BaseModel):
    model_config = ConfigDict(extra="allow")


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


TOMBSTONE_TYPES = ("incident", "poi_image", "audit_entries")


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


class TaskPage(BaseModel):
    items: list[Out]
    continuation: str | None = None


def _month(name: str, value: str) -> str:
    if not _MONTH.match(value):
        raise Invalid(f"{name} must be a month, YYYY-MM.", errors=[{"field": name}])
    return value


def _months_between(a: str, b: str) -> int:
    return (int(b[:4]) * 12 + int(b[5:])) - (int(a[:4]) * 12 + int(a[5:])) + 1


def _region(s: RegionSchedule) -> JSONResponse:
    body = {"region": s.region, "version": s.version, "rules": {t.value: r.model_dump(exclude_unset=True) for t, r in s.rules.items()}}
    return JSONResponse(body, headers={"ETag": f'"{s.etag}"'})


def _organisation(o: OrganisationSchedule) -> JSONResponse:
    schedule = o.schedule
    months = schedule.months
    body = {
        "organisation_id": schedule.org_id,
        "version": schedule.org_version,
        "schedule_version": schedule.version,
        "overrides": {t.value: m for t, m in schedule.overrides.items()},
        "effective": {
            t.value: {"months": months[t], "min_months": r.min_months, "max_months": r.max_months, "region_months": r.months}
            for t, r in schedule.rules.items()
        },
    }
    return JSONResponse(body, headers={"ETag": f'"{o.etag}"'})


def _holds(v: HoldsView) -> dict:
    return {"incident_id": v.incident_id, "held": v.held, "holds": v.holds}


def _tombstones(page) -> dict:
    return {"items": [t.model_dump(exclude_unset=True) for t in page.items], "continuation": page.continuation}


def router(settings: Settings) -> APIRouter:
    r = APIRouter()
    ops = require(Role.PLATFORM_OPERATOR)
    admin = require(Role.RETAILER_ADMIN)

    # ---- schedules ----------------------------------------------------------------------
    @r.get(
        "/retention/schedules/region",
        tags=["retention"],
        summary="This region's retention schedule and the bounds organisations choose within",
        response_model=Out,
        responses=responses(*AUTH_ERRORS),
    )
    def region_schedule(p: Principal = Depends(ops), c: Container = Depends(container)):
        return _region(c.retention.schedules.region())

    @r.put(
        "/retention/schedules/region",
        tags=["retention"],
        summary="Change the region's schedule (a new version, audited)",
        response_model=Out,
        responses=responses(400, *AUTH_ERRORS, 412, 413, 422, 428),
    )
    def set_region_schedule(
        body: RegionScheduleIn, p: Principal = Depends(ops), c: Container = Depends(container), if_match: IfMatch = None
    ):
        return _region(c.retention.schedules.set_region(p, body, bare_etag(if_match)))

    @r.get(
        "/retention/schedules/region/versions",
        tags=["retention"],
        summary="Every version of the region's schedule",
        response_model=list[Out],
        responses=responses(*AUTH_ERRORS),
    )
    def region_versions(p: Principal = Depends(ops), c: Container = Depends(container)):
        return JSONResponse(c.retention.schedules.versions(p, region=True))

    @r.get(
        "/retention/schedules/organisation",
        tags=["retention"],
        summary="Your organisation's schedule: what applies, your choices, the region's bounds",
        response_model=Out,
        responses=responses(*AUTH_ERRORS),
    )
    def org_schedule(p: Principal = Depends(admin), c: Container = Depends(container)):
        return _organisation(c.retention.schedules.organisation(p))

    @r.put(
        "/retention/schedules/organisation",
        tags=["retention"],
        summary="Choose your organisation's periods within the region's bounds",
        response_model=Out,
        responses=responses(400, *AUTH_ERRORS, 412, 413, 422, 428),
    )
    def set_org_schedule(
        body: OrganisationScheduleIn, p: Principal = Depends(admin), c: Container = Depends(container), if_match: IfMatch = None
    ):
        return _organisation(c.retention.schedules.set_organisation(p, body, bare_etag(if_match)))

    @r.get(
        "/retention/schedules/organisation/versions",
        tags=["retention"],
        summary="Every version of your organisation's schedule",
        response_model=list[Out],
        responses=responses(*AUTH_ERRORS),
    )
    def org_versions(p: Principal = Depends(admin), c: Container = Depends(container)):
        return JSONResponse(c.retention.schedules.versions(p, region=False))

    # ---- legal holds --------------------------------------------------------------------
    holders = require(*HOLDERS_RETAIL, *HOLDERS_POLICE)

    @r.get(
        "/incidents/{incident_id}/legal-hold",
        tags=["retention"],
        summary="Legal holds on an incident",
        response_model=HoldsOut,
        responses=responses(*AUTH_ERRORS, 404, 422),
    )
    def holds(incident_id: IncidentId, p: Principal = Depends(holders), c: Container = Depends(container)):
        return JSONResponse(_holds(c.retention.holds.view(p, incident_id)))

    @r.post(
        "/incidents/{incident_id}/legal-hold",
        tags=["retention"],
        status_code=201,
        summary="Hold an incident, its evidence and linked hits from every deletion (investigator of the organisation, or an officer of a force it was dispatched to)",
        response_model=HoldsOut,
        responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
    )
    def place_hold(incident_id: IncidentId, body: LegalHoldIn, p: Principal = Depends(holders), c: Container = Depends(container)):
        return JSONResponse(_holds(c.retention.holds.place(p, incident_id, body.reason)), status_code=201)

    @r.delete(
        "/incidents/{incident_id}/legal-hold",
        tags=["retention"],
        summary="Release your organisation's hold; expiry resumes when no hold remains",
        response_model=HoldsOut,
        responses=responses(*AUTH_ERRORS, 404, 422),
    )
    def release_hold(
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
        p: Principal = Depends(holders),
        c: Container = Depends(container),
    ):
        return JSONResponse(_holds(c.retention.holds.release(p, incident_id, reason)))

    # ---- proof and statistics -----------------------------------------------------------
    @r.get(
        "/retention/tombstones",
        tags=["retention"],
        summary="Your organisation's tombstones: proof of every deletion (incidents, person-of-interest images, pruned audit entries), newest first",
        response_model=TombstonePage,
        responses=responses(*AUTH_ERRORS, 422),
    )
    def tombstones(
        p: Principal = Depends(require(Role.RETAILER_ADMIN, Role.RETAILER_INVESTIGATOR)),
        c: Container = Depends(container),
        type: Annotated[
            str | None, Query(description=f"One of {', '.join(TOMBSTONE_TYPES)}", pattern="^(" + "|".join(TOMBSTONE_TYPES) + ")$")
        ] = None,  # noqa: A002 - the query parameter's name
        deleted_from: Annotated[datetime | None, Query(alias="from", description="Deleted at or after (ISO 8601 with offset)")] = None,
        deleted_to: Annotated[datetime | None, Query(alias="to", description="Deleted before (ISO 8601 with offset)")] = None,
        limit: Annotated[int, Query(ge=1, le=settings.max_page_size)] = settings.default_page_size,
        continuation: Annotated[str | None, Query(max_length=2000)] = None,
    ):
        require_offset(("from", deleted_from), ("to", deleted_to))
        return JSONResponse(
            _tombstones(
                c.retention.tombstones.list(
                    p, record_type=type, deleted_from=deleted_from, deleted_to=deleted_to, limit=limit, continuation=continuation
                )
            )
        )

    @r.get(
        "/retention/tombstones/{incident_id}",
        tags=["retention"],
        summary="Proof an incident of your organisation was deleted: when, by which rule and schedule version",
        response_model=TombstoneOut,
        responses=responses(*AUTH_ERRORS, 404, 422),
    )
    def tombstone(
        incident_id: IncidentId,
        p: Principal = Depends(require(Role.RETAILER_ADMIN, Role.RETAILER_INVESTIGATOR)),
        c: Container = Depends(container),
    ):
        return JSONResponse(c.retention.tombstones.incident(p, incident_id).model_dump(exclude_unset=True))

    @r.get(
        "/retention/statistics",
        tags=["retention"],
        summary="Incidents per month, store and category, kept and deleted (counts survive deletion)",
        response_model=StatisticsOut,
        responses=responses(*AUTH_ERRORS, 404, 422),
    )
    def statistics(
        from_month: Annotated[str, Query(alias="from", max_length=7, description="First month, YYYY-MM", examples=["2026-01"])],
        to_month: Annotated[str, Query(alias="to", max_length=7, description="Last month, YYYY-MM", examples=["2026-12"])],
        organisation: Annotated[str | None, Query(max_length=64, description="Platform.Operator only: which organisation")] = None,
        p: Principal = Depends(require(Role.RETAILER_ADMIN, Role.RETAILER_INVESTIGATOR, Role.PLATFORM_OPERATOR)),
        c: Container = Depends(container),
    ):
        _month("from", from_month)
        _month("to", to_month)
        span = _months_between(from_month, to_month)
        if not 1 <= span <= MAX_STATISTICS_MONTHS:
            raise Invalid(f"from..to must span 1 to {MAX_STATISTICS_MONTHS} months.", errors=[{"field": "to"}])
        org = c.retention.statistics.organisation(p, organisation)
        return JSONResponse({"organisation_id": org, "items": c.retention.statistics.rows(org, from_month, to_month)})

    # ---- subject requests: the operator -------------------------------------------------
    @r.post(
        "/subject-requests",
        tags=["subject requests"],
        status_code=201,
        summary="File a person's access or erasure request; tasks open for each organisation holding matches",
        response_model=Out,
        responses=responses(400, *AUTH_ERRORS, 413, 422),
    )
    def file_request(body: SubjectRequestIn, p: Principal = Depends(ops), c: Container = Depends(container)):
        out = c.subject_requests.file(p, body)
        return JSONResponse(out, status_code=201, headers={"Location": f"/api/v1/subject-requests/{out['id']}"})

    @r.get(
        "/subject-requests/{request_id}",
        tags=["subject requests"],
        summary="A request: due date, extension and each organisation's answer",
        response_model=Out,
        responses=responses(*AUTH_ERRORS, 404, 422),
    )
    def get_request(request_id: RequestId, p: Principal = Depends(ops), c: Container = Depends(container)):
        return JSONResponse(c.subject_requests.get(p, request_id))

    @r.post(
        "/subject-requests/{request_id}/extension",
        tags=["subject requests"],
        summary="Extend the deadline of a complex request (in the first month; two months at most)",
        response_model=Out,
        responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
    )
    def extend(request_id: RequestId, body: ExtensionIn, p: Principal = Depends(ops), c: Container = Depends(container)):
        return JSONResponse(c.subject_requests.extend(p, request_id, body))

    # ---- subject requests: the organisation ---------------------------------------------
    @r.get(
        "/subject-tasks",
        tags=["subject requests"],
        summary="Your organisation's subject-request tasks, soonest due first",
        response_model=TaskPage,
        responses=responses(*AUTH_ERRORS, 422),
    )
    def tasks(
        p: Principal = Depends(admin),
        c: Container = Depends(container),
        status: Annotated[str | None, Query(pattern="^(open|answered)$")] = None,
        limit: Annotated[int, Query(ge=1, le=settings.max_page_size)] = settings.default_page_size,
        continuation: Annotated[str | None, Query(max_length=2000)] = None,
    ):
        items, token = c.subject_requests.tasks(p, status=status, limit=limit, continuation=continuation)
        return JSONResponse({"items": items, "continuation": token})

    @r.get(
        "/subject-tasks/{request_id}",
        tags=["subject requests"],
        summary="One task: the person as described and your matching incidents",
        response_model=Out,
        responses=responses(*AUTH_ERRORS, 404, 422),
    )
    def task(request_id: RequestId, p: Principal = Depends(admin), c: Container = Depends(container)):
        return JSONResponse(c.subject_requests.task(p, request_id))

    @r.post(
        "/subject-tasks/{request_id}/answer",
        tags=["subject requests"],
        summary="Answer for some or all matches: approve the export, erase, or refuse with the lawful reason",
        response_model=Out,
        responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
    )
    def answer(
        request_id: RequestId, body: Annotated[TaskAnswerIn, Body()], p: Principal = Depends(admin), c: Container = Depends(container)
    ):
        return JSONResponse(c.subject_requests.answer(p, request_id, body))

    @r.get(
        "/subject-tasks/{request_id}/export",
        tags=["subject requests"],
        summary="The export bundle (JSON) of the matches you approved",
        response_model=Out,
        responses=responses(*AUTH_ERRORS, 404, 409, 422),
    )
    def export(request_id: RequestId, p: Principal = Depends(admin), c: Container = Depends(container)):
        bundle = c.subject_requests.export(p, request_id)
        return JSONResponse(bundle, headers={"Content-Disposition": f'attachment; filename="subject-access-{request_id}.json"'})

    return r
