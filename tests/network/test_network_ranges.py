"""Network ranges: an organisation's admin keeps its people, and separately its devices and
service principals, to its own network; every signed-in request of theirs from elsewhere
is refused with 403 `outside-network` and audited (docs/security.md, "Network ranges")."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from shared.domain.timestamps import to_iso
from tests.fixtures_http import Stamp, both_backends

API = "/api/v1"
DC = "devon-and-cornwall"
RANGES = f"{API}/organisations/{DC}/network-ranges"
INBOX = f"{API}/forces/{DC}/d2p-inbox"
INSIDE, OUTSIDE = "192.0.2.10", "203.0.113.9"


def from_address(stamp: Stamp, address: str) -> TestClient:
    """The stamp's app as reached from `address` (the connection's peer)."""
    return TestClient(stamp.client.app, raise_server_exceptions=False, client=(address, 50123))


def set_ranges(stamp: Stamp, org: str, admin_role: str, staff: list[str], devices: list[str] | None = None) -> dict[str, Any]:
    url = f"{API}/organisations/{org}/network-ranges"
    headers = stamp.auth(org, admin_role)
    etag = stamp.client.get(url, headers=headers).headers["etag"]
    r = stamp.client.put(url, json={"staff": staff, "devices": devices or []}, headers={**headers, "If-Match": etag})
    assert r.status_code == 200, r.text
    return r.json()


def refusals(stamp: Stamp, org: str = DC, admin_role: str = "Police.Admin") -> list[dict[str, Any]]:
    """The organisation's audit entries of refused requests, newest first (read by its admin from inside)."""
    r = stamp.client.get(f"{API}/audit", params={"entity": f"network-ranges/{org}"}, headers=stamp.auth(org, admin_role))
    assert r.status_code == 200, r.text
    return [e for e in r.json()["items"] if e["operation"] == "network.refused"]


