"""Evidence of an incident naming a minor: the owner and a force it was dispatched to see
it; a force that sees the incident only through sharing gets a 404 on every evidence route."""

from __future__ import annotations

import pytest

from tests.evidence.conftest import INVESTIGATOR, POLICE, PURPOSE, headers, upload

MINOR = [{"role": "suspect", "name": "Jo Bloggs", "date_of_birth": "2011-03-04"}]


def _incident(stamp, persons):
    body = stamp.example("IncidentIn") | {"persons": persons}
    r = stamp.client.post("/api/v1/incidents", json=body, headers=headers(stamp))
    assert r.status_code == 201, r.text
    return r.json()


def _routes(incident_id: str, evidence_id: str) -> list[tuple[str, str]]:
    return [
        ("GET", f"/api/v1/incidents/{incident_id}/evidence"),
        ("GET", f"/api/v1/evidence/{evidence_id}"),
        ("GET", f"/api/v1/evidence/{evidence_id}/content"),
        ("GET", f"/api/v1/evidence/{evidence_id}/custody"),
        ("POST", f"/api/v1/evidence/{evidence_id}/verify"),
        ("GET", f"/api/v1/evidence/{evidence_id}/face-proposals"),
        ("GET", f"/api/v1/incidents/{incident_id}/package"),
    ]


def _call(stamp, route, who):
    method, url = route
    return stamp.client.request(method, url, params=PURPOSE, headers=headers(stamp, who))


def _dispatch_to(stamp, force: str, incident) -> None:
    with stamp.container.records.unit_of_work() as uow:
        uow.upsert(
            "access_grants",
            force,
            {"id": incident["id"], "owner_org": "northwind", "incident_id": incident["id"], "reason": "d2p", "dispatch_id": "d-test"},
        )


@pytest.fixture
def stamp(ev):
    return ev


def test_minor_evidence_hidden_from_a_sharing_force(stamp):
    incident = _incident(stamp, MINOR)
    assert incident["has_minor"] is True
    item = upload(stamp, incident["id"]).json()
    # The force still sees the incident (persons withheld) ...
    police = headers(stamp, POLICE)
    assert stamp.client.get(f"/api/v1/incidents/{incident['id']}", params=PURPOSE, headers=police).status_code == 200
    # ... but none of its evidence: the same 404 as an item or incident that does not exist.
    absent = _routes("no-such-incident", "northwind-" + "0" * 32)
    for route, missing in zip(_routes(incident["id"], item["id"]), absent, strict=True):
        r = _call(stamp, route, POLICE)
        assert r.status_code == 404, (route, r.status_code, r.text)
        assert r.json()["title"] == _call(stamp, missing, POLICE).json()["title"]
    # The owner still reads all of it (422: face proposals need an image, this is video).
    for route in _routes(incident["id"], item["id"]):
        r = _call(stamp, route, INVESTIGATOR)
        assert r.status_code in (200, 422), (route, r.status_code, r.text)


def test_minor_evidence_served_to_the_force_it_was_dispatched_to(stamp):
    incident = _incident(stamp, MINOR)
    item = upload(stamp, incident["id"]).json()
    _dispatch_to(stamp, "devon-and-cornwall", incident)
    for route in _routes(incident["id"], item["id"]):
        r = _call(stamp, route, POLICE)
        assert r.status_code in (200, 422), (route, r.status_code, r.text)


def test_adult_only_evidence_still_shared(stamp):
    incident = _incident(stamp, [{"role": "suspect", "name": "Adult Person"}])
    item = upload(stamp, incident["id"]).json()
    for route in _routes(incident["id"], item["id"]):
        r = _call(stamp, route, POLICE)
        assert r.status_code in (200, 422), (route, r.status_code, r.text)
