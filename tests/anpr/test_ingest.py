"""Plate-read ingest over HTTP, as a camera system posts it."""

from __future__ import annotations

from datetime import timedelta

from tests.anpr.helpers import API, list_vehicle, post_reads, read
from tests.fixtures_http import both_backends


@both_backends
def test_batch_is_stored_normalised_with_raw_kept(stamp):
    r = post_reads(stamp, [read(stamp, "wr21 xkd"), read(stamp, "KM19-PLY", ago=timedelta(minutes=2))])
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 2, "stored": 2, "duplicates": 0, "hits": []}
    found = stamp.client.get(
        f"{API}/anpr/reads",
        params={"plate": "WR21XKD", "purpose": "checking a theft"},
        headers=stamp.auth("northwind", "Retailer.Investigator"),
    )
    assert found.status_code == 200, found.text
    [item] = found.json()["items"]
    assert item["plate"] == "WR21XKD" and item["plate_raw"] == "wr21 xkd"
    assert item["expires_at"] > item["captured_at"]


@both_backends
def test_resent_batch_is_not_stored_twice(stamp):
    batch = [read(stamp, "AB12 CDE"), read(stamp, "AB12CDE", camera="cam-2")]
    assert post_reads(stamp, batch).json()["stored"] == 2
    again = post_reads(stamp, batch + [read(stamp, "ab-12-cde")])  # same camera, plate (normalised) and time as the first
    assert again.status_code == 200
    assert again.json() == {"accepted": 3, "stored": 0, "duplicates": 3, "hits": []}
    with stamp.container.records.unit_of_work() as uow:
        assert uow.count("anpr_reads", ["northwind"]) == 2


@both_backends
def test_a_bad_read_refuses_the_whole_batch_naming_it_by_index(stamp):
    batch = [
        read(stamp, "AB12CDE"),
        read(stamp, "AB12 C€E"),
        read(stamp, "XY12ZZZ", store="ct-bristol"),
        read(stamp, "GOOD1", ago=timedelta(minutes=-30)),
    ]
    r = post_reads(stamp, batch)
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    fields = [e["field"] for e in r.json()["errors"]]
    assert "reads.1.plate" in fields
    # Schema errors are reported first (422 before the service runs); fix them and the rest show.
    fixed = [batch[0], read(stamp, "AB12CXE"), batch[2], batch[3]]
    r = post_reads(stamp, fixed)
    assert r.status_code == 422
    body = r.json()
    assert body["bad_reads"] == [2, 3]
    assert {e["field"] for e in body["errors"]} == {"reads.2.store_id", "reads.3.captured_at"}
    assert "nothing was stored" in body["detail"]
    with stamp.container.records.unit_of_work() as uow:
        assert uow.count("anpr_reads", ["northwind"]) == 0


