"""The HTTP app: one FastAPI application served by uvicorn locally and wrapped by
`func.AsgiFunctionApp` in Azure (see function_app.py)."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI

from functions.http import anpr, audit, d2p, docs, evidence, health, incidents, problems, retention, sharing, subject_requests
from functions.http.deps import API_PREFIX, known_query
from functions.http.headers import SecurityHeaders
from functions.http.limits import BodyLimit, HeaderLimit
from functions.http.observability import RequestContext, install_request_ids
from functions.http.raw_body import add_self_validated_schemas
from shared.bootstrap import Container, default_container

__all__ = ["API_PREFIX", "create_app"]

DESCRIPTION = """
Vigil: retail crime reporting, evidence, direct-to-police dispatch and shared intelligence.

Sign in with `Authorization: Bearer <JWT>` (Entra ID in Azure; `make token` locally).
Errors are RFC 9457 problem details (`application/problem+json`).
Writes that a client may retry take an `Idempotency-Key`; changes need `If-Match`.
"""

# Routes that stream large bodies carry their own size bound instead of the JSON one.
STREAMING_SUFFIXES: list[str] = []
# Evidence uploads (single files and resumable chunks) stream with their own bound (evidence_max_bytes).
STREAMING_SUFFIXES.extend(["/evidence", "/chunks"])
# Plate-read batches carry plate patches: their own bound (anpr_max_batch_bytes), added in create_app.
ANPR_READS_SUFFIX = "/anpr/reads"
STREAMING_SUFFIXES.append(ANPR_READS_SUFFIX)


@asynccontextmanager
async def _lifespan(app: FastAPI):
    # Sync handlers run in anyio's thread pool (40 threads by default). Their work is
    # CPU under one GIL and writes that serialise on the store, so more threads only add
    # contention: size the pool from settings (it only affects HTTP handlers).
    anyio.to_thread.current_default_thread_limiter().total_tokens = app.state.container.settings.http_worker_threads
    yield


def create_app(container: Container | None = None) -> FastAPI:
    c = container or default_container()
    app = FastAPI(
        lifespan=_lifespan,
        title="Vigil API",
        version="1.0.0",
        description=DESCRIPTION,
        openapi_url=f"{API_PREFIX}/openapi.json",
        # Served by functions/http/docs.py from the app's own files, not from a CDN.
        docs_url=None,
        swagger_ui_oauth2_redirect_url=None,
        redoc_url=None,
        # Every route refuses query parameters it does not declare (422 naming them).
        dependencies=[Depends(known_query)],
    )
    app.state.container = c
    problems.install(app)
    docs.install(app, prefix=API_PREFIX, openapi_url=f"{API_PREFIX}/openapi.json", title="Vigil API")
    # One level of inclusion: FastAPI matches nested included routers level by level,
    # which cost about a millisecond per request with every capability's routes.
    for module in (health, incidents, audit, d2p, retention, subject_requests, anpr, evidence, sharing):
        app.include_router(_router_of(module, c), prefix=API_PREFIX)
    app.openapi_schema = None
    _add_problem_schema(app)
    app.add_middleware(
        BodyLimit, max_bytes=c.settings.max_json_body_bytes, exempt=lambda path: any(path.endswith(s) for s in STREAMING_SUFFIXES)
    )
    app.add_middleware(BodyLimit, max_bytes=c.settings.anpr_max_batch_bytes, exempt=lambda path: not path.endswith(ANPR_READS_SUFFIX))
    # Header count and size are checked before anything reads a header (431).
    app.add_middleware(HeaderLimit, max_count=c.settings.max_header_count, max_bytes=c.settings.max_header_bytes)
    # Every answer (413s and 431s included) gets a request id and an access line.
    install_request_ids()
    app.add_middleware(RequestContext, route_prefix=API_PREFIX)
    logging.getLogger("vigil").setLevel(c.settings.log_level)
    # Outermost: every answer (413s and 500s included) gets the security headers; API answers no-store.
    app.add_middleware(SecurityHeaders, api_prefix=API_PREFIX, cacheable=[f"{API_PREFIX}/{p}" for p in ("healthz", "openapi.json", "docs")])
    return app


def _router_of(module, container: Container) -> APIRouter:
    """A route module's router: module-level (`router = APIRouter(...)`), or built from the
    settings by `router(settings)` for modules that still take them."""
    router = module.router
    return router if isinstance(router, APIRouter) else router(container.settings)


def _add_problem_schema(app: FastAPI) -> None:
    original = app.openapi

    def openapi():
        if app.openapi_schema:
            return app.openapi_schema
        schema = original()
        add_self_validated_schemas(schema)
        schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
        }
        schema["security"] = [{"bearer": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the OpenAPI document
