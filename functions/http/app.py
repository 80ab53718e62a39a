"""The HTTP app: one FastAPI application served by uvicorn locally and wrapped by
`func.AsgiFunctionApp` in Azure (see function_app.py)."""

from __future__ import annotations

from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from functions.http import anpr, audit, d2p, evidence, health, incidents, problems, retention, sharing
from functions.http.fastjson import add_self_validated_schemas
from functions.http.limits import BodyLimit
from shared.bootstrap import Container, default_container

API_PREFIX = "/api/v1"

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
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
    )
    app.state.container = c
    problems.install(app)
    # One level of inclusion: FastAPI matches nested included routers level by level,
    # which cost about a millisecond per request with every capability's routes.
    for module in (health, incidents, audit, d2p, retention, anpr, evidence, sharing):
        app.include_router(module.router(c.settings), prefix=API_PREFIX)
    app.openapi_schema = None
    _add_problem_schema(app)
    app.add_middleware(
        BodyLimit, max_bytes=c.settings.max_json_body_bytes, exempt=lambda path: any(path.endswith(s) for s in STREAMING_SUFFIXES)
    )
    app.add_middleware(BodyLimit, max_bytes=c.settings.anpr_max_batch_bytes, exempt=lambda path: not path.endswith(ANPR_READS_SUFFIX))
    return app


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
