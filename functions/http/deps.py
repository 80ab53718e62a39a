"""Request dependencies: the container, who is asking, and role checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Header, Query, Request

from functions.http.client_address import admit_from_network
from functions.http.observability import note_ids
from shared.adapters.console_sessions import COOKIE, CSRF_HEADER
from shared.adapters.page_tokens import PageTokens, binding
from shared.bootstrap import Container
from shared.domain.errors import Forbidden, Invalid, Unauthorized
from shared.domain.tenancy import Principal, Role

# Where the API is mounted: routes name their own resources' URLs (Location) with it.
API_PREFIX = "/api/v1"
# Methods that change nothing: a console session may use them without a CSRF header.
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# `container` and the role check are async on purpose: FastAPI runs each sync dependency
# in the threadpool, and a hop per trivial dependency costs more than the work itself.
# `principal` stays sync: verifying a token may fetch signing keys (Entra) and read the
# directory, which must not block the event loop.


# POSTs that write nothing (a report checked, not recorded): no more a write than a read,
# so a dry run of a long history does not spend the budget its import will need.
UNCHARGED_POSTS = frozenset({f"{API_PREFIX}/incidents/validate"})


async def container(request: Request) -> Container:
    # A host may bind a container per request on the scope (tests run many stamps on one app).
    bound = request.scope.get("state", {}).get("container")
    return bound if bound is not None else request.app.state.container


def principal(request: Request, c: Container = Depends(container)) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if not header and COOKIE in request.cookies:
        claims = _console_claims(request, c)
    elif scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send Authorization: Bearer <token>.")
    else:
        claims = c.token_verifier.verify(token.strip())
    p = c.directory.principal_from_claims(claims)
    # Before anything is charged or read: a caller outside its organisation's ranges gets nothing.
    admit_from_network(request, c, p, claims)
    note_ids(organisation=p.organisation_id)
    # Every write route needs a token, and this runs once per request: the one place a
    # write is charged to its principal (429 past the budget, before the handler runs).
    if request.url.path not in UNCHARGED_POSTS:
        c.write_quota.charge(p, request.method)
    return p


def _console_claims(request: Request, c: Container) -> dict[str, Any]:
    """The claims of a console session calling the API from its own pages' scripts (uploads).

    A cookie rides along with any request the browser makes, so a write on the strength of
    a cookie needs the session's CSRF token in a header too, which another site's page
    cannot read or set."""
    session = c.console_sessions.open(request.cookies.get(COOKIE), int(c.clock.now().timestamp()))
    if session is None or not session.signed_in:
        raise Unauthorized("The console session has ended: sign in again, or send Authorization: Bearer <token>.")
    if request.method not in SAFE_METHODS and not session.csrf_matches(request.headers.get(CSRF_HEADER)):
        raise Forbidden(f"A write made with the console's session needs its CSRF token in the {CSRF_HEADER} header.")
    return session.claims


def require(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting callers holding any of `roles`."""

    async def check(p: Principal = Depends(principal)) -> Principal:
        if not p.has(*roles):
            raise Forbidden(f"This needs one of the roles: {', '.join(r.value for r in roles)}.")
        return p

    # The OpenAPI document reads the roles from here, so what it says a route admits is
    # what the route enforces (_document_roles in app.py).
    check.admits = frozenset(roles)  # type: ignore[attr-defined]
    return check


def admitted_roles(dependant: Any) -> frozenset[Role] | None:
    """The roles a route admits, from its `require` dependencies (every one must pass):
    every role when it only needs a token, None when it needs none (public routes, or
    routes signed another way)."""
    admitted: frozenset[Role] | None = None
    signed_in = False
    stack = [dependant]
    while stack:
        current = stack.pop()
        signed_in = signed_in or current.call is principal
        roles = getattr(current.call, "admits", None)
        if roles is not None:
            admitted = roles if admitted is None else admitted & roles
        stack.extend(current.dependencies)
    if admitted is None and signed_in:
        return frozenset(Role)
    return admitted


