"""The retention sweep: every registered lane, in order, in every organisation homed here.

Each lane first asks what is due in every organisation at once: one query across
organisations, each judged by its own period (its schedule's choice, or the region's),
so a sweep with nothing due costs one query per lane and the schedules' one read. Only
the organisations that query names are then swept, each as before: only what is due,
oldest first, in batches of one unit of work, so a run is safe to repeat after a crash at
any point and its cost follows what is due, not what is stored. A stamp's store holds one
region's organisations, so the query across them never leaves the region.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from shared.domain.retention import rule_text
from shared.domain.tenancy import PLATFORM_TENANT, OrgKind
from shared.domain.timestamps import to_iso
from shared.ports import Branch, JobReport, Page, Where, iterate_all
from shared.records import ORGANISATIONS
from shared.services.retention.deps import RetentionDeps
from shared.services.retention.lanes import LaneRun, RetentionLane, sweep_lane
from shared.services.retention.schedules import Schedule, ScheduleBook, schedule_book


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


def _due(lane: RetentionLane, as_of: datetime, months: int, *, own_where: bool) -> tuple[Where, ...]:
    r = lane.records
    return (*(r.where if own_where else ()), Where(r.basis, "le", to_iso(lane.cutoff(as_of, months))))


def _branches(lanes: Sequence[RetentionLane], book: ScheduleBook, as_of: datetime, *, own_where: bool) -> tuple[Branch, ...]:
    """Due under its own organisation's period, for the records of `lanes`: a branch for the
    organisations on the region's period and one per period some organisations chose
    (`own_where`: each branch also says what marks a record as its lane's)."""
    branches = []
    for lane in lanes:
        branches.append(Branch(_due(lane, as_of, book.region_months[lane.record_type], own_where=own_where)))
        chosen: dict[int, list[str]] = {}
        for org in book.choosing():
            chosen.setdefault(book.schedule(org).months[lane.record_type], []).append(org)
        branches.extend(Branch(_due(lane, as_of, months, own_where=own_where), tuple(orgs)) for months, orgs in chosen.items())
    return tuple(branches)


class _Run:
    """One sweep: its time, report, schedules and (read only if something is due) who is homed here."""

    def __init__(self, deps: RetentionDeps, as_of: datetime, report: JobReport, organisations: Sequence[str] | None):
        self.deps = deps
        self.as_of = as_of
        self.report = report
        self.organisations = None if organisations is None else list(organisations)
        with deps.records.read_only() as uow:
            self.book = schedule_book(deps, uow, as_of)
        self.schedules: dict[str, Schedule] = {}
        self.kinds: dict[str, str | None] | None = None

    def due_anywhere(self, lanes: Sequence[RetentionLane], *, limit: int, continuation: str | None = None) -> Page:
        """What is due for `lanes` in every organisation swept, oldest first, in one query."""
        r = lanes[0].records
        alone = len(lanes) == 1
        branches = _branches(lanes, self.book, self.as_of, own_where=not alone)
        # The latest cutoff of any branch bounds the basis too, so an index on it across
        # organisations reads only what may be due.
        latest = max(w.value for b in branches for w in b.where if w.field == r.basis)
        with self.deps.records.read_only() as uow:
            return uow.query(
                r.collection,
                self.organisations,
                [*(r.where if alone else ()), Where(r.basis, "le", latest)],
                order_by=r.basis,
                limit=limit,
                continuation=continuation,
                any_of=branches,
            )

    def sweeps(self, lane: RetentionLane, org: str) -> bool:
        """Whether `lane` runs for `org`: retailers homed here, or every organisation homed
        here (or those the run was given)."""
        if self.organisations is not None:
            return org in self.organisations
        if self.kinds is None:
            self.kinds = _homed_kinds(self.deps)
        return org in self.kinds and (lane.scope != "retailers" or self.kinds[org] == OrgKind.RETAILER.value)

    def lane_run(self, lane: RetentionLane, org: str) -> LaneRun:
        schedule = self.schedules.get(org) or self.schedules.setdefault(org, self.book.schedule(org))
        period = schedule.months[lane.record_type]
        return LaneRun(
            deps=self.deps,
            org=org,
            schedule=schedule,
            months=period,
            rule=rule_text(lane.record_type, period),
            as_of=self.as_of,
            batch=lane.batch_size(self.deps),
            report=self.report,
        )

    def sweep(self, lane: RetentionLane) -> None:
        """Sweep `lane` in each organisation with something due, as the query across them names them."""
        swept: set[str] = set()
        continuation = None
        while True:
            page = self.due_anywhere([lane], limit=lane.batch_size(self.deps), continuation=continuation)
            for org in dict.fromkeys(item["_tenant"] for item in page.items):
                if org not in swept:
                    swept.add(org)
                    if self.sweeps(lane, org):
                        sweep_lane(lane, self.lane_run(lane, org), self.deps.records)
            # Resumes after the last item seen: what the organisations' sweeps deleted is not
            # read again, what they kept (held, protected) is passed over.
            if page.continuation is None:
                return
            continuation = page.continuation


class Sweep:
    def __init__(self, deps: RetentionDeps, lanes: Sequence[RetentionLane]):
        self.deps = deps
        self.lanes = tuple(lanes)

    def retailers(self) -> list[str]:
        """Retailers homed in this region: the organisations whose records are swept here."""
        return retailers(self.deps)

    def run(self, as_of: datetime, *, organisations: Sequence[str] | None = None) -> JobReport:
        """Remove everything due at `as_of` and not held, lane by lane in their registered
        order, for the retailers homed here, or every organisation homed here for the lanes
        each of them has (`organisations`: only these)."""
        report = JobReport(job="retention", as_of=as_of)
        report.counts = {count: 0 for lane in self.lanes for count in lane.counts}
        run = _Run(self.deps, as_of, report, organisations)
        # Lanes over the same records (the retention index's) first ask together: with nothing
        # due in any of them, one query answers for all.
        sharing: dict[tuple[str, str], list[RetentionLane]] = {}
        for lane in self.lanes:
            sharing.setdefault((lane.records.collection, lane.records.basis), []).append(lane)
        quiet: set[tuple[str, str]] = set()
        asked: set[tuple[str, str]] = set()
        for lane in self.lanes:
            key = (lane.records.collection, lane.records.basis)
            together = sharing[key]
            if len(together) > 1 and key not in asked:
                asked.add(key)
                if not run.due_anywhere(together, limit=1).items:
                    quiet.add(key)
            if key not in quiet:
                run.sweep(lane)
        return report
