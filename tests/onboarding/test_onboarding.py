"""Onboarding on a local stamp: an operator onboards a force and a retailer from one file,
the retailer's staff report to that force, a second run changes nothing; stores stay in
their region's forces; a retailer admin decides which stores each member acts for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from functions.cli import run_onboard_command
from shared.records import ALL, AUDIT, STORES
from tests.fixtures_http import both_backends

API = "/api/v1"
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "onboard-uk.json"
OPS, RR, RA = "Platform.Operator", "Retailer.Reporter", "Retailer.Admin"
MEMBER = "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c01"


def _onboard(stamp, path: Path, capsys) -> tuple[int, list[str], str]:
    code = run_onboard_command(str(path), "ops-jo", container=stamp.container)
    out, err = capsys.readouterr()
    return code, out.splitlines(), err


def _robbery(stamp, store: str) -> dict:
    return {
        **stamp.example("IncidentIn"),
        "store_id": store,
        "category": "robbery",
        "occurred_at": stamp.clock.now().isoformat(),
    }


def _snapshot(stamp) -> dict[str, list[dict]]:
    """Every record of every collection, as stored (ETags included)."""
    with stamp.container.records.unit_of_work() as uow:
        return {
            name: sorted(json.dumps(d, sort_keys=True) for d in uow.query(name, None, [], limit=10_000).items)
            for name in ALL
            if name != AUDIT.name
        } | {"audit": uow.count(AUDIT.name, None)}


def _switch_d2p_on(stamp, force: str, retailers: list[str]) -> None:
    """The force's admin approves its DPIA, then enrols the retailers in its rules."""
    admin = stamp.auth(force, "Police.Admin")
    made = stamp.client.post(f"{API}/organisations/{force}/dpia", headers=admin)
    assert made.status_code == 201, made.text
    approved = stamp.client.post(f"{API}/organisations/{force}/dpia/versions/{made.json()['version']}/approval", headers=admin)
    assert approved.status_code == 200, approved.text
    url = f"{API}/forces/{force}/d2p-rules"
    current = stamp.client.get(url, headers=admin)
    rules = {**current.json()["rules"], "enrolled_retailers": retailers}
    put = stamp.client.put(url, json=rules, headers={**admin, "If-Match": current.headers["etag"]})
    assert put.status_code == 200, put.text


@both_backends
def test_a_force_and_a_retailer_onboarded_from_one_file_take_and_send_reports(stamp, capsys):
    code, lines, err = _onboard(stamp, EXAMPLE, capsys)
    assert code == 0, err
    assert all(line.endswith(": created") for line in lines) and len(lines) == 6, lines
    # D2P is switched on by the force's admin once its DPIA is approved (docs/go-live.md).
    _switch_d2p_on(stamp, "dorset-police", ["fabrikam"])
    # The new retailer's reporter reports a robbery at its Poole store: eligible for Dorset Police.
    r = stamp.client.post(f"{API}/incidents", json=_robbery(stamp, "fb-poole"), headers=stamp.auth("fabrikam", RR))
    assert r.status_code == 201, r.text
    assert r.json()["reference"].startswith("FB")
    assert r.json()["d2p"]["force_id"] == "dorset-police" and r.json()["d2p"]["eligible"] is True, r.json()["d2p"]
    # The force's control-room inbox is the onboarded one.
    rules = stamp.client.get(f"{API}/forces/dorset-police/d2p-rules", headers=stamp.auth("dorset-police", "Police.Admin"))
    assert rules.json()["rules"]["control_room_email"] == "control-room@dorset.police.example"
    # Running the same file again changes nothing, and writes no audit entry.
    before = _snapshot(stamp)
    code, lines, err = _onboard(stamp, EXAMPLE, capsys)
    assert code == 0, err
    assert lines and all(line.endswith(": unchanged") for line in lines), lines
    assert _snapshot(stamp) == before


