"""Rendering console pages: one Jinja2 environment, the page's security headers, and the
session cookie refreshed on the way out (the idle timeout slides with use)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from functions.console.formats import FILTERS
from shared.adapters.console_sessions import CSRF_FIELD, Session
from shared.domain.tenancy import Principal, Role

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

# Only the app's own scripts, styles, images and media; no inline script or style; forms
# post only to this origin; no framing. Evidence plays from this origin (media-src) and
# the upload progress reads its own API (connect-src).
CONSOLE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)

environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True, default_for_string=True))
environment.globals["CSRF_FIELD"] = CSRF_FIELD
environment.globals["Role"] = Role
environment.filters.update(FILTERS)


def container_of(request: Request) -> Any:
    """The stamp serving this request (a host may bind one per request on the scope, as the API's `container` does)."""
    bound = request.scope.get("state", {}).get("container")
    return bound if bound is not None else request.app.state.container


def nav_links(viewer: Principal | None) -> list[tuple[str, str]]:
    """The header's links: what this person's roles can open."""
    if viewer is None:
        return []
    links: list[tuple[str, str]] = []
    if viewer.has(Role.POLICE_OFFICER, Role.POLICE_ANALYST, Role.POLICE_ADMIN):
        links.append(("/inbox", "Inbox"))
    if viewer.has(Role.RETAILER_REPORTER):
        links += [("/report", "Report an incident"), ("/reports", "Our reports")]
    # Only the roles the API's incident search admits: an admin's link would open a 403.
    if viewer.has(Role.RETAILER_INVESTIGATOR, Role.POLICE_OFFICER, Role.POLICE_ANALYST):
        links.append(("/search", "Search"))
    # D2P evaluation: the force's table against its other channels.
    if viewer.has(Role.POLICE_ADMIN, Role.POLICE_ANALYST):
        links.append(("/evaluation", "Evaluation"))
    if viewer.has(Role.RETAILER_ADMIN, Role.POLICE_ADMIN, Role.PLATFORM_OPERATOR):
        links.append(("/admin", "Settings"))
    # Police and the stores they ask (their staff, investigators and admins). Last: the
    # first link is where a person lands after sign-in, and that is their everyday page.
    if viewer.has(*(r for r in Role if r.value.startswith(("Police.", "Retailer.")))):
        links.append(("/footage-requests", "Footage requests"))
    # Lookouts: store staff and the issuers.
    if viewer.has(Role.RETAILER_REPORTER, Role.RETAILER_INVESTIGATOR, Role.RETAILER_ADMIN, Role.POLICE_OFFICER, Role.POLICE_ANALYST):
        links.append(("/lookouts", "Lookouts"))
    # Persons of interest: the organisation's investigators.
    if viewer.has(Role.RETAILER_INVESTIGATOR):
        links.append(("/offenders", "Persons of interest"))
    # Referrals: the national unit's intake (its people's only page), and the referrers' status.
    if viewer.has(
        Role.NATIONAL_UNIT_OFFICER, Role.NATIONAL_UNIT_ANALYST, Role.RETAILER_INVESTIGATOR, Role.POLICE_OFFICER, Role.POLICE_ANALYST
    ):
        links.append(("/referrals", "Referrals"))
    return links


def page(request: Request, template: str, *, status: int = 200, headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    """A console page: `template` rendered with the viewer, their CSRF token and the
    header's links, answered with the console's CSP and never cached (pages carry personal data)."""
    session: Session | None = getattr(request.state, "console_session", None)
    viewer: Principal | None = getattr(request.state, "console_viewer", None)
    organisation = None
    if viewer is not None:
        organisation = container_of(request).directory.organisation(viewer.organisation_id)
    body = environment.get_template(template).render(
        request=request,
        viewer=viewer,
        organisation=organisation,
        csrf_token=session.csrf if session else "",
        nav=nav_links(viewer),
        path=request.url.path,
        **context,
    )
    response = HTMLResponse(body, status_code=status, headers=headers)
    return finish(request, response)


def redirect(request: Request, location: str) -> RedirectResponse:
    """303 See Other to `location` (after a form post, so a reload does not post again)."""
    return finish(request, RedirectResponse(location, status_code=303))


def finish(request: Request, response: Response) -> Any:
    """The console's headers on `response`, and the session cookie when it changed or slid."""
    response.headers["Content-Security-Policy"] = CONSOLE_CSP
    response.headers.setdefault("Cache-Control", "no-store")
    sessions = container_of(request).console_sessions
    session: Session | None = getattr(request.state, "console_session", None)
    if getattr(request.state, "console_session_cleared", False):
        response.delete_cookie(**{k: v for k, v in sessions.cookie_args().items() if k not in ("max_age",)})
    elif session is not None and getattr(request.state, "console_session_dirty", False):
        response.set_cookie(value=sessions.seal(session), **sessions.cookie_args())
    return response
