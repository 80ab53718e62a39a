"""Referrals and retention: the referral lane leaves a tombstone (and keeps a series whose
incident is held), and an erased incident leaves every referral naming it."""

from __future__ import annotations

from shared.records import REFERRALS, TOMBSTONES
from tests.fixtures_http import both_backends
from tests.referrals.helpers import GRADED, INV, PREFIX, refer, referable_incident, series

NUO = ("opal", "NationalUnit.Officer")
MONTHS_73 = 73 * 31


def _referral(stamp, referral_id: str) -> dict | None:
    with stamp.container.records.read_only() as uow:
        return uow.get(REFERRALS.name, "opal", referral_id)


def _tombstone(stamp, referral_id: str) -> dict | None:
    with stamp.container.records.read_only() as uow:
        return uow.get(TOMBSTONES.name, "opal", f"referral:{referral_id}")


@both_backends
def test_the_lane_removes_a_referral_after_its_period_unless_an_incident_is_held(stamp):
    kept_incident = referable_incident(stamp, crime_reference="DC/2026/700001")
    gone_incident = referable_incident(stamp, crime_reference="DC/2026/700002")
    kept = refer(stamp, series(kept_incident))
    gone = refer(stamp, series(gone_incident))
    hold = stamp.client.post(
        f"{PREFIX}/incidents/{kept_incident['id']}/legal-hold",
        json={"reason": "Crown Court trial listed; preserve everything"},
        headers=stamp.auth(*INV),
    )
    assert hold.status_code < 300, hold.text
    stamp.clock.advance(days=MONTHS_73)
    report = stamp.container.retention.sweep.run(stamp.clock.now())
    assert report.counts["referrals_deleted"] == 1
    assert _referral(stamp, gone["id"]) is None
    tomb = _tombstone(stamp, gone["id"])
    assert tomb["type"] == "referral" and tomb["cause"] == "schedule" and tomb["rule"].startswith("referral: 72 months")
    assert _referral(stamp, kept["id"]) is not None
    assert stamp.client.get(f"{PREFIX}/referrals/{gone['id']}", headers=stamp.auth(*NUO)).status_code == 404


def test_an_erased_incident_leaves_the_referral_and_the_last_one_takes_it(stamp):
    first = referable_incident(stamp, crime_reference="DC/2026/800001")
    second = referable_incident(stamp, crime_reference="DC/2026/800002")
    body = series(first)
    body["incidents"].append({"incident_id": second["id"], "grading": dict(GRADED)})
    made = refer(stamp, body)
    # Past the evidence's immutability, the owner erases the first incident (as a subject's erasure does).
    stamp.clock.advance(days=MONTHS_73)
    c = stamp.container
    with c.records.unit_of_work() as uow:
        c.retention.deletion.delete_incident(uow, "northwind", first["id"], principal=None, cause="erasure")
    seen = stamp.client.get(f"{PREFIX}/referrals/{made['id']}", headers=stamp.auth(*NUO)).json()
    erased, live = seen["incidents"]
    assert erased["incident_id"] == first["id"] and erased["erased_at"] and erased["narrative"] is None and erased["evidence"] == []
    assert live["narrative"] == second["narrative"] and live["erased_at"] is None
    ops = [e["operation"] for e in c.audit.entries("opal", entity=f"referral/{made['id']}", limit=20, continuation=None)[0]]
    assert "referral.incident_erased" in ops
    with c.records.unit_of_work() as uow:
        c.retention.deletion.delete_incident(uow, "northwind", second["id"], principal=None, cause="erasure")
    assert _referral(stamp, made["id"]) is None and _tombstone(stamp, made["id"])["cause"] == "erasure"
