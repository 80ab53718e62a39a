"""Helpers for footage-request tests: a request made through the API and a drain of the
footage email queue that does what the local runner does."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from functions import jobs
from shared.services.footage import QUEUE

DC = "devon-and-cornwall"
PREFIX = "/api/v1"


def request_body(stamp, **overrides) -> dict[str, Any]:
    """A request for yesterday's half hour at nw-plymouth, due in a week (times from the stamp's clock)."""
    now = stamp.clock.now()
    body = {
        "crime_reference": "DC/2026/118734",
        "store_id": "nw-plymouth",
        "window_start": (now - timedelta(days=1)).isoformat(),
        "window_end": (now - timedelta(days=1) + timedelta(minutes=30)).isoformat(),
        "deadline": (now + timedelta(days=7)).isoformat(),
        "wanted": "Camera over the tills, 14:00-14:30.",
    }
    body.update(overrides)
    return body


def make_request(stamp, *, force: str = DC, role: str = "Police.Officer", **overrides) -> dict[str, Any]:
    r = stamp.client.post(f"{PREFIX}/footage-requests", json=request_body(stamp, **overrides), headers=stamp.auth(force, role))
    assert r.status_code == 201, r.text
    return r.json()


def drain_mail(stamp) -> list[str]:
    """Relay the outbox and run the footage email handler until its queue is empty."""
    jobs.load_all()
    handler = jobs.QUEUE_HANDLERS[QUEUE]
    container = stamp.container
    container.outbox.relay(stamp.clock.now())
    handled = []
    while messages := container.queue.receive(QUEUE, max_messages=16, visibility_seconds=0):
        for m in messages:
            handler(container, m.body, m.delivery_count)
            container.queue.complete(m)
            handled.append(m.body["kind"])
    return handled


def mails(stamp) -> list[dict[str, str]]:
    """Every email in the local outbox folder: its recipient, subject and plain text."""
    import email
    from email import policy

    out = []
    for path in stamp.container.mail.messages():
        msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        out.append({"to": str(msg["To"]), "subject": str(msg["Subject"]), "text": msg.get_body(preferencelist=("plain",)).get_content()})
    return out
