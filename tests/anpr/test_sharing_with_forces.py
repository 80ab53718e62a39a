"""ANPR sharing: with police forces only, and only once the force has accepted."""

from __future__ import annotations

from tests.anpr.helpers import API, list_vehicle, post_reads, read
from tests.fixtures_http import both_backends

PURPOSE = {"purpose": "Op Spirits: tracing a theft suspect"}


def sharing_url(org: str) -> str:
    return f"{API}/organisations/{org}/sharing"


def acceptance_url(force: str, owner: str) -> str:
    return f"{API}/organisations/{force}/sharing/{owner}/anpr-acceptance"


def put_agreements(stamp, org, agreements):
    admin = stamp.auth(org, "Retailer.Admin")
    etag = stamp.client.get(sharing_url(org), headers=admin).headers["etag"]
    return stamp.client.put(sharing_url(org), json={"agreements": agreements}, headers={**admin, "If-Match": etag})


def force_reads(stamp, force, plate="GX70ABC"):
    r = stamp.client.get(f"{API}/anpr/reads", params={"plate": plate, **PURPOSE}, headers=stamp.auth(force, "Police.Analyst"))
    assert r.status_code == 200, r.text
    return r.json()["items"]


def force_hits(stamp, force):
    r = stamp.client.get(f"{API}/anpr/hits", params=PURPOSE, headers=stamp.auth(force, "Police.Analyst"))
    assert r.status_code == 200, r.text
    return r.json()["items"]


@both_backends
def test_anpr_sharing_with_another_retailer_is_refused(stamp):
    before = stamp.client.get(sharing_url("contoso"), headers=stamp.auth("contoso", "Retailer.Admin")).json()
    r = put_agreements(stamp, "contoso", [{"partner_id": "northwind", "level": "counts", "anpr": True}])
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert [e["field"] for e in r.json()["errors"]] == ["agreements.0.anpr"]
    assert "police forces only" in r.json()["detail"]
    assert stamp.client.get(sharing_url("contoso"), headers=stamp.auth("contoso", "Retailer.Admin")).json() == before
    # So northwind's private list never meets contoso's cameras.
    assert list_vehicle(stamp, "AB12CDE").status_code == 201
    assert post_reads(stamp, [read(stamp, "AB12CDE", store="ct-bristol")], org="contoso").json()["hits"] == []


@both_backends
def test_seeded_anpr_agreement_is_accepted_by_the_force(stamp):
    [agreement] = stamp.client.get(sharing_url("northwind"), headers=stamp.auth("northwind", "Retailer.Admin")).json()["agreements"]
    assert (agreement["partner_id"], agreement["anpr"], agreement["anpr_status"]) == ("devon-and-cornwall", True, "accepted")


@both_backends
def test_an_offer_shares_nothing_until_the_force_accepts(stamp):
    r = put_agreements(
        stamp,
        "contoso",
        [{"partner_id": "avon-and-somerset", "level": "descriptions", "anpr": True}],
    )
    assert r.status_code == 200, r.text
    assert r.json()["agreements"][0]["anpr_status"] == "pending"
    assert list_vehicle(stamp, "GX70ABC", org="avon-and-somerset", role="Police.Analyst").status_code == 201

    # Pending: the force's list does not match, and the force sees none of contoso's reads.
    assert post_reads(stamp, [read(stamp, "GX70ABC", store="ct-bristol", camera="cam-1")], org="contoso").status_code == 200
    assert force_reads(stamp, "avon-and-somerset") == [] and force_hits(stamp, "avon-and-somerset") == []

    # Only the force's admin answers, and only for its own force.
    for org, role in [("avon-and-somerset", "Police.Analyst"), ("contoso", "Retailer.Admin")]:
        assert stamp.client.post(acceptance_url("avon-and-somerset", "contoso"), headers=stamp.auth(org, role)).status_code == 403
    other = stamp.client.post(acceptance_url("avon-and-somerset", "contoso"), headers=stamp.auth("devon-and-cornwall", "Police.Admin"))
    assert other.status_code == 404
    # No offer from northwind to this force: 404, as for no agreement at all.
    none = stamp.client.post(acceptance_url("avon-and-somerset", "northwind"), headers=stamp.auth("avon-and-somerset", "Police.Admin"))
    assert none.status_code == 404 and none.headers["content-type"] == "application/problem+json"

    accepted = stamp.client.post(acceptance_url("avon-and-somerset", "contoso"), headers=stamp.auth("avon-and-somerset", "Police.Admin"))
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["anpr_status"] == "accepted" and accepted.json()["anpr_accepted_at"]
    assert post_reads(stamp, [read(stamp, "GX70ABC", store="ct-bristol", camera="cam-2")], org="contoso").status_code == 200
    assert len(force_hits(stamp, "avon-and-somerset")) == 1
    assert len(force_reads(stamp, "avon-and-somerset")) == 2
    audit = stamp.client.get(
        "/api/v1/audit", params={"entity": "organisation/contoso/sharing"}, headers=stamp.auth("contoso", "Retailer.Admin")
    ).json()
    assert audit["items"][0]["operation"] == "sharing.anpr.accept" and audit["items"][0]["actor_org"] == "avon-and-somerset"

    # Declining (withdrawing the acceptance) stops it again.
    declined = stamp.client.delete(acceptance_url("avon-and-somerset", "contoso"), headers=stamp.auth("avon-and-somerset", "Police.Admin"))
    assert declined.status_code == 200 and declined.json()["anpr_status"] == "pending"
    assert post_reads(stamp, [read(stamp, "GX70ABC", store="ct-bristol", camera="cam-3")], org="contoso").status_code == 200
    assert force_reads(stamp, "avon-and-somerset") == [] and force_hits(stamp, "avon-and-somerset") == []


@both_backends
def test_offer_withdrawn_and_made_again_needs_a_new_acceptance(stamp):
    def status():
        body = stamp.client.get(sharing_url("northwind"), headers=stamp.auth("northwind", "Retailer.Admin")).json()
        return body["agreements"][0]["anpr_status"]

    # A level change keeps the acceptance ...
    assert (
        put_agreements(stamp, "northwind", [{"partner_id": "devon-and-cornwall", "level": "descriptions", "anpr": True}]).status_code == 200
    )
    assert status() == "accepted"
    # ... withdrawing the offer ends it, and a new offer waits for the force again.
    assert put_agreements(stamp, "northwind", [{"partner_id": "devon-and-cornwall", "level": "descriptions"}]).status_code == 200
    assert status() == "none"
    assert (
        put_agreements(stamp, "northwind", [{"partner_id": "devon-and-cornwall", "level": "descriptions", "anpr": True}]).status_code == 200
    )
    assert status() == "pending"
    assert list_vehicle(stamp, "GX70ABC", org="devon-and-cornwall", role="Police.Analyst").status_code == 201
    post_reads(stamp, [read(stamp, "GX70ABC")])
    assert force_reads(stamp, "devon-and-cornwall") == [] and force_hits(stamp, "devon-and-cornwall") == []
