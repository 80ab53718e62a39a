"""What a force's control room receives for a dispatch: the pure decisions about the D2P
email (subject line, sections and their lines, identifiers), without its markup.

The service renders these sections through the text and HTML templates under
shared/templates/d2p/, so wording lives here and layout lives there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.domain.d2p import CATEGORY_WORDS, FLAG_NAMES, FLAG_WORDS, Dispatch, money_words
from shared.domain.mail import Email

TEXT_TEMPLATE = "d2p/email.txt"
HTML_TEMPLATE = "d2p/email.html"


@dataclass(frozen=True)
class Section:
    title: str
    lines: tuple[str, ...]


@dataclass(frozen=True)
class DispatchEmail:
    """Everything the email says, in order, and how the provider and the force recognise it."""

    to: str
    sender: str
    subject: str
    sections: tuple[Section, ...]
    case_url: str  # shown as a link in HTML: the only way into the case, after sign-in
    message_id: str
    headers: dict[str, str] = field(default_factory=dict)
    custom_args: dict[str, str] = field(default_factory=dict)

    def with_bodies(self, text: str, html: str) -> Email:
        """The sendable message once both bodies are rendered."""
        return Email(
            to=self.to,
            sender=self.sender,
            subject=self.subject,
            text=text,
            html=html,
            message_id=self.message_id,
            headers=dict(self.headers),
            custom_args=dict(self.custom_args),
        )


def _size(n: int | None) -> str:
    if n is None:
        return "size unknown"
    size: float = n
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"


def _person_line(p: dict[str, Any]) -> str:
    d = p.get("description") or {}
    parts = [p.get("role", "suspect")]
    if p.get("name"):
        parts.append(f"name {p['name']}")
    if p.get("date_of_birth"):
        parts.append(f"born {p['date_of_birth']}")
    if p.get("under_18"):
        parts.append("UNDER 18")
    if d.get("build") and d.get("build") != "unknown":
        parts.append(f"{d['build']} build")
    if d.get("height_min_cm") or d.get("height_max_cm"):
        parts.append(f"{d.get('height_min_cm') or '?'}-{d.get('height_max_cm') or '?'} cm")
    for k in ("apparent_age_range", "hair", "clothing", "distinguishing_marks"):
        if d.get(k):
            parts.append(f"{k.replace('_', ' ')}: {d[k]}")
    if p.get("offender_id"):
        parts.append(f"Vigil offender {p['offender_id']}")
    return "; ".join(parts)


def compose_email(
    *,
    dispatch: Dispatch,
    incident: dict[str, Any],
    evidence: list[dict[str, Any]],
    force_name: str,
    store: dict[str, Any],
    retailer_name: str,
    to: str,
    sender: str,
    case_url: str,
) -> DispatchEmail:
    """The control room's email: everything to record the crime in one read, and a
    sign-in link to the case. Evidence is listed (name, kind, SHA-256, size), never attached
    or linked openly."""
    category = CATEGORY_WORDS.get(incident["category"], incident["category"])
    subject = f"[Vigil D2P] {force_name}: {category} at {store['name']} - {incident['reference']}"
    flags = [FLAG_WORDS[f] for f in FLAG_NAMES if (incident.get("flags") or {}).get(f)]
    total = incident.get("total_value")
    reporter = incident["reporter"]
    sections: list[Section] = []
    sections.append(
        Section(
            "Report",
            (
                f"Force: {force_name}",
                f"Retailer: {retailer_name}",
                f"Store: {store['name']}, {store['address']}, {store['postcode']}",
                f"Vigil reference: {incident['reference']}",
                f"Category: {category}",
                f"Occurred: {incident['occurred_at']}",
                f"Reported: {incident['reported_at']}",
                f"Flags: {', '.join(flags) if flags else 'none'}",
                f"Victim organisation supports prosecution: {'yes' if incident.get('prosecution_supported') else 'no'}",
                f"Reporter: {reporter['name']}"
                + (f" ({reporter['job_title']})" if reporter.get("job_title") else "")
                + (f", {reporter['phone']}" if reporter.get("phone") else ""),
            ),
        )
    )
    sections.append(Section("What happened", (incident.get("narrative", ""),)))
    goods = [
        f"{g['quantity']} x {g['description']} at {money_words(g['unit_value']['amount_minor'], g['unit_value']['currency'])}"
        + (" (recovered)" if g.get("recovered") else "")
        for g in incident.get("goods", [])
    ]
    goods.append(f"Total value: {money_words(total['amount_minor'], total['currency']) if total else 'none recorded'}")
    sections.append(Section("Goods and value", tuple(goods)))
    sections.append(Section("Offenders", tuple(_person_line(p) for p in incident.get("persons", [])) or ("none described",)))
    vehicles = tuple(
        " ".join(x for x in (v.get("plate_normalised") or v.get("plate"), v.get("colour"), v.get("make"), v.get("model")) if x)
        for v in incident.get("vehicles", [])
    )
    sections.append(Section("Vehicles", vehicles or ("none recorded",)))
    statements = []
    for w in incident.get("witnesses", []):
        who = f"{w['name']} ({w.get('kind', 'staff')}{', reporter' if w.get('is_reporter') else ''})"
        statements.append(f"{who}: {w['statement']}")
    sections.append(Section("Witness statements", tuple(statements) or ("none",)))
    files = tuple(
        f"{e.get('filename') or e['id']} [{e.get('kind', 'other')}, {e.get('content_type', 'unknown type')}] {_size(e.get('size'))}, SHA-256 {e.get('sha256', 'not recorded')}"
        for e in evidence
    )
    sections.append(Section("Evidence held in Vigil (not attached)", files or ("none",)))
    sections.append(
        Section(
            "Case in Vigil (sign-in required)",
            (case_url, f"Dispatch {dispatch.id}: acknowledge with your crime reference number in Vigil."),
        )
    )
    return DispatchEmail(
        to=to,
        sender=sender,
        subject=subject,
        sections=tuple(sections),
        case_url=case_url,
        message_id=f"{dispatch.id}@vigil.d2p",
        headers={"X-Vigil-Dispatch": dispatch.id, "X-Vigil-Reference": incident["reference"]},
        custom_args={"dispatch_id": dispatch.id, "owner_org": dispatch.owner_org},
    )
