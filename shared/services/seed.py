"""All the demo data `make run` seeds, in one place: one UK region with two retailers and
two forces, a retailer homed in Australia (to show the 421 answer), each force's D2P rules,
and a few incidents. Seeding is idempotent."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.domain import d2p as rules_domain
from shared.domain.d2p import ForceRules
from shared.domain.incidents import Category, IncidentIn
from shared.domain.tenancy import PLATFORM_TENANT, Organisation, OrgKind, Principal, Role, ShareLevel, Store
from shared.domain.timestamps import to_iso
from shared.ports import Clock, RecordStore, Where
from shared.records import D2P_RULES, D2P_SETTINGS, INCIDENTS, ORGANISATIONS, PERSON_INDEX, SHARING, STORES
from shared.services.directory import sharing_id
from shared.services.incidents.report import ReportIncident

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
        contact_email="plymouth.security@northwind.example",
    ),
    Store(
        id="nw-exeter",
        organisation_id="northwind",
        name="Northwind Exeter",
        address="45 High Street, Exeter",
        postcode="EX4 3LS",
        force_id="devon-and-cornwall",
        contact_email="exeter.security@northwind.example",
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
# Agreements that also share ANPR reads, offered by the retailer and accepted by the force
# (the force's vehicles of interest match the retailer's reads; hits go to the vehicle's owner).
DEMO_ANPR_SHARING = {("northwind", "devon-and-cornwall")}


def _insert_once(uow, collection: str, doc: dict[str, Any]) -> bool:
    if uow.get(collection, PLATFORM_TENANT, doc["id"]) is not None:
        return False
    uow.insert(collection, PLATFORM_TENANT, doc)
    return True


def _demo_agreement(owner: str, partner: str, level: ShareLevel, since: str) -> dict[str, Any]:
    anpr = (owner, partner) in DEMO_ANPR_SHARING
    doc: dict[str, Any] = {"id": sharing_id(owner, partner), "owner_id": owner, "partner_id": partner, "level": level.value}
    doc.update(since=since, anpr=anpr)
    if anpr:
        doc.update(anpr_accepted_at=since, anpr_accepted_by=f"{partner}-admin")
    return doc


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
            added += _insert_once(uow, SHARING.name, _demo_agreement(owner, partner, level, to_iso(clock.now())))
    # The demo forces' own D2P rules (inbox from the organisation) and retailers' auto-send off.
    added += seed_d2p_demo(records, clock, [o for o in organisations if o.home_region == region])
    return added


# ---- D2P ---------------------------------------------------------------------------------

DEMO_RULES: dict[str, dict[str, Any]] = {
    "devon-and-cornwall": {"enrolled_retailers": ["northwind"], "min_theft_value": {"amount_minor": 10000, "currency": "GBP"}},
    "avon-and-somerset": {"enrolled_retailers": ["contoso"], "min_theft_value": {"amount_minor": 5000, "currency": "GBP"}},
}


def seed_d2p_demo(records: RecordStore, clock: Clock, organisations) -> int:
    """Demo rules for the seeded forces (their own rules, inbox from the organisation)
    and automatic sending off for the retailers. Idempotent; returns how many were new."""
    added = 0
    with records.unit_of_work() as uow:
        for org in organisations:
            if (
                org.kind == "police_force"
                and org.control_room_email
                and org.id in DEMO_RULES
                and uow.get(D2P_RULES.name, org.id, "current") is None
            ):
                rules = ForceRules(
                    control_room_email=org.control_room_email,
                    always_send_categories=[Category.ROBBERY, Category.VIOLENCE_AGAINST_STAFF, Category.HATE_INCIDENT],
                    always_send_flags=list(rules_domain.FLAG_NAMES),
                    accepted_categories=[Category.CRIMINAL_DAMAGE, Category.FRAUD, Category.BURGLARY],
                    **DEMO_RULES[org.id],
                )
                now = to_iso(clock.now())
                body = rules.model_dump(mode="json")
                uow.insert(
                    D2P_RULES.name, org.id, {"id": "v000001", "force_id": org.id, "version": 1, "rules": body, "at": now, "by": "seed"}
                )
                uow.insert(
                    D2P_RULES.name,
                    org.id,
                    {"id": "current", "force_id": org.id, "version": 1, "rules": body, "updated_at": now, "updated_by": "seed"},
                )
                added += 1
            if org.kind == "retailer" and uow.get(D2P_SETTINGS.name, org.id, "settings") is None:
                uow.insert(
                    D2P_SETTINGS.name,
                    org.id,
                    {"id": "settings", "auto_send": False, "updated_at": to_iso(clock.now()), "updated_by": "seed"},
                )
                added += 1
    return added


# ---- demo incidents (through the incident service, so every index and hook is current) ----
# - "Jamie Doyle" (recent): a named person a subject request finds, reaching northwind as a
#   task with a due date.
# - An incident from June 2019, reported then: past its 6-year schedule, so the next retention
#   run (`make job JOB=retention`) deletes it and leaves a tombstone, unless someone holds it.

SEED_USER = Principal(
    user_id="demo-seed", organisation_id="northwind", organisation_kind=OrgKind.RETAILER, roles=frozenset({Role.RETAILER_INVESTIGATOR})
)
DEMO_PERSON = "Jamie Doyle"
# Retention runs from when an incident was first reported, so the old demo incident is
# recorded as reported back then (as a migrated record would be), not today.
OLD_REPORTED_AT = datetime(2019, 6, 14, 17, 30, tzinfo=UTC)


@dataclass(frozen=True)
class _At:
    at: datetime

    def now(self) -> datetime:
        return self.at


def seed_demo_incidents(container: Any) -> int:
    """Report the demo incidents through the incident service once; returns how many were added."""
    records, incidents, clock = container.records, container.incidents, container.clock
    added = 0
    with records.unit_of_work() as uow:
        has_person = uow.count(PERSON_INDEX.name, ["northwind"], [Where("name_key", "eq", "doyle jamie")]) > 0
        has_old = uow.count(INCIDENTS.name, ["northwind"], [Where("occurred_at", "lt", "2019-07-01")]) > 0
    base = {"store_id": "nw-plymouth", "reporter": {"name": "Sam Taylor", "job_title": "Duty manager"}}
    if not has_person:
        incidents.report.submit(
            SEED_USER,
            IncidentIn.model_validate(
                {
                    **base,
                    "category": "shop_theft",
                    "occurred_at": (clock.now() - timedelta(days=3)).isoformat(),
                    "narrative": "Demo: known local shoplifter took razor blades; recognised by staff.",
                    "persons": [
                        {
                            "role": "offender",
                            "name": DEMO_PERSON,
                            "date_of_birth": "1990-04-12",
                            "description": {"build": "slim", "hair": "short, ginger"},
                        }
                    ],
                }
            ),
            None,
        )
        added += 1
    if not has_old:
        ReportIncident(replace(incidents.report.deps, clock=_At(OLD_REPORTED_AT))).submit(
            SEED_USER,
            IncidentIn.model_validate(
                {
                    **base,
                    "category": "criminal_damage",
                    "occurred_at": "2019-06-14T16:05:00+00:00",
                    "narrative": "Demo: a trolley was thrown through the front window. Past its 6-year schedule.",
                }
            ),
            None,
        )
        added += 1
    return added


def seed_demo(container: Any) -> int:
    """Everything `make run` seeds, once: the directory (organisations, stores, sharing, D2P
    rules) and the demo incidents. Returns how many records were added (0 on a re-run)."""
    added = seed_directory(container.records, container.clock, region=container.settings.region)
    return added + seed_demo_incidents(container)