def test_batch_limits_give_the_bound(stamp):
    stamp.container.settings.anpr_max_batch_reads = 3
    r = post_reads(stamp, [read(stamp, f"AB{i}CDE", ago=timedelta(seconds=i + 1)) for i in range(4)])
    assert r.status_code == 413
    assert r.json()["max_reads"] == 3 and "at most 3" in r.json()["detail"]
    empty = post_reads(stamp, [])
    assert empty.status_code == 422
    unknown = stamp.client.post(
        f"{API}/anpr/reads", json={"reads": [{**read(stamp), "colour": "red"}]}, headers=stamp.auth("northwind", "Device.Anpr")
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "reads.0.colour"


def test_plate_patch_is_size_capped(stamp):
    import base64

    stamp.container.settings.anpr_max_patch_bytes = 100
    small = base64.b64encode(b"\xff\xd8" + b"x" * 50).decode()
    big = base64.b64encode(b"\xff\xd8" + b"x" * 200).decode()
    assert post_reads(stamp, [read(stamp, plate_image=small)]).status_code == 200
    r = post_reads(stamp, [read(stamp, "AB12CDE", plate_image=big)])
    assert r.status_code == 422 and "100-byte" in r.json()["errors"][0]["message"]


def test_device_token_bound_to_stores_and_role(stamp):
    r = post_reads(stamp, [read(stamp, store="nw-exeter")], stores=["nw-plymouth"])
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "reads.0.store_id"
    assert post_reads(stamp, [read(stamp, store="nw-plymouth")], stores=["nw-plymouth"]).status_code == 200
    staff = stamp.client.post(f"{API}/anpr/reads", json={"reads": [read(stamp)]}, headers=stamp.auth("northwind", "Retailer.Investigator"))
    assert staff.status_code == 403


@both_backends
def test_camera_token_without_stores_claim_posts_for_no_store(stamp):
    # A token naming no stores is not a token for every store: refused, naming the claim, nothing stored.
    for store in ("nw-plymouth", "nw-exeter"):
        r = post_reads(stamp, [read(stamp, store=store)], stores=[])
        assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
        assert r.json()["missing_claim"] == "stores" and "stores" in r.json()["detail"]
    with stamp.container.records.unit_of_work() as uow:
        assert uow.count("anpr_reads", ["northwind"]) == 0


@both_backends
def test_match_makes_a_hit_once(stamp):
    assert list_vehicle(stamp, "WR21 XKD").status_code == 201
    r = post_reads(stamp, [read(stamp, "KM19PLY"), read(stamp, "wr21-xkd")])
    [hit] = r.json()["hits"]
    assert hit["read_index"] == 1 and hit["plate"] == "WR21XKD" and "vehicle_owner" not in hit
    assert post_reads(stamp, [read(stamp, "wr21-xkd")]).json()["hits"] == []
    hits = stamp.client.get(f"{API}/anpr/hits", headers=stamp.auth("northwind", "Retailer.Investigator")).json()["items"]
    assert [h["id"] for h in hits] == [hit["id"]]
    assert hits[0]["vehicle_reason"].startswith("Used in thefts")


@both_backends
def test_force_vehicle_matches_reads_of_retailers_sharing_anpr_only(stamp):
    assert list_vehicle(stamp, "GX70 ABC", org="devon-and-cornwall", role="Police.Analyst").status_code == 201
    assert list_vehicle(stamp, "GX70 ABC", org="avon-and-somerset", role="Police.Analyst").status_code == 201
    post_reads(stamp, [read(stamp, "GX70ABC")])
    # contoso does not share ANPR with avon-and-somerset: its reads never meet the force's list.
    post_reads(stamp, [read(stamp, "GX70ABC", store="ct-bristol")], org="contoso")
    [force_view] = stamp.client.get(
        f"{API}/anpr/hits", params={"purpose": "op spirits"}, headers=stamp.auth("devon-and-cornwall", "Police.Analyst")
    ).json()["items"]
    assert force_view["store_id"] == "nw-plymouth" and force_view["vehicle_reason"].startswith("Used in thefts")
    assert (
        stamp.client.get(
            f"{API}/anpr/hits", params={"purpose": "op spirits"}, headers=stamp.auth("avon-and-somerset", "Police.Analyst")
        ).json()["items"]
        == []
    )


@both_backends
def test_a_made_up_read_learns_nothing_of_a_forces_list(stamp):
    """A retailer's camera posting a plate on a force's list hears of no hit, and the hit
    never shows in the retailer's hit list: it is the force's alone."""
    assert list_vehicle(stamp, "GX70 ABC", org="devon-and-cornwall", role="Police.Analyst").status_code == 201
    on_list = post_reads(stamp, [read(stamp, "GX70ABC", camera="cam-a")]).json()
    not_on_list = post_reads(stamp, [read(stamp, "KM19PLY", camera="cam-a")]).json()
    assert on_list["hits"] == not_on_list["hits"] == []
    assert on_list.keys() == not_on_list.keys() and "devon-and-cornwall" not in str(on_list)
    retailer = stamp.client.get(f"{API}/anpr/hits", headers=stamp.auth("northwind", "Retailer.Investigator")).json()["items"]
    assert retailer == []
    force = stamp.client.get(
        f"{API}/anpr/hits", params={"purpose": "op spirits"}, headers=stamp.auth("devon-and-cornwall", "Police.Analyst")
    ).json()["items"]
    assert [h["plate"] for h in force] == ["GX70ABC"]


@both_backends
def test_a_force_sees_no_hits_on_a_retailers_own_list(stamp):
    assert list_vehicle(stamp, "WR21 XKD").status_code == 201
    assert len(post_reads(stamp, [read(stamp, "WR21XKD")]).json()["hits"]) == 1
    # devon-and-cornwall sees northwind's reads (accepted ANPR sharing), not its list's hits.
    force = stamp.client.get(
        f"{API}/anpr/hits", params={"purpose": "op spirits"}, headers=stamp.auth("devon-and-cornwall", "Police.Analyst")
    ).json()["items"]
    assert force == []


@both_backends
def test_vehicle_past_its_until_does_not_hit(stamp):
    until = (stamp.clock.now() + timedelta(days=1)).isoformat()
    assert list_vehicle(stamp, "AB12CDE", until=until).status_code == 201
    stamp.clock.advance(days=2)
    assert post_reads(stamp, [read(stamp, "AB12CDE")]).json()["hits"] == []