def require_offset(*times: tuple[str, datetime | None]) -> None:
    """422 naming the first (query parameter, time) given without a UTC offset: a naive time
    cannot be compared with stored ones."""
    for name, value in times:
        if value is not None and value.tzinfo is None:
            raise Invalid(f"{name} needs a UTC offset, e.g. 2026-11-01T00:00:00+00:00.", errors=[{"field": name}])


# ---- Annotated aliases: one spelling of each common parameter across the routes ------------


def bare_etag(value: str | None) -> str | None:
    """An If-Match or ETag header as the stored version: quotes and a weak `W/` removed.
    Parsed here, at the edge, so services only ever see stored ETags."""
    if value is None:
        return None
    return value.strip().removeprefix("W/").strip('"') or None


async def if_match(
    value: Annotated[str | None, Header(alias="If-Match", max_length=200, description="The ETag you last read")] = None,
) -> str | None:
    return bare_etag(value)


def etag_header(etag: str) -> dict[str, str]:
    """The ETag response header for a stored version."""
    return {"ETag": f'"{etag}"'}


ContainerDep = Annotated[Container, Depends(container)]
IfMatch = Annotated[str | None, Depends(if_match)]
IdempotencyKey = Annotated[str | None, Header(max_length=200, description="Retry-safe key: a replay returns the first answer")]


@dataclass(frozen=True)
class Paging:
    """A listing's paging: the store's token inside the continuation the client sent (None
    on the first page), and the sealing of the next one to the same listing."""

    token: str | None
    _tokens: PageTokens
    _bound_to: bytes

    def next(self, store_token: str | None) -> str | None:
        """The continuation to give the client for the store's `store_token` (None on the last page)."""
        return self._tokens.seal(store_token, self._bound_to)


async def paging(
    request: Request,
    p: Principal = Depends(principal),
    c: Container = Depends(container),
    continuation: Annotated[
        str | None, Query(max_length=4000, description="The continuation token of the previous page of this same listing, unchanged")
    ] = None,
) -> Paging:
    # Bound to route, caller and filters: a token from another listing, organisation or
    # user, or edited by hand, is 422 before the store parses it (docs/limits.md).
    bound_to = binding(f"{request.method} {request.url.path}", p.organisation_id, p.user_id, request.query_params.multi_items())
    return Paging(token=c.page_tokens.open(continuation, bound_to), _tokens=c.page_tokens, _bound_to=bound_to)


PageCursor = Annotated[Paging, Depends(paging)]


_KNOWN_QUERY: dict[int, tuple[object, frozenset[str]]] = {}


def _query_names(route: object) -> frozenset[str]:
    """The query parameters `route` declares (its own and its dependencies'), by their wire names."""
    cached = _KNOWN_QUERY.get(id(route))
    if cached is not None and cached[0] is route:
        return cached[1]
    found: set[str] = set()
    stack = [getattr(route, "dependant", None)]
    while stack:
        dependant = stack.pop()
        if dependant is None:
            continue
        found.update(p.alias for p in dependant.query_params)
        stack.extend(dependant.dependencies)
    names = frozenset(found)
    _KNOWN_QUERY[id(route)] = (route, names)
    return names


async def known_query(request: Request) -> None:
    """422 naming each query parameter the route does not take: a misspelt or unsupported
    filter (`?store_id=`) must not be silently ignored and answer everything."""
    # Console pages take links as people share them: only the API is strict.
    if not request.scope.get("query_string") or not request.url.path.startswith(API_PREFIX):
        return
    known = _query_names(request.scope.get("route"))
    unknown = sorted({name for name in request.query_params if name not in known})
    if unknown:
        takes = ", ".join(sorted(known)) or "no query parameters"
        raise Invalid(
            f"Unknown query parameter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)[:300]}. This route takes: {takes}.",
            errors=[{"field": f"query.{name[:100]}", "message": "unknown query parameter"} for name in unknown[:20]],
        )
