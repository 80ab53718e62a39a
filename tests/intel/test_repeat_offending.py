"""GET /intel/repeat-offending: ranked, explained, confined to what sharing allows."""

from __future__ import annotations

from shared.domain.offenders import ListingStatus
from shared.ports import Where
from shared.records import AUDIT
from tests.fixtures_http import both_backends
from tests.intel.helpers import API, DC, PURPOSE, list_person, person_ids, report


def _rank(stamp, org: str, role: str, **params):
    return stamp.client.get(f"{API}/intel/repeat-offending", params=params, headers=stamp.auth(org, role))


def _northwind_series(stamp) -> str:
    """Two northwind incidents naming the same person and vehicle, the person listed."""
    first = report(stamp)
    person = person_ids(first)[0]
    second = report(stamp, offender_ids=(person,), occurred_at="2026-11-21T10:00:00+00:00", store_id="nw-exeter")
    assert person_ids(second) == [person]
    list_person(stamp, "northwind", person)
    return person


def test_the_force_analyst_sees_the_northwind_person_ranked_with_reasons_and_contoso_sees_nothing(stamp):
    person = _northwind_series(stamp)
    r = _rank(stamp, DC, "Police.Analyst", **PURPOSE)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["scope"] == f"force:{DC}"
    [item] = body["items"]
    assert item["person"]["id"] == person and item["person"]["name"] == "Jamie Doyle"  # northwind shares in full
    assert item["rank"] == 1 and item["incident_count"] == 2 and item["stores"] == 2
    reasons = {x["reason"]: x for x in item["reasons"]}
    assert set(reasons) == {"count", "value", "violence", "recency", "spread"}
    assert abs(sum(x["points"] for x in item["reasons"]) - item["score"]) < 0.01
    assert reasons["count"]["points"] == 2 and len(reasons["count"]["incidents"]) == 2
    assert all(i["reference"].startswith("NW-") for i in reasons["count"]["incidents"])
    assert reasons["violence"]["points"] == 6  # the example report says a colleague was pushed
    for org, role in (("contoso", "Retailer.Investigator"), ("avon-and-somerset", "Police.Analyst")):
        other = _rank(stamp, org, role, **PURPOSE)
        assert other.status_code == 200 and other.json()["items"] == []
        assert person not in other.text


def test_the_retailer_ranks_its_own_and_the_ranking_follows_changes(stamp):
    person = _northwind_series(stamp)
    own = _rank(stamp, "northwind", "Retailer.Investigator").json()
    assert own["scope"] == "org" and [i["person"]["id"] for i in own["items"]] == [person]
    # A third incident names the person: the count follows at once (read model kept by the event).
    third = report(stamp, offender_ids=(person,))
    assert _rank(stamp, "northwind", "Retailer.Investigator").json()["items"][0]["incident_count"] == 3
    # Taken off that incident again: back to two.
    headers = {**stamp.auth("northwind", "Retailer.Investigator"), "If-Match": third["etag"]}
    r = stamp.client.patch(f"{API}/incidents/{third['id']}", json={"persons": [{"role": "suspect"}]}, headers=headers)
    assert r.status_code == 200, r.text
    assert _rank(stamp, "northwind", "Retailer.Investigator").json()["items"][0]["incident_count"] == 2


def test_listings_not_in_force_never_rank(stamp):
    person = _northwind_series(stamp)
    now = stamp.clock.now()
    for change in (
        {"status": ListingStatus.CONTESTED},
        {"status": ListingStatus.UNLISTED},
        {"status": ListingStatus.MERGED, "merged_into": "off-other"},
        {"review_at": now},
        {"expires_at": now},
    ):
        list_person(stamp, "northwind", person, **change)
        assert _rank(stamp, DC, "Police.Analyst", **PURPOSE).json()["items"] == [], change
        assert _rank(stamp, "northwind", "Retailer.Investigator").json()["items"] == [], change


