"""The demo's referable series: three thefts by the same silver Corsa as the demo
person of interest, two at northwind's Devon stores and one at contoso's Bristol store, each
sent direct to its force and acknowledged there with a crime reference. On `make run`,
northwind's investigator can refer the Devon pair to `opal` with avon-and-somerset's
reference as the other force's pointer, without dispatching anything by hand."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from shared.domain.d2p import AcknowledgeIn
from shared.domain.evidence import EvidenceKind
from shared.domain.incident_report import IncidentIn
from shared.domain.tenancy import OrgKind, Principal, Role
from shared.ports import Where
from shared.records import DISPATCHES
from shared.services.d2p import QUEUE
from shared.services.seed import POI_DEMO_PLATE, SEED_USER

# (retailer, store, the force whose area holds it, its crime reference, days ago, goods)
SERIES = (
    ("northwind", "nw-plymouth", "devon-and-cornwall", "DC/2026/204117", 18, ("Electric toothbrush", 4, 8999)),
    ("northwind", "nw-exeter", "devon-and-cornwall", "DC/2026/204388", 12, ("Gin 70cl", 6, 2650)),
    ("contoso", "ct-bristol", "avon-and-somerset", "AS/2026/7719", 8, ("Razor blades, 8 pack", 12, 1499)),
)
# The bytes of a tiny MP4 and JPEG: the upload sniffs the first bytes, as for a real file.
_CCTV = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 64
_STILL = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 8


def _investigator(org: str) -> Principal:
    if org == SEED_USER.organisation_id:
        return SEED_USER
    return Principal(
        user_id=f"{org}-investigator",
        organisation_id=org,
        organisation_kind=OrgKind.RETAILER,
        roles=frozenset({Role.RETAILER_INVESTIGATOR}),
    )


def _officer(force_id: str) -> Principal:
    return Principal(
        user_id=f"{force_id}-officer",
        organisation_id=force_id,
        organisation_kind=OrgKind.POLICE_FORCE,
        roles=frozenset({Role.POLICE_OFFICER}),
    )


def _report(container: Any, org: str, store: str, days: int, goods: tuple[str, int, int]) -> str:
    what, quantity, unit = goods
    body = {
        "store_id": store,
        # A re-run after a failure part-way answers the incident already reported, never a second one.
        "external_reference": f"DEMO-SERIES-{store}",
        "category": "shop_theft",
        "occurred_at": (container.clock.now() - timedelta(days=days)).isoformat(),
        "narrative": f"Demo series: a heavy man in a navy puffer jacket took {what.lower()} and drove off in a silver Corsa.",
        "goods": [{"description": what, "quantity": quantity, "unit_value": {"amount_minor": unit, "currency": "GBP"}}],
        "persons": [{"role": "suspect", "description": {"build": "heavy", "hair": "shaved", "clothing": "navy puffer jacket"}}],
        "vehicles": [{"plate": POI_DEMO_PLATE, "make": "Vauxhall", "model": "Corsa", "colour": "silver"}],
        "witnesses": [
            {"name": "Sam Taylor", "kind": "staff", "statement": "I saw him fill a bag and leave in a silver Corsa.", "is_reporter": True}
        ],
        "prosecution_supported": True,
        "reporter": {"name": "Sam Taylor", "job_title": "Duty manager"},
    }
    reported = container.incidents.report.submit(_investigator(org), IncidentIn.model_validate(body), None)
    return str(reported.incident.id)


def _evidence(container: Any, org: str, incident_id: str) -> None:
    for kind, data, content_type, name in (
        (EvidenceKind.CCTV, _CCTV, "video/mp4", "cctv.mp4"),
        (EvidenceKind.SUSPECT_IMAGE, _STILL, "image/jpeg", "suspect.jpg"),
    ):
        container.evidence.intake.upload(
            _investigator(org),
            incident_id,
            [data],
            content_type=content_type,
            filename=name,
            kind=kind,
            content_digest=None,
            content_length=len(data),
        )


def _deliver(container: Any) -> None:
    """What the runner's D2P worker does with the queue, once, so each dispatch is sent."""
    container.outbox.relay(container.clock.now())
    for _ in range(10):
        messages = container.queue.receive(QUEUE, max_messages=16, visibility_seconds=60)
        if not messages:
            return
        for m in messages:
            container.d2p.delivery.handle(m.body, m.delivery_count)
            container.queue.complete(m)


def _acknowledged(container: Any, org: str, crime_reference: str) -> bool:
    with container.records.read_only() as uow:
        return uow.count(DISPATCHES.name, [org], [Where("crime_reference", "eq", crime_reference)]) > 0


def seed_demo_referable_series(container: Any) -> int:
    """Report, evidence, send and acknowledge the demo series through the incident, evidence
    and D2P services, once per crime reference; returns how many incidents were added."""
    added = 0
    for org, store, force_id, crime_reference, days, goods in SERIES:
        if _acknowledged(container, org, crime_reference):
            continue
        incident_id = _report(container, org, store, days, goods)
        _evidence(container, org, incident_id)
        dispatch = container.d2p.dispatch.send(_investigator(org), incident_id).dispatch
        _deliver(container)
        container.d2p.police.acknowledge(_officer(force_id), dispatch.id, AcknowledgeIn(crime_reference=crime_reference))
        added += 1
    return added
