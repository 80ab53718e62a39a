"""Demo data for `make run`: one UK region with two retailers and two forces, and a
retailer homed in Australia (to show the 421 answer). Seeding is idempotent."""

from __future__ import annotations

from typing import Any

from shared.domain.tenancy import PLATFORM_TENANT, Organisation, OrgKind, ShareLevel, Store
from shared.domain.timestamps import to_iso
from shared.ports import Clock, RecordStore
from shared.records import ORGANISATIONS, SHARING, STORES
from shared.services.directory import sharing_id

DEMO_ORGANISATIONS = [
    Organisation(
        id="northwind",
        name="Northwind Stores",
        kind=OrgKind.RETAILER,
        home_region="uk",
        idp_tenant_id="6f1c1a52-0b1e-4c7e-9a0e-2f5d7c1b0a01",
        reference_prefix="NW",
    ),
    Organisation(
        id="contoso",
        name="Contoso Retail",
        kind=OrgKind.RETAILER,
        home_region="uk",
        idp_tenant_id="6f1c1a52-0b1e-4c7e-9a0e-2f5d7c1b0a02",
        reference_prefix="CT",
    ),
    Organisation(
        id="koala-mart",
        name="Koala Mart",
        kind=OrgKind.RETAILER,
        home_region="au",
        idp_tenant_id="6f1c1a52-0b1e-4c7e-9a0e-2f5d7c1b0a03",
        reference_prefix="KM",
    ),
    Organisation(
        id="devon-and-cornwall",
        name="Devon and Cornwall Police",
        kind=OrgKind.POLICE_FORCE,
        home_region="uk",
        idp_tenant_id="6f1c1a52-0b1e-4c7e-9a0e-2f5d7c1b0a11",
        reference_prefix="DC",
        control_room_email="control-room@devon-cornwall.police.example",
    ),
    Organisation(
        id="avon-and-somerset",
        name="Avon and Somerset Police",
        kind=OrgKind.POLICE_FORCE,
        home_region="uk",
        idp_tenant_id="6f1c1a52-0b1e-4c7e-9a0e-2f5d7c1b0a12",
        reference_prefix="AS",
        control_room_email="control-room@avon-somerset.police.example",
    ),
    Organisation(
        id="vigil-platform",
        name="Vigil platform operations",
        kind=OrgKind.PLATFORM,
        home_region="uk",
        idp_tenant_id="6f1c1a52-0b1e-4c7e-9a0e-2f5d7c1b0aff",
        reference_prefix="OPS",
    ),
]

DEMO_STORES = [
    Store(
        id="nw-plymouth",
        organisation_id="northwind",
        name="Northwind Plymouth",
        address="12 Armada Way, Plymouth",
        postcode="PL1 1EA",
        force_id="devon-and-cornwall",
    ),
    Store(
        id="nw-exeter",
        organisation_id="northwind",
        name="Northwind Exeter",
        address="45 High Street, Exeter",
        postcode="EX4 3LS",
        force_id="devon-and-cornwall",
    ),
    Store(
        id="ct-bristol",
        organisation_id="contoso",
        name="Contoso Bristol",
        address="8 Broadmead, Bristol",
        postcode="BS1 3HA",
        force_id="avon-and-somerset",
    ),
]

# Each retailer shares with the force its stores lie in.
DEMO_SHARING = [("northwind", "devon-and-cornwall", ShareLevel.FULL), ("contoso", "avon-and-somerset", ShareLevel.DESCRIPTIONS)]
# Agreements that also share ANPR reads and hits (and let the force's vehicles of interest match).
DEMO_ANPR_SHARING = {("northwind", "devon-and-cornwall")}


def _insert_once(uow, collection: str, doc: dict[str, Any]) -> bool:
    if uow.get(collection, PLATFORM_TENANT, doc["id"]) is not None:
        return False
    uow.insert(collection, PLATFORM_TENANT, doc)
    return True


def seed_directory(
    records: RecordStore, clock: Clock, organisations=DEMO_ORGANISATIONS, stores=DEMO_STORES, sharing=DEMO_SHARING, *, region: str = "uk"
) -> int:
    """Write the demo organisations, stores and sharing agreements if absent; returns how many were new.

    The directory (who exists, where they are homed) is known to every stamp; data held
    for an organisation is seeded only in the stamp of its home `region`.
    """
    added = 0
    with records.unit_of_work() as uow:
        for org in organisations:
            added += _insert_once(uow, ORGANISATIONS.name, org.model_dump(mode="json"))
        for store in stores:
            added += _insert_once(uow, STORES.name, store.model_dump(mode="json"))
        for owner, partner, level in sharing:
            added += _insert_once(
                uow,
                SHARING.name,
                {
                    "id": sharing_id(owner, partner),
                    "owner_id": owner,
                    "partner_id": partner,
                    "level": level.value,
                    "since": to_iso(clock.now()),
                    "anpr": (owner, partner) in DEMO_ANPR_SHARING,
                },
            )
    # The demo forces' own D2P rules (inbox from the organisation) and retailers' auto-send off.
    from shared.services.d2p import seed_d2p_demo

    added += seed_d2p_demo(records, clock, [o for o in organisations if o.home_region == region])
    return added
