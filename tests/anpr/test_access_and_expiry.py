"""Who sees which reads, access by data age, and expiry from birth."""

from __future__ import annotations

from datetime import timedelta

import pytest

from functions import jobs
from shared.domain.timestamps import to_iso
from tests.anpr.helpers import API, list_vehicle, post_reads, read
from tests.fixtures_backends import BACKENDS
from tests.fixtures_http import both_backends

PURPOSE = {"purpose": "Op Spirits: tracing a theft suspect"}


def search(stamp, org, role, plate="WR21XKD", **params):
    return stamp.client.get(f"{API}/anpr/reads", params={"plate": plate, **PURPOSE, **params}, headers=stamp.auth(org, role))


@both_backends
def test_retailer_sees_own_reads_police_only_from_sharers(stamp):
    post_reads(stamp, [read(stamp)])
    post_reads(stamp, [read(stamp, store="ct-bristol")], org="contoso")
    assert {i["store_id"] for i in search(stamp, "northwind", "Retailer.Investigator").json()["items"]} == {"nw-plymouth"}
    assert {i["store_id"] for i in search(stamp, "contoso", "Retailer.Investigator").json()["items"]} == {"ct-bristol"}
    # northwind shares ANPR with devon-and-cornwall; contoso shares no ANPR with anyone.
    assert {i["store_id"] for i in search(stamp, "devon-and-cornwall", "Police.Officer").json()["items"]} == {"nw-plymouth"}
    assert search(stamp, "avon-and-somerset", "Police.Analyst").json()["items"] == []


@both_backends
def test_another_organisations_read_answers_404(stamp):
    post_reads(stamp, [read(stamp)])
    [item] = search(stamp, "northwind", "Retailer.Investigator").json()["items"]
    url = f"{API}/anpr/reads/{item['id']}"
    assert stamp.client.get(url, params=PURPOSE, headers=stamp.auth("northwind", "Retailer.Investigator")).status_code == 200
    assert stamp.client.get(url, params=PURPOSE, headers=stamp.auth("devon-and-cornwall", "Police.Officer")).status_code == 200
    for org, role in [("contoso", "Retailer.Investigator"), ("avon-and-somerset", "Police.Analyst")]:
        r = stamp.client.get(url, params=PURPOSE, headers=stamp.auth(org, role))
        assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
        assert "WR21" not in r.text
    missing = stamp.client.get(f"{API}/anpr/reads/{'0' * 32}", params=PURPOSE, headers=stamp.auth("contoso", "Retailer.Investigator"))
    assert missing.status_code == 404 and missing.json()["title"] == r.json()["title"]


@both_backends
def test_every_search_needs_a_purpose_and_is_audited_with_it(stamp):
    post_reads(stamp, [read(stamp)])
    r = stamp.client.get(f"{API}/anpr/reads", params={"plate": "WR21XKD"}, headers=stamp.auth("devon-and-cornwall", "Police.Officer"))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "purpose"
    assert search(stamp, "devon-and-cornwall", "Police.Officer").status_code == 200
    entries, _ = stamp.container.audit.entries("northwind", entity="anpr_read", limit=50, continuation=None)
    disclosed = [e for e in entries if e["operation"] == "anpr.read.search"]
    assert disclosed and disclosed[0]["purpose"] == PURPOSE["purpose"] and disclosed[0]["recipient_org"] == "devon-and-cornwall"


@both_backends
def test_old_reads_need_an_analyst_a_purpose_and_an_authorising_officer(stamp):
    stamp.container.settings.anpr_read_retention_days = 365
    old = stamp.clock.now() - timedelta(days=120)
    post_reads(stamp, [read(stamp, at=old), read(stamp)])
    # Without `from` a search covers the ordinary window only.
    assert len(search(stamp, "devon-and-cornwall", "Police.Analyst").json()["items"]) == 1
    back = {"from": to_iso(stamp.clock.now() - timedelta(days=200))}
    for org, role in [("northwind", "Retailer.Investigator"), ("devon-and-cornwall", "Police.Officer")]:
        refused = search(stamp, org, role, **back)
        assert refused.status_code == 403 and "Police.Analyst" in refused.json()["detail"]
    no_officer = search(stamp, "devon-and-cornwall", "Police.Analyst", **back)
    assert no_officer.status_code == 422 and no_officer.json()["errors"][0]["field"] == "authorised_by"
    appoint_authoriser(stamp)
    ok = search(stamp, "devon-and-cornwall", "Police.Analyst", authorised_by="dc-supt-4471", **back)
    assert ok.status_code == 200 and len(ok.json()["items"]) == 2 and ok.json()["tier"] == "authorised"
    entries, _ = stamp.container.audit.entries("devon-and-cornwall", entity="anpr_read", limit=50, continuation=None)
    assert any(e["purpose"] == f"{PURPOSE['purpose']} (authorised by Superintendent Priya Patel, dc-supt-4471)" for e in entries)


