"""Azure trigger bindings: each timer and Service Bus queue calls the same plain
function the local runner calls (functions/jobs.py). Nothing else lives here."""

from __future__ import annotations

import json
import logging
import random
from typing import Any

import azure.functions as func

from functions import jobs
from shared.adapters.azure.service_bus import prior_deliveries
from shared.bootstrap import default_container
from shared.names import QUEUES, SERVICE_BUS_CONNECTION, TIMERS, binding, queue_setting

log = logging.getLogger("vigil.triggers")

blueprint = func.Blueprint()


def _timer_function(name: str):
    def run(timer: func.TimerRequest) -> None:
        container = default_container()
        jobs.run_job(container, name, container.clock.now())

    run.__name__ = "timer_" + name.replace("-", "_")
    return run


def _read_body(msg: func.ServiceBusMessage) -> dict[str, Any] | None:
    """The message's JSON object, or None when it is not one (it can never be handled)."""
    try:
        body = json.loads(msg.get_body().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    return body if isinstance(body, dict) else None


def _queue_function(logical: str):
    def run(msg: func.ServiceBusMessage) -> None:
        container = default_container()
        # A retry's copy is a new message: the deliveries before it travel with it.
        deliveries = prior_deliveries(msg.application_properties) + int(msg.delivery_count or 1)
        message_id = str(msg.message_id or "")
        body = _read_body(msg)
        if body is None:
            # Raising would only burn deliveries on what cannot succeed. The body is not
            # kept: nothing can replay it, and what it holds is unknown.
            container.dead_letters.record(
                logical, message_id=message_id, body=None, deliveries=deliveries, reason="unreadable: the body is not a JSON object"
            )
            return
        try:
            jobs.QUEUE_HANDLERS[logical](container, body, deliveries)
        except Exception as exc:
            # Raising would make Service Bus redeliver at once, ten times in seconds, and
            # the standard binding cannot dead-letter: settle by the one policy instead
            # (jobs.after_failure), then return so the host completes this delivery.
            decision = jobs.after_failure(container.settings, logical, deliveries, exc, jitter=random.random())
            if not decision.retry:
                # If this write fails it raises: the queue redelivers, and dead-letters the
                # message itself at its maxDeliveryCount.
                container.dead_letters.record(logical, message_id=message_id, body=body, deliveries=deliveries, reason=decision.reason)
                return
            original = message_id.split("#retry")[0]
            container.queue.send(
                logical,
                body,
                message_id=f"{original}#retry{deliveries}",
                delay_seconds=decision.delay_seconds,
                prior_deliveries=deliveries,
            )
            log.warning(
                "delivery failed; retry scheduled",
                extra={
                    "queue": logical,
                    "message_id": msg.message_id,
                    "delivery": deliveries,
                    "delay_seconds": round(decision.delay_seconds, 1),
                },
            )

    run.__name__ = "queue_" + logical
    return run


def register_all(bp: func.Blueprint) -> None:
    jobs.load_all()
    for name in sorted(jobs.TIMER_JOBS):
        fn = _timer_function(name)
        bp.function_name(fn.__name__)(
            bp.timer_trigger(
                arg_name="timer", schedule=binding(TIMERS[name]), run_on_startup=False, use_monitor=jobs.TIMER_JOBS[name].use_monitor
            )(fn)
        )
    for logical in sorted(jobs.QUEUE_HANDLERS):
        fn = _queue_function(logical)
        bp.function_name(fn.__name__)(
            bp.service_bus_queue_trigger(arg_name="msg", queue_name=binding(queue_setting(logical)), connection=SERVICE_BUS_CONNECTION)(fn)
        )


register_all(blueprint)
assert set(jobs.QUEUE_HANDLERS) <= set(QUEUES)
