"""The check every signed-in request passes: is its organisation's user (or device) calling
from one of the organisation's ranges? Refusals are audited, at a bounded rate."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.network import Caller, OutsideNetwork
from shared.domain.tenancy import Principal, Role
from shared.services.audit import ReadEntry
from shared.services.network.deps import NetworkDeps
from shared.services.network.ranges import read_current

# Refusal counts kept in memory before the oldest minute's are dropped: a flood from many
# addresses costs bounded memory as well as bounded audit.
_MAX_TRACKED = 10_000


def caller_of(principal: Principal, claims: Mapping[str, Any]) -> Caller:
    """Devices' ranges hold camera systems and app-only tokens (a service principal acting
    as itself: Entra marks them `idtyp: app`); everyone else is staff."""
    if principal.has(Role.DEVICE_ANPR) or claims.get("idtyp") == "app":
        return Caller.DEVICES
    return Caller.STAFF


@dataclass
class _RefusalBudget:
    """How many refusals were audited this minute, per person and address and per person."""

    per_minute: int
    minute: int = -1
    by_address: dict[tuple[str, str, str], int] = field(default_factory=dict)
    by_person: dict[tuple[str, str], int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, org_id: str, user_id: str, address: str, minute: int) -> bool:
        """True when this refusal is to be audited: the first of its person and address this
        minute, and within the person's allowance over all addresses."""
        with self.lock:
            if minute != self.minute or len(self.by_address) > _MAX_TRACKED:
                self.minute, self.by_address, self.by_person = minute, {}, {}
            key = (org_id, user_id, address)
            person = (org_id, user_id)
            if key in self.by_address or self.by_person.get(person, 0) >= self.per_minute:
                self.by_address[key] = self.by_address.get(key, 0) + 1
                return False
            self.by_address[key] = 1
            self.by_person[person] = self.by_person.get(person, 0) + 1
            return True


@dataclass
class GateUseCase:
    deps: NetworkDeps
    _budget: _RefusalBudget = field(init=False)

    def __post_init__(self) -> None:
        self._budget = _RefusalBudget(per_minute=self.deps.refusals_audited_per_minute)

    def admit(self, principal: Principal, claims: Mapping[str, Any], address: str | None, route: str) -> None:
        """Pass when the principal's organisation restricts nothing for its kind of caller or
        `address` (None: not known) is in its ranges; otherwise audit the refusal (at most
        one entry per person and address each minute) and raise OutsideNetwork (403)."""
        org_id = principal.organisation_id
        staff, devices = self.deps.cache.get(org_id, lambda: read_current(self.deps.records, org_id))
        caller = caller_of(principal, claims)
        matcher = staff if caller == Caller.STAFF else devices
        if matcher.admits(address):
            return
        shown = address or "an address that could not be established"
        minute = int(self.deps.clock.now().timestamp() // 60)
        if self._budget.take(org_id, principal.user_id, address or "-", minute):
            self.deps.audit.record_read(
                principal,
                [
                    ReadEntry(
                        owner_org=org_id,
                        action=AuditAction.CONSULTATION,
                        operation="network.refused",
                        entity=f"network-ranges/{org_id}",
                        fields=[f"address:{address or '-'}", f"caller:{caller.value}", f"route:{route[:300]}"],
                        purpose=f"Refused: {route[:300]} from {shown}, outside the {caller.value} ranges",
                    )
                ],
            )
        who = "its own network" if caller == Caller.STAFF else "the network ranges set for its devices and service principals"
        raise OutsideNetwork(
            f"Your organisation allows access only from {who}; this request came from {shown}.",
            client_address=address,
        )
