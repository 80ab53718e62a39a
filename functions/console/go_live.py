"""The go-live pages: an admin's checklist of their organisation's stages with its DPIA
versions (generate, read the differences from the approved one, approve, download as
PDF or Markdown), and the platform operator's view of every organisation's stages.

Each action calls the service its API route calls (functions/http/go_live.py) with the
same principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from functions.console.deps import posted_form, require_page
from functions.console.investigate import zone_of
from functions.console.render import page, redirect
from functions.http.deps import ContainerDep
from shared.domain.tenancy import Principal, Role

router = APIRouter(include_in_schema=False)

Admin = Annotated[Principal, Depends(require_page(Role.RETAILER_ADMIN, Role.POLICE_ADMIN, Role.PLATFORM_OPERATOR))]
OrgAdmin = Annotated[Principal, Depends(require_page(Role.RETAILER_ADMIN, Role.POLICE_ADMIN))]
VersionNo = Annotated[int, Path(ge=1, le=1_000_000)]
Saved = Annotated[str | None, Query(max_length=20)]


def _api(org_id: str, n: int) -> str:
    return f"/api/v1/organisations/{org_id}/dpia/versions/{n}"


@router.get("/admin/go-live")
def go_live_page(request: Request, c: ContainerDep, who: Admin, saved: Saved = None) -> Response:
    if not who.has(Role.RETAILER_ADMIN, Role.POLICE_ADMIN):
        return page(request, "admin/go_live.html", overview=c.go_live.checklist.all(who), zone=zone_of(c))
    org = who.organisation_id
    return page(
        request,
        "admin/go_live.html",
        checklist=c.go_live.checklist.get(who, org),
        versions=c.go_live.dpia.versions(who, org),
        api=lambda n: _api(org, n),
        zone=zone_of(c),
        saved=saved,
    )


@router.post("/admin/go-live/dpia", dependencies=[Depends(posted_form)])
def dpia_generate(request: Request, c: ContainerDep, who: OrgAdmin) -> Response:
    made = c.go_live.dpia.generate(who, who.organisation_id)
    return redirect(request, f"/admin/go-live/dpia/{made.version['version']}")


@router.get("/admin/go-live/dpia/{version}")
def dpia_page(request: Request, c: ContainerDep, who: OrgAdmin, version: VersionNo, saved: Saved = None) -> Response:
    view = c.go_live.dpia.version(who, who.organisation_id, version)
    latest = max((v["version"] for v in c.go_live.dpia.versions(who, who.organisation_id)), default=version)
    return page(request, "admin/dpia.html", dpia=view, latest=latest, api=_api(who.organisation_id, version), zone=zone_of(c), saved=saved)


@router.post("/admin/go-live/dpia/{version}/approval", dependencies=[Depends(posted_form)])
def dpia_approve(request: Request, c: ContainerDep, who: OrgAdmin, version: VersionNo) -> Response:
    c.go_live.dpia.approve(who, who.organisation_id, version)
    return redirect(request, "/admin/go-live?saved=approved")
