"""POST /incidents/validate: the rules of reporting, with nothing recorded, audited or
charged to the write budget."""

from __future__ import annotations

from shared.records import AUDIT, IDEMPOTENCY, INCIDENTS, OUTBOX

API = "/api/v1"


def stored(stamp) -> dict[str, int]:
    with stamp.container.records.read_only() as uow:
        return {c: uow.count(c, ["northwind"]) for c in (INCIDENTS.name, AUDIT.name, IDEMPOTENCY.name, OUTBOX.name)}


def test_a_report_that_would_be_accepted_is_200_and_nothing_is_stored(stamp):
    before = stored(stamp)
    auth = {**stamp.auth("northwind", "Retailer.Reporter"), "Idempotency-Key": "dry-run-1"}
    body = {**stamp.example("IncidentIn"), "external_reference": "LP-2019-1"}
    answer = stamp.client.post(f"{API}/incidents/validate", json=body, headers=auth)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"valid": True}
    assert stored(stamp) == before


def test_the_refusals_are_those_of_reporting_and_nothing_is_stored(stamp):
    before = stored(stamp)
    auth = stamp.auth("northwind", "Retailer.Reporter", stores=["nw-plymouth"])
    example = stamp.example("IncidentIn")
    cases = [
        ({**example, "occurred_at": "2099-01-01T10:00:00+00:00"}, 422, "occurred_at"),
        ({**example, "ethnicity": "white british"}, 422, "ethnicity"),
        ({**example, "store_id": "ct-bristol"}, 422, "store_id"),
        ({**example, "persons": [{"role": "suspect", "offender_id": "off-0000000000000000"}]}, 422, "persons[0].offender_id"),
        ({**example, "store_id": "nw-exeter"}, 403, None),
    ]
    for body, status, field in cases:
        checked = stamp.client.post(f"{API}/incidents/validate", json=body, headers=auth)
        reported = stamp.client.post(f"{API}/incidents", json=body, headers=auth)
        assert checked.status_code == reported.status_code == status, (field, checked.text, reported.text)
        assert checked.headers["content-type"] == "application/problem+json"
        if field:
            assert field in checked.text, checked.text
            assert checked.json()["errors"] == reported.json()["errors"]
    assert stored(stamp) == before


def test_checking_does_not_spend_the_write_budget(tmp_path):
    from tests.fixtures_http import make_stamp

    stamp = make_stamp(tmp_path, http_write_burst=2, http_writes_per_minute=1)
    try:
        auth = stamp.auth("northwind", "Retailer.Investigator")
        body = stamp.example("IncidentIn")
        for _ in range(5):
            assert stamp.client.post(f"{API}/incidents/validate", json=body, headers=auth).status_code == 200
        assert [stamp.client.post(f"{API}/incidents", json=body, headers=auth).status_code for _ in range(3)] == [201, 201, 429]
    finally:
        stamp.container.close()
