"""What every network-ranges use case shares: adapters, and the per-process cache of each
organisation's ranges that the gate reads on every request."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from shared.domain.network import NetworkRanges, RangeMatcher
from shared.domain.timestamps import to_iso
from shared.ports import Clock, RecordStore
from shared.services.audit import AuditTrail


class RangesCache:
    """Each organisation's ranges, parsed, for `seconds`: the gate runs on every request and
    must cost a dictionary look-up, not a read. A change made through this process is seen at
    once (`forget`); one made through another instance within `seconds` (docs/security.md)."""

    def __init__(self, seconds: float, monotonic: Callable[[], float] = time.monotonic):
        self._seconds = seconds
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, RangeMatcher, RangeMatcher]] = {}

    def get(self, org_id: str, load: Callable[[], NetworkRanges | None]) -> tuple[RangeMatcher, RangeMatcher]:
        """(staff, devices) matchers of `org_id`, loaded when missing or older than the cache time."""
        now = self._monotonic()
        with self._lock:
            hit = self._entries.get(org_id)
        if hit is not None and now - hit[0] < self._seconds:
            return hit[1], hit[2]
        ranges = load()
        staff = RangeMatcher(ranges.staff if ranges else [])
        devices = RangeMatcher(ranges.devices if ranges else [])
        with self._lock:
            self._entries[org_id] = (now, staff, devices)
        return staff, devices

    def forget(self, org_id: str) -> None:
        with self._lock:
            self._entries.pop(org_id, None)


@dataclass
class NetworkDeps:
    """Built once in the composition root and shared by the network use cases."""

    records: RecordStore
    clock: Clock
    audit: AuditTrail
    cache_seconds: float = 30.0
    # Refusals audited per person and address, and per person over all addresses, each minute.
    refusals_audited_per_minute: int = 10
    cache: RangesCache = field(init=False)

    def __post_init__(self) -> None:
        self.cache = RangesCache(self.cache_seconds)

    def now(self) -> str:
        return to_iso(self.clock.now())
