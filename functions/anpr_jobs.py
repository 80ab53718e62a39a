"""ANPR queue handlers and the expiry timer: plain functions over the ANPR service,
called by the Azure triggers, the local runner and `make job JOB=anpr-expiry AS_OF=...`."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from functions.jobs import queue_handler, timer
from shared.bootstrap import Container
from shared.ports import JobReport

log = logging.getLogger("vigil.anpr.jobs")


@queue_handler("anpr_alerts")
def anpr_alert(container: Container, body: dict[str, Any], delivery_count: int) -> None:
    """A new hit: make one delivery per subscriber and channel, queue the webhooks."""
    tenant, hit_id = body.get("tenant"), body.get("hit_id")
    if not isinstance(tenant, str) or not isinstance(hit_id, str):
        # Can never succeed: record and complete rather than burn deliveries.
        log.error("malformed ANPR alert message dropped")
        return
    made = container.anpr.alerts.fan_out(tenant, hit_id)
    log.info("anpr alert fanned out", extra={"hit_id": hit_id, "deliveries": made})


@queue_handler("webhook_deliveries")
def webhook_delivery(container: Container, body: dict[str, Any], delivery_count: int) -> None:
    """One signed attempt; the service schedules the next attempt itself (exponential backoff),
    and marks the delivery failed when this raises on the queue's last delivery of the message."""
    tenant, delivery_id = body.get("tenant"), body.get("delivery_id")
    if not isinstance(tenant, str) or not isinstance(delivery_id, str):
        log.error("malformed webhook delivery message dropped")
        return
    status = container.anpr.alerts.handle(tenant, delivery_id, delivery_count)
    log.info("webhook attempt", extra={"delivery_id": delivery_id, "status": status})


@timer("anpr-expiry", "0 */15 * * * *")
def anpr_expiry(container: Container, as_of: datetime) -> JobReport:
    """Delete reads past their expiry, in bounded batches, through the expiry index."""
    return container.anpr.expiry.expire(as_of)
