"""All the demo data `make run` seeds, in one place: one UK region with two retailers, two
forces and the national unit `opal`, a retailer homed in Australia (to show the 421
answer), each force's D2P rules, and a few incidents. Seeding is idempotent."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.domain import d2p_rules as rules_domain
from shared.domain.incident_report import Category, IncidentIn
from shared.domain.tenancy import PLATFORM_TENANT, Organisation, OrgKind, Principal, Role, ShareLevel, Store
from shared.domain.timestamps import to_iso
from shared.ports import Where
from shared.records import D2P_SETTINGS, INCIDENTS, PERSON_INDEX, SHARING
from shared.services.directory import sharing_id
from shared.services.incidents.report import ReportIncident
from shared.services.onboarding.files import OnboardingDescription, OrganisationItem

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
    # Referrals: the national unit series across forces are referred to. It
    # sees only what is referred to it.
    Organisation(
        id="opal",
        name="Opal, the national intelligence unit for serious organised acquisitive crime",
        kind=OrgKind.NATIONAL_UNIT,
        home_region="uk",
        idp_tenant_id="6f1c1a52-0b1e-4c7e-9a0e-2f5d7c1b0a41",
        reference_prefix="OPAL",
        contact_email="referrals@opal.police.example",
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
        latitude=50.3714,
        longitude=-4.1422,
    ),
    Store(
        id="nw-exeter",
        organisation_id="northwind",
        name="Northwind Exeter",
        address="45 High Street, Exeter",
        postcode="EX4 3LS",
        force_id="devon-and-cornwall",
        contact_email="exeter.security@northwind.example",
        latitude=50.7241,
        longitude=-3.5305,
    ),
    Store(
        id="ct-bristol",
        organisation_id="contoso",
        name="Contoso Bristol",
        address="8 Broadmead, Bristol",
        postcode="BS1 3HA",
        force_id="avon-and-somerset",
        latitude=51.4586,
        longitude=-2.5895,
    ),
]

# Each retailer shares with the force its stores lie in.
DEMO_SHARING = [("northwind", "devon-and-cornwall", ShareLevel.FULL), ("contoso", "avon-and-somerset", ShareLevel.DESCRIPTIONS)]
# Agreements that also share ANPR reads, offered by the retailer and accepted by the force
# (the force's vehicles of interest match the retailer's reads; hits go to the vehicle's owner).
DEMO_ANPR_SHARING = {("northwind", "devon-and-cornwall")}


SEED_OPERATOR = Principal(
    user_id="seed", organisation_id=PLATFORM_TENANT, organisation_kind=OrgKind.PLATFORM, roles=frozenset({Role.PLATFORM_OPERATOR})
)


def _insert_once(uow, collection: str, tenant: str, doc: dict[str, Any]) -> bool:
    if uow.get(collection, tenant, doc["id"]) is not None:
        return False
    uow.insert(collection, tenant, doc)
    return True


def _demo_agreement(owner: str, partner: str, level: ShareLevel, since: str) -> dict[str, Any]:
    anpr = (owner, partner) in DEMO_ANPR_SHARING
    doc: dict[str, Any] = {"id": sharing_id(owner, partner), "owner_id": owner, "partner_id": partner, "level": level.value}
    doc.update(since=since, anpr=anpr)
    if anpr:
        doc.update(anpr_accepted_at=since, anpr_accepted_by=f"{partner}-admin")
    return doc


def demo_description(
    organisations=DEMO_ORGANISATIONS, stores=DEMO_STORES, *, region: str = "uk", with_rules: bool = True
) -> OnboardingDescription:
    """The demo directory as an onboarding description for the stamp of `region`:
    organisations homed elsewhere as directory entries only (so their users hear 421
    naming their home), stores of the organisations homed here, and (`with_rules`) the
    demo forces' first D2P rules."""
    home = {o.id: o.home_region for o in organisations}
    return OnboardingDescription(
        organisations=[
            OrganisationItem(
                **o.model_dump(),
                homed_elsewhere=o.home_region != region,
                d2p_rules=_demo_rules(o.id) if with_rules and o.home_region == region and o.id in DEMO_RULES else None,
            )
            for o in organisations
        ],
        stores=[s for s in stores if home.get(s.organisation_id) == region],
    )


