"""Azure trigger bindings: each timer and Service Bus queue calls the same plain
function the local runner calls (functions/jobs.py). Nothing else lives here."""

from __future__ import annotations

import json
import logging
import random

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


def _queue_function(logical: str):
    def run(msg: func.ServiceBusMessage) -> None:
        try:
            body = json.loads(msg.get_body().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            # A message that can never parse will never succeed: log and complete it
            # rather than burn its deliveries: raising would only retry what cannot succeed.
            log.error("unreadable message dropped", extra={"queue": logical, "message_id": msg.message_id})
            return
        container = default_container()
        # A retry's copy is a new message: the deliveries before it travel with it.
        deliveries = prior_deliveries(msg.application_properties) + int(msg.delivery_count or 1)
        try:
            jobs.QUEUE_HANDLERS[logical](container, body, deliveries)
        except Exception as exc:
            # Raising would make Service Bus redeliver at once, ten times in seconds: back
            # off instead, as the local runner does (jobs.after_failure), by scheduling a
            # copy and letting the host complete this delivery.
            decision = jobs.after_failure(container.settings, logical, deliveries, exc, jitter=random.random())
            extra = {"queue": logical, "message_id": msg.message_id, "delivery": deliveries}
            if not decision.retry:
                # The standard binding cannot dead-letter by itself: raising hands the
                # message back, and the queue dead-letters it at its maxDeliveryCount.
                log.error("delivery failed for good: %s", decision.reason, extra=extra)
                raise
            original = str(msg.message_id or "").split("#retry")[0]
            container.queue.send(
                logical,
                body,
                message_id=f"{original}#retry{deliveries}",
                delay_seconds=decision.delay_seconds,
                prior_deliveries=deliveries,
            )
            log.warning("delivery failed; retry scheduled", extra={**extra, "delay_seconds": round(decision.delay_seconds, 1)})

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
