"""Contest and retention of listings: a person contests through the subject-request route
and matching listings are suspended until reviewed; an erased incident leaves its
profiles; a profile goes at its expiry with a tombstone, its versions with it."""

from __future__ import annotations

from datetime import timedelta

from functions import jobs
from shared.domain.offenders import listing_in_force
from shared.domain.timestamps import from_iso
from shared.ports import Where
from shared.records import OFFENDER_VERSIONS, OFFENDERS, TOMBSTONES
from shared.services.offenders import profiles_by_ids
from tests.offenders.test_http import API, INV, list_person, report
from tests.retention.helpers import subject_request_body

OPERATOR = ("vigil-platform", "Platform.Operator")


def listed(stamp) -> dict:
    first = report(stamp, occurred_at="2026-11-10T10:00:00+00:00")
    second = report(stamp)
    r = list_person(stamp, [first, second])
    assert r.status_code == 201, r.text
    return {"profile": r.json(), "incidents": [first, second]}


def contest(stamp, **overrides):
    body = subject_request_body(stamp, kind="contest_listing", **overrides)
    r = stamp.client.post(f"{API}/subject-requests", json=body, headers=stamp.auth(*OPERATOR))
    assert r.status_code == 201, r.text
    return r.json()


def test_contested_listing_is_suspended_until_reviewed_and_overdue_shows(stamp):
    made = listed(stamp)
    pid = made["profile"]["id"]
    h = stamp.auth(*INV)
    request = contest(stamp)
    got = stamp.client.get(f"{API}/offenders/{pid}", headers=h)
    profile = got.json()
    assert profile["status"] == "contested" and not profile["in_force"]
    assert profile["contest_request_id"] == request["id"]
    assert profile["contest_due_at"].startswith((stamp.clock.now() + timedelta(days=30)).date().isoformat())
    stored = profiles_by_ids(stamp.container.records, "northwind", [pid])[pid]
    assert not listing_in_force(stored, stamp.clock.now())
    # The listing organisation sees the contest among its tasks, and that it is overdue once the deadline passes.
    assert [
        t["kind"] for t in stamp.client.get(f"{API}/subject-tasks", headers=stamp.auth("northwind", "Retailer.Admin")).json()["items"]
    ] == ["contest_listing"]
    stamp.clock.current = stamp.clock.current + timedelta(days=31)
    late = stamp.client.get(f"{API}/offenders", params={"status": "contested"}, headers=h).json()["items"]
    assert [p["id"] for p in late] == [pid] and late[0]["review_overdue"]
    # Upheld: back to listed with a new review date, the outcome in the versions.
    reviewed = stamp.client.post(
        f"{API}/offenders/{pid}/review",
        json={"outcome": "upheld", "note": "Both incidents on CCTV; criteria met"},
        headers={**h, "If-Match": got.headers["ETag"]},
    )
    # The deadline passed meanwhile: the profile moved on no other version, so the ETag still holds.
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["status"] == "listed" and reviewed.json()["in_force"] and reviewed.json()["contest_request_id"] is None
    notes = [v["note"] for v in stamp.client.get(f"{API}/offenders/{pid}/versions", headers=h).json()["items"]]
    assert notes[-2].startswith(f"contested by subject request {request['id']}") and notes[-1].startswith("review upheld")


def test_reviewing_the_contested_listing_answers_the_contest_task(stamp):
    """The review decides the contest: the retailer's task is answered with the outcome,
    and the operator's request shows the retailer has answered, with no hand answer."""
    made = listed(stamp)
    pid = made["profile"]["id"]
    h = stamp.auth(*INV)
    request = contest(stamp)
    admin = stamp.auth("northwind", "Retailer.Admin")
    task = stamp.client.get(f"{API}/subject-tasks/{request['id']}", headers=admin).json()
    assert task["status"] == "open"
    got = stamp.client.get(f"{API}/offenders/{pid}", headers=h)
    r = stamp.client.post(
        f"{API}/offenders/{pid}/review",
        json={"outcome": "withdrawn", "note": "Identification not certain"},
        headers={**h, "If-Match": got.headers["ETag"]},
    )
    assert r.status_code == 200, r.text
    task = stamp.client.get(f"{API}/subject-tasks/{request['id']}", headers=admin).json()
    assert task["status"] == "answered"
    assert {m["outcome"] for m in task["matches"]} == {"listing_withdrawn"}
    assert [a["decision"] for a in task["answers"]] == ["review_withdrawn"]
    assert task["answers"][0]["reason"] == "Identification not certain"
    seen = stamp.client.get(f"{API}/subject-requests/{request['id']}", headers=stamp.auth(*OPERATOR)).json()
    # Contoso, which holds nothing on the person, still answers its own task (none_held).
    assert [(t["organisation_id"], t["status"]) for t in seen["tasks"]] == [("contoso", "open"), ("northwind", "answered")]


def test_contest_withdrawn_unlists_and_another_name_suspends_nothing(stamp):
    made = listed(stamp)
    pid = made["profile"]["id"]
    h = stamp.auth(*INV)
    contest(stamp, name="Someone Else")
    got = stamp.client.get(f"{API}/offenders/{pid}", headers=h)
    assert got.json()["status"] == "listed"
    contest(stamp)
    got = stamp.client.get(f"{API}/offenders/{pid}", headers=h)
    withdrawn = stamp.client.post(
        f"{API}/offenders/{pid}/review",
        json={"outcome": "withdrawn", "note": "Identification not certain"},
        headers={**h, "If-Match": got.headers["ETag"]},
    )
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "unlisted" and not withdrawn.json()["in_force"]


def test_erased_incident_leaves_its_profile(stamp):
    made = listed(stamp)
    pid = made["profile"]["id"]
    first, second = made["incidents"]
    c = stamp.container
    with c.records.unit_of_work() as uow:
        c.retention.deletion.delete_incident(uow, "northwind", first["id"], principal=None, cause="erasure", request_id="req-1")
    profile = stamp.client.get(f"{API}/offenders/{pid}", headers=stamp.auth(*INV)).json()
    assert profile["incident_ids"] == [second["id"]]


def test_profile_goes_at_its_expiry_with_a_tombstone(stamp):
    made = listed(stamp)
    pid = made["profile"]["id"]
    expires = made["profile"]["expires_at"]
    jobs.load_all()
    c = stamp.container
    before = from_iso(expires) - timedelta(days=1)
    stamp.clock.current = before
    assert jobs.run_job(c, "retention", before).counts["offenders_deleted"] == 0
    after = from_iso(expires) + timedelta(seconds=1)
    stamp.clock.current = after
    assert jobs.run_job(c, "retention", after).counts["offenders_deleted"] == 1
    with c.records.read_only() as uow:
        assert uow.get(OFFENDERS.name, "northwind", pid) is None
        assert uow.count(OFFENDER_VERSIONS.name, ["northwind"], [Where("offender_id", "eq", pid)]) == 0
        tomb = uow.get(TOMBSTONES.name, "northwind", f"offender:{pid}")
    assert tomb["type"] == "offender" and tomb["cause"] == "schedule" and "Jamie" not in str(tomb)
    # The retailer reads its proof of the deletion like any other.
    r = stamp.client.get(f"{API}/retention/tombstones", params={"type": "offender"}, headers=stamp.auth(*INV))
    assert r.status_code == 200, r.text
    assert [t["id"] for t in r.json()["items"]] == [f"offender:{pid}"] and "Jamie" not in r.text