def test_a_minor_ranks_within_the_organisation_only(stamp):
    from datetime import date

    person = _northwind_series(stamp)
    list_person(stamp, "northwind", person, date_of_birth=date(2012, 1, 1))
    assert _rank(stamp, DC, "Police.Analyst", **PURPOSE).json()["items"] == []
    assert [i["person"]["id"] for i in _rank(stamp, "northwind", "Retailer.Investigator").json()["items"]] == [person]


def test_a_partner_sharing_descriptions_sees_no_name(stamp):
    first = report(stamp, "contoso")
    person = person_ids(first)[0]
    report(stamp, "contoso", offender_ids=(person,))
    list_person(stamp, "contoso", person, aliases=["JD"])
    [item] = _rank(stamp, "avon-and-somerset", "Police.Officer", **PURPOSE).json()["items"]
    assert item["person"]["name"] is None and item["person"]["aliases"] == [] and item["person"]["date_of_birth"] is None
    assert item["person"]["description"].startswith("Slim")
    assert "Jamie" not in str(item)


def test_police_state_a_purpose(stamp):
    r = _rank(stamp, DC, "Police.Analyst")
    assert r.status_code == 422 and "purpose" in r.text


@both_backends
def test_pages_hold_visible_persons_only_and_continue(stamp):
    ids = []
    for n in range(5):
        first = report(stamp, goods=[{"description": "Razors", "quantity": n + 1, "unit_value": {"amount_minor": 5000, "currency": "GBP"}}])
        ids.append(person_ids(first)[0])
    for pid in ids:
        list_person(stamp, "northwind", pid)
    list_person(stamp, "northwind", ids[3], status=ListingStatus.CONTESTED)  # second highest: skipped
    page1 = _rank(stamp, DC, "Police.Analyst", limit=2, **PURPOSE).json()
    assert [i["person"]["id"] for i in page1["items"]] == [ids[4], ids[2]]
    page2 = _rank(stamp, DC, "Police.Analyst", limit=2, continuation=page1["continuation"], **PURPOSE).json()
    assert [i["person"]["id"] for i in page2["items"]] == [ids[1], ids[0]]
    scores = [i["score"] for i in page1["items"] + page2["items"]]
    assert scores == sorted(scores, reverse=True)


def test_a_ranking_read_is_audited_naming_the_persons_shown(stamp):
    person = _northwind_series(stamp)
    _rank(stamp, DC, "Police.Analyst", **PURPOSE)
    for org in (DC, "northwind"):
        stamp.container.audit.link_pending(org)
    with stamp.container.records.read_only() as uow:
        own = uow.query(AUDIT.name, [DC], [Where("entity", "eq", "intel/repeat-offending")], limit=10).items
        owner = uow.query(AUDIT.name, ["northwind"], [Where("entity", "eq", "intel/repeat-offending")], limit=10).items
    assert len(own) == 1 and own[0]["action"] == "consultation" and f"offender/{person}" in str(own[0])
    assert PURPOSE["purpose"] in str(own[0])
    assert len(owner) == 1 and owner[0]["action"] == "disclosure" and f"offender/{person}" in str(owner[0])


def test_an_erased_incident_leaves_the_score(stamp):
    from shared.records import INCIDENTS

    person = _northwind_series(stamp)
    inv = stamp.auth("northwind", "Retailer.Investigator")
    [item] = _rank(stamp, "northwind", "Retailer.Investigator").json()["items"]
    gone = item["reasons"][0]["incidents"][0]["id"]
    with stamp.container.records.unit_of_work() as uow:
        uow.delete(INCIDENTS.name, "northwind", gone)
        stamp.container.intel.standing.on_erased(uow, "northwind", gone)
    [item] = _rank(stamp, "northwind", "Retailer.Investigator").json()["items"]
    assert item["incident_count"] == 1 and gone not in str(item)
    assert inv
    with stamp.container.records.unit_of_work() as uow:
        assert stamp.container.intel.standing.on_erased(uow, "northwind", "never-indexed") == 0
    assert person