def appoint_authoriser(stamp, force="devon-and-cornwall", **officer):
    body = {"officers": [{"user_id": "dc-supt-4471", "name": "Priya Patel", "rank": "Superintendent", **officer}]}
    r = stamp.client.put(f"{API}/forces/{force}/anpr-authorising-officers", json=body, headers=stamp.auth(force, "Police.Admin"))
    assert r.status_code == 200, r.text
    return r


@both_backends
def test_authorised_by_must_name_an_officer_on_the_force_register(stamp):
    stamp.container.settings.anpr_read_retention_days = 365
    post_reads(stamp, [read(stamp, at=stamp.clock.now() - timedelta(days=120))])
    back = {"from": to_iso(stamp.clock.now() - timedelta(days=200))}
    analyst = stamp.auth("devon-and-cornwall", "Police.Analyst")
    # Anyone can type a name: made-up officers, the analyst themself and another force's
    # authoriser are all refused with a problem naming the field, and nothing is disclosed.
    appoint_authoriser(stamp, force="avon-and-somerset", user_id="as-supt-1")
    for name in ["DS 4471 Patel", "dc-analyst-7", "as-supt-1"]:
        r = stamp.client.get(
            f"{API}/anpr/reads",
            params={"plate": "WR21XKD", **PURPOSE, "authorised_by": name, **back},
            headers=stamp.auth("devon-and-cornwall", "Police.Analyst", user="dc-analyst-7"),
        )
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", name
        assert r.json()["errors"][0]["field"] == "authorised_by" and "WR21" not in r.text
    appoint_authoriser(stamp)
    assert search(stamp, "devon-and-cornwall", "Police.Analyst", authorised_by="dc-supt-4471", **back).status_code == 200
    # The register is the force admin's own: other roles are refused, another force sees no register.
    url = f"{API}/forces/devon-and-cornwall/anpr-authorising-officers"
    assert stamp.client.get(url, headers=analyst).status_code == 403
    assert stamp.client.get(url, headers=stamp.auth("avon-and-somerset", "Police.Admin")).status_code == 404
    listed = stamp.client.get(url, headers=stamp.auth("devon-and-cornwall", "Police.Admin")).json()
    assert [o["user_id"] for o in listed["officers"]] == ["dc-supt-4471"]
    twice = {"officers": [listed["officers"][0], listed["officers"][0]]}
    assert stamp.client.put(url, json=twice, headers=stamp.auth("devon-and-cornwall", "Police.Admin")).status_code == 422


@both_backends
def test_a_read_expires_at_exactly_its_expiry_and_its_hit_stays(stamp):
    list_vehicle(stamp, "WR21XKD")
    captured = stamp.clock.now() - timedelta(minutes=1)
    r = post_reads(stamp, [read(stamp, at=captured), read(stamp, "KM19PLY", at=captured)])
    assert len(r.json()["hits"]) == 1
    expiry = captured + timedelta(days=30)
    c = stamp.container
    jobs.load_all()
    report = jobs.run_job(c, "anpr-expiry", expiry - timedelta(seconds=1))
    assert report.counts["reads_deleted"] == 0
    with c.records.unit_of_work() as uow:
        assert uow.count("anpr_reads", ["northwind"]) == 2
    report = jobs.run_job(c, "anpr-expiry", expiry)
    assert report.counts["reads_deleted"] == 2
    with c.records.unit_of_work() as uow:
        assert uow.count("anpr_reads", ["northwind"]) == 0
        assert uow.count("anpr_hits", ["northwind"]) == 1
    stamp.clock.current = expiry + timedelta(days=1)
    hits = stamp.client.get(f"{API}/anpr/hits", headers=stamp.auth("northwind", "Retailer.Investigator")).json()["items"]
    assert [h["plate"] for h in hits] == ["WR21XKD"]