def test_a_changed_inbox_reaches_the_forces_rules_and_is_audited(stamp, tmp_path, capsys):
    assert _onboard(stamp, EXAMPLE, capsys)[0] == 0
    data = json.loads(EXAMPLE.read_text())
    data["organisations"][0]["control_room_email"] = "new-control-room@dorset.police.example"
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(data))
    code, lines, err = _onboard(stamp, changed, capsys)
    assert code == 0, err
    assert lines[0] == "organisations[0] dorset-police: changed" and all(line.endswith("unchanged") for line in lines[1:])
    rules = stamp.client.get(f"{API}/forces/dorset-police/d2p-rules", headers=stamp.auth("dorset-police", "Police.Admin")).json()
    assert rules["rules"]["control_room_email"] == "new-control-room@dorset.police.example" and rules["version"] == 2
    entries, _ = stamp.container.audit.entries("_platform", entity="organisation/dorset-police", limit=50, continuation=None)
    assert [(e["operation"], e["actor_user"]) for e in entries][:2] == [
        ("onboarding.organisation.change", "ops-jo"),
        ("onboarding.organisation.create", "ops-jo"),
    ]


@both_backends
def test_a_store_in_another_regions_force_is_refused_naming_item_and_field(stamp, tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(
        json.dumps(
            {
                "organisations": [
                    {
                        "id": "nsw-police",
                        "name": "NSW Police Force",
                        "kind": "police_force",
                        "home_region": "au",
                        "idp_tenant_id": "0b7d4c1e-5a2f-4e8b-9c3d-1f2e3d4c5b21",
                        "reference_prefix": "NSW",
                        "homed_elsewhere": True,
                    }
                ],
                "stores": [
                    {
                        "id": "nw-sydney",
                        "organisation_id": "northwind",
                        "name": "Northwind Sydney",
                        "address": "1 George St, Sydney",
                        "postcode": "2000",
                        "force_id": "nsw-police",
                    }
                ],
            }
        )
    )
    code, _, err = _onboard(stamp, bad, capsys)
    assert code == 1
    assert "stores[0] nw-sydney" in err and "force_id" in err and "au region" in err
    with stamp.container.records.unit_of_work() as uow:
        assert uow.get(STORES.name, "_platform", "nw-sydney") is None
    # Over HTTP the same: 422 problem details naming the field, nothing written.
    r = stamp.client.put(
        f"{API}/organisations/northwind/stores/nw-sydney",
        json={"name": "Northwind Sydney", "address": "1 George St", "postcode": "2000", "force_id": "nsw-police"},
        headers=stamp.auth("vigil-platform", OPS),
    )
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert any(e["field"] == "force_id" for e in r.json()["errors"])
    # An organisation homed in another region is onboarded there: 421 naming its home.
    r = stamp.client.put(
        f"{API}/organisations/nsw-police",
        json={"name": "NSW Police Force", "kind": "police_force", "home_region": "au", "idp_tenant_id": "t-nsw", "reference_prefix": "NSW"},
        headers=stamp.auth("vigil-platform", OPS),
    )
    assert r.status_code == 421 and r.json()["home_region"] == "au" and r.json()["home_base_url"]


def test_a_bad_file_names_the_item_and_field_and_writes_nothing(stamp, tmp_path, capsys):
    data = json.loads(EXAMPLE.read_text())
    del data["stores"][1]["force_id"]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data))
    before = _snapshot(stamp)
    code, _, err = _onboard(stamp, bad, capsys)
    assert code == 1 and "stores[1].force_id" in err
    assert _snapshot(stamp) == before
    (tmp_path / "broken.json").write_text("{")
    assert run_onboard_command(str(tmp_path / "broken.json"), None, container=stamp.container) == 2
    assert "line 1" in capsys.readouterr().err


def test_only_an_operator_onboards(stamp):
    body = {"name": "Dorset Police", "kind": "police_force", "home_region": "uk", "idp_tenant_id": "t-dorset", "reference_prefix": "DP"}
    for org, role in (("northwind", RA), ("devon-and-cornwall", "Police.Admin")):
        r = stamp.client.put(f"{API}/organisations/dorset-police", json=body, headers=stamp.auth(org, role))
        assert r.status_code == 403 and r.headers["content-type"] == "application/problem+json"
    assert stamp.container.directory.organisation("dorset-police") is None


