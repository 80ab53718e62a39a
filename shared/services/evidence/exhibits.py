"""Exhibit labels: the producer's initials and a number (ST/1), given to each item once
and kept on its record, so statements, the case summary and the package's manifest all
name the item the same way."""

from __future__ import annotations

from typing import Any

from shared.domain.evidence import EvidenceItem
from shared.domain.exhibits import exhibit_label, exhibit_sequence, producer_initials
from shared.ports import UnitOfWork
from shared.records import EVIDENCE
from shared.services.repository import dump


def next_label(uow: UnitOfWork, owner_org: str, incident: dict[str, Any]) -> str:
    """The next exhibit label of `incident`. The producer is the person named as reporting
    it (tokens carry no names); the number comes from the incident's own sequence, so two
    uploads at once never share a label (a failed upload may leave a gap, as paper
    exhibit books do)."""
    initials = producer_initials((incident.get("reporter") or {}).get("name"))
    return exhibit_label(initials, uow.next_sequence(owner_org, exhibit_sequence(incident["id"])))


def label_unlabelled(uow: UnitOfWork, owner_org: str, incident: dict[str, Any], items: list[EvidenceItem]) -> list[EvidenceItem]:
    """Give each item received before labels existed its label, oldest first, stored on its
    record; labelled items are returned unchanged."""
    out = []
    for item in items:
        if item.exhibit_label is None:
            current = uow.get(EVIDENCE.name, owner_org, item.id)
            if current is not None and not current.get("exhibit_label"):
                item = item.model_copy(update={"exhibit_label": next_label(uow, owner_org, incident)})
                uow.replace(EVIDENCE.name, owner_org, dump(item), if_match=current["_etag"])
            elif current is not None:
                item = item.model_copy(update={"exhibit_label": current["exhibit_label"]})
        out.append(item)
    return out
