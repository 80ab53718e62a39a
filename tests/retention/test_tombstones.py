"""Listing tombstones: an organisation sees proof of every deletion of its records (of any
type), newest first, and nothing of another organisation's."""

from __future__ import annotations

from functions import jobs
from shared.domain.timestamps import to_iso
from shared.ports import Where
from shared.records import INCIDENTS
from shared.services.seed import seed_demo_incidents

API = "/api/v1"


def test_an_organisation_lists_its_tombstones_and_no_one_elses(stamp):
    seed_demo_incidents(stamp.container)
    with stamp.container.records.unit_of_work() as uow:
        [old] = uow.query(INCIDENTS.name, ["northwind"], [Where("occurred_at", "lt", "2019-07-01")], limit=10).items
    jobs.load_all()
    assert jobs.run_job(stamp.container, "retention", stamp.clock.now()).counts["incidents_deleted"] == 1
    admin = stamp.auth("northwind", "Retailer.Admin")
    page = stamp.client.get(f"{API}/retention/tombstones", headers=admin)
    assert page.status_code == 200
    [stone] = [t for t in page.json()["items"] if t["type"] == "incident"]
    # Proof of what went, when, and under which rule of which schedule version.
    assert stone["id"] == f"incident:{old['id']}" and stone["entity_id"] == old["id"]
    assert stone["deleted_at"] == to_iso(stamp.clock.now())
    assert stone["rule"] == "incident: 72 months after it occurred (no police case)"
    assert stone["schedule_version"] == "uk:0/northwind:0"
    assert stone["cause"] == "schedule" and stone["request_id"] is None
    # Nothing personal: the fields of a tombstone are ids, type, times and the rule.
    assert set(stone) <= {
        "id",
        "entity_id",
        "type",
        "deleted_at",
        "rule",
        "schedule_version",
        "cause",
        "request_id",
        "count",
        "first_seq",
        "last_seq",
    }
    only = stamp.client.get(f"{API}/retention/tombstones", params={"type": "incident", "from": stone["deleted_at"]}, headers=admin).json()[
        "items"
    ]
    assert [t["id"] for t in only] == [stone["id"]]
    assert stamp.client.get(f"{API}/retention/tombstones", params={"to": stone["deleted_at"]}, headers=admin).json()["items"] == []
    other = stamp.client.get(f"{API}/retention/tombstones", headers=stamp.auth("contoso", "Retailer.Admin"))
    assert other.status_code == 200 and other.json()["items"] == []


def test_bad_filters_are_problems(stamp):
    admin = stamp.auth("northwind", "Retailer.Admin")
    assert stamp.client.get(f"{API}/retention/tombstones", params={"type": "everything"}, headers=admin).status_code == 422
    assert stamp.client.get(f"{API}/retention/tombstones", params={"from": "2026-01-01T00:00:00"}, headers=admin).status_code == 422
    assert stamp.client.get(f"{API}/retention/tombstones", headers=stamp.auth("northwind", "Retailer.Reporter")).status_code == 403
