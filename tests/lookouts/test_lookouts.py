"""Lookouts end to end through the API: a lookout for a listed northwind person reaches
nw-exeter's staff (list, email), is acknowledged (the issuer sees it) and lapses at its
expiry; a contested listing's lookout stops appearing; a minor is refused; contoso's
stores never get northwind's lookout unless an agreement allows it, and then without the
name; every view is audited."""

from __future__ import annotations

from datetime import date, timedelta

from shared.domain.offenders import ListingStatus
from shared.records import LOOKOUTS, OUTBOX
from tests.fixtures_http import both_backends
from tests.footage.helpers import mails
from tests.lookouts.helpers import (
    CT,
    DESCRIPTION,
    NAME,
    NW,
    PREFIX,
    RA,
    RI,
    RR,
    drain,
    issue,
    list_person,
    lookout_body,
    redacted_still,
    set_status,
    store_lookouts,
)

# Between Exeter and Bristol: within 80 km of both nw-exeter and ct-bristol, not of nw-plymouth.
MID_POINT = {"near_store_id": None, "near_latitude": 51.0, "near_longitude": -3.0, "within_km": 80}


def _audit(stamp, entity: str) -> list[dict]:
    r = stamp.client.get(f"{PREFIX}/audit", params={"entity": entity}, headers=stamp.auth(NW, RI))
    assert r.status_code == 200, r.text
    return r.json()["items"]


@both_backends
def test_a_lookout_reaches_exeter_staff_is_acknowledged_and_lapses_at_its_expiry(stamp):
    list_person(stamp)
    issued = issue(stamp)
    assert issued["state"] == "active" and issued["recipient_count"] == 2  # Plymouth and Exeter (about 60 km)
    assert issued["person"]["name"] == NAME and issued["acknowledgements"] == []

    # Exeter's staff see it, with the name (their own organisation's lookout) and the image link.
    (seen,) = store_lookouts(stamp, "nw-exeter")
    assert seen["id"] == issued["id"] and seen["store_id"] == "nw-exeter" and seen["acknowledged_at"] is None
    assert seen["person"] == {"name": NAME, "aliases": ["Daz"], "description": DESCRIPTION}
    assert seen["image_url"] == f"{PREFIX}/lookouts/{issued['id']}/image" and seen["acknowledgements"] is None

    # Each store's mailbox is emailed once.
    assert sorted(drain(stamp)) == ["email:nw-exeter", "email:nw-plymouth"]
    exeter = [m for m in mails(stamp) if m["to"] == "exeter.security@northwind.example"]
    assert len(exeter) == 1 and "Northwind Exeter" in exeter[0]["subject"]
    assert DESCRIPTION in exeter[0]["text"] and "/lookouts?store=nw-exeter" in exeter[0]["text"]

    # Exeter acknowledges; again answers the first; the issuer sees who and when.
    url = f"{PREFIX}/lookouts/{issued['id']}/acknowledgements"
    first = stamp.client.post(url, json={"store_id": "nw-exeter"}, headers=stamp.auth(NW, RR))
    assert first.status_code == 201, first.text
    again = stamp.client.post(url, json={"store_id": "nw-exeter"}, headers=stamp.auth(NW, RR))
    assert again.status_code == 200 and again.json() == first.json()
    mine = stamp.client.get(f"{PREFIX}/lookouts/{issued['id']}", headers=stamp.auth(NW, RI)).json()
    assert [(a["store_id"], a["acknowledged_by"]) for a in mine["acknowledgements"]] == [("nw-exeter", "northwind-reporter")]
    assert store_lookouts(stamp, "nw-exeter")[0]["acknowledged_at"] == first.json()["acknowledged_at"]

    # Every view is in northwind's audit trail.
    reads = [e for e in _audit(stamp, f"lookout/{issued['id']}") if e["operation"] == "lookout.read"]
    assert len(reads) >= 3

    # At its expiry it lapses: staff no longer see it, the issuer sees it expired.
    stamp.clock.advance(days=7, seconds=1)
    assert store_lookouts(stamp, "nw-exeter") == []
    assert stamp.client.get(f"{PREFIX}/lookouts/{issued['id']}", headers=stamp.auth(NW, RR)).status_code == 404
    assert stamp.client.post(url, json={"store_id": "nw-plymouth"}, headers=stamp.auth(NW, RR)).status_code == 404
    assert stamp.client.get(f"{PREFIX}/lookouts/{issued['id']}", headers=stamp.auth(NW, RI)).json()["state"] == "expired"


