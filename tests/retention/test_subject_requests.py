"""Subject requests over HTTP: the operator routes a person's request without learning who
holds them, only after the organisation the person approached checked their identity,
and with a receipt time that cannot move the statutory deadline."""

from __future__ import annotations

from datetime import timedelta

from tests.retention.helpers import subject_request_body

API = "/api/v1"
OPERATOR = ("vigil-platform", "Platform.Operator")


def report_person(stamp, name: str = "Jamie Doyle", dob: str = "1990-04-12") -> str:
    body = {**stamp.example("IncidentIn"), "persons": [{"role": "suspect", "name": name, "date_of_birth": dob}]}
    r = stamp.client.post(f"{API}/incidents", json=body, headers=stamp.auth("northwind", "Retailer.Investigator"))
    assert r.status_code == 201, r.text
    return r.json()["id"]


def route(stamp, body: dict):
    return stamp.client.post(f"{API}/subject-requests", json=body, headers=stamp.auth(*OPERATOR))


def tasks_of(stamp, org: str) -> list[dict]:
    return stamp.client.get(f"{API}/subject-tasks", headers=stamp.auth(org, "Retailer.Admin")).json()["items"]


def test_the_operator_asking_for_a_name_learns_no_counts_and_cannot_tell_who_holds_it(stamp):
    report_person(stamp)
    held = route(stamp, subject_request_body(stamp))
    nobody = route(stamp, subject_request_body(stamp, name="Nobody Anywhere", date_of_birth="1970-01-01"))
    assert held.status_code == nobody.status_code == 201, (held.text, nobody.text)

    def operator_view(r) -> list[tuple]:
        return [(t["organisation_id"], t["status"]) for t in r.json()["tasks"]]

    # Every retailer of the region is asked, held or not: the answers look the same.
    assert operator_view(held) == operator_view(nobody) == [("contoso", "open"), ("northwind", "open")]
    assert held.json()["status"] == nobody.json()["status"] == "open"
    again = stamp.client.get(f"{API}/subject-requests/{held.json()['id']}", headers=stamp.auth(*OPERATOR))
    for text in (held.text, nobody.text, again.text):
        assert "matches" not in text and "incident" not in text
    assert again.json()["identity"]["organisation_id"] == "northwind" and again.json()["identity"]["method"] == "photo_id_in_person"


def test_each_controller_sees_only_its_own_matches_and_one_holding_none_says_so(stamp):
    incident = report_person(stamp)
    request = route(stamp, subject_request_body(stamp)).json()
    nw = stamp.client.get(f"{API}/subject-tasks/{request['id']}", headers=stamp.auth("northwind", "Retailer.Admin")).json()
    contoso = stamp.client.get(f"{API}/subject-tasks/{request['id']}", headers=stamp.auth("contoso", "Retailer.Admin")).json()
    assert [m["incident_id"] for m in nw["matches"]] == [incident]
    assert contoso["matches"] == [] and incident not in str(contoso)
    assert nw["identity"]["verified_by"] and nw["identity"]["method"] == "photo_id_in_person"
    # none_held is for a task that lists nothing; northwind must answer its match.
    url = f"{API}/subject-tasks/{request['id']}/answer"
    wrong = stamp.client.post(url, json={"decision": "none_held"}, headers=stamp.auth("northwind", "Retailer.Admin"))
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["field"] == "decision"
    none = stamp.client.post(url, json={"decision": "none_held"}, headers=stamp.auth("contoso", "Retailer.Admin"))
    assert none.status_code == 200 and none.json()["status"] == "answered"
    status = stamp.client.get(f"{API}/subject-requests/{request['id']}", headers=stamp.auth(*OPERATOR)).json()
    assert [(t["organisation_id"], t["status"]) for t in status["tasks"]] == [("contoso", "answered"), ("northwind", "open")]
    assert status["status"] == "open"


def test_a_request_without_an_identity_check_by_the_organisation_approached_is_refused(stamp):
    report_person(stamp)
    body = stamp.example("SubjectRequestIn")
    # The operator saying the identity was verified is not a check.
    asserted = {k: v for k, v in body.items() if k != "identity_check"} | {"verified_identity": True}
    r = route(stamp, asserted)
    assert r.status_code == 422 and "identity_check" in r.text
    unknown = route(stamp, {**body, "identity_check": {"organisation_id": "northwind", "id": "no-such-check"}})
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "identity_check"
    other_person = subject_request_body(stamp, name="Someone Else")
    mismatch = route(stamp, {**other_person, "name": "Jamie Doyle"})
    assert mismatch.status_code == 422 and mismatch.json()["errors"][0]["field"] == "identity_check"
    # The operator cannot record a check itself.
    check = {"name": "Jamie Doyle", "date_of_birth": "1990-04-12", "method": "photo_id_in_person"}
    assert stamp.client.post(f"{API}/subject-requests/identity-checks", json=check, headers=stamp.auth(*OPERATOR)).status_code == 403
    assert tasks_of(stamp, "northwind") == []  # nothing routed
    stale = subject_request_body(stamp, received_at=None)
    stamp.clock.advance(days=8)
    old_check = route(stamp, stale)
    assert old_check.status_code == 422 and "days old" in old_check.json()["detail"]
    good = subject_request_body(stamp, received_at=None)
    assert route(stamp, good).status_code == 201
    reused = route(stamp, good)
    assert reused.status_code == 422 and reused.json()["errors"][0]["field"] == "identity_check"
    assert len(tasks_of(stamp, "northwind")) == 1


def test_a_receipt_in_the_future_or_back_dated_beyond_the_window_is_refused(stamp):
    report_person(stamp)
    now = stamp.clock.now()
    for when in (now - timedelta(days=8), now + timedelta(minutes=5)):
        r = route(stamp, subject_request_body(stamp, received_at=when.isoformat()))
        assert r.status_code == 422 and r.json()["errors"][0]["field"] == "received_at", r.text
    assert tasks_of(stamp, "northwind") == []
    received = now - timedelta(days=6)
    ok = route(stamp, subject_request_body(stamp, received_at=received.isoformat()))
    assert ok.status_code == 201
    assert ok.json()["due_at"].startswith((received.replace(month=received.month % 12 + 1)).date().isoformat())