def seed_directory(
    container: Any, organisations=DEMO_ORGANISATIONS, stores=DEMO_STORES, sharing=DEMO_SHARING, *, region: str | None = None
) -> int:
    """Onboard the demo organisations, stores and forces' D2P rules through the onboarding
    service, and write the demo sharing agreements, if absent; returns how many items were new.

    The directory (who exists, where they are homed) is known to every stamp; data held
    for an organisation is seeded only in the stamp of its home `region` (default the
    container's). D2P is switched on as a force does it: each demo force's admin approves
    its DPIA first (the go-live stage `dpia_approved`), then its rules enrol its retailers,
    and the admin approves the DPIA that now states D2P.
    """
    region = region or container.settings.region
    results = container.onboarding.files.apply(SEED_OPERATOR, demo_description(organisations, stores, region=region, with_rules=False))
    added = sum(r.outcome != "unchanged" for r in results)
    here = {o.id for o in organisations if o.home_region == region}
    with container.records.unit_of_work() as uow:
        # Agreements are the retailer admin's to make (PUT /organisations/{id}/sharing); the
        # demo's are written as if made and, for ANPR, accepted.
        for owner, partner, level in sharing:
            if owner in here:
                added += _insert_once(
                    uow, SHARING.name, PLATFORM_TENANT, _demo_agreement(owner, partner, level, to_iso(container.clock.now()))
                )
        # Automatic sending off for the demo retailers (what an unset setting means too).
        for org in organisations:
            if org.id in here and org.kind == OrgKind.RETAILER:
                settings = {"id": "settings", "auto_send": False, "updated_at": to_iso(container.clock.now()), "updated_by": "seed"}
                added += _insert_once(uow, D2P_SETTINGS.name, org.id, settings)
    if added:
        container.directory.invalidate()
    # The forces the demo switches D2P on for, never approved yet: a re-run must not sign
    # off changes made since. The retailers' admins approve theirs as a person would.
    unapproved = [o for o in organisations if o.id in here and o.id in DEMO_RULES and not _approved(container, o.id)]
    for org in unapproved:
        approve_dpia(container, org.id)
    results = container.onboarding.files.apply(SEED_OPERATOR, demo_description(organisations, stores, region=region))
    added += sum(r.outcome != "unchanged" for r in results)
    for org in unapproved:
        approve_dpia(container, org.id)
    return added


def demo_admin(org: Organisation) -> Principal:
    """The demo organisation's admin (`<org>-admin`), who approves its DPIA."""
    role = Role.POLICE_ADMIN if org.kind == OrgKind.POLICE_FORCE else Role.RETAILER_ADMIN
    return Principal(user_id=f"{org.id}-admin", organisation_id=org.id, organisation_kind=org.kind, roles=frozenset({role}))


def _approved(container: Any, org_id: str) -> bool:
    return any(v["approved"] for v in container.go_live.dpia.versions(SEED_OPERATOR, org_id))


def approve_dpia(container: Any, org_id: str) -> int:
    """The organisation's admin (`<org>-admin`) generates its DPIA from the live
    configuration and approves it, through the go-live service; returns the version."""
    org = container.directory.organisation(org_id)
    admin = demo_admin(org)
    generated = container.go_live.dpia.generate(admin, org.id)
    container.go_live.dpia.approve(admin, org.id, generated.version["version"])
    return int(generated.version["version"])


# ---- D2P ---------------------------------------------------------------------------------

DEMO_RULES: dict[str, dict[str, Any]] = {
    "devon-and-cornwall": {"enrolled_retailers": ["northwind"], "min_theft_value": {"amount_minor": 10000, "currency": "GBP"}},
    "avon-and-somerset": {"enrolled_retailers": ["contoso"], "min_theft_value": {"amount_minor": 5000, "currency": "GBP"}},
}


def _demo_rules(force_id: str) -> dict[str, Any]:
    """A demo force's first D2P rules (the inbox comes from the organisation)."""
    return {
        "always_send_categories": [Category.ROBBERY, Category.VIOLENCE_AGAINST_STAFF, Category.HATE_INCIDENT],
        "always_send_flags": list(rules_domain.FLAG_NAMES),
        "accepted_categories": [Category.CRIMINAL_DAMAGE, Category.FRAUD, Category.BURGLARY],
        **DEMO_RULES[force_id],
    }


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


# ---- persons of interest ----
# Two northwind incidents at different stores naming the same person with the same date of
# birth and the same car: `GET /offenders/suggestions` suggests linking them.
POI_DEMO_PERSON = "Lee Hartley"
POI_DEMO_PLATE = "WK19 PZT"


def seed_demo_persons_of_interest(container: Any) -> int:
    """Report the two demo incidents of a repeat offender once; returns how many were added."""
    with container.records.unit_of_work() as uow:
        if uow.count(PERSON_INDEX.name, ["northwind"], [Where("name_key", "eq", "hartley lee")]) > 0:
            return 0
    now = container.clock.now()
    for store, days, what in (("nw-plymouth", 10, "two electric toothbrushes"), ("nw-exeter", 4, "three bottles of gin")):
        container.incidents.report.submit(
            SEED_USER,
            IncidentIn.model_validate(
                {
                    "store_id": store,
                    "reporter": {"name": "Sam Taylor", "job_title": "Duty manager"},
                    "category": "shop_theft",
                    "occurred_at": (now - timedelta(days=days)).isoformat(),
                    "narrative": f"Demo: took {what} and left in a silver hatchback.",
                    "persons": [
                        {
                            "role": "offender",
                            "name": POI_DEMO_PERSON,
                            "date_of_birth": "1987-09-30",
                            "description": {"build": "heavy", "hair": "shaved", "clothing": "navy puffer jacket"},
                        }
                    ],
                    "vehicles": [{"plate": POI_DEMO_PLATE, "make": "Vauxhall", "model": "Corsa", "colour": "silver"}],
                }
            ),
            None,
        )
    return 2


def seed_demo(container: Any) -> int:
    """Everything `make run` seeds, once: the directory (organisations, stores, sharing, D2P
    rules) and the demo incidents. Returns how many records were added (0 on a re-run)."""
    added = seed_directory(container)
    added += seed_demo_incidents(container) + seed_demo_persons_of_interest(container)
    # Referrals: a series sent to and acknowledged by two forces, ready to refer.
    from shared.services.seed_series import seed_demo_referable_series

    return added + seed_demo_referable_series(container)
