"""Lookout queue handler, as a plain function over the lookout service (called by the
Azure triggers, the local runner and `make job`)."""

from __future__ import annotations

import logging
from typing import Any

from functions.jobs import queue_handler
from shared.bootstrap import Container

log = logging.getLogger("vigil.lookouts")


@queue_handler("lookout_deliveries")
def lookout_delivery(container: Container, body: dict[str, Any], delivery_count: int) -> None:
    """Send one lookout to one store over one channel. A transient failure raises, so the
    queue redelivers with backoff and dead-letters after the maximum."""
    outcome = container.lookouts.delivery.handle(body)
    log.info("lookout delivery handled", extra={"lookout_id": body.get("lookout_id"), "outcome": outcome, "delivery": delivery_count})
