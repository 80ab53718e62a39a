"""Building intelligence scenarios through the API: incidents naming persons and vehicles,
and person-of-interest listings put straight into the records (the listing routes are
another capability's)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from shared.domain.offenders import PersonOfInterest
from shared.records import OFFENDERS
from shared.services.offenders.catalogue import to_document

API = "/api/v1"
DC = "devon-and-cornwall"
PURPOSE = {"purpose": "Prolific offender review, op TILLER"}


def report(stamp, org: str = "northwind", *, offender_ids=(None,), plates=("WR21 XKD",), **changes: Any) -> dict[str, Any]:
    """Report an incident naming one person per entry of `offender_ids` (None: a new person);
    answers the stored incident as its investigator reads it."""
    body = stamp.example("IncidentIn")
    if org == "contoso":
        body["store_id"] = "ct-bristol"
    body["persons"] = [{"role": "suspect", **({"offender_id": o} if o else {})} for o in offender_ids]
    body["vehicles"] = [{"plate": p} for p in plates]
    body.update(changes)
    headers = stamp.auth(org, "Retailer.Investigator")
    r = stamp.client.post(f"{API}/incidents", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return stamp.client.get(f"{API}/incidents/{r.json()['id']}", headers=headers).json()


def person_ids(incident: dict[str, Any]) -> list[str]:
    return [p["offender_id"] for p in incident["persons"]]


def list_person(stamp, org: str, person_id: str, **overrides: Any) -> PersonOfInterest:
    now = stamp.clock.now()
    fields: dict[str, Any] = {
        "id": person_id,
        "organisation_id": org,
        "name": "Jamie Doyle",
        "date_of_birth": date(1990, 4, 12),
        "description": "Slim, about 180 cm, grey hoodie, red rucksack",
        "listing_reason": "Repeat theft with violence at two stores",
        "listed_by": f"{org}-investigator",
        "listed_at": now,
        "review_at": now + timedelta(days=90),
        "expires_at": now + timedelta(days=365),
    }
    fields.update(overrides)
    p = PersonOfInterest.model_validate(fields)
    with stamp.container.records.unit_of_work() as uow:
        doc = to_document(p)
        if uow.get(OFFENDERS.name, org, person_id) is None:
            uow.insert(OFFENDERS.name, org, doc)
        else:
            uow.upsert(OFFENDERS.name, org, doc)
    return p
