"""Go-live routes: an organisation's go-live checklist (its admin, the platform operator),
and its DPIA and record of processing generated from the live configuration, kept as
versions, read as JSON, Markdown or PDF, and approved by the organisation's admin."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Response
from pydantic import BaseModel, Field

from functions.http.deps import ContainerDep, require
from functions.http.problems import AUTH_ERRORS, responses
from shared.domain.go_live import Checklist
from shared.domain.tenancy import Principal, Role

router = APIRouter(tags=["go-live"])

OrgId = Annotated[str, Path(min_length=1, max_length=64, description="Organisation id, e.g. northwind")]
VersionNo = Annotated[int, Path(ge=1, le=1_000_000, description="The DPIA version, from 1")]
Reader = Annotated[Principal, Depends(require(Role.RETAILER_ADMIN, Role.POLICE_ADMIN, Role.PLATFORM_OPERATOR))]
# The controller signs its own DPIA: never the platform operator on its behalf.
Approver = Annotated[Principal, Depends(require(Role.RETAILER_ADMIN, Role.POLICE_ADMIN))]
Operator = Annotated[Principal, Depends(require(Role.PLATFORM_OPERATOR))]

MARKDOWN = "text/markdown"
PDF = "application/pdf"


class OverviewOut(BaseModel):
    organisations: list[Checklist] = Field(description="Every organisation homed in this region, by name")


class FactChange(BaseModel):
    section: str
    item: str
    before: str | None = Field(description="As the approved version states it (null: not stated)")
    after: str | None = Field(description="As this version states it (null: no longer stated)")
    text: str = Field(description="The change in one line, e.g. 'Sharing with avon-and-somerset: descriptions → full'")


class Differences(BaseModel):
    against_version: int = Field(description="The approved version compared with")
    changes: list[FactChange]
    unified_diff: str = Field(description="The Markdown's line differences (diff -u)")


class DpiaVersionOut(BaseModel):
    organisation_id: str
    version: int
    generated_at: str
    generated_by: str
    sha256: str = Field(description="SHA-256 of the stated facts: equal hashes state the same configuration")
    approved: bool = Field(description="This is the approved version (the go-live stage dpia_approved)")
    approved_by: str | None = None
    approved_at: str | None = None
    markdown: str
    facts: dict[str, dict[str, str]] = Field(description="Section, then item, then what is configured")
    differences_from_approved: Differences | None = Field(description="Null before any version is approved")


class DpiaVersionSummary(BaseModel):
    version: int
    generated_at: str
    generated_by: str
    sha256: str
    approved: bool


class DpiaVersionsOut(BaseModel):
    organisation_id: str
    versions: list[DpiaVersionSummary] = Field(description="Newest first (at most 200)")


def _version_url(org_id: str, n: int) -> str:
    return f"/api/v1/organisations/{org_id}/dpia/versions/{n}"


@router.get(
    "/go-live",
    summary="Every organisation's go-live checklist (Platform.Operator)",
    response_model=OverviewOut,
    responses=responses(*AUTH_ERRORS),
    response_description="Each organisation homed here with its stages",
)
def list_go_live(principal: Operator, container: ContainerDep) -> OverviewOut:
    """The go-live stages of every organisation this region serves: where each stands and what is open."""
    return OverviewOut(organisations=container.go_live.checklist.all(principal))


@router.get(
    "/organisations/{org_id}/go-live",
    summary="An organisation's go-live checklist: each stage, who completed it and when",
    response_model=Checklist,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="The stages in order and the first still open",
)
def get_go_live(org_id: OrgId, principal: Reader, container: ContainerDep) -> Checklist:
    """The stages in order (DPIA approved, sign-in configured, intelligence view on, D2P on, first report
    acknowledged), each read from the live configuration except the DPIA's approval, which its admin records."""
    return container.go_live.checklist.get(principal, org_id)


