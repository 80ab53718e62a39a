"""ANPR alert subscription routes: subscribe to hits by store or force area, list, end, and
see the alerts sent. Thin: check who is asking, call the ANPR service, shape the answer.
"""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from functions.http.deps import ContainerDep, PageCursor, require
from functions.http.problems import AUTH_ERRORS, responses
from shared.domain.anpr import SubscriptionIn
from shared.domain.tenancy import Principal
from shared.services.anpr import SUBSCRIBERS
from shared.settings import Settings


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    stores: list[str]
    force_area: str | None
    email: list[str]
    webhook_url: str | None
    created_at: str


class SubscriptionCreatedOut(SubscriptionOut):
    secret: str | None = Field(default=None, description="Webhook signing secret: in the answer to POST only, never again")


class SubscriptionPage(BaseModel):
    items: list[SubscriptionOut]
    continuation: str | None = None


class AlertDeliveryOut(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: str
    hit_id: str
    channel: str
    status: str = Field(
        description="pending, retrying, delivered; or final: dead_lettered (retries ran out), failed (can never be sent, or could not be handled on any queue delivery: see last_error) or cancelled"
    )
    attempts: int


class DeliveryPage(BaseModel):
    items: list[AlertDeliveryOut]
    continuation: str | None = None


def router(settings: Settings) -> APIRouter:
    r = APIRouter(tags=["anpr"])
    Limit = Annotated[int, Query(ge=1, le=settings.max_page_size)]

    @r.post(
        "/alert-subscriptions",
        summary="Subscribe to ANPR hit alerts",
        description=(
            "Retailers subscribe by their stores, forces by their own force area. Channels: `email` and `webhook_url`. "
            'Webhooks are POSTed with `Vigil-Timestamp`, `Vigil-Signature: v1=<hex HMAC-SHA256 of "{timestamp}.{body}">` and '
            "`Idempotency-Key` (one per alert), retried with exponential backoff and dead-lettered after the maximum. "
            "The signing `secret` is in this answer only. See docs/webhooks.md."
        ),
        status_code=201,
        response_model=SubscriptionCreatedOut,
        responses=responses(400, *AUTH_ERRORS, 413, 422),
        response_description="The subscription, with its signing secret shown this once",
    )
    def subscribe_to_alerts(
        body: SubscriptionIn, response: Response, principal: Annotated[Principal, Depends(require(*SUBSCRIBERS))], container: ContainerDep
    ) -> Any:
        out = container.anpr.subscriptions.subscribe(principal, body)
        response.headers["Location"] = f"/api/v1/alert-subscriptions/{out['id']}"
        return out

    @r.get(
        "/alert-subscriptions",
        summary="Your organisation's alert subscriptions",
        response_model=SubscriptionPage,
        responses=responses(*AUTH_ERRORS, 422),
        response_description="One page of your organisation's subscriptions",
    )
    def list_alert_subscriptions(
        principal: Annotated[Principal, Depends(require(*SUBSCRIBERS))],
        container: ContainerDep,
        limit: Limit = settings.default_page_size,
        *,
        page: PageCursor,
    ) -> Any:
        """The hit-alert subscriptions your organisation holds and their channels."""
        found = container.anpr.subscriptions.list_subscriptions(principal, limit=limit, continuation=page.token)
        return {**found, "continuation": page.next(found["continuation"])}

    @r.delete(
        "/alert-subscriptions/{subscription_id}",
        summary="Unsubscribe",
        status_code=204,
        responses=responses(*AUTH_ERRORS, 404, 422),
        response_description="Unsubscribed: no further alerts are sent",
    )
    def unsubscribe_from_alerts(
        subscription_id: Annotated[str, Path(min_length=1, max_length=64)],
        principal: Annotated[Principal, Depends(require(*SUBSCRIBERS))],
        container: ContainerDep,
    ) -> Response:
        """Ends a hit-alert subscription: no further alerts are sent to it."""
        container.anpr.subscriptions.unsubscribe(principal, subscription_id)
        return Response(status_code=204)

    @r.get(
        "/alert-subscriptions/{subscription_id}/deliveries",
        summary="Alerts sent to a subscription and their status",
        response_model=DeliveryPage,
        responses=responses(*AUTH_ERRORS, 404, 422),
        response_description="One page of alerts sent and their status",
    )
    def list_alert_deliveries(
        subscription_id: Annotated[str, Path(min_length=1, max_length=64)],
        principal: Annotated[Principal, Depends(require(*SUBSCRIBERS))],
        container: ContainerDep,
        limit: Limit = settings.default_page_size,
        *,
        page: PageCursor,
    ) -> Any:
        """The alerts sent to one subscription and whether each was delivered."""
        found = container.anpr.subscriptions.deliveries(principal, subscription_id, limit=limit, continuation=page.token)
        return {**found, "continuation": page.next(found["continuation"])}

    return r
