"""Vehicles of interest: listing, changing under If-Match, promotion from an incident."""

from __future__ import annotations

from shared.ports import Where
from tests.anpr.helpers import API, list_vehicle, post_reads, read
from tests.fixtures_http import both_backends


def report_incident(stamp):
    r = stamp.client.post(f"{API}/incidents", json=stamp.example("IncidentIn"), headers=stamp.auth("northwind", "Retailer.Reporter"))
    assert r.status_code == 201, r.text
    return r.json()


@both_backends
def test_stale_etag_is_412_even_when_the_linked_incidents_are_not_visible(stamp):
    """A change from a stale copy is 412 (read again) before its linked incidents are
    checked, and the listing is left as it was."""
    created = list_vehicle(stamp, "WR21XKD").json()
    inv = stamp.auth("northwind", "Retailer.Investigator")
    change = {"reason": "Changed", "incident_ids": ["no-such-incident"]}
    assert stamp.client.put(f"{API}/vehicles/WR21XKD", json=change, headers={**inv, "If-Match": created["etag"]}).status_code == 422
    stale = stamp.client.put(f"{API}/vehicles/WR21XKD", json=change, headers={**inv, "If-Match": '"stale"'})
    assert stale.status_code == 412 and stale.headers["content-type"] == "application/problem+json"
    [listed] = stamp.client.get(f"{API}/vehicles", headers=inv).json()["items"]
    assert listed["reason"] == created["reason"] and listed["etag"] == created["etag"]


@both_backends
def test_put_lists_then_changes_only_with_if_match(stamp):
    created = list_vehicle(stamp, "wr21 xkd")
    assert created.status_code == 201
    body = created.json()
    assert body["plate"] == "WR21XKD" and body["added_by"] == "northwind-investigator" and body["until"]
    again = list_vehicle(stamp, "WR21-XKD", reason="Changed reason")
    assert again.status_code == 428
    stale = stamp.client.put(
        f"{API}/vehicles/WR21XKD",
        json={"reason": "Changed"},
        headers={**stamp.auth("northwind", "Retailer.Investigator"), "If-Match": '"nope"'},
    )
    assert stale.status_code == 412
    ok = stamp.client.put(
        f"{API}/vehicles/WR21XKD",
        json={"reason": "Changed reason"},
        headers={**stamp.auth("northwind", "Retailer.Investigator"), "If-Match": created.headers["etag"]},
    )
    assert ok.status_code == 200 and ok.json()["reason"] == "Changed reason" and ok.json()["added_at"] == body["added_at"]
    listed = stamp.client.get(f"{API}/vehicles", headers=stamp.auth("northwind", "Retailer.Investigator")).json()["items"]
    assert [v["plate"] for v in listed] == ["WR21XKD"]
    # Another organisation has its own list.
    assert stamp.client.get(f"{API}/vehicles", headers=stamp.auth("contoso", "Retailer.Investigator")).json()["items"] == []
    assert stamp.client.delete(f"{API}/vehicles/WR21XKD", headers=stamp.auth("contoso", "Retailer.Investigator")).status_code == 404
    assert stamp.client.delete(f"{API}/vehicles/WR21XKD", headers=stamp.auth("northwind", "Retailer.Investigator")).status_code == 204
    assert post_reads(stamp, [read(stamp)]).json()["hits"] == []


def test_bad_plates_and_foreign_incidents_are_refused(stamp):
    assert list_vehicle(stamp, "WR21 XK€").status_code == 422
    incident = report_incident(stamp)
    r = list_vehicle(stamp, "AB12CDE", org="contoso", incident_ids=[incident["id"]])
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "incident_ids.0"
    linked = list_vehicle(stamp, "AB12CDE", incident_ids=[incident["id"]])
    assert linked.status_code == 201 and linked.json()["incident_ids"] == [incident["id"]]


@both_backends
def test_promote_an_incidents_vehicle_in_one_call_and_hit_links_the_incident(stamp):
    incident = report_incident(stamp)
    url = f"{API}/incidents/{incident['id']}/vehicles/wr21 xkd/promote"
    r = stamp.client.post(url, headers=stamp.auth("northwind", "Retailer.Investigator"))
    assert r.status_code == 201, r.text
    vehicle = r.json()
    assert vehicle["incident_ids"] == [incident["id"]] and incident["reference"] in vehicle["reason"]
    assert vehicle["make"] == "Ford" and vehicle["plate_raw"] == "WR21 XKD"
    assert stamp.client.post(url, headers=stamp.auth("northwind", "Retailer.Investigator")).status_code == 200
    # The force the incident is shared with can promote it onto its own list.
    assert stamp.client.post(url, headers=stamp.auth("devon-and-cornwall", "Police.Analyst")).status_code == 201
    # Other organisations, or a plate the incident does not record: 404.
    assert stamp.client.post(url, headers=stamp.auth("contoso", "Retailer.Investigator")).status_code == 404
    assert (
        stamp.client.post(
            f"{API}/incidents/{incident['id']}/vehicles/AB12CDE/promote", headers=stamp.auth("northwind", "Retailer.Investigator")
        ).status_code
        == 404
    )
    # The camera's answer names northwind's own hit only; the force's is the force's.
    hits = post_reads(stamp, [read(stamp, "WR21XKD")]).json()["hits"]
    assert len(hits) == 1
    with stamp.container.records.unit_of_work() as uow:
        found = uow.query("anpr_hits", ["northwind"], [Where("incident_ids", "contains", incident["id"])]).items
    assert sorted(h["vehicle_owner"] for h in found) == ["devon-and-cornwall", "northwind"]
