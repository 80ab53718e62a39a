"""Helpers for D2P tests: reports that meet devon-and-cornwall's rules, evidence rows, and
a queue drain that does what the local runner does (without its sleeps)."""

from __future__ import annotations

import uuid
from typing import Any

from functions import jobs
from shared.records import EVIDENCE
from shared.services.d2p import QUEUE


def example() -> dict[str, Any]:
    """IncidentIn's documented example (read from the model: building OpenAPI per test is slow)."""
    import copy

    from shared.domain.incidents import IncidentIn

    return copy.deepcopy(IncidentIn.model_config["json_schema_extra"]["examples"][0])


def report(stamp, *, org="northwind", role="Retailer.Investigator", **overrides) -> dict[str, Any]:
    body = example()
    body.update(overrides)
    r = stamp.client.post("/api/v1/incidents", json=body, headers=stamp.auth(org, role))
    assert r.status_code == 201, r.text
    return r.json()


def add_evidence(stamp, incident: dict[str, Any], *kinds: str) -> None:
    """Evidence rows as the evidence service (issue 3) records them, then the hook it calls."""
    owner = incident["organisation_id"]
    container = stamp.container
    with container.records.unit_of_work() as uow:
        for kind in kinds:
            eid = uuid.uuid4().hex
            uow.insert(
                EVIDENCE.name,
                owner,
                {
                    "id": eid,
                    "incident_id": incident["id"],
                    "organisation_id": owner,
                    "kind": kind,
                    "media": "video" if kind == "cctv" else "image",
                    "content_type": "video/mp4" if kind == "cctv" else "image/jpeg",
                    "filename": f"{kind}-{eid[:6]}.{'mp4' if kind == 'cctv' else 'jpg'}",
                    "sha256": "ab" * 32,
                    "size": 1_234_567,
                },
            )
        doc = uow.get("incidents", owner, incident["id"])
        from shared.domain.tenancy import OrgKind, Principal, Role

        p = Principal(
            user_id="evidence-test",
            organisation_id=owner,
            organisation_kind=OrgKind.RETAILER,
            roles=frozenset({Role.RETAILER_INVESTIGATOR}),
        )
        from shared.domain.events import EvidenceAdded

        container.bus.publish(uow, EvidenceAdded(principal=p, incident=doc, evidence_id=eid))


def eligible_report(stamp, **overrides) -> dict[str, Any]:
    incident = report(stamp, **overrides)
    add_evidence(stamp, incident, "cctv", "suspect_image")
    return incident


def drain(stamp, *, rounds: int = 20, crash=None) -> list[str]:
    """Relay the outbox and run the dispatch handler until the queue is empty.

    A handler exception abandons the message for immediate redelivery (the runner would
    wait out a backoff). `crash` is a BaseException type that stands for the worker dying:
    the message is neither completed nor abandoned, and comes back when its lock lapses.
    """
    jobs.load_all()
    handler = jobs.QUEUE_HANDLERS[QUEUE]
    container = stamp.container
    outcomes = []
    container.outbox.relay(stamp.clock.now())
    for _ in range(rounds):
        messages = container.queue.receive(QUEUE, max_messages=16, visibility_seconds=0)
        if not messages:
            break
        for m in messages:
            try:
                handler(container, m.body, m.delivery_count)
            except Exception as exc:  # noqa: BLE001 - as the runner: abandon for redelivery
                outcomes.append(type(exc).__name__)
                container.queue.abandon(m, delay_seconds=0)
            except BaseException as exc:
                if crash is not None and isinstance(exc, crash):
                    outcomes.append("crash")
                    continue
                raise
            else:
                outcomes.append("ok")
                container.queue.complete(m)
    return outcomes


def outbox_files(stamp) -> list:
    folder = stamp.data_dir / "outbox"
    return sorted(folder.glob("*.eml")) if folder.exists() else []
