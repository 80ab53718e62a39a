"""Helpers for D2P tests: reports that meet devon-and-cornwall's rules, evidence uploaded
through the API, and a queue drain that does what the local runner does (without its sleeps)."""

from __future__ import annotations

from typing import Any

from functions import jobs
from shared.services.d2p import QUEUE


def example() -> dict[str, Any]:
    """IncidentIn's documented example (read from the model: building OpenAPI per test is slow)."""
    import copy

    from shared.domain.incident_report import IncidentIn

    return copy.deepcopy(IncidentIn.model_config["json_schema_extra"]["examples"][0])


def report(stamp, *, org="northwind", role="Retailer.Investigator", **overrides) -> dict[str, Any]:
    body = example()
    body.update(overrides)
    r = stamp.client.post("/api/v1/incidents", json=body, headers=stamp.auth(org, role))
    assert r.status_code == 201, r.text
    return r.json()


# Small files whose first bytes are a real MP4 and a real JPEG (the upload sniffs them).
CCTV_CLIP = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 64
STILL_IMAGE = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8


def add_evidence(stamp, incident: dict[str, Any], *kinds: str) -> list[dict[str, Any]]:
    """Upload one file of each kind through POST /incidents/{id}/evidence, as the owner's
    investigator would; the evidence service then tells D2P that evidence arrived."""
    items = []
    for kind in kinds:
        video = kind == "cctv"
        headers = {
            **stamp.auth(incident["organisation_id"], "Retailer.Investigator"),
            "Content-Type": "video/mp4" if video else "image/jpeg",
            "X-Filename": f"{kind}.{'mp4' if video else 'jpg'}",
            "X-Evidence-Kind": kind,
        }
        r = stamp.client.post(f"/api/v1/incidents/{incident['id']}/evidence", content=CCTV_CLIP if video else STILL_IMAGE, headers=headers)
        assert r.status_code == 201, r.text
        items.append(r.json())
    return items


def eligible_report(stamp, **overrides) -> dict[str, Any]:
    incident = report(stamp, **overrides)
    add_evidence(stamp, incident, "cctv", "suspect_image")
    return incident


def drain(stamp, *, rounds: int = 20, crash=None) -> list[str]:
    """Relay the outbox and run the dispatch handler until the queue is empty.

    A handler exception abandons the message for immediate redelivery (the runner would
    wait out a backoff). `crash` is a BaseException type that stands for the worker dying:
    the message is neither completed nor abandoned, and comes back when its lock lapses.
    """
    jobs.load_all()
    handler = jobs.QUEUE_HANDLERS[QUEUE]
    container = stamp.container
    outcomes = []
    container.outbox.relay(stamp.clock.now())
    for _ in range(rounds):
        messages = container.queue.receive(QUEUE, max_messages=16, visibility_seconds=0)
        if not messages:
            break
        for m in messages:
            try:
                handler(container, m.body, m.delivery_count)
            except Exception as exc:  # noqa: BLE001 - as the runner: abandon for redelivery
                outcomes.append(type(exc).__name__)
                container.queue.abandon(m, delay_seconds=0)
            except BaseException as exc:
                if crash is not None and isinstance(exc, crash):
                    outcomes.append("crash")
                    continue
                raise
            else:
                outcomes.append("ok")
                container.queue.complete(m)
    return outcomes


def outbox_files(stamp) -> list:
    folder = stamp.data_dir / "outbox"
    return sorted(folder.glob("*.eml")) if folder.exists() else []
