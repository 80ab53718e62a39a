"""Changing the region's retention schedule, on both record stores: statutory floors, a
second approver, and a delay before a change takes effect (cancellable until then)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.errors import Conflict, Forbidden, Invalid
from shared.domain.retention import RecordType, RegionScheduleIn
from shared.domain.tenancy import OrgKind, Principal, Role
from shared.records import AUDIT, INCIDENTS, TOMBSTONES
from tests.retention.helpers import container_on, report

pytestmark = pytest.mark.xdist_group("retention-cosmos")

API = "/api/v1"


def operator(user_id: str) -> Principal:
    return Principal(
        user_id=user_id, organisation_id="vigil-platform", organisation_kind=OrgKind.PLATFORM, roles=frozenset({Role.PLATFORM_OPERATOR})
    )


ALICE, BOB = operator("ops-alice"), operator("ops-bob")
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LONG_AGO = datetime(2025, 1, 10, 9, 0, tzinfo=UTC)  # reported then: 22 months old at NOW


@pytest.fixture
def c(record_store, tmp_path):
    yield container_on(record_store, tmp_path)


def every_period_a_month() -> RegionScheduleIn:
    return RegionScheduleIn(
        rules={t: {"months": 1, "min_months": 1, "max_months": 1} for t in RecordType}, reason="Keep everything for a month only"
    )


def shorter_incidents(c) -> RegionScheduleIn:
    """The schedule in force with incidents (no police case) kept 12 months, the floor."""
    rules = {t: r.model_dump() for t, r in c.retention.schedules.region().rules.items()}
    rules["incident"] = {"months": 12, "min_months": 12, "max_months": 120}
    return RegionScheduleIn(rules=rules, reason="Annual review: unsolved thefts kept one year")


def _get(c, collection, tenant, id_):
    with c.records.unit_of_work() as uow:
        return uow.get(collection, tenant, id_)


def _operations(c) -> list[tuple[str, str]]:
    with c.records.unit_of_work() as uow:
        return [(e["operation"], e["actor_user"]) for e in uow.query(AUDIT.name, ["vigil-platform"], limit=500).items]


def test_one_call_setting_every_period_to_a_month_is_refused_naming_each_floor(c):
    c.clock.current = NOW
    with pytest.raises(Invalid) as refused:
        c.retention.schedules.propose_region(ALICE, every_period_a_month())
    errors = {e["field"]: e["message"] for e in refused.value.errors}
    assert errors["rules.incident_police_case.months"] == "incident_police_case: months 1 is below the statutory floor of 72 months"
    assert "statutory floor of 72 months" in errors["rules.audit.months"]
    assert "statutory floor of 24 months" in errors["rules.evidence.months"]
    assert "statutory floor of 12 months" in errors["rules.incident.months"]
    assert c.retention.schedules.proposals() == [] and c.retention.schedules.region().version == 0


def test_a_default_above_the_floor_with_bounds_below_it_is_refused(c):
    rules = {t: r.model_dump() for t, r in c.retention.schedules.region().rules.items()}
    rules["incident_police_case"] = {"months": 120, "min_months": 36, "max_months": 240}
    with pytest.raises(Invalid) as refused:
        c.retention.schedules.propose_region(ALICE, RegionScheduleIn(rules=rules, reason="Let forces' cases go sooner"))
    assert [e["field"] for e in refused.value.errors] == ["rules.incident_police_case.min_months"]


def test_the_proposer_cannot_approve_their_own_change(c):
    c.clock.current = NOW
    proposal = c.retention.schedules.propose_region(ALICE, shorter_incidents(c))
    assert proposal.status == "proposed" and proposal.proposed_by == "ops-alice"
    with pytest.raises(Forbidden):
        c.retention.schedules.approve_region(ALICE, proposal.number)
    assert c.retention.schedules.proposals()[0].status == "proposed"
    approved = c.retention.schedules.approve_region(BOB, proposal.number)
    assert approved.status == "approved" and approved.approved_by == "ops-bob" and approved.version == 1
    with pytest.raises(Conflict):
        c.retention.schedules.approve_region(BOB, proposal.number)
    assert ("retention.schedule.region.propose", "ops-alice") in _operations(c)
    assert ("retention.schedule.region.approve", "ops-bob") in _operations(c)


def test_an_approved_change_is_not_in_force_before_the_delay(c):
    incident = report(c, occurred_at=LONG_AGO.isoformat())
    c.clock.current = NOW
    proposal = c.retention.schedules.propose_region(ALICE, shorter_incidents(c))
    approved = c.retention.schedules.approve_region(BOB, proposal.number)
    effective = NOW + timedelta(days=7)
    assert approved.effective_at is not None and approved.effective_at.startswith(effective.date().isoformat())
    assert c.retention.schedules.region().version == 0  # still the old schedule
    # The sweep uses the schedule in force at its own time.
    assert c.retention.sweep.run(effective - timedelta(seconds=1)).counts["incidents_deleted"] == 0
    assert _get(c, INCIDENTS.name, "northwind", incident) is not None
    assert c.retention.sweep.run(effective).counts["incidents_deleted"] == 1
    tomb = _get(c, TOMBSTONES.name, "northwind", f"incident:{incident}")
    assert tomb["rule"].startswith("incident: 12 months") and tomb["schedule_version"] == "uk:1/northwind:0"
    assert c.retention.schedules.region(effective).version == 1


def test_a_change_cancelled_during_the_delay_never_takes_effect(c):
    incident = report(c, occurred_at=LONG_AGO.isoformat())
    c.clock.current = NOW
    proposal = c.retention.schedules.propose_region(ALICE, shorter_incidents(c))
    c.retention.schedules.approve_region(BOB, proposal.number)
    c.clock.current = NOW + timedelta(days=3)
    cancelled = c.retention.schedules.cancel_region(ALICE, proposal.number, "The DPO has not signed this off")
    assert cancelled.status == "cancelled" and cancelled.cancelled_by == "ops-alice"
    later = NOW + timedelta(days=30)
    assert c.retention.sweep.run(later).counts["incidents_deleted"] == 0
    assert _get(c, INCIDENTS.name, "northwind", incident) is not None
    assert c.retention.schedules.region(later).version == 0
    # Once a change is in force it is too late to cancel it: propose another.
    again = c.retention.schedules.propose_region(ALICE, shorter_incidents(c))
    c.retention.schedules.approve_region(BOB, again.number)
    c.clock.current = NOW + timedelta(days=11)
    with pytest.raises(Conflict):
        c.retention.schedules.cancel_region(BOB, again.number, "Too late to stop it now")
    assert ("retention.schedule.region.cancel", "ops-alice") in _operations(c)


def test_over_http_a_month_for_everything_is_refused_and_a_change_waits_for_a_second_operator(stamp):
    alice = stamp.auth("vigil-platform", "Platform.Operator", user="ops-alice")
    bob = stamp.auth("vigil-platform", "Platform.Operator", user="ops-bob")
    url = f"{API}/retention/schedules/region/proposals"
    month = {"rules": {t.value: {"months": 1, "min_months": 1, "max_months": 1} for t in RecordType}, "reason": "A month for all"}
    refused = stamp.client.post(url, json=month, headers=alice)
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    assert "incident_police_case: months 1 is below the statutory floor of 72 months" in refused.json()["detail"]
    assert stamp.client.get(url, headers=alice).json() == []
    proposed = stamp.client.post(url, json=stamp.example("RegionScheduleIn"), headers=alice).json()
    own = stamp.client.post(f"{url}/{proposed['number']}/approval", headers=alice)
    assert own.status_code == 403 and own.headers["content-type"] == "application/problem+json"
    assert stamp.client.post(f"{url}/{proposed['number']}/approval", headers=bob).json()["status"] == "approved"
    stop = stamp.client.post(f"{url}/{proposed['number']}/cancellation", json={"reason": "Not signed off by the DPO"}, headers=alice)
    assert stop.status_code == 200 and stop.json()["status"] == "cancelled"
    stamp.clock.advance(days=8)
    assert stamp.client.get(f"{API}/retention/schedules/region", headers=alice).json()["version"] == 0
    assert stamp.client.post(f"{url}/999/approval", headers=bob).status_code == 404
