"""Request dependencies: the container, who is asking, and role checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, Query, Request

from shared.bootstrap import Container
from shared.domain.errors import Forbidden, Invalid, Unauthorized
from shared.domain.tenancy import Principal, Role

# `container` and the role check are async on purpose: FastAPI runs each sync dependency
# in the threadpool, and a hop per trivial dependency costs more than the work itself.
# `principal` stays sync: verifying a token may fetch signing keys (Entra) and read the
# directory, which must not block the event loop.


async def container(request: Request) -> Container:
    # A host may bind a container per request on the scope (tests run many stamps on one app).
    bound = request.scope.get("state", {}).get("container")
    return bound if bound is not None else request.app.state.container


def principal(request: Request, c: Container = Depends(container)) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Send Authorization: Bearer <token>.")
    claims = c.token_verifier.verify(token.strip())
    return c.directory.principal_from_claims(claims)


def require(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting callers holding any of `roles`."""

    async def check(p: Principal = Depends(principal)) -> Principal:
        if not p.has(*roles):
            raise Forbidden(f"This needs one of the roles: {', '.join(r.value for r in roles)}.")
        return p

    return check


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
Continuation = Annotated[str | None, Query(max_length=2000, description="The continuation token of the previous page")]
