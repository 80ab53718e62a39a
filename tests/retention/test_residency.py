"""Residency: two stamps side by side (uk and au). Every write path stores an
organisation's data only in its home region's store, and a request sent to the wrong
region (421) writes nothing at all, on any route."""

from __future__ import annotations

import pytest

from shared.domain.tenancy import Organisation, OrgKind, Store
from shared.records import ALL
from shared.services.seed import DEMO_ORGANISATIONS, DEMO_SHARING, DEMO_STORES, seed_directory
from tests.fixtures_http import make_stamp
from tests.retention.helpers import subject_request_body

API = "/api/v1"
NSW = Organisation(
    id="nsw-police",
    name="NSW Police Force",
    kind=OrgKind.POLICE_FORCE,
    home_region="au",
    idp_tenant_id="6f1c1a52-0b1e-4c7e-9a0e-2f5d7c1b0a21",
    reference_prefix="NSW",
)
KM_STORE = Store(
    id="km-sydney",
    organisation_id="koala-mart",
    name="Koala Mart Sydney",
    address="1 George St, Sydney",
    postcode="2000",
    force_id="nsw-police",
)


@pytest.fixture(scope="module")
def stamps(tmp_path_factory):
    uk = make_stamp(tmp_path_factory.mktemp("uk"))
    au = make_stamp(tmp_path_factory.mktemp("au"), region="au")
    for s in (uk, au):
        seed_directory(
            s.container,
            organisations=[*DEMO_ORGANISATIONS, NSW],
            stores=[*DEMO_STORES, KM_STORE],
            sharing=DEMO_SHARING,
            region=s.container.settings.region,
        )
    yield uk, au
    uk.container.close()
    au.container.close()


def tenants_of(stamp, org: str) -> dict[str, int]:
    """How many records each collection holds in `org`'s partition."""
    with stamp.container.records.unit_of_work() as uow:
        return {name: n for name in ALL if (n := uow.count(name, [org])) > 0}


def snapshot(stamp) -> dict[str, int]:
    with stamp.container.records.unit_of_work() as uow:
        return {name: uow.count(name, None) for name in ALL}


def files_under(stamp) -> set[str]:
    return {
        str(p.relative_to(stamp.data_dir))
        for p in stamp.data_dir.rglob("*")
        if p.is_file() and p.suffix not in (".sqlite", ".sqlite-wal", ".sqlite-shm", ".json") and "keys" not in p.parts
    }


def write_everything(stamp, org: str, store: str, investigator: dict[str, str], admin: dict[str, str]) -> str:
    """Each capability's write paths as the organisation's own users would use them."""
    c = stamp.client
    body = {
        **stamp.example("IncidentIn"),
        "store_id": store,
        "persons": [{"role": "suspect", "name": "Jamie Doyle", "date_of_birth": "1990-04-12"}],
    }
    r = c.post(f"{API}/incidents", json=body, headers=investigator)
    assert r.status_code == 201, r.text
    incident = r.json()
    r = c.patch(
        f"{API}/incidents/{incident['id']}",
        json={"narrative": "Updated after review"},
        headers={**investigator, "If-Match": incident["etag"]},
    )
    assert r.status_code == 200, r.text
    r = c.post(f"{API}/incidents/{incident['id']}/revert", json={"version": 1}, headers={**investigator, "If-Match": r.headers["etag"]})
    assert r.status_code == 200, r.text
    r = c.post(
        f"{API}/incidents/{incident['id']}/evidence",
        content=b"Statement: I saw the man leave without paying.",
        headers={**investigator, "Content-Type": "text/plain", "X-Filename": "statement.txt"},
    )
    assert r.status_code == 201, r.text
    assert (
        c.post(f"{API}/incidents/{incident['id']}/legal-hold", json=stamp.example("LegalHoldIn"), headers=investigator).status_code == 201
    )
    assert (
        c.delete(
            f"{API}/incidents/{incident['id']}/legal-hold", params={"reason": "Trial concluded; no appeal"}, headers=investigator
        ).status_code
        == 200
    )
    mine = c.get(f"{API}/retention/schedules/organisation", headers=admin)
    r = c.put(
        f"{API}/retention/schedules/organisation",
        json=stamp.example("OrganisationScheduleIn"),
        headers={**admin, "If-Match": mine.headers["etag"]},
    )
    assert r.status_code == 200, r.text
    return incident["id"]