@both_backends
def test_an_upsert_changes_under_if_match_and_repeats_harmlessly(stamp):
    ops = stamp.auth("vigil-platform", OPS)
    url = f"{API}/organisations/northwind/stores/nw-torquay"
    body = {"name": "Northwind Torquay", "address": "3 Fleet Street, Torquay", "postcode": "TQ1 1BB", "force_id": "devon-and-cornwall"}
    created = stamp.client.put(url, json=body, headers=ops)
    assert created.status_code == 201 and created.json()["outcome"] == "created"
    again = stamp.client.put(url, json=body, headers=ops)
    assert again.status_code == 200 and again.json()["outcome"] == "unchanged" and again.headers["etag"] == created.headers["etag"]
    moved = {**body, "postcode": "TQ1 1BC"}
    assert stamp.client.put(url, json=moved, headers=ops).status_code == 428
    assert stamp.client.put(url, json=moved, headers={**ops, "If-Match": '"stale"'}).status_code == 412
    changed = stamp.client.put(url, json=moved, headers={**ops, "If-Match": created.headers["etag"]})
    assert changed.status_code == 200 and changed.json()["outcome"] == "changed" and changed.json()["postcode"] == "TQ1 1BC"
    assert stamp.container.directory.store("nw-torquay").postcode == "TQ1 1BC"
    # Another retailer's store id is never taken over.
    taken = stamp.client.put(f"{API}/organisations/contoso/stores/nw-torquay", json=body, headers=ops)
    assert taken.status_code == 422 and taken.json()["errors"][0]["field"] == "id"


@both_backends
def test_a_member_reports_for_the_stores_their_admin_assigned_and_no_others(stamp):
    admin = stamp.auth("northwind", RA)
    url = f"{API}/organisations/northwind/members/{MEMBER}"
    # Entra ID issues no `stores` claim: the member's token carries none.
    member = {"Authorization": "Bearer " + stamp.token("northwind", RR, user=MEMBER, stores=[])}
    assert stamp.client.post(f"{API}/incidents", json=_robbery(stamp, "nw-exeter"), headers=member).status_code == 403
    r = stamp.client.put(url, json={"stores": ["nw-exeter"]}, headers=admin)
    assert r.status_code == 201 and r.json()["stores"] == ["nw-exeter"]
    assert stamp.client.post(f"{API}/incidents", json=_robbery(stamp, "nw-exeter"), headers=member).status_code == 201
    assert stamp.client.post(f"{API}/incidents", json=_robbery(stamp, "nw-plymouth"), headers=member).status_code == 403
    listed = stamp.client.get(f"{API}/organisations/northwind/members", headers=admin).json()["members"]
    assert [(m["subject"], m["stores"]) for m in listed] == [(MEMBER, ["nw-exeter"])]
    # Only the retailer's own stores, and only its own admin.
    other = stamp.client.put(url, json={"stores": ["ct-bristol"]}, headers={**admin, "If-Match": r.headers["etag"]})
    assert other.status_code == 422 and other.json()["errors"][0]["field"] == "stores.0"
    assert stamp.client.put(url, json={"stores": ["nw-exeter"]}, headers=stamp.auth("contoso", RA)).status_code == 404
    # Removal takes effect on the member's next request, despite the directory's cache.
    assert stamp.client.delete(url, headers=admin).status_code == 204
    assert stamp.client.post(f"{API}/incidents", json=_robbery(stamp, "nw-exeter"), headers=member).status_code == 403
    # Both changes are in the retailer's own audit chain.
    entries, _ = stamp.container.audit.entries("northwind", entity=f"member/northwind/{MEMBER}", limit=50, continuation=None)
    assert [e["operation"] for e in entries] == ["onboarding.member.remove", "onboarding.member.assign"]


@both_backends
def test_a_registered_camera_posts_reads_for_its_registered_stores_without_a_claim(stamp):
    client_id = "5d2e7a10-3c4b-4f6e-8a9b-0c1d2e3f4a01"
    r = stamp.client.put(
        f"{API}/organisations/northwind/devices/{client_id}",
        json={"name": "Plymouth car park ANPR", "stores": ["nw-plymouth"]},
        headers=stamp.auth("vigil-platform", OPS),
    )
    assert r.status_code == 201, r.text
    camera = {"Authorization": "Bearer " + stamp.token("northwind", "Device.Anpr", user=client_id, stores=[])}

    def read(store: str) -> dict:
        return {
            "camera_id": "cam-1",
            "store_id": store,
            "captured_at": stamp.clock.now().isoformat(),
            "plate": "WR21XKD",
            "confidence": 0.9,
            "direction": "towards",
        }

    assert stamp.client.post(f"{API}/anpr/reads", json={"reads": [read("nw-plymouth")]}, headers=camera).status_code in (200, 201, 202)
    refused = stamp.client.post(f"{API}/anpr/reads", json={"reads": [read("nw-exeter")]}, headers=camera)
    assert refused.status_code == 422 and "nw-exeter" in refused.text
    # Deregistered (a stolen camera): its next batch is refused.
    ops = stamp.auth("vigil-platform", OPS)
    assert stamp.client.delete(f"{API}/organisations/northwind/devices/{client_id}", headers=ops).status_code == 204
    assert stamp.client.post(f"{API}/anpr/reads", json={"reads": [read("nw-plymouth")]}, headers=camera).status_code == 403


