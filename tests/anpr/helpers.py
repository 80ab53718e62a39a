"""Helpers for ANPR tests: posting reads as a camera, draining the alert queues."""

from __future__ import annotations

from datetime import datetime, timedelta

from functions import jobs
from shared.domain.timestamps import to_iso

API = "/api/v1"


def read(
    stamp, plate="WR21 XKD", *, store="nw-plymouth", camera="cam-car-park-1", ago=timedelta(minutes=1), at: datetime | None = None, **extra
):
    moment = at or stamp.clock.now() - ago
    return {
        "camera_id": camera,
        "store_id": store,
        "captured_at": to_iso(moment),
        "plate": plate,
        "confidence": 0.95,
        "direction": "towards",
        **extra,
    }


def post_reads(stamp, reads, *, org="northwind", stores=None):
    headers = stamp.auth(org, "Device.Anpr", stores=stores)
    return stamp.client.post(f"{API}/anpr/reads", json={"reads": reads}, headers=headers)


def list_vehicle(stamp, plate="WR21 XKD", *, org="northwind", role="Retailer.Investigator", **body):
    payload = {"reason": "Used in thefts of spirits at Plymouth", **body}
    return stamp.client.put(f"{API}/vehicles/{plate}", json=payload, headers=stamp.auth(org, role))


def drain(stamp, rounds: int = 5) -> int:
    """Run the ANPR queue handlers until both queues are empty (as the local runner would)."""
    jobs.load_all()
    handled = 0
    c = stamp.container
    for _ in range(rounds):
        progressed = False
        for logical in ("anpr_alerts", "webhook_deliveries"):
            for message in c.queue.receive(logical, max_messages=50, visibility_seconds=30):
                jobs.QUEUE_HANDLERS[logical](c, message.body, message.delivery_count)
                c.queue.complete(message)
                handled += 1
                progressed = True
        if not progressed:
            break
    return handled
