"""Helpers for lookout tests: a listed northwind person of interest written to the records
(as the persons-of-interest service stores one), a lookout issued through the API, and a
drain of the lookout delivery queue that does what the local runner does."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from functions import jobs
from shared.domain.offenders import ListingStatus, PersonOfInterest
from shared.records import OFFENDERS
from shared.services.lookouts import QUEUE
from shared.services.offenders.catalogue import to_document
from shared.services.repository import body as doc_body

PREFIX = "/api/v1"
NW, CT, DC, AS = "northwind", "contoso", "devon-and-cornwall", "avon-and-somerset"
RR, RI, RA = "Retailer.Reporter", "Retailer.Investigator", "Retailer.Admin"
PO, PN = "Police.Officer", "Police.Analyst"
NAME = "Darren Kestle"
DESCRIPTION = "White male, about 30, 180 cm, slim; grey hooded top, black cap, tattoo on left hand."
IMAGE = "northwind-0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"


def list_person(stamp, offender_id: str = "nw-poi-1", org: str = NW, **overrides: Any) -> PersonOfInterest:
    """A listed person of interest of `org`, in force for months (review in 90 days)."""
    now = stamp.clock.now()
    fields: dict[str, Any] = {
        "id": offender_id,
        "organisation_id": org,
        "name": NAME,
        "aliases": ["Daz"],
        "date_of_birth": date(1994, 5, 17),
        "description": DESCRIPTION,
        "image_evidence_ids": [IMAGE],
        "incident_ids": [],
        "plates": ["WR21XKD"],
        "status": ListingStatus.LISTED,
        "listing_reason": "Three thefts and a threat to staff in a month",
        "listed_by": f"{org}-investigator",
        "listed_at": now - timedelta(days=10),
        "review_at": now + timedelta(days=90),
        "expires_at": now + timedelta(days=365),
    }
    fields.update(overrides)
    profile = PersonOfInterest(**fields)
    with stamp.container.records.unit_of_work() as uow:
        existing = uow.get(OFFENDERS.name, org, offender_id)
        if existing is None:
            uow.insert(OFFENDERS.name, org, to_document(profile))
        else:
            uow.replace(OFFENDERS.name, org, to_document(profile), if_match=existing["_etag"])
    return profile


def set_status(stamp, offender_id: str, status: ListingStatus, org: str = NW) -> None:
    with stamp.container.records.unit_of_work() as uow:
        doc = uow.get(OFFENDERS.name, org, offender_id)
        body = doc_body(doc)
        body["status"] = status.value
        uow.replace(OFFENDERS.name, org, body, if_match=doc["_etag"])


def lookout_body(stamp, **overrides: Any) -> dict[str, Any]:
    """A lookout for nw-poi-1 to the stores within 80 km of nw-plymouth (Exeter is about 60 km away), for a week."""
    body: dict[str, Any] = {
        "offender_id": "nw-poi-1",
        "reason": "Threatened staff with a knife at Northwind Plymouth; do not approach, call 999.",
        "expires_at": (stamp.clock.now() + timedelta(days=7)).isoformat(),
        "near_store_id": "nw-plymouth",
        "within_km": 80,
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def issue(stamp, *, org: str = NW, role: str = RI, **overrides: Any) -> dict[str, Any]:
    r = stamp.client.post(f"{PREFIX}/lookouts", json=lookout_body(stamp, **overrides), headers=stamp.auth(org, role))
    assert r.status_code == 201, r.text
    return r.json()


def drain(stamp) -> list[str]:
    """Relay the outbox and run the lookout delivery handler until its queue is empty; the outcomes."""
    jobs.load_all()
    handler = jobs.QUEUE_HANDLERS[QUEUE]
    container = stamp.container
    container.outbox.relay(stamp.clock.now(), batch=5000)
    outcomes = []
    while messages := container.queue.receive(QUEUE, max_messages=64, visibility_seconds=0):
        for m in messages:
            handler(container, m.body, m.delivery_count)
            container.queue.complete(m)
            outcomes.append(f"{m.body['channel']}:{m.body['store_id']}")
    return outcomes


def store_lookouts(stamp, store: str, org: str = NW, role: str = RR) -> list[dict[str, Any]]:
    r = stamp.client.get(f"{PREFIX}/lookouts", params={"store": store}, headers=stamp.auth(org, role))
    assert r.status_code == 200, r.text
    return r.json()["items"]


def redacted_still(stamp) -> tuple[str, str]:
    """A suspect photo uploaded to a northwind report and its redacted copy: (original, redacted) ids."""
    import cv2
    import numpy as np

    ok, png = cv2.imencode(".png", np.full((192, 256, 3), 200, dtype=np.uint8))
    inv = stamp.auth(NW, RI)
    r = stamp.client.post(f"{PREFIX}/incidents", json=stamp.example("IncidentIn"), headers=inv)
    assert r.status_code == 201, r.text
    headers = {**inv, "Content-Type": "image/png", "X-Filename": "suspect.png", "X-Evidence-Kind": "suspect_image"}
    original = stamp.client.post(f"{PREFIX}/incidents/{r.json()['id']}/evidence", content=png.tobytes(), headers=headers)
    assert original.status_code == 201, original.text
    body = {"method": "black_box", "regions": [{"x": 10, "y": 10, "width": 20, "height": 20}], "reason": "Bystander's face"}
    redacted = stamp.client.post(f"{PREFIX}/evidence/{original.json()['id']}/redactions", json=body, headers=inv)
    assert redacted.status_code == 201, redacted.text
    return original.json()["id"], redacted.json()["id"]
