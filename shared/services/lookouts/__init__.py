"""Lookouts to nearby stores: an investigator or officer warns the stores near a place (or
in a force area) about a listed person of interest or a vehicle of interest, for a reason,
until an expiry. Recipients follow the sharing agreements; staff see it in the console and
by email or signed webhook and acknowledge it; it lapses at its expiry, when withdrawn, and
whenever the listing behind it stops being in force. Rules: docs/lookouts.md.

One module per use case; the container exposes them as `container.lookouts`, e.g.
`container.lookouts.issue.issue(...)` or `container.lookouts.read.list(...)`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from shared.services.lookouts.acknowledge import AcknowledgeLookout
from shared.services.lookouts.delivery import DeliverLookout
from shared.services.lookouts.deps import ISSUERS, QUEUE, READERS, STORE_STAFF, LookoutDeps
from shared.services.lookouts.image import LookoutImages
from shared.services.lookouts.issue import IssueLookout
from shared.services.lookouts.read import ReadLookouts
from shared.services.lookouts.withdraw import WithdrawLookout

__all__ = ["ISSUERS", "QUEUE", "READERS", "STORE_STAFF", "LookoutDeps", "Lookouts"]


@dataclass
class Lookouts:
    """The lookout capability: one attribute per use case, all sharing `deps`."""

    deps: LookoutDeps
    issue: IssueLookout = field(init=False)
    read: ReadLookouts = field(init=False)
    acknowledge: AcknowledgeLookout = field(init=False)
    withdraw: WithdrawLookout = field(init=False)
    delivery: DeliverLookout = field(init=False)
    images: LookoutImages = field(init=False)

    def __post_init__(self) -> None:
        self.issue = IssueLookout(self.deps)
        self.read = ReadLookouts(self.deps)
        self.acknowledge = AcknowledgeLookout(self.deps)
        self.withdraw = WithdrawLookout(self.deps)
        self.delivery = DeliverLookout(self.deps)
        self.images = LookoutImages(self.deps)
