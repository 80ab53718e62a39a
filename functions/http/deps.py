"""Request dependencies: the container, who is asking, and role checks."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import Depends, Request

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


def require(*roles: Role) -> Callable[..., Principal]:
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
