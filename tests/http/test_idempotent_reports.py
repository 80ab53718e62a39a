"""Idempotency-Key on reports: a retry answers the incident the first request created,
never a copy kept beside it; a key does not outlive the incident it answers for, nor its
own lifetime. tests/http/test_incidents_both_backends.py runs these again on Cosmos."""

from __future__ import annotations

from datetime import timedelta

from shared.ports import Where
from shared.records import IDEMPOTENCY, INCIDENTS
from shared.services.expiry import sweep_expired

API = "/api/v1"
NAME = "Jamie Doyle"


def keyed_report(stamp, key: str, **overrides):
    body = {**stamp.example("IncidentIn"), "persons": [{"role": "suspect", "name": NAME, "date_of_birth": "1990-04-12"}], **overrides}
    headers = {**stamp.auth("northwind", "Retailer.Investigator"), "Idempotency-Key": key}
    return body, headers, stamp.client.post(f"{API}/incidents", json=body, headers=headers)


def erase_by_subject_request(stamp) -> None:
    from tests.retention.helpers import subject_request_body

    request = stamp.client.post(
        f"{API}/subject-requests",
        json=subject_request_body(stamp, kind="erasure"),
        headers=stamp.auth("vigil-platform", "Platform.Operator"),
    ).json()
    answered = stamp.client.post(
        f"{API}/subject-tasks/{request['id']}/answer", json={"decision": "erase"}, headers=stamp.auth("northwind", "Retailer.Admin")
    )
    assert answered.status_code == 200 and answered.json()["status"] == "answered", answered.text


def incident_count(stamp) -> int:
    with stamp.container.records.read_only() as uow:
        return uow.count(INCIDENTS.name, ["northwind"])


def test_a_retry_after_the_incident_was_erased_answers_410_and_records_nothing_again(stamp):
    body, headers, first = keyed_report(stamp, "till-7-erase-1")
    assert first.status_code == 201, first.text
    erase_by_subject_request(stamp)
    assert incident_count(stamp) == 0
    again = stamp.client.post(f"{API}/incidents", json=body, headers=headers)
    assert again.status_code == 410 and again.headers["content-type"] == "application/problem+json"
    assert NAME not in again.text and first.json()["narrative"] not in again.text
    assert incident_count(stamp) == 0
    # The key keeps only that its incident was erased: no digest of the erased report.
    with stamp.container.records.read_only() as uow:
        (key,) = uow.query(IDEMPOTENCY.name, ["northwind"], [Where("resource", "eq", f"incident/{first.json()['id']}")]).items
    assert key["erased"] is True and "fingerprint" not in key and "body" not in key


def test_the_key_holds_no_copy_of_the_incident_and_a_retry_sees_a_correction(stamp):
    body, headers, first = keyed_report(stamp, "till-7-correct-1")
    incident = first.json()
    with stamp.container.records.read_only() as uow:
        keys = uow.query(IDEMPOTENCY.name, ["northwind"]).items
    assert len(keys) == 1 and NAME not in str(keys[0]) and incident["narrative"] not in str(keys[0])
    corrected = stamp.client.patch(
        f"{API}/incidents/{incident['id']}",
        json={"persons": [{"role": "suspect", "name": "Jamie Dyer", "offender_id": incident["persons"][0]["offender_id"]}]},
        headers={**stamp.auth("northwind", "Retailer.Investigator"), "If-Match": incident["etag"]},
    )
    assert corrected.status_code == 200, corrected.text
    again = stamp.client.post(f"{API}/incidents", json=body, headers=headers)
    assert again.status_code == 201 and again.json()["id"] == incident["id"]
    assert again.json()["persons"][0]["name"] == "Jamie Dyer" and again.headers["etag"] == corrected.headers["etag"]
    assert incident_count(stamp) == 1


def test_a_key_past_its_lifetime_no_longer_answers_and_is_swept(stamp):
    body, headers, first = keyed_report(stamp, "till-7-old-1")
    stamp.clock.advance(hours=24, seconds=1)
    # Past 24 h the key is forgotten even before the sweep has run: the retry is a new report.
    later = stamp.client.post(f"{API}/incidents", json=body, headers=headers)
    assert later.status_code == 201 and later.json()["id"] != first.json()["id"]
    assert incident_count(stamp) == 2
    assert stamp.client.post(f"{API}/incidents", json=body, headers=headers).json()["id"] == later.json()["id"]
    report = sweep_expired(stamp.container.records, stamp.clock.now() + timedelta(hours=24, seconds=1))
    assert report.counts[IDEMPOTENCY.name] == 1
    with stamp.container.records.read_only() as uow:
        assert uow.count(IDEMPOTENCY.name, ["northwind"]) == 0
