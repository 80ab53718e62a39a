"""RFC 9457 problem details: the one error shape every route answers with."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.domain.errors import DomainError
from shared.domain.incident_report import SPECIAL_CATEGORY_FIELDS

log = logging.getLogger("vigil.http")

PROBLEM_MEDIA = "application/problem+json"
TYPE_BASE = "/api/v1/problems/"


class FieldError(BaseModel):
    field: str = Field(description="Where in the request: body field path, header or query parameter")
    message: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {"type": "/api/v1/problems/not-found", "title": "Not found", "status": 404, "detail": "Incident 0b9e... was not found."}
            ]
        },
    )

    type: str = Field(description="Stable identifier of the kind of problem")
    title: str
    status: int
    detail: str
    instance: str | None = None
    errors: list[FieldError] = []


def problem(
    status: int,
    slug: str,
    title: str,
    detail: str,
    *,
    instance: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {"type": TYPE_BASE + slug, "title": title, "status": status, "detail": detail}
    if instance:
        body["instance"] = instance
    body["errors"] = errors or []
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA, headers=headers)


_STATUS_SLUGS = {
    # FastAPI raises a bare 400 only when it cannot parse the body (e.g. not UTF-8):
    # the same problem type as JSON that does not parse.
    400: ("malformed-json", "Malformed JSON"),
    401: ("unauthorized", "Sign-in required"),
    403: ("forbidden", "Not allowed"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    413: ("payload-too-large", "Request too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
}


def _loc(loc: tuple) -> str:
    parts = [str(p) for p in loc if p not in ("body",)]
    return ".".join(parts) if parts else "body"


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError):
        headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if exc.status == 401 else None
        # Errors raised by the HTTP layer itself may name answer headers (Retry-After).
        headers = {**(headers or {}), **getattr(exc, "headers", {})} or None
        return problem(
            exc.status, exc.slug, exc.title, exc.detail, instance=request.url.path, errors=exc.errors, headers=headers, **exc.extra
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        errors = exc.errors()
        if any(e.get("type") == "json_invalid" for e in errors):
            return problem(
                400,
                "malformed-json",
                "Malformed JSON",
                "The body is not valid JSON.",
                instance=request.url.path,
                errors=[{"field": "body", "message": str(errors[0].get("msg"))}],
            )
        out = []
        for e in errors[:50]:
            msg = e.get("msg", "")
            if e.get("type") == "extra_forbidden" and str(e.get("loc", ("",))[-1]).lower() in SPECIAL_CATEGORY_FIELDS:
                msg = "Special category data (ethnicity, race, religion, political views, sexual orientation, health) is never collected by Vigil (remove it)."
            elif e.get("type") == "extra_forbidden":
                msg = "Unknown field: not part of this resource (remove it)."
            elif e.get("type") == "timezone_aware":
                msg = "Needs a UTC offset, e.g. 2026-11-23T11:58:04+00:00"
            out.append({"field": _loc(tuple(e.get("loc", ()))), "message": msg})
        detail = "; ".join(f"{x['field']}: {x['message']}" for x in out[:5])
        return problem(422, "validation-error", "The request is not valid", detail, instance=request.url.path, errors=out)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        slug, title = _STATUS_SLUGS.get(exc.status_code, ("error", "Error"))
        detail = exc.detail if isinstance(exc.detail, str) else title
        return problem(exc.status_code, slug, title, detail, instance=request.url.path, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        # Normally answered by the request-context middleware (with the request id); this
        # catches what fails outside it.
        log.exception("unhandled error")
        return unexpected_error(request.url.path)


def unexpected_error(path: str | None) -> JSONResponse:
    """The 500 answer: no detail of what failed leaves the process."""
    return problem(500, "internal-error", "Internal error", "Something went wrong on our side; it has been logged.", instance=path)


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` entries for the problem statuses a route can answer."""
    text = {
        400: "Malformed request (e.g. JSON that does not parse)",
        401: "Missing, expired or invalid bearer token",
        403: "Signed in, but the role does not allow this",
        404: "Not found, or not yours to see",
        408: "The body stalled or arrived too slowly; send it again",
        409: "Conflicts with the current state",
        410: "What this request answered for has since been erased",
        412: "If-Match does not match the current ETag",
        413: "Body larger than the bound named in the detail",
        415: "Content type not accepted",
        421: "The organisation is not served by this region; home_base_url names its region when another serves it",
        422: "Invalid input: each offending field is listed in errors",
        428: "If-Match is required",
        429: "Past a rate or concurrency cap (named in the detail); try again after Retry-After",
        503: "A backing store is unavailable",
    }
    return {
        s: {
            "model": Problem,
            "description": text.get(s, "Problem"),
            "content": {PROBLEM_MEDIA: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for s in statuses
    }


AUTH_ERRORS = (401, 403, 421)
