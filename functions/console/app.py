"""Puts the console into the HTTP app: its pages, its assets, and errors shown as pages.

Errors on console paths are the same domain errors the API answers with problem details;
here they become a page a person can read, with the same status code."""

from __future__ import annotations

import inspect
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from functions.console import (
    admin,
    evaluation,  # D2P evaluation
    evidence_form,  # evidence: the plain upload form
    footage,
    go_live,  # go-live: the checklist and the DPIA
    investigate,
    network_ranges,
    offenders,  # persons of interest
    police,
    referrals,
    shared_packages,
    signin,
)
from functions.console import intel as intel_pages  # intelligence
from functions.console import lookouts as lookout_pages  # lookouts
from functions.console import store as store_pages
from functions.console.deps import SignInNeeded, viewer
from functions.console.render import STATIC, container_of, page, redirect
from functions.http.deps import API_PREFIX
from shared.domain.errors import DomainError

ASSETS = "/assets"

# Each module's `router` holds its pages; one level of inclusion, as for the API.
PAGE_MODULES = [signin, police, store_pages, investigate, admin, shared_packages, footage]
# Network ranges.
PAGE_MODULES.append(network_ranges)
# Lookouts.
PAGE_MODULES.append(lookout_pages)
# Go-live: the checklist and the DPIA.
PAGE_MODULES.append(go_live)
PAGE_MODULES.append(offenders)  # persons of interest
# Referrals to a national unit.
PAGE_MODULES.append(referrals)
# D2P evaluation: the force's table, chart and downloads.
PAGE_MODULES.append(evaluation)
PAGE_MODULES.append(intel_pages)  # intelligence: ranking and networks
PAGE_MODULES.append(evidence_form)  # evidence: the report page's plain upload form

_TITLES = {
    400: "Something in the request was wrong",
    401: "Sign-in needed",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "That cannot be done now",
    412: "Someone changed this first",
    413: "Too large",
    415: "Not a form this page sends",
    421: "Not served here",
    422: "Please check what you entered",
    429: "Too many requests",
}


def _is_console(request: Request) -> bool:
    return not request.url.path.startswith(API_PREFIX)


def install(app: FastAPI) -> None:
    """Adds the console's routes, its `/assets` and its error pages to `app` (after the API's problem handlers)."""
    for module in PAGE_MODULES:
        app.include_router(module.router)
    app.mount(ASSETS, StaticFiles(directory=STATIC), name="assets")

    api_domain = app.exception_handlers[DomainError]
    api_validation = app.exception_handlers[RequestValidationError]
    api_http = app.exception_handlers[StarletteHTTPException]

    async def sign_in_needed(request: Request, exc: Exception):
        assert isinstance(exc, SignInNeeded)
        return redirect(request, f"/signin?next={quote(exc.next_path, safe='/')}")

    async def domain(request: Request, exc: Exception):
        if not _is_console(request):
            return await _call(api_domain, request, exc)
        assert isinstance(exc, DomainError)
        headers = {k: v for k, v in getattr(exc, "headers", {}).items() if k.lower() == "retry-after"}
        return _error_page(request, exc.status, exc.detail, errors=exc.errors, headers=headers)

    async def validation(request: Request, exc: Exception):
        if not _is_console(request):
            return await _call(api_validation, request, exc)
        assert isinstance(exc, RequestValidationError)
        errors = [
            {"field": ".".join(str(p) for p in e.get("loc", ()) if p != "body"), "message": e.get("msg", "")} for e in exc.errors()[:20]
        ]
        return _error_page(request, 422, "Some of what was sent is not valid.", errors=errors)

    async def http(request: Request, exc: Exception):
        if not _is_console(request):
            return await _call(api_http, request, exc)
        assert isinstance(exc, StarletteHTTPException)
        detail = exc.detail if isinstance(exc.detail, str) else ""
        if exc.status_code == 404:
            detail = "There is no page at this address, or it is not yours to see."
        return _error_page(request, exc.status_code, detail)

    app.add_exception_handler(SignInNeeded, sign_in_needed)
    app.add_exception_handler(DomainError, domain)
    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http)


async def _call(handler, request: Request, exc: Exception):
    """The API's own handler for `exc` (FastAPI's handlers may be sync or async)."""
    answer = handler(request, exc)
    return await answer if inspect.isawaitable(answer) else answer


def _error_page(request: Request, status: int, detail: str, *, errors=None, headers=None):
    if getattr(request.state, "console_viewer", None) is None:
        # The header still shows who is signed in on an error page (a 404 at an unknown address).
        try:
            viewer(request, container_of(request))
        except (SignInNeeded, DomainError):
            pass
    title = _TITLES.get(status, "Something went wrong")
    return page(request, "error.html", status=status, headers=headers or None, title=title, detail=detail, errors=errors or [])
