"""The older block of `GET /kpis/d2p` (statuses, times, outcome rates) read from the force's
day counters gives what loading every dispatch and outcome of the force gave."""

from __future__ import annotations

import statistics
from typing import Any

from shared.domain import d2p as rules_domain
from shared.domain import evaluation as ev
from shared.domain.timestamps import from_iso
from shared.ports import Where, iterate_all
from shared.records import D2P_COUNTERS
from tests.d2p.helpers import drain, report
from tests.d2p.test_evaluation import API, DC, NOVEMBER, _d2p_month, _no_evidence_rules
from tests.fixtures_http import both_backends

ANALYST = (DC, "Police.Analyst")


def _stats(values: list[float]) -> dict[str, Any]:
    med, p90 = (statistics.median(values) if values else None), rules_domain.percentile(values, 90)
    return {"n": len(values), "median_hours": None if med is None else round(med, 3), "p90_hours": None if p90 is None else round(p90, 3)}


def _hours(a: str, b: str) -> float:
    return (from_iso(b) - from_iso(a)).total_seconds() / 3600


def _loaded_the_old_way(stamp) -> dict[str, Any]:
    """What the route computed before the counters: every dispatch and outcome of the force."""
    with stamp.container.records.read_only() as uow:
        dispatches = list(iterate_all(uow, "dispatches", ["northwind"], [Where("force_id", "eq", DC)]))
        outcomes = list(iterate_all(uow, "outcomes", ["northwind"], [Where("force_id", "eq", DC)], order_by="recorded_at"))
    latest = {o["incident_id"]: o["code"] for o in outcomes}
    sent = [d for d in dispatches if d["status"] in {"sent", "acknowledged"}]
    counts: dict[str, int] = {}
    for d in dispatches:
        counts[d["status"]] = counts.get(d["status"], 0) + 1
    return {
        "dispatches_by_status": dict(sorted(counts.items())),
        "times": {
            "occurred_to_reported": _stats([_hours(d["occurred_at"], d["reported_at"]) for d in sent]),
            "reported_to_dispatched": _stats([_hours(d["reported_at"], d["sent_at"]) for d in sent]),
            "dispatched_to_acknowledged": _stats([_hours(d["sent_at"], d["acknowledged_at"]) for d in sent if d.get("acknowledged_at")]),
        },
        "d2p": rules_domain.outcome_rates([latest[d["incident_id"]] for d in sent if d["incident_id"] in latest], len(sent)),
    }


def _older_block(stamp) -> dict[str, Any]:
    r = stamp.client.get(f"{API}/kpis/d2p", params={"force": DC, **NOVEMBER}, headers=stamp.auth(*ANALYST))
    assert r.status_code == 200, r.text
    body = r.json()
    times = {k: v for k, v in body["times"].items() if k != "other_channels_reported_to_first_outcome"}
    return {"dispatches_by_status": body["dispatches_by_status"], "times": times, "d2p": body["outcomes"]["d2p"]}


@both_backends
def test_the_counters_give_the_figures_loading_every_dispatch_gave_and_rebuild_to_them(stamp):
    _d2p_month(stamp, 5, charged=2, outcome_14=1, hours=(2, 7), evidence=False)
    # One more report that reached the inbox and is not yet acknowledged.
    extra = report(stamp)
    r = stamp.client.post(f"{API}/incidents/{extra['id']}/d2p", headers=stamp.auth("northwind", "Retailer.Investigator"))
    assert r.status_code == 202, r.text
    drain(stamp)
    old = _loaded_the_old_way(stamp)
    assert old["dispatches_by_status"] == {"acknowledged": 5, "sent": 1}
    assert old["times"]["dispatched_to_acknowledged"]["n"] == 5 and old["d2p"]["charge_rate"] == 0.4
    assert _older_block(stamp) == old
    # Lost counters come back from the records, new histograms included.
    with stamp.container.records.unit_of_work() as uow:
        for doc in list(iterate_all(uow, D2P_COUNTERS.name, [DC], [])):
            uow.delete(D2P_COUNTERS.name, DC, doc["id"])
    assert _older_block(stamp)["dispatches_by_status"] == {"sent": 6}
    assert stamp.container.d2p.counters.rebuild(DC, ev.date(2026, 11, 1), ev.date(2026, 11, 30))["reports"] == 6
    assert _older_block(stamp) == old


def test_reports_not_yet_in_the_inbox_are_counted_by_status_on_the_index(stamp):
    _no_evidence_rules(stamp)
    incident = report(stamp)
    r = stamp.client.post(f"{API}/incidents/{incident['id']}/d2p", headers=stamp.auth("northwind", "Retailer.Investigator"))
    assert r.status_code == 202, r.text
    # Not drained: the dispatch has not been sent, so it has no inbox day yet.
    by_status = _loaded_the_old_way(stamp)["dispatches_by_status"]
    assert set(by_status) <= {"queued", "enqueued"} and sum(by_status.values()) == 1
    assert _older_block(stamp)["dispatches_by_status"] == by_status
