"""The HTTP app: one FastAPI application served by uvicorn locally and wrapped by
`func.AsgiFunctionApp` in Azure (see function_app.py)."""

from __future__ import annotations

import json
import logging
from contextlib import asynccontextmanager
from pathlib import Path

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI
from fastapi.params import Depends as DependsParam
from fastapi.routing import APIRoute, iter_route_contexts

from functions.console import app as console
from functions.http import (
    anpr,
    anpr_alerts,  # ANPR alert subscriptions
    audit,
    d2p,
    disclosure,
    docs,
    evaluation,
    evidence,
    evidence_content,
    evidence_media,
    evidence_uploads,
    footage,
    go_live,
    health,
    incidents,
    network_ranges,
    offenders,  # persons of interest
    onboarding,
    problems,
    referrals,
    retention,
    sharing,
    subject_requests,
)
from functions.http import intel as intel_routes  # intelligence
from functions.http import lookouts as lookout_routes  # lookouts
from functions.http.deps import API_PREFIX, admitted_roles, known_query
from functions.http.headers import SecurityHeaders
from functions.http.limits import BodyLimit, BodyTimeouts, HeaderLimit, UploadSlots, upload_slot
from functions.http.observability import RequestContext, install_request_ids
from functions.http.raw_body import add_self_validated_schemas
from shared.bootstrap import Container, default_container
from shared.domain.tenancy import Role
from shared.services.quotas import WRITE_METHODS
from shared.settings import Settings

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
# D2P evaluation: a channel's row-level extract streams with its own bound (MAX_EXTRACT_BYTES).
STREAMING_SUFFIXES.append("/channel-figures/extract")
# Evidence uploads: the routes whose handler thread waits on the client while the body
# arrives. They count against the upload slots (limits.UploadSlots), not the handler threads.
UPLOAD_SUFFIXES = ("/evidence", "/chunks")
UPLOAD_METHODS = ("POST", "PUT")
# Evidence route modules: every route needs a token, and the upload ones take a slot.
EVIDENCE_MODULES = (evidence_uploads, evidence, evidence_content, evidence_media)


# Success examples recorded from real answers against the seeded demo data
# (`python -m tests.http.response_examples`), keyed by operation id and status.
RESPONSE_EXAMPLES = Path(__file__).with_name("response_examples.json")


def is_upload(method: str, route_path: str) -> bool:
    return method in UPLOAD_METHODS and route_path.endswith(UPLOAD_SUFFIXES)


