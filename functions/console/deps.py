"""Who is looking at a console page, and the checks every form post passes.

The viewer is the principal the API would build for the same person: their session holds
the claims of their sign-in, and `directory.principal_from_claims` maps them, so the
same roles and organisation decide what a page shows as what the API answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Depends, Request
from starlette.datastructures import FormData

from functions.http.client_address import admit_from_network
from functions.http.deps import container
from shared.adapters.console_sessions import COOKIE, CSRF_FIELD, Session
from shared.bootstrap import Container
from shared.domain.errors import Forbidden, Invalid
from shared.domain.tenancy import Principal, Role

# The idle timeout slides: the cookie is re-sealed at most this often, not on every request.
_TOUCH_EVERY_SECONDS = 60
# A console form is a few fields; a post with more is not one of ours.
_MAX_FORM_FIELDS = 500
FORM_MEDIA = "application/x-www-form-urlencoded"


class SignInNeeded(Exception):
    """The page needs a signed-in person: the browser goes to sign-in and comes back to `next_path`."""

    def __init__(self, next_path: str):
        super().__init__(next_path)
        self.next_path = next_path


def _now(c: Container) -> int:
    return int(c.clock.now().timestamp())


def current_session(request: Request, c: Container) -> Session | None:
    """The browser's session (signed in or anonymous), or None; opened once per request."""
    if hasattr(request.state, "console_session"):
        return request.state.console_session
    now = _now(c)
    session = c.console_sessions.open(request.cookies.get(COOKIE), now)
    if session is not None and now - session.seen >= _TOUCH_EVERY_SECONDS:
        session = c.console_sessions.touched(session, now)
        request.state.console_session_dirty = True
    request.state.console_session = session
    return session


def start_session(request: Request, c: Container, *, claims: dict[str, Any] | None = None, flow: dict[str, Any] | None = None) -> Session:
    """A new session on this response (a fresh CSRF token): at sign-in, and before it for the sign-in form."""
    session = c.console_sessions.new(_now(c), claims=claims, flow=flow)
    request.state.console_session = session
    request.state.console_session_dirty = True
    request.state.console_session_cleared = False
    return session


def end_session(request: Request) -> None:
    """Sign-out: the cookie is removed on this response."""
    request.state.console_session = None
    request.state.console_session_cleared = True


def viewer(request: Request, c: Container = Depends(container)) -> Principal:
    """The signed-in person behind a page, as the API would see them; otherwise to sign-in."""
    session = current_session(request, c)
    if session is None or not session.signed_in:
        query = request.url.query
        raise SignInNeeded(request.url.path + (f"?{query}" if query else ""))
    p = c.directory.principal_from_claims(session.claims)
    admit_from_network(request, c, p, session.claims)
    # Charged as the API charges a token's writes: one budget per person, whichever door.
    c.write_quota.charge(p, request.method)
    request.state.console_viewer = p
    return p


def require_page(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A page dependency admitting people holding any of `roles` (403 page otherwise)."""

    async def check(p: Principal = Depends(viewer)) -> Principal:
        if not p.has(*roles):
            raise Forbidden(f"This page needs one of the roles: {', '.join(r.value for r in roles)}.")
        return p

    check.admits = frozenset(roles)  # type: ignore[attr-defined]
    return check


async def posted_form(request: Request, c: Container = Depends(container)) -> FormData:
    """A console form's fields, once its CSRF token is checked against the session's.

    Refused: a post from a page this session did not render (403), anything but a
    URL-encoded form (415), and more fields than any console form has (422)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != FORM_MEDIA:
        raise UnsupportedForm(f"Send the form as {FORM_MEDIA}.")
    raw = await request.body()
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, max_num_fields=_MAX_FORM_FIELDS, strict_parsing=False)
    except (UnicodeDecodeError, ValueError):
        raise Invalid("The form could not be read: send it again from the page.", errors=[{"field": "body"}]) from None
    form = FormData([(k, v) for k, v in pairs])
    session = current_session(request, c)
    if session is None or not session.csrf_matches(form.get(CSRF_FIELD)):  # type: ignore[arg-type]
        raise Forbidden("This form has expired or did not come from this Vigil page. Go back, reload the page and send it again.")
    return form


class UnsupportedForm(Invalid):
    status, slug, title = 415, "unsupported-media-type", "Unsupported media type"
