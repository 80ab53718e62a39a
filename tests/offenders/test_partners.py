"""A force sees retailers' persons of interest for an incident it may see, at the level
each sharing agreement allows, never a minor; and only a pointer to another force's area."""

from __future__ import annotations

from tests.offenders.test_http import API, list_person, report

PURPOSE = {"purpose": "Linking a series of thefts, op ANVIL"}


def contoso_listing(stamp) -> dict:
    body = {
        **stamp.example("IncidentIn"),
        "store_id": "ct-bristol",
        "persons": [{"role": "suspect", "name": "Jamie Doyle", "date_of_birth": "1990-04-12"}],
        "vehicles": [{"plate": "WR21 XKD"}],
    }
    inv = stamp.auth("contoso", "Retailer.Investigator")
    incident = stamp.client.post(f"{API}/incidents", json=body, headers=inv).json()
    r = stamp.client.post(
        f"{API}/incidents/{incident['id']}/persons/0/listing",
        json={"listing_reason": "Pushed staff aside leaving with spirits"},
        headers=inv,
    )
    assert r.status_code == 201, r.text
    return {"incident": incident, "profile": r.json()}


def test_force_sees_profiles_at_each_agreements_level_and_pointers_to_other_forces(stamp):
    first = report(stamp, occurred_at="2026-11-10T10:00:00+00:00")
    second = report(stamp)
    northwind = list_person(stamp, [first, second]).json()
    # A minor listed by northwind with the same car: never shown to a force.
    minor = report(stamp, violence=True, person={"role": "suspect", "name": "Young Person", "date_of_birth": "2012-03-03"})
    assert list_person(stamp, [minor]).status_code == 201
    contoso = contoso_listing(stamp)

    dc = stamp.auth("devon-and-cornwall", "Police.Officer")
    r = stamp.client.get(f"{API}/incidents/{second['id']}/persons-of-interest", params=PURPOSE, headers=dc)
    assert r.status_code == 200, r.text
    seen = r.json()
    # Northwind shares in full with Devon and Cornwall; contoso shares nothing with it.
    assert [(p["organisation_id"], p["name"]) for p in seen["profiles"]] == [("northwind", "Jamie Doyle")]
    assert seen["profiles"][0]["id"] == northwind["id"]
    assert "Young Person" not in r.text and "2012-03-03" not in r.text
    assert [(p["force_id"], p["matched"]) for p in seen["pointers"]] == [("avon-and-somerset", "plate WR21XKD")]
    assert seen["pointers"][0]["contact_email"]
    assert contoso["profile"]["id"] not in r.text and contoso["incident"]["id"] not in r.text

    # Contoso shares descriptions with Avon and Somerset: its profile without name, aliases or date of birth.
    asp = stamp.auth("avon-and-somerset", "Police.Analyst")
    r = stamp.client.get(f"{API}/incidents/{contoso['incident']['id']}/persons-of-interest", params=PURPOSE, headers=asp)
    assert r.status_code == 200, r.text
    [profile] = r.json()["profiles"]
    assert profile["id"] == contoso["profile"]["id"] and profile["name"] is None and profile["date_of_birth"] is None
    assert "Jamie" not in r.text
    assert [p["force_id"] for p in r.json()["pointers"]] == ["devon-and-cornwall"]

    # Another force's incident is not there; a purpose is required.
    assert stamp.client.get(f"{API}/incidents/{second['id']}/persons-of-interest", params=PURPOSE, headers=asp).status_code == 404
    assert stamp.client.get(f"{API}/incidents/{second['id']}/persons-of-interest", headers=dc).status_code == 422


def test_contested_listing_is_not_shown_to_a_force(stamp):
    first = report(stamp, violence=True)
    listed = list_person(stamp, [first]).json()
    inv = stamp.auth("northwind", "Retailer.Investigator")
    got = stamp.client.get(f"{API}/offenders/{listed['id']}", headers=inv)
    # Withdrawn at review: no longer in force, so nothing leaves northwind.
    stamp.client.post(
        f"{API}/offenders/{listed['id']}/review",
        json={"outcome": "withdrawn", "note": "Not certain"},
        headers={**inv, "If-Match": got.headers["ETag"]},
    )
    r = stamp.client.get(
        f"{API}/incidents/{first['id']}/persons-of-interest", params=PURPOSE, headers=stamp.auth("devon-and-cornwall", "Police.Officer")
    )
    assert r.status_code == 200 and r.json()["profiles"] == []


def test_a_force_sees_only_the_incidents_of_a_profile_that_happened_in_its_area(stamp):
    """Northwind's profile links a theft at Plymouth (Devon and Cornwall) and one at a new
    Taunton store (Avon and Somerset): Devon and Cornwall, which northwind shares with in
    full, is shown the Plymouth incident only, in the persons-of-interest view and in the
    profile's network."""
    from shared.domain.tenancy import Store
    from shared.services.seed import SEED_OPERATOR

    stamp.container.onboarding.stores.put(
        SEED_OPERATOR,
        Store(
            id="nw-taunton",
            organisation_id="northwind",
            name="Northwind Taunton",
            address="1 Fore Street, Taunton",
            postcode="TA1 1HN",
            force_id="avon-and-somerset",
        ),
        None,
    )
    plymouth = report(stamp, occurred_at="2026-11-10T10:00:00+00:00")
    taunton = stamp.client.post(
        f"{API}/incidents",
        json={**stamp.example("IncidentIn"), "store_id": "nw-taunton", "persons": plymouth["persons"], "vehicles": [{"plate": "WR21 XKD"}]},
        headers=stamp.auth("northwind", "Retailer.Investigator"),
    )
    assert taunton.status_code == 201, taunton.text
    taunton = taunton.json()
    listed = list_person(stamp, [plymouth, taunton])
    assert listed.status_code == 201, listed.text
    assert sorted(listed.json()["incident_ids"]) == sorted([plymouth["id"], taunton["id"]])

    dc = stamp.auth("devon-and-cornwall", "Police.Analyst")
    r = stamp.client.get(f"{API}/incidents/{plymouth['id']}/persons-of-interest", params=PURPOSE, headers=dc)
    assert r.status_code == 200, r.text
    [profile] = r.json()["profiles"]
    assert profile["incident_ids"] == [plymouth["id"]]
    assert taunton["id"] not in r.text

    network = stamp.client.get(f"{API}/offenders/{listed.json()['id']}/network", params=PURPOSE, headers=dc)
    assert network.status_code == 200, network.text
    assert taunton["id"] not in network.text