@asynccontextmanager
async def _lifespan(app: FastAPI):
    # Sync handlers run in anyio's thread pool (40 threads by default). Their work is
    # CPU under one GIL and writes that serialise on the store, so more threads only add
    # contention: size the pool from settings (it only affects HTTP handlers).
    # Uploads hold a thread while their body arrives, however slowly: at most
    # http_upload_threads of them are admitted at once (limits.UploadSlots), and the pool
    # has that many threads more, so http_worker_threads always remain for other requests.
    settings = app.state.container.settings
    anyio.to_thread.current_default_thread_limiter().total_tokens = settings.http_worker_threads + settings.http_upload_threads
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
        # Operation ids are the route functions' names (report_incident, upload_evidence):
        # what a generated client calls its methods.
        generate_unique_id_function=_operation_id,
    )
    app.state.container = c
    problems.install(app)
    docs.install(app, prefix=API_PREFIX, openapi_url=f"{API_PREFIX}/openapi.json", title="Vigil API")
    app.state.upload_slots = UploadSlots(
        threads=c.settings.http_upload_threads,
        per_user=c.settings.http_uploads_per_user,
        per_organisation=c.settings.http_uploads_per_organisation,
        is_upload=is_upload,
    )
    # One level of inclusion: FastAPI matches nested included routers level by level,
    # which cost about a millisecond per request with every capability's routes.
    for module in (
        health,
        incidents,
        audit,
        d2p,
        evaluation,
        retention,
        subject_requests,
        anpr,
        # Evidence: resumable uploads, then items, their content and derived media.
        evidence_uploads,
        evidence,
        evidence_content,
        evidence_media,
        sharing,
        onboarding,
        disclosure,
        footage,
    ):
        # Evidence routes all need a token; the upload ones then take a slot before their handler runs.
        gated: list[DependsParam] = [Depends(upload_slot, scope="function")] if module in EVIDENCE_MODULES else []
        app.include_router(_router_of(module, c), prefix=API_PREFIX, dependencies=gated)
    # ANPR alert subscriptions.
    app.include_router(_router_of(anpr_alerts, c), prefix=API_PREFIX)
    # Network ranges.
    app.include_router(network_ranges.router, prefix=API_PREFIX)
    # ---- persons of interest ----
    app.include_router(_router_of(offenders, c), prefix=API_PREFIX)
    # Lookouts.
    app.include_router(lookout_routes.router, prefix=API_PREFIX)
    # Go-live: the checklist and the DPIA from the live configuration.
    app.include_router(_router_of(go_live, c), prefix=API_PREFIX)
    # Referrals to a national unit.
    app.include_router(_router_of(referrals, c), prefix=API_PREFIX)
    app.include_router(intel_routes.router, prefix=API_PREFIX)  # intelligence
    # The console's pages at `/` (after the API's problem handlers, which it wraps).
    console.install(app)
    app.openapi_schema = None
    _add_problem_schema(app)
    app.add_middleware(
        BodyLimit, max_bytes=c.settings.max_json_body_bytes, exempt=lambda path: any(path.endswith(s) for s in STREAMING_SUFFIXES)
    )
    app.add_middleware(BodyLimit, max_bytes=c.settings.anpr_max_batch_bytes, exempt=lambda path: not path.endswith(ANPR_READS_SUFFIX))
    # Outside the body bounds: a body that stalls or trickles is cut (408) wherever it is read.
    app.add_middleware(
        BodyTimeouts,
        idle_seconds=c.settings.http_body_idle_timeout_seconds,
        min_bytes_per_second=c.settings.http_body_min_bytes_per_second,
        grace_seconds=c.settings.http_body_grace_seconds,
    )
    # Header count and size are checked before anything reads a header (431).
    app.add_middleware(HeaderLimit, max_count=c.settings.max_header_count, max_bytes=c.settings.max_header_bytes)
    # Every answer (413s and 431s included) gets a request id and an access line.
    install_request_ids()
    app.add_middleware(RequestContext, route_prefix=API_PREFIX)
    logging.getLogger("vigil").setLevel(c.settings.log_level)
    # Outermost: every answer (413s and 500s included) gets the security headers; API answers no-store.
    app.add_middleware(SecurityHeaders, api_prefix=API_PREFIX, cacheable=[f"{API_PREFIX}/{p}" for p in ("healthz", "openapi.json", "docs")])
    return app


