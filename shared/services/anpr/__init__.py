"""ANPR: plate-read ingest, vehicles of interest, matching and hits, alert fan-out and
signed webhook delivery, searches by data age, and expiry of reads. One module per use case.

Who sees what:
- A retailer's reads live in its own partition. Its investigators see its reads.
- Police see reads of organisations whose ANPR sharing their force has accepted.
- A read is matched against vehicles of interest of its own organisation and of those
  forces. A hit is its vehicle owner's alone: listed, answered and alerted to that owner.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.services.anpr.alerts import Alerts
from shared.services.anpr.authorisers import AuthorisingOfficers
from shared.services.anpr.common import READ_SEARCHERS, SUBSCRIBERS, VEHICLE_KEEPERS, AnprDeps
from shared.services.anpr.erasure import erase_hits_for_incident
from shared.services.anpr.expiry import Expiry
from shared.services.anpr.ingest import Ingest
from shared.services.anpr.search import ReadQuery, Search
from shared.services.anpr.settings import AnprSettings
from shared.services.anpr.subscriptions import Subscriptions
from shared.services.anpr.vehicles import Vehicles

__all__ = [
    "READ_SEARCHERS",
    "SUBSCRIBERS",
    "VEHICLE_KEEPERS",
    "Anpr",
    "AnprDeps",
    "ReadQuery",
    "erase_hits_for_incident",
]


@dataclass
class Anpr:
    """The ANPR capability as the container exposes it: one attribute per use case."""

    ingest: Ingest
    search: Search
    vehicles: Vehicles
    subscriptions: Subscriptions
    alerts: Alerts
    settings: AnprSettings
    expiry: Expiry
    authorisers: AuthorisingOfficers

    @classmethod
    def build(cls, deps: AnprDeps) -> Anpr:
        """Every use case over the same dependencies."""
        return cls(
            ingest=Ingest(deps),
            search=Search(deps),
            vehicles=Vehicles(deps),
            subscriptions=Subscriptions(deps),
            alerts=Alerts(deps),
            settings=AnprSettings(deps),
            expiry=Expiry(deps),
            authorisers=AuthorisingOfficers(deps),
        )
