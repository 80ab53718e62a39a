"""Exhibit labels: how an item's label is made, numbered and ordered, so statements and
court papers refer to the same item by the same name."""

from __future__ import annotations

import unicodedata

from shared.domain.evidence import EvidenceItem
from shared.domain.timestamps import to_iso


def producer_initials(name: str | None) -> str:
    """The producer's initials as exhibit labels use them: the first letters of the first
    and last names, upper case ("Sam Taylor" -> "ST", "Łukasz Nowak" -> "ŁN"); "EX" when
    the name has no letters to take them from."""
    words = ["".join(c for c in w if c.isalpha()) for w in unicodedata.normalize("NFC", name or "").split()]
    words = [w for w in words if w]
    if not words:
        return "EX"
    picked = [words[0], words[-1]] if len(words) > 1 else [words[0]]
    return "".join(w[0].upper() for w in picked)


def exhibit_label(initials: str, number: int) -> str:
    """An exhibit label: the producer's initials and a number, e.g. ST/1."""
    return f"{initials}/{number}"


def exhibit_order(item: EvidenceItem) -> tuple[int, str, str]:
    """Exhibits in the order they were numbered (ST/2 before ST/10), unlabelled ones last."""
    label = item.exhibit_label or ""
    number = label.rsplit("/", 1)[-1]
    return (int(number) if number.isdigit() else 1 << 30, to_iso(item.created_at), item.id)


def exhibit_sequence(incident_id: str) -> str:
    """The sequence that numbers an incident's exhibits: one per incident, so a label is
    unique within it whoever produced the item, and no name goes into a storage key."""
    return f"exhibit/{incident_id}"