def test_seeding_writes_no_organisation_data_outside_its_home_region(tmp_path):
    uk = make_stamp(tmp_path / "uk")
    try:
        assert tenants_of(uk, "koala-mart") == {}
    finally:
        uk.container.close()


def test_each_organisation_data_stays_in_its_home_region(stamps):
    uk, au = stamps
    # Seeding leaves nothing in a foreign partition (test above); this guards the write paths.
    seeded_uk, seeded_au = tenants_of(uk, "koala-mart"), tenants_of(au, "northwind")
    write_everything(uk, "northwind", "nw-plymouth", uk.auth("northwind", "Retailer.Investigator"), uk.auth("northwind", "Retailer.Admin"))
    write_everything(au, "koala-mart", "km-sydney", au.auth("koala-mart", "Retailer.Investigator"), au.auth("koala-mart", "Retailer.Admin"))
    # Subject requests: the platform operator is homed in uk; the request and northwind's task live there.
    r = uk.client.post(f"{API}/subject-requests", json=subject_request_body(uk), headers=uk.auth("vigil-platform", "Platform.Operator"))
    assert r.status_code == 201 and "northwind" in [t["organisation_id"] for t in r.json()["tasks"]]
    assert "koala-mart" not in [t["organisation_id"] for t in r.json()["tasks"]]
    uk.clock.advance(days=365 * 7)
    au.clock.advance(days=365 * 7)
    from functions import jobs

    jobs.load_all()
    jobs.run_job(uk.container, "retention", uk.clock.now())
    jobs.run_job(au.container, "retention", au.clock.now())

    assert tenants_of(au, "koala-mart"), "koala-mart's records are in the au store"
    assert tenants_of(uk, "koala-mart") == seeded_uk, "no write put koala-mart's data in the uk store"
    assert tenants_of(uk, "northwind")
    assert tenants_of(au, "northwind") == seeded_au, "no write put northwind's data in the au store"
    assert tenants_of(au, "vigil-platform") == {}
    # Evidence bytes: each stamp's files only under its own data directory.
    assert not any("koala-mart" in f for f in files_under(uk))
    assert not any("northwind" in f for f in files_under(au))


def write_routes(stamp) -> list[tuple[str, str]]:
    paths = stamp.client.app.openapi()["paths"]
    return sorted((m.upper(), p) for p, ops in paths.items() for m in ops if m in ("post", "put", "patch", "delete"))


def test_misdirected_requests_write_nothing_on_any_write_route(stamps):
    uk, au = stamps
    for stamp, foreign in ((uk, "koala-mart"), (au, "northwind")):
        token = stamp.auth(foreign, "Retailer.Investigator")
        before, files_before = snapshot(stamp), files_under(stamp)
        routes = write_routes(stamp)
        assert len(routes) >= 10
        for method, path in routes:
            url = path.replace("{", "").replace("}", "")  # any id: the region check comes first
            r = stamp.client.request(method, url, json={}, headers={**token, "Idempotency-Key": "residency-1", "If-Match": '"x"'})
            if path.startswith(f"{API}/webhooks/"):
                # Provider callbacks carry the provider's signature, not a user's token: refused here.
                assert r.status_code == 401, f"{method} {path}: {r.status_code}"
                continue
            assert r.status_code == 421, f"{method} {path}: {r.status_code} {r.text[:200]}"
            assert r.json()["home_region"] == ("au" if foreign == "koala-mart" else "uk")
        assert snapshot(stamp) == before
        assert files_under(stamp) == files_before
