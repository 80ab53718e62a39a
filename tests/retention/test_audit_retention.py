"""Audit log retention on both record stores: an organisation's oldest audit entries go
once older than its audit period, as a prefix of the chain behind an anchor; the chain
still verifies and still names any later break; the schedule refuses an audit period
shorter than the data it describes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.audit import AuditAction
from shared.domain.errors import Invalid
from shared.domain.retention import OrganisationScheduleIn, RecordType, RegionScheduleIn
from shared.domain.tenancy import OrgKind, Principal, Role
from shared.records import AUDIT, CHAIN_HEADS, TOMBSTONES
from shared.services.audit import ANCHOR_ID
from tests.retention.helpers import container_on

pytestmark = pytest.mark.xdist_group("retention-cosmos")

ORG = "contoso"
FIRST = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LATER = datetime(2027, 6, 1, 9, 0, tzinfo=UTC)
FIRST_DUE = FIRST.replace(year=2036)  # 120 calendar months (the audit default) after FIRST
ADMIN = Principal(user_id="ct-admin", organisation_id=ORG, organisation_kind=OrgKind.RETAILER, roles=frozenset({Role.RETAILER_ADMIN}))
OPERATOR = Principal(
    user_id="ops-1", organisation_id="vigil-platform", organisation_kind=OrgKind.PLATFORM, roles=frozenset({Role.PLATFORM_OPERATOR})
)


@pytest.fixture
def c(record_store, tmp_path):
    # A trail of one shard, so these read the chain by its seq numbers (tests/test_audit_shards.py
    # prunes a trail of several).
    yield container_on(record_store, tmp_path, audit_chain_shards=1)


def write_entries(c, at: datetime, n: int) -> None:
    c.clock.current = at
    for i in range(n):
        with c.records.unit_of_work() as uow:
            c.audit.record(
                uow,
                owner_org=ORG,
                principal=ADMIN,
                action=AuditAction.CONSULTATION,
                operation="incident.read",
                entity=f"incident/ct-{at.year}-{i}",
                purpose="Reviewing a repeat offender",
            )


def sweep(c, as_of: datetime):
    c.clock.current = as_of
    return c.retention.sweep.run(as_of, organisations=[ORG])


def entries(c) -> list[dict]:
    with c.records.unit_of_work() as uow:
        return sorted(uow.query(AUDIT.name, [ORG], limit=500).items, key=lambda e: e["seq"])


def test_entries_go_at_the_due_moment_and_the_chain_still_verifies(c):
    write_entries(c, FIRST, 5)
    write_entries(c, LATER, 3)
    assert sweep(c, FIRST_DUE - timedelta(days=1)).counts["audit_entries_pruned"] == 0
    assert sweep(c, FIRST_DUE - timedelta(microseconds=1)).counts["audit_entries_pruned"] == 0
    assert c.audit.verify_chain(ORG)["pruned"] is None
    assert sweep(c, FIRST_DUE).counts["audit_entries_pruned"] == 5
    left = entries(c)
    assert [e["seq"] for e in left] == [6, 7, 8, 9]  # the three later ones and the pruning entry
    pruning = left[-1]
    assert (pruning["operation"], pruning["action"], pruning["actor_user"], pruning["entity"]) == (
        "retention.audit",
        "erasure",
        "retention-timer",
        "audit/anchor",
    )
    chain = c.audit.verify_chain(ORG)
    assert chain["verified"] is True and chain["entries_checked"] == 4
    assert chain["pruned"]["seq"] == 5 and chain["pruned"]["count"] == 5 and chain["pruned"]["rule"].startswith("audit: 120 months")
    with c.records.unit_of_work() as uow:
        tombs = uow.query(TOMBSTONES.name, [ORG], limit=10).items
    assert [(t["type"], t["count"], t["first_seq"], t["last_seq"], t["schedule_version"]) for t in tombs] == [
        ("audit_entries", 5, 1, 5, "uk:0/contoso:0")
    ]
    text = repr(tombs)
    assert "incident/ct-" not in text and "Reviewing" not in text and "ct-admin" not in text
    # New entries still link on; a later run prunes the rest, the chain verifies again.
    write_entries(c, FIRST_DUE + timedelta(days=1), 2)
    assert sweep(c, LATER.replace(year=2037)).counts["audit_entries_pruned"] == 3
    chain = c.audit.verify_chain(ORG)
    assert chain["verified"] is True and chain["pruned"]["seq"] == 8 and chain["pruned"]["count"] == 8


def test_a_tampered_or_removed_entry_after_the_anchor_is_still_named(c):
    write_entries(c, FIRST, 4)
    write_entries(c, LATER, 4)
    sweep(c, FIRST_DUE)
    left = entries(c)
    assert left[0]["seq"] == 5
    with c.records.unit_of_work() as uow:
        edited = {k: v for k, v in left[1].items() if not k.startswith("_")}
        edited["purpose"] = "Nothing to see here"
        uow.replace(AUDIT.name, ORG, edited, if_match=left[1]["_etag"])
    chain = c.audit.verify_chain(ORG)
    assert chain["verified"] is False and chain["first_broken"]["seq"] == 6 and "hash" in chain["first_broken"]["reason"]
    with c.records.unit_of_work() as uow:
        uow.replace(
            AUDIT.name,
            ORG,
            {k: v for k, v in left[1].items() if not k.startswith("_")},
            if_match=uow.get(AUDIT.name, ORG, left[1]["id"])["_etag"],
        )
    assert c.audit.verify_chain(ORG)["verified"] is True
    # Removing the first entry after the anchor is not a prefix pruning: it is missing.
    with c.records.unit_of_work() as uow:
        uow.delete(AUDIT.name, ORG, left[0]["id"])
    chain = c.audit.verify_chain(ORG)
    assert chain["verified"] is False and chain["first_broken"] == {"shard": 0, "seq": 5, "id": None, "reason": "entry 5 is missing"}


def test_an_anchor_moved_by_hand_does_not_verify(c):
    write_entries(c, FIRST, 3)
    write_entries(c, LATER, 3)
    sweep(c, FIRST_DUE)
    left = entries(c)
    # Hide entry 4 by removing it and moving the anchor over it: the pruning entry names 3.
    with c.records.unit_of_work() as uow:
        anchor = uow.get(CHAIN_HEADS.name, ORG, ANCHOR_ID)
        uow.delete(AUDIT.name, ORG, left[0]["id"])
        uow.upsert(
            CHAIN_HEADS.name,
            ORG,
            {**{k: v for k, v in anchor.items() if not k.startswith("_")}, "seq": left[0]["seq"], "hash": left[0]["hash"]},
        )
    chain = c.audit.verify_chain(ORG)
    assert chain["verified"] is False and chain["first_broken"]["seq"] == 4 and "not attested" in chain["first_broken"]["reason"]


def test_pruning_stops_at_a_tampered_entry_so_its_break_stays_visible(c):
    write_entries(c, FIRST, 5)
    with c.records.unit_of_work() as uow:
        third = uow.query(AUDIT.name, [ORG], limit=10).items
        third = next(e for e in third if e["seq"] == 3)
        uow.replace(
            AUDIT.name,
            ORG,
            {**{k: v for k, v in third.items() if not k.startswith("_")}, "actor_user": "someone-else"},
            if_match=third["_etag"],
        )
    report = sweep(c, FIRST_DUE + timedelta(days=1))
    assert report.counts["audit_entries_pruned"] == 2
    chain = c.audit.verify_chain(ORG)
    assert chain["verified"] is False and chain["first_broken"]["seq"] == 3


def test_crash_between_batches_then_rerun_prunes_the_rest_once(c):
    c.retention.deps.audit_batch = 2
    write_entries(c, FIRST, 7)
    real = c.audit.prune_prefix
    calls = {"n": 0}

    def crashing(uow, org, **kw):
        calls["n"] += 1
        removed = real(uow, org, **kw)
        if calls["n"] == 3:
            raise RuntimeError("power cut in the middle of a batch")
        return removed

    c.audit.prune_prefix = crashing
    with pytest.raises(RuntimeError):
        sweep(c, FIRST_DUE)
    del c.audit.prune_prefix
    assert c.audit.verify_chain(ORG)["verified"] is True  # every committed batch is anchored and attested
    rerun = sweep(c, FIRST_DUE)
    assert rerun.counts["audit_entries_pruned"] == 3
    chain = c.audit.verify_chain(ORG)
    assert chain["verified"] is True and chain["pruned"]["seq"] == 7 and chain["pruned"]["count"] == 7
    with c.records.unit_of_work() as uow:
        tombs = uow.query(TOMBSTONES.name, [ORG], limit=10).items
    assert sorted((t["first_seq"], t["last_seq"]) for t in tombs) == [(1, 2), (3, 4), (5, 6), (7, 7)]
    assert sum(t["count"] for t in tombs) == 7


def test_schedule_refuses_an_audit_period_shorter_than_the_data(c):
    region = c.retention.schedules.region()
    rules = dict(region.rules)
    with pytest.raises(Invalid) as short:
        c.retention.schedules.propose_region(
            OPERATOR,
            RegionScheduleIn(rules={**rules, "audit": {"months": 100, "min_months": 72, "max_months": 240}}, reason="Shorter audit"),
        )
    assert short.value.errors[0]["field"] == "rules.audit.months" and "incident_police_case" in short.value.errors[0]["message"]
    with pytest.raises(Invalid) as narrow:
        c.retention.schedules.propose_region(
            OPERATOR,
            RegionScheduleIn(
                rules={**rules, "audit": {"months": 120, "min_months": 72, "max_months": 180}}, reason="Narrower audit bounds"
            ),
        )
    assert narrow.value.errors[0]["field"] == "rules.audit.max_months"
    assert c.retention.schedules.region().version == 0 and c.retention.schedules.proposals() == []  # nothing written
    org_etag = c.retention.schedules.organisation(ADMIN).etag
    with pytest.raises(Invalid) as org_short:
        c.retention.schedules.set_organisation(ADMIN, OrganisationScheduleIn(overrides={"audit": 100}, reason="Keep less audit"), org_etag)
    assert org_short.value.errors[0]["field"] == "overrides.audit"
    # Shorter data periods allow a shorter audit period, still covering them.
    ok = c.retention.schedules.set_organisation(
        ADMIN, OrganisationScheduleIn(overrides={"incident_police_case": 80, "audit": 80}, reason="Board decision"), org_etag
    )
    assert ok.schedule.months[RecordType.AUDIT] == 80


def test_over_http_the_schedule_refuses_and_audit_shows_what_was_pruned(stamp):
    from functions import jobs

    ops = stamp.auth("vigil-platform", "Platform.Operator")
    example = stamp.example("RegionScheduleIn")  # shared with other tests: not changed in place
    body = {**example, "rules": {**example["rules"], "audit": {"months": 100, "min_months": 72, "max_months": 240}}}
    bad = stamp.client.post("/api/v1/retention/schedules/region/proposals", json=body, headers=ops)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "rules.audit.months"
    admin = stamp.auth("northwind", "Retailer.Admin")
    reported = stamp.client.post(
        "/api/v1/incidents", json=stamp.example("IncidentIn"), headers=stamp.auth("northwind", "Retailer.Investigator")
    )
    assert reported.status_code == 201
    assert stamp.client.get("/api/v1/audit", headers=admin).json()["chain"]["pruned"] is None
    far = stamp.clock.now().replace(year=stamp.clock.now().year + 11)
    jobs.load_all()
    stamp.clock.current = far
    assert jobs.run_job(stamp.container, "retention", far).counts["audit_entries_pruned"] > 0
    chain = stamp.client.get("/api/v1/audit", headers=admin).json()["chain"]
    assert chain["verified"] is True and chain["pruned"]["count"] > 0 and chain["pruned"]["rule"].startswith("audit: 120 months")