@both_backends
def test_a_read_past_expiry_is_not_shown_before_the_sweep(stamp):
    post_reads(stamp, [read(stamp)])
    stamp.clock.advance(days=31)
    assert search(stamp, "northwind", "Retailer.Investigator").json()["items"] == []


@both_backends
def test_expiry_runs_in_bounded_batches_until_none_due(stamp):
    stamp.container.settings.anpr_expiry_batch = 3
    post_reads(stamp, [read(stamp, f"AB{i}CDE", ago=timedelta(minutes=i + 1)) for i in range(7)])
    jobs.load_all()
    report = jobs.run_job(stamp.container, "anpr-expiry", stamp.clock.now() + timedelta(days=31))
    assert report.counts == {"reads_deleted": 7, "batches": 3, "organisations": 1}


def test_organisation_retention_setting_applies_to_new_reads(stamp):
    admin = stamp.auth("northwind", "Retailer.Admin")
    assert stamp.client.put(f"{API}/anpr/settings", json={"read_retention_days": 2}, headers=admin).json()["read_retention_days"] == 2
    too_long = stamp.client.put(f"{API}/anpr/settings", json={"read_retention_days": 400}, headers=admin)
    assert too_long.status_code == 422 and "365" in too_long.json()["detail"]
    post_reads(stamp, [read(stamp)])
    [item] = search(stamp, "northwind", "Retailer.Investigator").json()["items"]
    assert item["expires_at"][:10] == (stamp.clock.now() - timedelta(minutes=1) + timedelta(days=2)).isoformat()[:10]


on_cosmos = pytest.mark.parametrize("stamp", [BACKENDS[1]], indirect=True)


@on_cosmos
def test_reads_carry_a_cosmos_ttl_from_their_expiry_and_hits_none(stamp):
    """In Azure a read also leaves by the item's `ttl` (seconds from storing to its
    expires_at, plus the grace that lets the sweep delete and audit it first); a hit is
    not an expiring record and gets none."""
    list_vehicle(stamp, "WR21XKD")
    captured = stamp.clock.now() - timedelta(minutes=1)
    [hit] = post_reads(stamp, [read(stamp, at=captured)]).json()["hits"]
    admin = stamp.auth("northwind", "Retailer.Admin")
    assert stamp.client.put(f"{API}/anpr/settings", json={"read_retention_days": 2}, headers=admin).status_code == 200
    post_reads(stamp, [read(stamp, "KM19PLY", at=captured)])
    store = stamp.container.records
    reads = {
        r["plate"]: r
        for r in store.container("anpr_reads").query_items(
            "SELECT * FROM c WHERE c.tenantId = 'northwind'", enable_cross_partition_query=True
        )
    }
    grace = stamp.container.settings.cosmos_ttl_grace_seconds  # the sweep deletes and audits first
    assert reads["WR21XKD"]["ttl"] == 30 * 86400 - 60 + grace and reads["WR21XKD"]["expires_at"] == to_iso(captured + timedelta(days=30))
    assert reads["KM19PLY"]["ttl"] == 2 * 86400 - 60 + grace
    assert "ttl" not in store.read_raw(store.collection("anpr_hits"), "northwind", hit["id"])


@on_cosmos
def test_an_expired_read_is_withheld_while_cosmos_still_holds_it(stamp):
    """Real Cosmos deletes a read by its item `ttl` because the reads container turns TTL
    on (defaultTtl -1). Until TTL or the sweep removes it, the stored read must not reach
    anyone: the emulator never deletes by TTL, so it shows that window."""
    store = stamp.container.records
    assert store.container("anpr_reads").read()["defaultTtl"] == -1
    post_reads(stamp, [read(stamp)])
    [item] = search(stamp, "northwind", "Retailer.Investigator").json()["items"]
    stamp.clock.advance(days=31)
    assert store.read_raw(store.collection("anpr_reads"), "northwind", item["id"]) is not None
    assert search(stamp, "northwind", "Retailer.Investigator").json()["items"] == []
    gone = stamp.client.get(f"{API}/anpr/reads/{item['id']}", params=PURPOSE, headers=stamp.auth("northwind", "Retailer.Investigator"))
    assert gone.status_code == 404 and "WR21" not in gone.text
