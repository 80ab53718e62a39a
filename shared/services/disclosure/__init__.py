"""Disclosure: court packages shared with named recipients outside Vigil (CPS, defence)
through expiring links opened with a one-time code.

One module per use case; `Disclosure` gathers them for the container
(`container.disclosure.shares.share(...)`). The package is built once when the share is
made and kept in the package store until the share ends; every access is audited in the
sharing force's trail.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.services.disclosure.deps import DisclosureDeps
from shared.services.disclosure.recipient import RecipientAccess
from shared.services.disclosure.shares import PackageShares
from shared.services.disclosure.upkeep import ShareUpkeep

__all__ = ["Disclosure", "DisclosureDeps"]


@dataclass(frozen=True)
class Disclosure:
    """The disclosure capability, one attribute per use case."""

    shares: PackageShares
    recipient: RecipientAccess
    upkeep: ShareUpkeep

    @classmethod
    def build(cls, deps: DisclosureDeps) -> Disclosure:
        """Every use case over the same dependencies."""
        return cls(shares=PackageShares(deps), recipient=RecipientAccess(deps), upkeep=ShareUpkeep(deps))
