"""Organised crime group records: create, list, read, change; partners by sharing rules."""

from __future__ import annotations

from datetime import timedelta

from shared.ports import Where
from shared.records import AUDIT, CRIME_GROUPS, TOMBSTONES
from tests.fixtures_http import both_backends
from tests.intel.helpers import API, DC, list_person, person_ids, report


def _body(stamp, members, incidents=(), **changes):
    body = {
        "name": "Silver Focus team",
        "reason": "Named together in thefts at Plymouth and Exeter stores, travelling in WR21XKD",
        "review_at": (stamp.clock.now() + timedelta(days=90)).isoformat(),
        "members": [{"organisation_id": o, "offender_id": p} for o, p in members],
        "incidents": [{"organisation_id": o, "incident_id": i} for o, i in incidents],
    }
    body.update(changes)
    return body


def _pair(stamp):
    inc = report(stamp, offender_ids=(None, None))
    a, b = person_ids(inc)
    list_person(stamp, "northwind", a)
    list_person(stamp, "northwind", b)
    return inc, a, b


def test_a_force_analyst_records_a_group_of_shared_persons_and_changes_it(stamp):
    inc, a, b = _pair(stamp)
    analyst = stamp.auth(DC, "Police.Analyst")
    r = stamp.client.post(f"{API}/groups", json=_body(stamp, [("northwind", a)], [("northwind", inc["id"])]), headers=analyst)
    assert r.status_code == 201, r.text
    gid = r.json()["id"]
    assert r.headers["location"].endswith(f"/groups/{gid}")
    got = stamp.client.get(f"{API}/groups/{gid}", headers=analyst)
    assert got.status_code == 200 and got.json()["members"] == [{"organisation_id": "northwind", "offender_id": a}]
    changed = stamp.client.patch(
        f"{API}/groups/{gid}",
        json={"members": [{"organisation_id": "northwind", "offender_id": a}, {"organisation_id": "northwind", "offender_id": b}]},
        headers={**analyst, "If-Match": got.headers["etag"]},
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["version"] == 2 and len(changed.json()["members"]) == 2
    stale = stamp.client.patch(f"{API}/groups/{gid}", json={"name": "Other"}, headers={**analyst, "If-Match": got.headers["etag"]})
    assert stale.status_code == 412
    assert stamp.client.patch(f"{API}/groups/{gid}", json={"name": "Other"}, headers=analyst).status_code == 428
    listed = stamp.client.get(f"{API}/groups", headers=analyst).json()["items"]
    assert [g["id"] for g in listed] == [gid]
    stamp.container.audit.link_pending(DC)
    with stamp.container.records.read_only() as uow:
        ops = {e["operation"] for e in uow.query(AUDIT.name, [DC], [Where("entity", "eq", f"group/{gid}")], limit=10).items}
    assert ops == {"group.create", "group.update"}


def test_bad_groups_are_refused_and_nothing_is_written(stamp):
    inc, a, b = _pair(stamp)
    analyst = stamp.auth(DC, "Police.Analyst")
    cases = [
        _body(stamp, [("northwind", "off-nobody")]),
        _body(stamp, [("contoso", a)]),
        _body(stamp, [("northwind", a)], [("northwind", "no-such-incident")]),
        _body(stamp, [("northwind", a)], review_at=(stamp.clock.now() + timedelta(days=400)).isoformat()),
        _body(stamp, [("northwind", a)], review_at=(stamp.clock.now() - timedelta(days=1)).isoformat()),
        _body(stamp, [("northwind", a), ("northwind", a)]),
        _body(stamp, []),
    ]
    for body in cases:
        r = stamp.client.post(f"{API}/groups", json=body, headers=analyst)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    with stamp.container.records.read_only() as uow:
        assert uow.count(CRIME_GROUPS.name, [DC]) == 0


@both_backends
def test_partners_see_a_group_by_the_sharing_rules(stamp):
    inc, a, b = _pair(stamp)
    inv = stamp.auth("northwind", "Retailer.Investigator")
    r = stamp.client.post(f"{API}/groups", json=_body(stamp, [("northwind", a), ("northwind", b)], [("northwind", inc["id"])]), headers=inv)
    assert r.status_code == 201, r.text
    gid = r.json()["id"]
    # devon-and-cornwall: northwind shares in full with it.
    analyst = stamp.auth(DC, "Police.Analyst")
    seen = stamp.client.get(f"{API}/groups/{gid}", headers=analyst)
    assert seen.status_code == 200 and len(seen.json()["members"]) == 2
    # A member whose listing lapses drops out of the partner's view, not the keeper's.
    list_person(stamp, "northwind", b, status="contested")
    assert len(stamp.client.get(f"{API}/groups/{gid}", headers=analyst).json()["members"]) == 1
    assert len(stamp.client.get(f"{API}/groups/{gid}", headers=inv).json()["members"]) == 2
    # The force may not change the retailer's record.
    assert (
        stamp.client.patch(f"{API}/groups/{gid}", json={"name": "X"}, headers={**analyst, "If-Match": seen.headers["etag"]}).status_code
        == 404
    )
    for org, role in (("contoso", "Retailer.Investigator"), ("avon-and-somerset", "Police.Analyst")):
        assert stamp.client.get(f"{API}/groups/{gid}", headers=stamp.auth(org, role)).status_code == 404
        assert stamp.client.get(f"{API}/groups", headers=stamp.auth(org, role)).json()["items"] == []


def test_a_group_left_unreviewed_goes_with_a_tombstone_and_a_reviewed_one_stays(stamp):
    from functions import jobs

    inc, a, b = _pair(stamp)
    analyst = stamp.auth(DC, "Police.Analyst")
    review = stamp.clock.now() + timedelta(days=30)
    ids = []
    for _ in range(2):
        r = stamp.client.post(f"{API}/groups", json=_body(stamp, [("northwind", a)], review_at=review.isoformat()), headers=analyst)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    # The second is reviewed: a new review date moves its basis on.
    stamp.clock.advance(days=20)
    etag = stamp.client.get(f"{API}/groups/{ids[1]}", headers=analyst).headers["etag"]
    later = (stamp.clock.now() + timedelta(days=300)).isoformat()
    assert stamp.client.patch(f"{API}/groups/{ids[1]}", json={"review_at": later}, headers={**analyst, "If-Match": etag}).status_code == 200
    jobs.load_all()
    sweep = jobs.TIMER_JOBS["retention"].run
    # Six months (the default) after the review date passed unreviewed.
    assert sweep(stamp.container, review + timedelta(days=150)).counts["crime_groups_deleted"] == 0
    assert sweep(stamp.container, review + timedelta(days=190)).counts["crime_groups_deleted"] == 1
    assert stamp.client.get(f"{API}/groups/{ids[0]}", headers=analyst).status_code == 404
    assert stamp.client.get(f"{API}/groups/{ids[1]}", headers=analyst).status_code == 200
    # A force has no tombstone route of its own (retailers do): the tombstone is in its partition.
    with stamp.container.records.read_only() as uow:
        stones = uow.query(TOMBSTONES.name, [DC], [Where("type", "eq", "crime_group")], limit=10).items
    assert [t["entity_id"] for t in stones] == [ids[0]]
