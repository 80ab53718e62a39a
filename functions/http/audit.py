"""Audit routes: an organisation reviews who did what with its data, and checks the chain."""

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse

from functions.http.deps import container, require
from functions.http.problems import AUTH_ERRORS, responses
from functions.http.schemas import AuditPage
from shared.bootstrap import Container
from shared.domain.tenancy import Principal, Role
from shared.services.audit import parse_entity
from shared.settings import Settings

AUDITORS = (Role.RETAILER_ADMIN, Role.RETAILER_INVESTIGATOR, Role.POLICE_ADMIN)


def router(settings: Settings) -> APIRouter:
    r = APIRouter(tags=["audit"])

    @r.get(
        "/audit",
        summary="Audit entries of your organisation, with chain verification",
        response_model=AuditPage,
        responses=responses(*AUTH_ERRORS, 422),
    )
    def audit(
        p: Principal = Depends(require(*AUDITORS)),
        c: Container = Depends(container),
        entity: Annotated[str | None, Query(max_length=200, description="e.g. incident/<id>")] = None,
        limit: Annotated[int, Query(ge=1, le=settings.max_page_size)] = settings.default_page_size,
        continuation: Annotated[str | None, Query(max_length=2000)] = None,
    ):
        if entity is not None:
            parse_entity(entity)
        items, token = c.audit.entries(p.organisation_id, entity=entity, limit=limit, continuation=continuation)
        return JSONResponse({"items": items, "continuation": token, "chain": c.audit.verify_chain(p.organisation_id)})

    return r