@pytest.mark.parametrize("field,value", [("kind", "retailer"), ("home_region", "au")])
def test_kind_and_home_region_are_not_edits(stamp, field, value):
    ops = stamp.auth("vigil-platform", OPS)
    current = stamp.client.get(f"{API}/organisations/devon-and-cornwall", headers=ops)
    body = {k: v for k, v in current.json().items() if k not in ("id", "outcome", "etag")}
    body[field] = value
    if field == "kind":
        body.pop("control_room_email")
    r = stamp.client.put(f"{API}/organisations/devon-and-cornwall", json=body, headers={**ops, "If-Match": current.headers["etag"]})
    assert r.status_code in (421, 422) and r.headers["content-type"] == "application/problem+json"
    assert stamp.container.directory.organisation("devon-and-cornwall").kind == "police_force"


def test_a_yaml_file_onboards_as_its_json_twin_does(stamp, tmp_path, capsys):
    yaml = pytest.importorskip("yaml", reason="YAML files are read only where PyYAML is installed")
    as_yaml = tmp_path / "onboard-uk.yaml"
    as_yaml.write_text(yaml.safe_dump(json.loads(EXAMPLE.read_text())))
    code, lines, err = _onboard(stamp, as_yaml, capsys)
    assert code == 0 and len(lines) == 6 and all(line.endswith(": created") for line in lines), err
    code, lines, err = _onboard(stamp, EXAMPLE, capsys)
    assert code == 0 and all(line.endswith(": unchanged") for line in lines), err


def test_a_store_written_before_contact_email_existed_is_unchanged_by_the_same_details(stamp):
    # Directories seeded before a field existed hold no key for it: the same store again is
    # no change (no version, no audit entry), though the body now says `contact_email: null`.
    old = {"id": "nw-truro", "organisation_id": "northwind", "name": "Northwind Truro", "address": "1 Boscawen St", "postcode": "TR1 2QU"}
    with stamp.container.records.unit_of_work() as uow:
        uow.insert(STORES.name, "_platform", {**old, "force_id": "devon-and-cornwall"})
    body = {k: v for k, v in old.items() if k not in ("id", "organisation_id")} | {"force_id": "devon-and-cornwall", "contact_email": None}
    r = stamp.client.put(f"{API}/organisations/northwind/stores/nw-truro", json=body, headers=stamp.auth("vigil-platform", OPS))
    assert r.status_code == 200 and r.json()["outcome"] == "unchanged", r.text


@both_backends
def test_a_store_carries_its_location_and_a_half_or_out_of_range_location_is_refused(stamp):
    ops = stamp.auth("vigil-platform", OPS)
    url = f"{API}/organisations/northwind/stores/nw-torquay"
    body = {"name": "Northwind Torquay", "address": "3 Fleet Street, Torquay", "postcode": "TQ1 1BB", "force_id": "devon-and-cornwall"}
    for bad, field in (
        ({"latitude": 50.46}, "latitude"),
        ({"latitude": 91, "longitude": -3.5}, "latitude"),
        ({"latitude": 50.4, "longitude": -181}, "longitude"),
    ):
        r = stamp.client.put(url, json={**body, **bad}, headers=ops)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", r.text
        assert field in r.text
    assert stamp.container.directory.store("nw-torquay") is None
    placed = stamp.client.put(url, json={**body, "latitude": 50.4619, "longitude": -3.5253}, headers=ops)
    assert placed.status_code == 201 and (placed.json()["latitude"], placed.json()["longitude"]) == (50.4619, -3.5253)
    store = stamp.container.directory.store("nw-torquay")
    assert (store.latitude, store.longitude) == (50.4619, -3.5253)
    # The seeded stores stand in their towns: Exeter is about 60 km north-east of Plymouth.
    exeter, plymouth = stamp.container.directory.store("nw-exeter"), stamp.container.directory.store("nw-plymouth")
    assert 50.7 < exeter.latitude < 50.75 and 50.35 < plymouth.latitude < 50.4
