"""The network check costs no read per request: each instance keeps an organisation's ranges
for 30 seconds, so a change made through another instance applies there within that time."""

from __future__ import annotations

import pytest

from shared.domain.network import NetworkRangesIn, OutsideNetwork
from shared.domain.tenancy import Role
from shared.services.network import Network, NetworkDeps
from shared.services.network.deps import RangesCache
from tests.fakes import FakeMonotonic
from tests.network.test_network_ranges import DC, OUTSIDE


class CountingRecords:
    """The stamp's record store, counting read-only units (one per ranges load)."""

    def __init__(self, records):
        self._records = records
        self.reads = 0

    def read_only(self):
        self.reads += 1
        return self._records.read_only()

    def __getattr__(self, name):
        return getattr(self._records, name)


def test_another_instance_sees_a_change_within_the_cache_time_and_reads_once_meanwhile(stamp):
    c = stamp.container
    officer = c.directory.principal_from_claims(
        {"sub": f"{DC}-officer", "tid": c.directory.organisation(DC).idp_tenant_id, "roles": ["Police.Officer"]}
    )
    admin = officer.model_copy(update={"roles": frozenset({Role.POLICE_ADMIN}), "user_id": f"{DC}-admin"})
    records = CountingRecords(c.records)
    other = Network(NetworkDeps(records=records, clock=c.clock, audit=c.audit))  # a second instance of the stamp
    tick = FakeMonotonic()
    other.deps.cache = RangesCache(30.0, monotonic=tick)

    for _ in range(50):
        other.gate.admit(officer, {}, OUTSIDE, "GET /inbox")
    assert records.reads == 1

    c.network.ranges.put(admin, DC, NetworkRangesIn(staff=["192.0.2.0/24"]), None)
    tick.advance(29)
    other.gate.admit(officer, {}, OUTSIDE, "GET /inbox")  # still the ranges it read
    tick.advance(2)
    with pytest.raises(OutsideNetwork):
        other.gate.admit(officer, {}, OUTSIDE, "GET /inbox")
    assert records.reads == 2
