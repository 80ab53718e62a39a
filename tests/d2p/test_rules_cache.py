"""A force's rules held in memory between reports: a change made here is seen by the very
next report, a change made by another instance within the cache's lifetime."""

from __future__ import annotations

from shared.records import D2P_RULES
from shared.services.d2p.rules_cache import ForceRulesCache
from tests.d2p.helpers import report

DC = "devon-and-cornwall"
ADMIN = (DC, "Police.Admin")


class TickingClock:
    """A monotonic clock the test moves by hand (a test fake)."""

    def __init__(self):
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class CountingReads:
    """A unit of work stand-in (a test fake) that answers `get` and counts the reads."""

    def __init__(self, doc):
        self.doc = doc
        self.reads = 0

    def get(self, collection, tenant, id):
        self.reads += 1
        return None if self.doc is None else dict(self.doc)


def test_the_rules_are_read_once_per_lifetime_and_again_once_forgotten():
    clock = TickingClock()
    cache = ForceRulesCache(ttl_seconds=30, clock=clock)
    uow = CountingReads({"id": "current", "version": 1})
    assert cache.current(uow, DC)["version"] == 1
    uow.doc = {"id": "current", "version": 2}
    clock.t += 29
    assert cache.current(uow, DC)["version"] == 1 and uow.reads == 1
    clock.t += 2
    assert cache.current(uow, DC)["version"] == 2 and uow.reads == 2
    uow.doc = {"id": "current", "version": 3}
    cache.forget(DC)
    assert cache.current(uow, DC)["version"] == 3 and uow.reads == 3


def test_a_force_without_rules_is_remembered_as_such():
    cache = ForceRulesCache(clock=TickingClock())
    uow = CountingReads(None)
    assert cache.current(uow, DC) is None and cache.current(uow, DC) is None
    assert uow.reads == 1


def test_a_rules_change_here_reaches_the_next_report_at_once(stamp):
    first = report(stamp)
    assert first["d2p"]["rules_version"] == 1
    admin = stamp.auth(*ADMIN)
    current = stamp.client.get(f"/api/v1/forces/{DC}/d2p-rules", headers=admin)
    changed = current.json()["rules"] | {"acknowledge_within_hours": 12}
    put = stamp.client.put(f"/api/v1/forces/{DC}/d2p-rules", json=changed, headers={**admin, "If-Match": current.headers["etag"]})
    assert put.status_code == 200, put.text
    assert report(stamp)["d2p"]["rules_version"] == 2


def test_a_change_by_another_instance_reaches_reports_once_the_cache_lapses(stamp):
    clock = TickingClock()
    stamp.container.d2p.deps.rules_cache = cache = ForceRulesCache(ttl_seconds=30, clock=clock)
    assert report(stamp)["d2p"]["rules_version"] == 1
    # Another instance writes version 2: this process does not hear of it.
    with stamp.container.records.unit_of_work() as uow:
        doc = uow.get(D2P_RULES.name, DC, "current")
        uow.replace(D2P_RULES.name, DC, {k: v for k, v in doc.items() if not k.startswith("_")} | {"version": 2}, if_match=doc["_etag"])
    assert report(stamp)["d2p"]["rules_version"] == 1
    clock.t += cache.ttl_seconds
    assert report(stamp)["d2p"]["rules_version"] == 2