@both_backends
def test_a_contested_listing_stops_its_lookout_until_reviewed_and_sends_nothing(stamp):
    list_person(stamp)
    issued = issue(stamp)
    set_status(stamp, "nw-poi-1", ListingStatus.CONTESTED)
    assert store_lookouts(stamp, "nw-exeter") == []
    assert stamp.client.get(f"{PREFIX}/lookouts/{issued['id']}", headers=stamp.auth(NW, RR)).status_code == 404
    assert stamp.client.get(f"{PREFIX}/lookouts/{issued['id']}", headers=stamp.auth(NW, RI)).json()["state"] == "suspended"
    # Owed emails are checked when sent: none goes while the listing is contested.
    drain(stamp)
    assert mails(stamp) == []
    # A new lookout for a contested listing is refused.
    r = stamp.client.post(f"{PREFIX}/lookouts", json=lookout_body(stamp), headers=stamp.auth(NW, RI))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "offender_id"
    # Reviewed and listed again: the lookout stands again until its expiry.
    set_status(stamp, "nw-poi-1", ListingStatus.LISTED)
    assert [x["id"] for x in store_lookouts(stamp, "nw-exeter")] == [issued["id"]]


@both_backends
def test_a_lookout_for_a_minor_is_refused_and_nothing_is_written(stamp):
    today = stamp.clock.now().date()
    list_person(stamp, "nw-poi-minor", date_of_birth=date(today.year - 16, 1, 1))
    list_person(stamp, "nw-poi-young", date_of_birth=None, believed_under_18=True)
    for offender in ("nw-poi-minor", "nw-poi-young"):
        r = stamp.client.post(f"{PREFIX}/lookouts", json=lookout_body(stamp, offender_id=offender), headers=stamp.auth(NW, RI))
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text
        assert "minor" in r.json()["detail"] and r.json()["errors"][0]["field"] == "offender_id"
    with stamp.container.records.read_only() as uow:
        assert uow.count(LOOKOUTS.name, None) == 0 and uow.count(OUTBOX.name, None) == 0


@both_backends
def test_contoso_never_gets_northwinds_lookout_unless_an_agreement_allows_it_and_then_no_name(stamp):
    list_person(stamp)
    alone = issue(stamp, **MID_POINT)
    assert alone["recipient_count"] == 1  # nw-exeter only: northwind shares nothing with contoso
    assert store_lookouts(stamp, "ct-bristol", org=CT) == []
    assert stamp.client.get(f"{PREFIX}/lookouts/{alone['id']}", headers=stamp.auth(CT, RR)).status_code == 404
    r = stamp.client.post(f"{PREFIX}/lookouts/{alone['id']}/acknowledgements", json={"store_id": "ct-bristol"}, headers=stamp.auth(CT, RR))
    assert r.status_code == 404
    # A contoso reporter asking for a northwind store's lookouts hears of none.
    assert store_lookouts(stamp, "nw-exeter", org=CT) == []

    # Northwind's admin shares descriptions with contoso: a new lookout reaches ct-bristol without the name.
    url = f"{PREFIX}/organisations/{NW}/sharing"
    current = stamp.client.get(url, headers=stamp.auth(NW, RA))
    agreements = [{k: a[k] for k in ("partner_id", "level", "anpr")} for a in current.json()["agreements"]]
    agreements.append({"partner_id": CT, "level": "descriptions"})
    put = stamp.client.put(url, json={"agreements": agreements}, headers={**stamp.auth(NW, RA), "If-Match": current.headers["etag"]})
    assert put.status_code == 200, put.text
    shared = issue(stamp, **MID_POINT)
    assert shared["recipient_count"] == 2
    (seen,) = store_lookouts(stamp, "ct-bristol", org=CT)
    assert seen["id"] == shared["id"] and seen["level"] == "descriptions"
    assert seen["person"] == {"name": None, "aliases": [], "description": DESCRIPTION}
    assert NAME not in str(seen)
    assert sorted(drain(stamp)) == ["email:nw-exeter", "email:nw-exeter"]  # ct-bristol has no mailbox on record
    # Contoso's view is a disclosure in northwind's trail.
    reads = [e for e in _audit(stamp, f"lookout/{shared['id']}") if e["operation"] == "lookout.read" and e["actor_org"] == CT]
    assert reads and all(e["action"] == "disclosure" for e in reads)

    # Northwind ends the agreement: contoso's store stops seeing the lookout at once.
    current = stamp.client.get(url, headers=stamp.auth(NW, RA))
    kept = [{k: a[k] for k in ("partner_id", "level", "anpr")} for a in current.json()["agreements"] if a["partner_id"] != CT]
    put = stamp.client.put(url, json={"agreements": kept}, headers={**stamp.auth(NW, RA), "If-Match": current.headers["etag"]})
    assert put.status_code == 200, put.text
    assert store_lookouts(stamp, "ct-bristol", org=CT) == []
    assert stamp.client.get(f"{PREFIX}/lookouts/{shared['id']}", headers=stamp.auth(CT, RR)).status_code == 404


