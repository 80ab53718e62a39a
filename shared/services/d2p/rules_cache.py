"""Each force's current D2P rules, kept in this process for a short while.

Every report is evaluated against its force's rules, and rules change a few times a
year: reading them from the store for each report is a request per report (a Cosmos
round trip in Azure) for the same answer. A change made through this process drops the
force's entry at once; a change made by another instance reaches this one within
`TTL_SECONDS` (docs/d2p.md, "Rules in memory"). Sending reads the rules from the store
again, so a report always goes to the inbox the rules name at the time it is sent.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from shared.ports import UnitOfWork
from shared.records import D2P_RULES

TTL_SECONDS = 30.0


@dataclass
class ForceRulesCache:
    """The `current` rules document of each force (None: the force has none), by force id."""

    ttl_seconds: float = TTL_SECONDS
    clock: Callable[[], float] = time.monotonic
    _entries: dict[str, tuple[float, dict[str, Any] | None]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def current(self, uow: UnitOfWork, force_id: str) -> dict[str, Any] | None:
        """The force's current rules document, read through `uow` when not held or older than the TTL."""
        now = self.clock()
        with self._lock:
            held = self._entries.get(force_id)
        if held is not None and now - held[0] < self.ttl_seconds:
            return None if held[1] is None else dict(held[1])
        doc = uow.get(D2P_RULES.name, force_id, "current")
        with self._lock:
            self._entries[force_id] = (now, None if doc is None else dict(doc))
        return doc

    def forget(self, force_id: str) -> None:
        """The force's rules changed here: the next evaluation reads them again."""
        with self._lock:
            self._entries.pop(force_id, None)
