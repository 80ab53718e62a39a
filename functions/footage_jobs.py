"""Footage-request queue handler and timer, as plain functions over the footage service
(called by the Azure triggers, the local runner and `make job`)."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from functions.jobs import queue_handler, timer
from shared.bootstrap import Container
from shared.ports import JobReport

log = logging.getLogger("vigil.footage")


@queue_handler("footage_mail")
def footage_mail(container: Container, body: dict[str, Any], delivery_count: int) -> None:
    """Send one email about a footage request to its store. A transient mail failure
    raises, so the queue redelivers with backoff and dead-letters after the maximum."""
    outcome = container.footage.mail.handle(body)
    log.info("footage email handled", extra={"footage_request_id": body.get("request_id"), "outcome": outcome, "delivery": delivery_count})


@timer("footage-reminders", "0 */15 * * * *")
def footage_reminders(container: Container, as_of: datetime) -> JobReport:
    """Remind stores a day before a footage request's deadline (once) and mark overdue ones."""
    return container.footage.reminders.run(as_of)
