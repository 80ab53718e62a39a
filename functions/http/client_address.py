"""Who is calling from where: the client address of a request, read only from what the
stamp's trusted side says (docs/security.md, "Network ranges"), and the network-range check
every signed-in request passes, API and console alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.requests import Request

from shared.bootstrap import Container
from shared.domain.network import UntrustedProxy, parse_address
from shared.domain.tenancy import Principal
from shared.settings import Settings

# Set by Front Door on every request it forwards (overwriting any a client sent): the
# profile's id, and the address of the TCP connection Front Door took the request on.
FRONT_DOOR_ID_HEADER = "x-azure-fdid"
FRONT_DOOR_SOCKET_HEADER = "x-azure-socketip"


def client_address(request: Request, settings: Settings) -> str | None:
    """The caller's address as the trusted side gives it, normalised; None when it gives none.

    In "socket" mode the connection's peer, whatever headers say: X-Forwarded-For and
    X-Azure-* sent by a client are never read. In "front-door" mode Front Door's socket
    address, and only on a request carrying this stamp's Front Door id (403 otherwise):
    X-Azure-ClientIP and the left of X-Forwarded-For carry what the client claimed."""
    if settings.client_address_from == "front-door":
        sent_id = request.headers.get(FRONT_DOOR_ID_HEADER, "").strip().lower()
        if not settings.front_door_id or sent_id != settings.front_door_id.strip().lower():
            raise UntrustedProxy("This stamp answers signed-in requests only through its Front Door; this request did not come through it.")
        raw = request.headers.get(FRONT_DOOR_SOCKET_HEADER)
    else:
        raw = request.client.host if request.client else None
    parsed = parse_address(raw)
    return str(parsed) if parsed is not None else None


def admit_from_network(request: Request, c: Container, principal: Principal, claims: Mapping[str, Any]) -> None:
    """403 `outside-network` (audited) when `principal`'s organisation keeps its people, or
    its devices and service principals, to network ranges and this request came from
    outside them. The one check both the API's principal and the console's viewer pass,
    right after the directory maps the caller's claims."""
    address = client_address(request, c.settings)
    request.state.client_address = address
    c.network.gate.admit(principal, claims, address, f"{request.method} {request.url.path}")
