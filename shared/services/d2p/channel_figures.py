"""The force's other reporting channels (online, 101, front counter): figures its
Police.Admin uploads from the records system, as aggregates or as a row-level extract
that is counted as it streams and then dropped. Each channel and period is one set of
figures; uploading it again makes a new version (every version kept, each audited)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.domain import evaluation as ev
from shared.domain.audit import AuditAction
from shared.domain.errors import Conflict, Forbidden, Invalid
from shared.domain.tenancy import Principal, Role
from shared.ports import UnitOfWork, Where, iterate_all
from shared.records import CHANNEL_FIGURES
from shared.services.d2p.deps import D2PDeps, own_force
from shared.services.repository import body

# A force uploads a few channels a month: a listing this long covers years of them.
MAX_LISTED = 1000


def figures_id(channel: str, first: date, last: date) -> str:
    return f"{channel}.{first.isoformat()}.{last.isoformat()}"


@dataclass
class ChannelFiguresUseCase:
    deps: D2PDeps

    def upload(self, principal: Principal, force_id: str, given: ev.ChannelFiguresIn) -> dict[str, Any]:
        """Store one channel's aggregate figures for a period (a new version when the channel
        and period were uploaded before). Police.Admin of the force only."""
        return self._store(principal, force_id, [ev.ChannelTotals.of(given)], "aggregates")[0]

    def upload_extract(self, principal: Principal, force_id: str, first: date, last: date, lines: Iterable[str]) -> list[dict[str, Any]]:
        """Read a row-level extract (crime reference, channel, reported at, recorded at,
        outcome code) for the days first..last into one set of figures per channel. Rows are
        counted and dropped as they are read: no reference, time or row is stored. A bad row
        refuses the whole extract before anything is written."""
        self._admin(principal, force_id)
        if last < first:
            raise Invalid("'to' is the period's last day: it cannot be before 'from'.", errors=[{"field": "to"}])
        if (last - first).days >= ev.MAX_PERIOD_DAYS:
            raise Invalid(f"A period is at most {ev.MAX_PERIOD_DAYS} days.", errors=[{"field": "to"}])
        totals = ev.aggregate_extract(lines, first, last)
        return self._store(principal, force_id, totals, "extract")

    def current(self, uow: UnitOfWork, force_id: str, first: date, last: date) -> list[dict[str, Any]]:
        """The current figures of every channel whose period lies within first..last."""
        where = [Where("current", "eq", True), Where("period_from", "ge", first.isoformat()), Where("period_from", "le", last.isoformat())]
        docs = iterate_all(uow, CHANNEL_FIGURES.name, [force_id], where, order_by="period_from", limit=500)
        return [body(d) for d in docs if d["period_to"] <= last.isoformat()]

    def listing(self, principal: Principal, force_id: str) -> list[dict[str, Any]]:
        """The force's current figures, oldest period first (its admin and analysts)."""
        self._reader(principal, force_id)
        with self.deps.records.read_only() as uow:
            page = uow.query(CHANNEL_FIGURES.name, [force_id], [Where("current", "eq", True)], order_by="period_from", limit=MAX_LISTED)
        return [body(d) for d in page.items]

    @staticmethod
    def _reader(principal: Principal, force_id: str) -> None:
        own_force(principal, force_id)
        if not principal.has(Role.POLICE_ADMIN, Role.POLICE_ANALYST):
            raise Forbidden("The evaluation's figures are for the force's admins and analysts.")

    @staticmethod
    def _admin(principal: Principal, force_id: str) -> None:
        own_force(principal, force_id)
        if not principal.has(Role.POLICE_ADMIN):
            raise Forbidden("Only the force's Police.Admin uploads its channels' figures.")

    def _store(self, principal: Principal, force_id: str, totals: list[ev.ChannelTotals], source: str) -> list[dict[str, Any]]:
        self._admin(principal, force_id)
        now = self.deps.now()
        stored: list[dict[str, Any]] = []
        with self.deps.records.unit_of_work() as uow:
            for t in totals:
                fid = figures_id(t.channel, t.period_from, t.period_to)
                self._no_overlap(uow, force_id, t, fid)
                existing = uow.get(CHANNEL_FIGURES.name, force_id, fid)
                version = int(existing["version"]) + 1 if existing else 1
                doc = {
                    "id": fid,
                    "force_id": force_id,
                    **t.figures(),
                    "current": True,
                    "version": version,
                    "source": source,
                    "uploaded_at": now,
                    "uploaded_by": principal.user_id,
                }
                uow.insert(CHANNEL_FIGURES.name, force_id, {**doc, "id": f"{fid}.v{version}", "current": False})
                if existing is None:
                    uow.insert(CHANNEL_FIGURES.name, force_id, doc)
                else:
                    uow.replace(CHANNEL_FIGURES.name, force_id, doc, if_match=existing["_etag"])
                self.deps.audit.record(
                    uow,
                    owner_org=force_id,
                    principal=principal,
                    action=AuditAction.COLLECTION if existing is None else AuditAction.ALTERATION,
                    # Aggregates name no one: the entry has no data subjects, only the version written.
                    operation=f"d2p.channel_figures.{source}",
                    entity=f"channel-figures/{fid}.v{version}",
                    fields=["reports", "charged", "outcomes", "hours_to_record"],
                )
                stored.append(doc)
        return stored

    @staticmethod
    def _no_overlap(uow: UnitOfWork, force_id: str, t: ev.ChannelTotals, fid: str) -> None:
        # Periods of one channel never overlap, so adding periods up never counts a report twice.
        where = [
            Where("current", "eq", True),
            Where("channel", "eq", t.channel),
            Where("period_from", "le", t.period_to.isoformat()),
        ]
        for doc in iterate_all(uow, CHANNEL_FIGURES.name, [force_id], where, limit=500):
            if doc["id"] != fid and doc["period_to"] >= t.period_from.isoformat():
                raise Conflict(
                    f"{t.channel} already has figures for {doc['period_from']} to {doc['period_to']}, which overlaps "
                    f"{t.period_from} to {t.period_to}: upload the same period again to replace them."
                )
