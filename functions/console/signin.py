"""Signing in and out of the console.

In Azure the browser goes to Entra ID (OpenID Connect, authorization code with PKCE, through
msal) and comes back to `/signin/callback`. On the local backend there is no identity
provider: the sign-in page lists this stamp's organisations and the roles each can hold,
as `make token` does for the API. That page is refused on any other backend."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.datastructures import FormData

from functions.console.deps import current_session, end_session, posted_form, start_session, viewer
from functions.console.render import nav_links, page, redirect
from functions.http.client_address import admit_from_network
from functions.http.deps import ContainerDep
from shared.domain.errors import Invalid, NotFound, Unauthorized
from shared.domain.signin import safe_next_path
from shared.domain.tenancy import Principal, Role, role_fits_org

router = APIRouter(include_in_schema=False)

CALLBACK_PATH = "/signin/callback"
FLOW_COOKIE = "vigil_signin"
# A sign-in not finished in this time starts again (the adapter refuses older flows too).
FLOW_SECONDS = 15 * 60

NextPath = Annotated[str | None, Query(alias="next", max_length=2000)]


def _local(c) -> bool:
    return c.settings.backend == "local"


def _short(role: Role) -> str:
    return role.value.split(".")[-1].lower()


@router.get("/signin")
def signin_page(request: Request, c: ContainerDep, next_path: NextPath = None) -> Response:
    target = safe_next_path(next_path)
    if not _local(c):
        signin = c.console_signin
        if signin is None:
            raise NotFound("Console sign-in is not configured on this stamp (docs/console.md).")
        start = signin.begin(redirect_uri=_callback_url(c), next_path=target)
        answer = redirect(request, start.url)
        # Its own cookie, not the session's: Entra posts the answer back cross-site
        # (form_post), and a SameSite=Lax cookie would not come with it. It is scoped to the
        # callback, lives no longer than a sign-in may take, and the callback removes it.
        flow = c.console_sessions.new(_now(c), flow=start.flow_state)
        answer.set_cookie(value=c.console_sessions.seal(flow), **_flow_cookie_args())
        return answer
    session = current_session(request, c)
    if session is None:
        start_session(request, c)
    choices = []
    for org in c.directory.organisations_here():
        roles = [r for r in Role if role_fits_org(r, org.kind)]
        stores = c.directory.stores_of(org.id)
        choices.append({"organisation": org, "roles": roles, "stores": sorted(stores, key=lambda s: s.name)})
    return page(request, "signin_local.html", choices=choices, next_path=target, short=_short)


@router.post("/signin")
def signin_local(request: Request, c: ContainerDep, form: Annotated[FormData, Depends(posted_form)]) -> Response:
    if not _local(c):
        raise NotFound("Choosing an organisation and role is only for the local stamp; sign in with your organisation's account.")
    org = c.directory.organisation(str(form.get("organisation", "")))
    if org is None or org.home_region != c.settings.region:
        raise Invalid("Choose one of the organisations listed.", errors=[{"field": "organisation"}])
    try:
        role = Role(str(form.get("role", "")))
    except ValueError:
        raise Invalid("Choose one of the roles listed.", errors=[{"field": "role"}]) from None
    if not role_fits_org(role, org.kind):
        raise Invalid(f"{org.name} cannot hold the role {role.value}.", errors=[{"field": "role"}])
    own_stores = {s.id for s in c.directory.stores_of(org.id)}
    chosen = [str(s) for s in form.getlist("stores") if str(s) in own_stores]
    if role in (Role.RETAILER_REPORTER, Role.DEVICE_ANPR) and not chosen:
        chosen = sorted(own_stores)
    claims: dict[str, object] = {"sub": f"{org.id}-{_short(role)}", "tid": org.idp_tenant_id, "roles": [role.value], "name": role.value}
    if chosen:
        claims["stores"] = chosen
    # As at the Entra callback: no session for a person outside their organisation's ranges.
    admit_from_network(request, c, c.directory.principal_from_claims(claims), claims)
    start_session(request, c, claims=claims)
    return redirect(request, safe_next_path(str(form.get("next", "")) or None))


@router.post("/signin/callback")
async def signin_callback(request: Request, c: ContainerDep) -> Response:
    """Entra ID posts the sign-in's answer here (form_post). No CSRF token: the `state` it
    carries, matched against the signed flow cookie, is the defence."""
    signin = c.console_signin
    if _local(c) or signin is None:
        raise NotFound("Console sign-in is not configured on this stamp.")
    flow = c.console_sessions.open(request.cookies.get(FLOW_COOKIE), _now(c))
    if flow is None or not flow.flow:
        raise Unauthorized("This sign-in has expired or was started in another browser. Sign in again.")
    fields = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), max_num_fields=20))
    claims = await run_in_threadpool(signin.complete, flow.flow, fields)
    # Refused here, not on the next page: an account whose organisation this stamp does not
    # serve, or a person outside their organisation's network ranges.
    who = await run_in_threadpool(c.directory.principal_from_claims, claims)
    await run_in_threadpool(admit_from_network, request, c, who, claims)
    start_session(request, c, claims=claims)
    answer = redirect(request, safe_next_path(str(flow.flow.get("next", "/"))))
    answer.delete_cookie(FLOW_COOKIE, path=CALLBACK_PATH, secure=True, httponly=True, samesite="none")
    return answer


@router.post("/signout")
def signout(request: Request, form: Annotated[FormData, Depends(posted_form)]) -> Response:
    end_session(request)
    return redirect(request, "/signin")


@router.get("/")
def home(request: Request, who: Annotated[Principal, Depends(viewer)]) -> Response:
    links = nav_links(who)
    if links:
        return redirect(request, links[0][0])
    return page(request, "home.html")


def _callback_url(c) -> str:
    base = c.settings.region_base_urls.get(c.settings.region, "")
    return f"{base.rstrip('/')}{CALLBACK_PATH}"


def _now(c) -> int:
    return int(c.clock.now().timestamp())


def _flow_cookie_args() -> dict[str, Any]:
    return {"key": FLOW_COOKIE, "max_age": FLOW_SECONDS, "path": CALLBACK_PATH, "httponly": True, "secure": True, "samesite": "none"}