@both_backends
def test_the_issuer_withdraws_and_stores_stop_seeing_it(stamp):
    list_person(stamp)
    issued = issue(stamp)
    r = stamp.client.post(f"{PREFIX}/lookouts/{issued['id']}/withdraw", headers=stamp.auth(NW, RI))
    assert r.status_code == 200 and r.json()["state"] == "withdrawn", r.text
    assert store_lookouts(stamp, "nw-exeter") == []
    assert stamp.client.post(f"{PREFIX}/lookouts/{issued['id']}/withdraw", headers=stamp.auth(NW, RI)).status_code == 409
    drain(stamp)
    assert mails(stamp) == []


def test_bad_lookouts_are_refused_naming_the_field_and_nothing_is_written(stamp):
    list_person(stamp)
    now = stamp.clock.now()
    cases = [
        ({"offender_id": None}, "offender_id"),
        ({"plate": "WR21XKD"}, "offender_id"),  # two subjects
        ({"expires_at": (now + timedelta(days=31)).isoformat()}, "expires_at"),
        ({"expires_at": (now - timedelta(minutes=1)).isoformat()}, "expires_at"),
        ({"within_km": None}, "within_km"),
        ({"force_area": "devon-and-cornwall"}, "force_area"),  # and a distance
        ({"offender_id": "nobody"}, "offender_id"),
        ({"near_store_id": "nw-nowhere"}, "near_store_id"),
        ({"offender_id": None, "plate": "ZZ99ZZZ"}, "plate"),  # not a vehicle of interest
        ({"near_store_id": None, "near_latitude": 55.95, "near_longitude": -3.19, "within_km": 5}, "within_km"),  # no store there
    ]
    for change, field in cases:
        r = stamp.client.post(f"{PREFIX}/lookouts", json=lookout_body(stamp, **change), headers=stamp.auth(NW, RI))
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", (change, r.text)
        assert field in [e.get("field") for e in r.json()["errors"]], (change, r.json())
    r = stamp.client.post(f"{PREFIX}/lookouts", json={**lookout_body(stamp), "within_km": 101}, headers=stamp.auth(NW, RI))
    assert r.status_code == 422
    with stamp.container.records.read_only() as uow:
        assert uow.count(LOOKOUTS.name, None) == 0 and uow.count(OUTBOX.name, None) == 0


def test_staff_see_the_redacted_still_never_an_original_and_the_view_is_audited(stamp):
    original, redacted = redacted_still(stamp)
    list_person(stamp, image_evidence_ids=[redacted])
    issued = issue(stamp)
    image = stamp.client.get(f"{PREFIX}/lookouts/{issued['id']}/image", headers=stamp.auth(NW, RR, stores=["nw-exeter"]))
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    assert image.content == b"".join(stamp.container.evidence_blobs.open(redacted))
    views = [e for e in _audit(stamp, f"lookout/{issued['id']}") if e["operation"] == "lookout.image"]
    assert len(views) == 1
    # A profile naming an unredacted original shows no image at all.
    list_person(stamp, image_evidence_ids=[original])
    other = issue(stamp)
    assert stamp.client.get(f"{PREFIX}/lookouts/{other['id']}/image", headers=stamp.auth(NW, RR)).status_code == 404
    # Nor does a lookout the caller may not see.
    assert stamp.client.get(f"{PREFIX}/lookouts/{issued['id']}/image", headers=stamp.auth(CT, RR)).status_code == 404