@router.post(
    "/organisations/{org_id}/dpia",
    summary="Generate the DPIA and record of processing from the live configuration (a new version)",
    response_model=DpiaVersionOut,
    status_code=201,
    responses={**responses(*AUTH_ERRORS, 404, 422), 200: {"description": "Nothing changed: the latest version", "model": DpiaVersionOut}},
    response_description="The new version, with its differences from the approved one",
)
def generate_dpia(org_id: OrgId, principal: Reader, container: ContainerDep, response: Response) -> DpiaVersionOut:
    """Reads what the stamp enforces for the organisation now and keeps it as the next version (201), or answers
    the latest version (200) when it states the same configuration. Audited."""
    made = container.go_live.dpia.generate(principal, org_id)
    if not made.created:
        response.status_code = 200
    response.headers["Location"] = _version_url(org_id, made.version["version"])
    return DpiaVersionOut.model_validate(made.version)


@router.get(
    "/organisations/{org_id}/dpia/versions",
    summary="The DPIA's versions, newest first",
    response_model=DpiaVersionsOut,
    responses=responses(*AUTH_ERRORS, 404, 422),
    response_description="Each version's number, time, author, hash and approval",
)
def list_dpia_versions(org_id: OrgId, principal: Reader, container: ContainerDep) -> DpiaVersionsOut:
    """Every kept version of the organisation's DPIA (at most 200, newest first)."""
    return DpiaVersionsOut(organisation_id=org_id, versions=container.go_live.dpia.versions(principal, org_id))


@router.get(
    "/organisations/{org_id}/dpia/versions/{version}",
    summary="One DPIA version as JSON, Markdown or PDF (by ?format= or Accept)",
    response_model=DpiaVersionOut,
    responses={
        200: {
            "description": "The version: JSON with its differences from the approved version, its Markdown, or a PDF",
            "content": {
                MARKDOWN: {"schema": {"type": "string"}, "example": "# Data protection impact assessment and record of processing: ..."},
                PDF: {"schema": {"type": "string", "format": "binary"}},
            },
        },
        **responses(*AUTH_ERRORS, 404, 422),
    },
)
def get_dpia_version(
    org_id: OrgId,
    version: VersionNo,
    principal: Reader,
    container: ContainerDep,
    format: Annotated[Literal["json", "md", "pdf"] | None, Query(description="json, md or pdf; else from Accept")] = None,
    accept: Annotated[str | None, Header(max_length=500)] = None,
) -> Any:
    """The version's facts and Markdown with its differences from the approved version (JSON), the Markdown
    alone (`text/markdown`), or the document as PDF (`application/pdf`)."""
    wanted = format or ("pdf" if accept and PDF in accept else "md" if accept and MARKDOWN in accept else "json")
    filename = f"dpia-{org_id}-v{version}"
    if wanted == "pdf":
        body = container.go_live.dpia.pdf(principal, org_id, version)
        return Response(body, media_type=PDF, headers={"Content-Disposition": f'attachment; filename="{filename}.pdf"'})
    view = container.go_live.dpia.version(principal, org_id, version)
    if wanted == "md":
        return Response(
            view["markdown"], media_type=f"{MARKDOWN}; charset=utf-8", headers={"Content-Disposition": f'inline; filename="{filename}.md"'}
        )
    return DpiaVersionOut.model_validate(view)


@router.post(
    "/organisations/{org_id}/dpia/versions/{version}/approval",
    summary="Approve a DPIA version (the organisation's admin): completes the go-live stage dpia_approved",
    response_model=DpiaVersionOut,
    responses=responses(*AUTH_ERRORS, 404, 409, 422),
    response_description="The version, now the approved one",
)
def approve_dpia_version(org_id: OrgId, version: VersionNo, principal: Approver, container: ContainerDep) -> DpiaVersionOut:
    """Approves the latest version while it still states the live configuration (409 otherwise: generate again).
    Later changes to what it states show as differences from it until a newer version is approved. Audited."""
    return DpiaVersionOut.model_validate(container.go_live.dpia.approve(principal, org_id, version))
