"""Retention lanes and the one loop that sweeps them.

A lane is one kind of record that expires: it says what may be due, oldest basis time
first, and what to do with a page of due items. `sweep_lane` does the rest for every
lane alike: a page per unit of work, stopping at the first item not yet due (nothing
after it can be due either), following or re-reading pages, and ending the lane when a
whole batch was passed over (nothing more can move).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from shared.domain.audit import AuditAction
from shared.domain.retention import RecordType, basis_cutoff, is_due
from shared.domain.timestamps import from_iso, to_iso
from shared.ports import JobReport, Page, RecordStore, UnitOfWork, Where
from shared.services.retention import tombstones

if TYPE_CHECKING:
    from shared.services.audit import AuditTrail
    from shared.services.retention.deps import RetentionDeps
    from shared.services.retention.schedules import Schedule

# Which organisations a lane runs for: retailers homed here (their records), or every
# organisation homed here (each keeps an audit chain: forces and the platform too).
Scope = Literal["retailers", "homed"]


@dataclass
class LaneRun:
    """One lane over one organisation's records, at one sweep."""

    deps: RetentionDeps
    org: str
    schedule: Schedule
    months: int
    rule: str
    as_of: datetime
    batch: int
    report: JobReport

    @property
    def audit(self) -> AuditTrail:
        return self.deps.audit

    @property
    def cutoff(self) -> str:
        """A basis time after which nothing is due (ISO text, for a range query)."""
        return to_iso(basis_cutoff(self.as_of, self.months))

    def add(self, count: str, n: int = 1) -> None:
        self.report.counts[count] = self.report.counts.get(count, 0) + n

    def erased(self, uow: UnitOfWork, *, operation: str, entity: str, subjects: list[str], count: str) -> None:
        """One audit entry for what this batch erased (none when nothing was), and its count
        in the sweep's report."""
        if not subjects:
            return
        self.audit.record(
            uow,
            owner_org=self.org,
            principal=None,
            action=AuditAction.ERASURE,
            operation=operation,
            entity=entity,
            subjects=subjects,
            purpose=self.rule,
            system_actor="retention",
        )
        self.add(count, len(subjects))

    def kept_protected(self, note: str) -> None:
        self.add("kept_protected")
        self.report.notes.append(note)


@dataclass(frozen=True)
class Batch:
    """What a lane did with a page of due items."""

    handled: int = 0  # items that left the due set (deleted, moved to another lane)
    unfinished: bool = False  # stopped inside the page (a budget ran out): read it again


@dataclass(frozen=True)
class LaneRecords:
    """Where a lane's records wait: their collection, the field their period runs from
    (every record carries it, so what is due in every organisation is one query) and what
    else marks a record as this lane's."""

    collection: str
    basis: str
    where: tuple[Where, ...] = ()


class RetentionLane(Protocol):
    record_type: RecordType  # whose period applies
    scope: Scope
    # Whether items passed over stay due: the lane then pages on past them; otherwise every
    # handled item leaves, and the first page is read again until nothing moves.
    pages_on: bool
    records: LaneRecords

    @property
    def counts(self) -> tuple[str, ...]:
        """The report's counts this lane adds to (reported as 0 when none)."""
        ...

    def batch_size(self, deps: RetentionDeps) -> int: ...

    def cutoff(self, as_of: datetime, months: int) -> datetime:
        """The latest basis time due at `as_of` under a period of `months`."""
        ...

    def due(self, uow: UnitOfWork, run: LaneRun, continuation: str | None) -> Page:
        """Candidates up to `run.batch`, in order of their basis time (only those at or before `run.cutoff`)."""
        ...

    def basis(self, item: dict[str, Any]) -> datetime: ...

    def apply(self, uow: UnitOfWork, run: LaneRun, items: Sequence[dict[str, Any]]) -> Batch:
        """Act on due items, in the page's unit of work."""
        ...


class Lane:
    """What lanes share: the due items are the lane's records whose basis is at or before
    the cutoff, oldest first, `deps.batch` at a time."""

    record_type: RecordType
    scope: Scope = "retailers"
    counts: tuple[str, ...]
    pages_on: bool
    records: LaneRecords

    def batch_size(self, deps: RetentionDeps) -> int:
        return deps.batch

    def cutoff(self, as_of: datetime, months: int) -> datetime:
        return basis_cutoff(as_of, months)

    def due(self, uow: UnitOfWork, run: LaneRun, continuation: str | None) -> Page:
        r = self.records
        where = [*r.where, Where(r.basis, "le", to_iso(self.cutoff(run.as_of, run.months)))]
        return uow.query(r.collection, [run.org], where, order_by=r.basis, limit=run.batch, continuation=continuation)

    def basis(self, item: dict[str, Any]) -> datetime:
        return from_iso(item[self.records.basis])


class TombstonedLane(Lane):
    """Records that go one by one, each leaving a tombstone of its own, with one erasure
    audit entry per batch. A lane says what keeps a record (a legal hold) and what goes
    with it."""

    operation: str  # of the audit entry
    entity: str  # what the audit entry names
    count: str  # in the sweep's report
    tombstone_type: str | None = None  # the record type's name unless set

    @property
    def counts(self) -> tuple[str, ...]:  # type: ignore[override]  # one count, named by `count`
        return (self.count,)

    def kept(self, uow: UnitOfWork, run: LaneRun, item: dict[str, Any]) -> bool:
        """Whether a due record stays (for now)."""
        return False

    def erase(self, uow: UnitOfWork, run: LaneRun, item: dict[str, Any]) -> None:
        """Delete the record (and what goes with it)."""
        uow.delete(self.records.collection, run.org, item["id"])

    def apply(self, uow: UnitOfWork, run: LaneRun, items: Sequence[dict[str, Any]]) -> Batch:
        gone = []
        for item in items:
            if self.kept(uow, run, item):
                continue
            tombstones.write_once(
                uow,
                run.org,
                self.tombstone_type or self.record_type.value,
                item["id"],
                deleted_at=run.as_of,
                rule=run.rule,
                schedule_version=run.schedule.version,
                cause="schedule",
            )
            self.erase(uow, run, item)
            gone.append(item["id"])
        run.erased(uow, operation=self.operation, entity=self.entity, subjects=gone, count=self.count)
        return Batch(handled=len(gone))


def sweep_lane(lane: RetentionLane, run: LaneRun, records: RecordStore) -> None:
    """Sweep one lane of one organisation: every item due at `run.as_of`, `run.batch` per unit of work."""
    continuation = None
    while True:
        with records.unit_of_work() as uow:
            page = lane.due(uow, run, continuation)
            items = []
            finished = False
            for item in page.items:
                if not is_due(lane.basis(item), run.months, run.as_of):
                    finished = True  # ordered by basis: nothing after this one is due either
                    break
                items.append(item)
            done = lane.apply(uow, run, items) if items else Batch()
        if done.unfinished:
            continue  # the same page again: handled items left it, the unfinished one resumes
        if finished or page.continuation is None:
            return
        if lane.pages_on:
            continuation = page.continuation
        elif done.handled == 0:
            return
