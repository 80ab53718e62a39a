"""The retention sweep: every registered lane, organisation by organisation.

Each lane reads only what is due (an index on its basis time) and acts in batches, one
unit of work each, so a run is safe to repeat after a crash at any point and its cost
follows what is due, not what is stored.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import get_args

from shared.domain.retention import rule_text
from shared.domain.tenancy import PLATFORM_TENANT, OrgKind
from shared.ports import JobReport, Where, iterate_all
from shared.records import ORGANISATIONS
from shared.services.retention.deps import RetentionDeps
from shared.services.retention.lanes import LaneRun, RetentionLane, Scope, sweep_lane
from shared.services.retention.schedules import Schedule, schedule_for


def retailers(deps: RetentionDeps) -> list[str]:
    """Retailers homed in this region: the organisations whose records are swept here."""
    with deps.records.read_only() as uow:
        docs = iterate_all(uow, ORGANISATIONS.name, [PLATFORM_TENANT], [Where("kind", "eq", OrgKind.RETAILER.value)])
        return sorted(d["id"] for d in docs if d.get("home_region") == deps.region)


def _homed_kinds(deps: RetentionDeps) -> dict[str, str | None]:
    """Every organisation homed in this region and its kind, in one read."""
    with deps.records.read_only() as uow:
        return {
            d["id"]: d.get("kind")
            for d in iterate_all(uow, ORGANISATIONS.name, [PLATFORM_TENANT], [])
            if d.get("home_region") == deps.region
        }


class Sweep:
    def __init__(self, deps: RetentionDeps, lanes: Sequence[RetentionLane]):
        self.deps = deps
        self.lanes = tuple(lanes)

    def retailers(self) -> list[str]:
        """Retailers homed in this region: the organisations whose records are swept here."""
        return retailers(self.deps)

    def run(self, as_of: datetime, *, organisations: Sequence[str] | None = None) -> JobReport:
        """Remove everything due at `as_of` and not held, lane by lane in their registered
        order, for the retailers homed here, then the lanes every organisation homed here
        has (`organisations`: only these)."""
        deps = self.deps
        report = JobReport(job="retention", as_of=as_of)
        report.counts = {count: 0 for lane in self.lanes for count in lane.counts}
        # Read once per run, not once per scope: a sweep with nothing due costs little more
        # than its lanes' due queries (bench/request_counts.py).
        kinds = _homed_kinds(deps) if organisations is None else {}
        schedules: dict[str, Schedule] = {}
        for scope in get_args(Scope):
            lanes = [lane for lane in self.lanes if lane.scope == scope]
            if not lanes:
                continue
            if organisations is not None:
                orgs = list(organisations)
            else:
                orgs = sorted(o for o, kind in kinds.items() if scope != "retailers" or kind == OrgKind.RETAILER.value)
            for org in orgs:
                schedule = schedules.get(org)
                if schedule is None:
                    with deps.records.unit_of_work() as uow:
                        schedule = schedules[org] = schedule_for(deps, uow, org, as_of)
                months = schedule.months
                for lane in lanes:
                    period = months[lane.record_type]
                    run = LaneRun(
                        deps=deps,
                        org=org,
                        schedule=schedule,
                        months=period,
                        rule=rule_text(lane.record_type, period),
                        as_of=as_of,
                        batch=lane.batch_size(deps),
                        report=report,
                    )
                    sweep_lane(lane, run, deps.records)
        return report