@both_backends
def test_the_admin_sets_normalised_versioned_ranges_and_each_change_is_audited(stamp):
    admin = stamp.auth(DC, "Police.Admin")
    first = stamp.client.get(RANGES, headers=admin)
    assert first.status_code == 200
    assert first.json()["staff"] == [] and first.json()["staff_restricted"] is False
    # An If-Match naming a version that does not exist yet is stale, not a first setting.
    assert stamp.client.put(RANGES, json={"staff": []}, headers={**admin, "If-Match": '"abc"'}).status_code == 412

    r = stamp.client.put(
        RANGES,
        json={"staff": [" 2001:DB8:10::/48", "192.0.2.0/24", "127.0.0.1", "192.0.2.0/24"], "devices": ["198.51.100.16/28"]},
        headers={**admin, "If-Match": first.headers["etag"]},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["staff"] == ["127.0.0.1/32", "192.0.2.0/24", "2001:db8:10::/48"]
    assert body["devices"] == ["198.51.100.16/28"] and body["version"] == 1 and body["staff_restricted"] is True
    assert r.headers["etag"] == body["etag"]

    # Once set, a change names the version it replaces.
    assert stamp.client.put(RANGES, json={"staff": []}, headers=admin).status_code == 428
    assert stamp.client.put(RANGES, json={"staff": []}, headers={**admin, "If-Match": first.headers["etag"]}).status_code == 412
    second = stamp.client.put(RANGES, json={"staff": ["127.0.0.0/8"]}, headers={**admin, "If-Match": body["etag"]})
    assert second.status_code == 200 and second.json()["version"] == 2

    versions = stamp.client.get(f"{RANGES}/versions", headers=admin).json()["versions"]
    assert [v["version"] for v in versions] == [1, 2]
    assert versions[0]["staff"] == body["staff"] and versions[1]["devices"] == []
    changes = stamp.client.get(f"{API}/audit", params={"entity": f"network-ranges/{DC}"}, headers=admin).json()["items"]
    changes = [e for e in changes if e["operation"] == "network.ranges.change"]
    assert [sorted(e["fields"]) for e in changes] == [["devices", "staff"], ["devices", "staff"]]
    assert all(e["actor_user"] == f"{DC}-admin" for e in changes)


def test_bad_ranges_are_a_422_naming_each_and_nothing_is_written(stamp):
    admin = stamp.auth(DC, "Police.Admin")
    etag = stamp.client.get(RANGES, headers=admin).headers["etag"]
    sent = {"staff": ["192.0.2.1/24", "not-a-range", "::ffff:10.0.0.0/104", "10.0.0.0/8"], "devices": ["x" * 65]}
    r = stamp.client.put(RANGES, json=sent, headers={**admin, "If-Match": etag})
    assert r.status_code == 422
    assert r.headers["content-type"] == "application/problem+json"
    fields = {e["field"]: e["message"] for e in r.json()["errors"]}
    assert set(fields) == {"staff.0", "staff.1", "staff.2", "devices.0"}, fields
    assert "write 192.0.2.0/24" in fields["staff.0"]
    too_many = {"staff": [f"10.0.{i}.0/24" for i in range(101)]}
    assert stamp.client.put(RANGES, json=too_many, headers={**admin, "If-Match": etag}).status_code == 422
    assert stamp.client.get(RANGES, headers=admin).json()["version"] == 0


@both_backends
def test_an_officer_inside_the_ranges_works_and_one_outside_is_refused_and_audited(stamp):
    set_ranges(stamp, DC, "Police.Admin", ["127.0.0.0/8", "192.0.2.0/24"])
    officer = stamp.auth(DC, "Police.Officer")

    assert from_address(stamp, INSIDE).get(INBOX, headers=officer).status_code == 200
    r = from_address(stamp, OUTSIDE).get(INBOX, headers=officer)
    assert r.status_code == 403
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"] == "/api/v1/problems/outside-network"
    assert r.json()["detail"] == f"Your organisation allows access only from its own network; this request came from {OUTSIDE}."

    [entry] = refusals(stamp)
    assert entry["actor_user"] == f"{DC}-officer" and entry["actor_org"] == DC
    assert f"address:{OUTSIDE}" in entry["fields"] and f"route:GET {INBOX}" in entry["fields"]
    assert OUTSIDE in entry["purpose"] and INBOX in entry["purpose"]
    # Another force keeps no ranges: its officers work from anywhere.
    other = from_address(stamp, OUTSIDE).get(
        f"{API}/forces/avon-and-somerset/d2p-inbox", headers=stamp.auth("avon-and-somerset", "Police.Officer")
    )
    assert other.status_code == 200


def test_a_flood_of_refusals_is_audited_once_per_person_and_address_a_minute(stamp):
    set_ranges(stamp, DC, "Police.Admin", ["127.0.0.0/8"])
    officer = stamp.auth(DC, "Police.Officer")
    outside = from_address(stamp, OUTSIDE)
    for _ in range(20):
        assert outside.get(INBOX, headers=officer).status_code == 403
    assert len(refusals(stamp)) == 1
    # Many addresses: still a bounded number of entries for one person each minute.
    for i in range(30):
        assert from_address(stamp, f"203.0.113.{100 + i}").get(INBOX, headers=officer).status_code == 403
    assert len(refusals(stamp)) == 10
    stamp.clock.advance(minutes=1)
    assert outside.get(INBOX, headers=officer).status_code == 403
    assert len(refusals(stamp)) == 11


@pytest.mark.parametrize(
    "spoof",
    [
        {"X-Forwarded-For": INSIDE},
        {"X-Forwarded-For": f"{OUTSIDE}, {INSIDE}"},
        {"X-Real-IP": INSIDE},
        {"X-Azure-ClientIP": INSIDE, "X-Azure-SocketIP": INSIDE, "X-Azure-FDID": "anything"},
        {"Forwarded": f"for={INSIDE}"},
    ],
)
def test_a_header_a_client_sets_does_not_get_it_in_from_outside(stamp, spoof):
    set_ranges(stamp, DC, "Police.Admin", ["127.0.0.0/8", "192.0.2.0/24"])
    r = from_address(stamp, OUTSIDE).get(INBOX, headers={**stamp.auth(DC, "Police.Officer"), **spoof})
    assert r.status_code == 403 and r.json()["type"].endswith("/outside-network")
    assert OUTSIDE in r.json()["detail"]


def test_an_empty_list_restricts_nothing(stamp):
    set_ranges(stamp, DC, "Police.Admin", ["127.0.0.0/8"])
    assert from_address(stamp, OUTSIDE).get(INBOX, headers=stamp.auth(DC, "Police.Officer")).status_code == 403
    body = set_ranges(stamp, DC, "Police.Admin", [], [])
    assert body["staff_restricted"] is False and body["devices_restricted"] is False
    assert from_address(stamp, OUTSIDE).get(INBOX, headers=stamp.auth(DC, "Police.Officer")).status_code == 200


def test_an_address_the_connection_does_not_give_is_outside_every_range(stamp):
    set_ranges(stamp, DC, "Police.Admin", ["127.0.0.0/8"])
    r = from_address(stamp, "testclient").get(INBOX, headers=stamp.auth(DC, "Police.Officer"))
    assert r.status_code == 403
    assert "could not be established" in r.json()["detail"]


def _reads(stamp: Stamp) -> dict[str, Any]:
    at = to_iso(stamp.clock.now() - timedelta(minutes=5))
    return {"reads": [{"camera_id": "cam-1", "store_id": "nw-plymouth", "captured_at": at, "plate": "NR01 AAA", "confidence": 0.9}]}


def test_camera_systems_are_held_to_the_devices_ranges_and_people_to_the_staff_ranges(stamp):
    set_ranges(stamp, "northwind", "Retailer.Admin", [], ["198.51.100.16/28"])
    device = stamp.auth("northwind", "Device.Anpr")
    assert from_address(stamp, "198.51.100.20").post(f"{API}/anpr/reads", json=_reads(stamp), headers=device).status_code == 200
    refused = from_address(stamp, OUTSIDE).post(f"{API}/anpr/reads", json=_reads(stamp), headers=device)
    assert refused.status_code == 403
    assert "devices and service principals" in refused.json()["detail"]
    # The staff list is empty: the retailer's people work from anywhere.
    people = from_address(stamp, OUTSIDE).get(f"{API}/incidents", headers=stamp.auth("northwind", "Retailer.Investigator"))
    assert people.status_code == 200
    [entry] = refusals(stamp, "northwind", "Retailer.Admin")
    assert "caller:devices" in entry["fields"]


def test_an_app_only_token_is_held_to_the_devices_ranges(stamp):
    set_ranges(stamp, DC, "Police.Admin", ["127.0.0.0/8", "192.0.2.0/24"], ["198.51.100.16/28"])
    org = stamp.container.directory.organisation(DC)
    claims = {"sub": "dc-integration", "tid": org.idp_tenant_id, "roles": ["Police.Officer"], "idtyp": "app"}
    s = stamp.container.settings
    app_only = {"Authorization": "Bearer " + stamp.container.local_keys.mint(claims, issuer=s.auth_issuer, audience=s.auth_audience)}
    # From the staff network it is still outside: a service principal is not a person.
    assert from_address(stamp, INSIDE).get(INBOX, headers=app_only).status_code == 403
    assert from_address(stamp, "198.51.100.17").get(INBOX, headers=app_only).status_code == 200


def test_a_change_takes_effect_at_once_on_the_instance_that_made_it(stamp):
    officer = stamp.auth(DC, "Police.Officer")
    outside = from_address(stamp, OUTSIDE)
    assert outside.get(INBOX, headers=officer).status_code == 200  # cached: unrestricted
    set_ranges(stamp, DC, "Police.Admin", ["127.0.0.0/8"])
    assert outside.get(INBOX, headers=officer).status_code == 403


def test_another_organisations_admin_can_neither_read_nor_set_the_ranges(stamp):
    other = stamp.auth("avon-and-somerset", "Police.Admin")
    assert stamp.client.get(RANGES, headers=other).status_code == 404
    r = stamp.client.put(RANGES, json={"staff": ["10.0.0.0/8"]}, headers={**other, "If-Match": '"unset"'})
    assert r.status_code == 404
    assert stamp.client.put(RANGES, json={"staff": ["10.0.0.0/8"]}, headers=stamp.auth(DC, "Police.Officer")).status_code == 403
    assert stamp.client.get(RANGES, headers=stamp.auth(DC, "Police.Admin")).json()["version"] == 0


FRONT_DOOR = "6b0f7c1e-2d3a-4c5b-9e8f-0a1b2c3d4e5f"


@pytest.mark.stamp_settings(client_address_from="front-door", front_door_id=FRONT_DOOR)
def test_behind_front_door_the_address_is_its_socket_address_and_other_requests_are_refused(stamp):
    set_ranges_fd = {"X-Azure-FDID": FRONT_DOOR, "X-Azure-SocketIP": INSIDE}
    admin = {**stamp.auth(DC, "Police.Admin"), **set_ranges_fd}
    etag = stamp.client.get(RANGES, headers=admin).headers["etag"]
    assert stamp.client.put(RANGES, json={"staff": ["192.0.2.0/24"]}, headers={**admin, "If-Match": etag}).status_code == 200
    officer = stamp.auth(DC, "Police.Officer")

    # Not through this stamp's Front Door: refused whatever the address.
    for headers in ({}, {"X-Azure-SocketIP": INSIDE}, {"X-Azure-FDID": "another-profile", "X-Azure-SocketIP": INSIDE}):
        r = stamp.client.get(INBOX, headers={**officer, **headers})
        assert r.status_code == 403 and r.json()["type"].endswith("/untrusted-proxy"), headers
    assert stamp.client.get(INBOX, headers={**officer, **set_ranges_fd}).status_code == 200
    # The client's own claims (X-Azure-ClientIP, the left of X-Forwarded-For) are not believed.
    spoofed = {
        "X-Azure-FDID": FRONT_DOOR,
        "X-Azure-SocketIP": OUTSIDE,
        "X-Azure-ClientIP": INSIDE,
        "X-Forwarded-For": f"{INSIDE}, {OUTSIDE}",
    }
    r = stamp.client.get(INBOX, headers={**officer, **spoofed})
    assert r.status_code == 403 and OUTSIDE in r.json()["detail"]