def _operation_id(route: APIRoute) -> str:
    return route.name


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
        _document_roles(schema, app)
        _add_response_examples(schema)
        _document_upload_limits(schema, app.state.container.settings)
        _document_rate_limits(schema, app.state.container.settings)
        schema.setdefault("components", {}).setdefault("securitySchemes", {})["bearer"] = {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
        }
        schema["security"] = [{"bearer": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to customise the OpenAPI document


def _document_roles(schema: dict, app: FastAPI) -> None:
    """Every operation's `x-roles` and a sentence naming them, read from the route's own
    role dependency so the document cannot drift from what the route enforces."""
    order = list(Role)
    # Included routers are nested (FastAPI >= 0.165): walk them as the document generator does.
    for route in iter_route_contexts(app.routes):
        if not isinstance(route.original_route, APIRoute) or not route.include_in_schema:
            continue
        roles = admitted_roles(route.dependant)
        names = [r.value for r in sorted(roles, key=order.index)] if roles is not None else []
        if roles is None:
            sentence = "Roles: none; no bearer token is needed."
        else:
            sentence = "Roles: " + ", ".join(f"`{n}`" for n in names) + "."
        for method in route.methods or ():
            operation = schema["paths"].get(route.path_format, {}).get(method.lower())
            if operation is None:
                continue
            operation["x-roles"] = names
            operation["description"] = f"{operation.get('description', '')}\n\n{sentence}".strip()


def _add_response_examples(schema: dict) -> None:
    """Each JSON success response's example. A status with no recorded answer of its own
    (a replay's 200 beside a first 201) takes another success status's with the same schema."""
    recorded: dict[str, dict[str, object]] = json.loads(RESPONSE_EXAMPLES.read_text()) if RESPONSE_EXAMPLES.exists() else {}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            own = recorded.get(operation.get("operationId", ""), {})
            successes = {s: r for s, r in operation.get("responses", {}).items() if s.startswith("2")}
            for status, response in successes.items():
                media = response.get("content", {}).get("application/json")
                if media is None or "example" in media:
                    continue
                if status in own:
                    media["example"] = own[status]
                    continue
                twin = next(
                    (
                        s
                        for s, r in successes.items()
                        if s in own and r.get("content", {}).get("application/json", {}).get("schema") == media.get("schema")
                    ),
                    None,
                )
                if twin is not None:
                    media["example"] = own[twin]


def _document_upload_limits(schema: dict, settings: Settings) -> None:
    """The upload routes' OpenAPI entries: their 408, 429 and 503 answers and the limits behind them."""
    note = (
        f"Limits: the body is cut with 408 if nothing arrives for {settings.http_body_idle_timeout_seconds:g} s, or if after "
        f"{settings.http_body_grace_seconds:g} s it has averaged under {settings.http_body_min_bytes_per_second} bytes/s "
        f"(a single upload then stores nothing; a resumable upload keeps what it reports as received). "
        f"At most {settings.http_uploads_per_user} uploads per user and {settings.http_uploads_per_organisation} per "
        f"organisation stream at once (429 with Retry-After past either), and {settings.http_upload_threads} per server "
        f"process (503 with Retry-After)."
    )
    extra = problems.responses(408, 429, 503)
    extra[503] = {**extra[503], "description": "The server is taking as many uploads as it can, or a backing store is unavailable"}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            if not is_upload(method.upper(), path):
                continue
            operation["description"] = f"{operation.get('description', '')}\n\n{note}".strip()
            for status, entry in extra.items():
                operation.setdefault("responses", {}).setdefault(
                    str(status),
                    {"description": entry["description"], "content": entry["content"]},
                )


# Routes whose handler decodes an image (evidence image work: a budget and a few workers).
IMAGE_WORK_SUFFIXES = ("/face-proposals", "/redactions")


def _document_rate_limits(schema: dict, settings: Settings) -> None:
    """Every signed-in write's 429 (the per-principal write budget), and the image routes'
    pixel bound (413), image budget (429) and image workers (503)."""
    writes = (
        f"Each person may make {settings.http_write_burst} changes at once, then {settings.http_writes_per_minute:g} a minute "
        f"(camera systems {settings.http_device_write_burst}, then {settings.http_device_writes_per_minute:g} a minute), "
        f"per server instance: past it, 429 with Retry-After."
    )
    images = (
        f"Images of up to {settings.evidence_image_max_pixels} pixels (413 past it, from the image's header). Each person may "
        f"start {settings.evidence_image_burst} image jobs at once, then {settings.evidence_image_per_minute:g} a minute "
        f"(429 with Retry-After); each server instance works on {settings.evidence_image_workers} images at once and a request "
        f"waits up to {settings.evidence_image_queue_seconds:g} s for one (503 with Retry-After)."
    )
    extra = problems.responses(413, 429, 503)
    extra[503] = {**extra[503], "description": "The server is working on as many images as it can, or a backing store is unavailable"}
    for path, operations in schema.get("paths", {}).items():
        for method, operation in operations.items():
            answers = operation.setdefault("responses", {})
            notes = []
            # Charged after the token check (deps.principal): writes signed in with a bearer
            # token, which _document_roles has already marked with the roles they admit. A
            # write signed another way (the SendGrid webhook's signature) is never charged.
            if method.upper() in WRITE_METHODS and operation.get("x-roles"):
                notes.append(writes)
                statuses = [429]
            else:
                statuses = []
            if path.endswith(IMAGE_WORK_SUFFIXES):
                notes.append(images)
                statuses = [413, 429, 503]
            for status in statuses:
                answers.setdefault(str(status), {"description": extra[status]["description"], "content": extra[status]["content"]})
            if notes:
                operation["description"] = "\n\n".join([operation.get("description", ""), *notes]).strip()
