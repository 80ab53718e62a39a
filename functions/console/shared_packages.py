"""Court packages shared with prosecutors and defence, in the console.

- The force's side (`/cases/{incident_id}/shares`): share the package with a named
  recipient (the page then shows the one-time code, once), see each share with who opened
  it, revoke. The same service calls as the API's package-share routes.
- The public pages a recipient outside Vigil opens from the email: `/shared/{token}`
  (what was shared, the one-time code form, then the download).

No sign-in: the link's token names the share and the code proves the recipient. The
right code sets a grant cookie of this link's own (scoped to its path, HttpOnly, Strict),
never a console session. Every view, code and download is audited by the service."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError
from starlette.datastructures import FormData

from functions.console.deps import posted_form, require_page
from functions.console.render import environment, finish, page, redirect
from functions.http.deps import ContainerDep
from functions.http.disclosure import SHARE_MANAGERS, SHARERS
from shared.domain.disclosure import CODE_DIGITS, DEFAULT_DAYS, GRANT_MINUTES, MAX_DAYS, RECIPIENT_KIND_WORDS, PackageShareIn
from shared.domain.errors import Gone, Invalid, NotFound, Unauthorized
from shared.domain.http_fields import ascii_filename
from shared.domain.tenancy import Principal

router = APIRouter(include_in_schema=False)

# The share form is included in the police case page too: what it offers, for any page.
environment.globals.update(
    SHARE_RECIPIENT_KINDS={k.value: v for k, v in RECIPIENT_KIND_WORDS.items()},
    SHARE_DEFAULT_DAYS=DEFAULT_DAYS,
    SHARE_MAX_DAYS=MAX_DAYS,
)

Sharer = Annotated[Principal, Depends(require_page(*SHARERS))]
Manager = Annotated[Principal, Depends(require_page(*SHARE_MANAGERS))]
Form = Annotated[FormData, Depends(posted_form)]
IncidentId = Annotated[str, Path(min_length=1, max_length=64)]
ShareId = Annotated[str, Path(min_length=32, max_length=32, pattern="^[0-9a-f]{32}$")]
PurposeQuery = Annotated[str | None, Query(min_length=3, max_length=500)]
FIELDS = ("recipient_name", "recipient_email", "recipient_organisation", "recipient_kind", "purpose", "expires_in_days")
_FIELD_WORDS = {
    "recipient_name": "Recipient's name",
    "recipient_email": "Recipient's email",
    "recipient_organisation": "Their organisation",
    "recipient_kind": "Who they are",
    "purpose": "Why you are sharing",
    "expires_in_days": "Days the link works",
}


# ---- the force's side -------------------------------------------------------------------------


def _shares_url(incident_id: str, purpose: str | None) -> str:
    query = f"?{urlencode({'purpose': purpose})}" if purpose else ""
    return f"/cases/{incident_id}/shares{query}"


def _shares_page(
    request: Request,
    c,
    who: Principal,
    incident_id: str,
    purpose: str | None,
    *,
    status: int = 200,
    made: Any = None,
    errors: list[str] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    if not purpose:
        raise Invalid("Open the case first and state why you are looking: police reads need a purpose.", errors=[{"field": "purpose"}])
    shares = c.disclosure.shares.list(who, incident_id, purpose)
    region_org = c.directory.organisation(who.organisation_id)
    return page(
        request,
        "shared/shares.html",
        status=status,
        incident_id=incident_id,
        purpose=purpose,
        shares=shares,
        made=made,
        errors=errors or [],
        values=values,
        region=region_org.home_region if region_org else "uk",
    )


@router.get("/cases/{incident_id}/shares")
def package_shares(request: Request, incident_id: IncidentId, who: Manager, c: ContainerDep, purpose: PurposeQuery = None) -> Response:
    """The force's shares of this case's package, with who opened them, and the form."""
    return _shares_page(request, c, who, incident_id, purpose)


@router.post("/cases/{incident_id}/shares")
def share_package(request: Request, incident_id: IncidentId, who: Sharer, c: ContainerDep, form: Form) -> Response:
    """Share the package: the page shows the link and, this once, the code to give by phone."""
    case_purpose = " ".join(str(form.get("case_purpose", "")).split()) or None
    values = {f: str(form.get(f, "")) for f in FIELDS}
    try:
        ask = PackageShareIn(**{k: v for k, v in values.items() if v != ""})  # type: ignore[arg-type]
    except ValidationError as exc:
        errors = [f"{_FIELD_WORDS.get(str(e['loc'][0]), e['loc'][0])}: {e['msg'].removeprefix('Value error, ')}" for e in exc.errors()]
        return _shares_page(request, c, who, incident_id, case_purpose, status=422, errors=errors, values=values)
    made = c.disclosure.shares.share(who, incident_id, ask)
    return _shares_page(request, c, who, incident_id, case_purpose or ask.purpose, status=201, made=made)


@router.post("/cases/{incident_id}/shares/{share_id}/revoke")
def revoke_share(request: Request, incident_id: IncidentId, share_id: ShareId, who: Manager, c: ContainerDep, form: Form) -> Response:
    """End a share now: its link answers 410 and its package is deleted."""
    c.disclosure.shares.revoke(who, incident_id, share_id)
    purpose = " ".join(str(form.get("case_purpose", "")).split()) or None
    return redirect(request, _shares_url(incident_id, purpose) + "#shares")


# ---- the recipient's side ---------------------------------------------------------------------

GRANT_COOKIE = "vigil_share_grant"
Token = Annotated[str, Path(min_length=20, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")]


def _base(token: str) -> str:
    return f"/shared/{token}"


def _private(response: Response) -> Response:
    # The address holds the link's secret: never sent on to another site as a referrer.
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _ended(request: Request, exc: Gone | NotFound) -> Response:
    status = 410 if isinstance(exc, Gone) else 404
    return _private(page(request, "shared/gone.html", status=status, detail=exc.detail))


def _show(request: Request, c, token: str, *, status: int = 200, problem: str | None = None) -> Response:
    try:
        share = c.disclosure.recipient.view(token, request.cookies.get(GRANT_COOKIE))
    except (Gone, NotFound) as exc:
        return _ended(request, exc)
    return _private(
        page(
            request,
            "shared/package.html",
            status=status,
            share=share,
            base=_base(token),
            problem=problem,
            code_digits=CODE_DIGITS,
            grant_minutes=GRANT_MINUTES,
        )
    )


@router.get("/shared/{token}")
def shared_package(request: Request, token: Token, c: ContainerDep) -> Response:
    """What was shared, by whom, until when, its manifest; the code form or the download."""
    return _show(request, c, token)


@router.post("/shared/{token}/code")
async def shared_code(request: Request, token: Token, c: ContainerDep) -> Response:
    """The one-time code: right, a grant cookie and back to the page; wrong, the page
    again with the tries left; the last wrong try, 410."""
    # No CSRF token: the link's own secret is what a forged post would need, and having it
    # one can post from anywhere; the grant cookie is Strict, so no other site sends it.
    raw = (await request.body())[:2000]
    fields = dict(parse_qsl(raw.decode("utf-8", "replace"), max_num_fields=5))
    try:
        grant = c.disclosure.recipient.enter_code(token, fields.get("code", ""))
    except (Gone, NotFound) as exc:
        return _ended(request, exc)
    except Invalid as exc:
        return _show(request, c, token, status=422, problem=exc.detail)
    response = finish(request, RedirectResponse(_base(token), status_code=303))
    response.set_cookie(GRANT_COOKIE, grant, max_age=GRANT_MINUTES * 60, path=_base(token), secure=True, httponly=True, samesite="strict")
    return _private(response)


@router.get("/shared/{token}/package")
def shared_download(request: Request, token: Token, c: ContainerDep) -> Response:
    """The package: a redirect to a short-lived storage URL in Azure, streamed locally."""
    try:
        got = c.disclosure.recipient.download(token, request.cookies.get(GRANT_COOKIE))
    except (Gone, NotFound) as exc:
        return _ended(request, exc)
    except Unauthorized as exc:
        return _show(request, c, token, status=401, problem=exc.detail)
    if got.url:
        return _private(finish(request, RedirectResponse(got.url, status_code=303)))
    headers = {
        "Content-Disposition": f'attachment; filename="{ascii_filename(got.filename)}"',
        "Content-Length": str(got.size),
        "X-Package-SHA256": got.sha256,
        "Cache-Control": "no-store",
    }
    assert got.body is not None
    return _private(StreamingResponse(got.body, media_type="application/zip", headers=headers))
