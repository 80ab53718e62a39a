"""External references on reports: an import run again, after the Idempotency-Key window or
by someone else on another machine, adds nothing; a different report with a used
reference is refused naming the incident; an erased incident is not recorded again.
tests/http/test_incidents_both_backends.py runs these again on Cosmos."""

from __future__ import annotations

from shared.records import INCIDENTS
from tests.http.test_idempotent_reports import NAME, erase_by_subject_request, incident_count

API = "/api/v1"


def history_row(stamp, ref: str, **overrides):
    return {**stamp.example("IncidentIn"), "occurred_at": "2019-06-03T10:15:00+00:00", "external_reference": ref, **overrides}


def post(stamp, body, *, user: str = "lp-migration", key: str | None = None):
    headers = stamp.auth("northwind", "Retailer.Investigator", user=user)
    if key:
        headers["Idempotency-Key"] = key
    return stamp.client.post(f"{API}/incidents", json=body, headers=headers)


def test_the_same_external_reference_past_the_key_window_and_from_another_user_records_nothing(stamp):
    body = history_row(stamp, "LP-2019-004711")
    first = post(stamp, body, key="import-row-2")
    assert first.status_code == 201, first.text
    assert first.json()["external_reference"] == "LP-2019-004711" and "Vigil-Repeat" not in first.headers
    retry = post(stamp, body, key="import-row-2")
    assert retry.json()["id"] == first.json()["id"] and retry.headers["Vigil-Repeat"] == "idempotency-key"
    stamp.clock.advance(hours=48)
    # Another machine, another person, no key in common: still the one incident.
    again = post(stamp, body, user="lp-migration-2", key="another-machine-row-2")
    assert again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"] and again.json()["reference"] == first.json()["reference"]
    assert again.headers["Vigil-Repeat"] == "external-reference"
    assert again.headers["Location"] == first.headers["Location"]
    assert post(stamp, body).json()["id"] == first.json()["id"]
    assert incident_count(stamp) == 1
    # Another organisation's reference space is its own.
    contoso = {**body, "store_id": "ct-bristol"}
    other = stamp.client.post(f"{API}/incidents", json=contoso, headers=stamp.auth("contoso", "Retailer.Investigator"))
    assert other.status_code == 201, other.text
    assert other.json()["id"] != first.json()["id"] and "Vigil-Repeat" not in other.headers


def test_a_different_report_with_a_used_external_reference_is_409_naming_the_incident(stamp):
    first = post(stamp, history_row(stamp, "LP-2019-000042"))
    assert first.status_code == 201, first.text
    clash = post(stamp, history_row(stamp, "LP-2019-000042", narrative="Another incident altogether."))
    assert clash.status_code == 409 and clash.headers["content-type"] == "application/problem+json"
    problem = clash.json()
    assert problem["incident_id"] == first.json()["id"] and problem["reference"] == first.json()["reference"]
    assert problem["errors"] == [{"field": "external_reference"}]
    assert incident_count(stamp) == 1


def test_a_patch_keeps_the_external_reference_and_cannot_change_it(stamp):
    body = history_row(stamp, "LP-2019-000077")
    incident = post(stamp, body).json()
    inv = stamp.auth("northwind", "Retailer.Investigator")
    refused = stamp.client.patch(
        f"{API}/incidents/{incident['id']}", json={"external_reference": "LP-X"}, headers={**inv, "If-Match": incident["etag"]}
    )
    assert refused.status_code == 422
    changed = stamp.client.patch(
        f"{API}/incidents/{incident['id']}", json={"narrative": "Corrected narrative."}, headers={**inv, "If-Match": incident["etag"]}
    )
    assert changed.status_code == 200 and changed.json()["external_reference"] == "LP-2019-000077"
    # The same source row again is still a repeat of the (now corrected) incident.
    again = post(stamp, body)
    assert again.status_code == 201 and again.json()["narrative"] == "Corrected narrative."
    assert incident_count(stamp) == 1


def test_an_erased_incident_is_not_recorded_again_by_its_external_reference(stamp):
    body = history_row(stamp, "LP-2019-000099", persons=[{"role": "suspect", "name": NAME, "date_of_birth": "1990-04-12"}])
    first = post(stamp, body)
    assert first.status_code == 201, first.text
    erase_by_subject_request(stamp)
    assert incident_count(stamp) == 0
    again = post(stamp, body, user="someone-else")
    assert again.status_code == 410, again.text
    assert NAME not in again.text
    assert incident_count(stamp) == 0


def test_bad_external_references_are_422_and_store_nothing(stamp):
    for bad in ("", " padded ", "tab\there", "x" * 201):
        answer = post(stamp, history_row(stamp, bad))
        assert answer.status_code == 422, (bad, answer.text)
        assert any(e["field"].endswith("external_reference") for e in answer.json()["errors"])
    with stamp.container.records.read_only() as uow:
        assert uow.count(INCIDENTS.name, ["northwind"]) == 0
