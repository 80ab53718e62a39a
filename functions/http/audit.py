"""Audit routes: an organisation reviews who did what with its data, and checks the chain."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from functions.http.deps import ContainerDep, PageCursor, require
from functions.http.problems import AUTH_ERRORS, responses
from functions.http.schemas import AuditPage
from shared.domain.tenancy import Principal, Role
from shared.services.audit import parse_entity
from shared.settings import get_settings

AUDITORS = (Role.RETAILER_ADMIN, Role.RETAILER_INVESTIGATOR, Role.POLICE_ADMIN)

_page = get_settings()

router = APIRouter(tags=["audit"])


@router.get(
    "/audit",
    summary="Audit entries of your organisation, with chain verification",
    description=(
        "`chain` checks the entries since the newest write-once checkpoint now and shows the last walk of the "
        "whole chain (daily) under `full_verification`; `verified` is true only when both hold (docs/audit.md)."
    ),
    response_model=AuditPage,
    responses=responses(*AUTH_ERRORS, 422),
    response_description="One page of your organisation's audit entries and the chain's verification",
)
def list_audit_entries(
    principal: Annotated[Principal, Depends(require(*AUDITORS))],
    container: ContainerDep,
    entity: Annotated[str | None, Query(max_length=200, description="e.g. incident/<id>")] = None,
    limit: Annotated[int, Query(ge=1, le=_page.max_page_size)] = _page.default_page_size,
    *,
    page: PageCursor,
):
    if entity is not None:
        parse_entity(entity)
    review = container.audit.review(principal.organisation_id, entity=entity, limit=limit, continuation=page.token)
    return {"items": review.items, "continuation": page.next(review.continuation), "chain": review.chain}
