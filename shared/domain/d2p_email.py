"""What a force's control room receives for a dispatch: the pure decisions about the D2P
email (subject line, sections and their lines, links, identifiers), without its markup.

The service renders these sections through the text and HTML templates under
shared/templates/d2p/, so wording lives here and layout lives there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, tzinfo
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.domain.d2p import Dispatch
from shared.domain.d2p_rules import CATEGORY_WORDS, FLAG_NAMES, FLAG_WORDS, money_words
from shared.domain.mail import Email
from shared.domain.tenancy import REGION_TIME_ZONES
from shared.domain.timestamps import from_iso

TEXT_TEMPLATE = "d2p/email.txt"
HTML_TEMPLATE = "d2p/email.html"

# Control rooms record suspects: nobody is an offender until convicted, so the email never
# uses the word, whatever the report's own field names say.
EMAIL_FLAG_WORDS = {**FLAG_WORDS, "offender_detained": "suspect detained by security"}
PERSON_ROLE_WORDS = {"suspect": "suspect", "offender": "suspect", "accomplice": "accomplice"}
# NPCC Retail Crime Action Plan: police attend where violence was used or security
# detained a suspect, so these reports lead the control room's queue.
VIOLENT_CATEGORIES = ("robbery", "violence_against_staff")
# A current-format UK registration (since 2001): two letters, two digits, three letters.
_UK_CURRENT_PLATE = re.compile(r"^([A-Z]{2}[0-9]{2})([A-Z]{3})$")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Line:
    """One line of a section; with `url`, the HTML shows a link labelled `label` and the
    text part the address on the next line."""

    text: str
    url: str | None = None
    label: str = ""


@dataclass(frozen=True)
class Section:
    title: str
    lines: tuple[Line, ...]


@dataclass(frozen=True)
class CaseLinks:
    """Where the email's links go: console pages of the stamp's public base URL, each
    behind sign-in (the email never links evidence openly)."""

    base_url: str
    incident_id: str

    @property
    def case(self) -> str:
        return f"{self.base_url.rstrip('/')}/cases/{quote(self.incident_id, safe='')}"

    @property
    def acknowledge(self) -> str:
        return f"{self.case}/acknowledge"

    def evidence(self, evidence_id: str) -> str:
        return f"{self.case}/evidence/{quote(evidence_id, safe='')}"


@dataclass(frozen=True)
class DispatchEmail:
    """Everything the email says, in order, and how the provider and the force recognise it."""

    to: str
    sender: str
    subject: str
    sections: tuple[Section, ...]
    case_url: str  # the case page: the only way into the case, after sign-in
    message_id: str
    reply_to: str | None = None  # the store's own mailbox, so a reply reaches the people who saw it
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
            reply_to=self.reply_to,
            headers=dict(self.headers),
            custom_args=dict(self.custom_args),
        )


def region_time_zone(region: str) -> tzinfo:
    """The region's civil time zone; UTC (named as such in every time shown) if the
    host has no time zone data, so an email is never held back for want of it."""
    try:
        return ZoneInfo(REGION_TIME_ZONES.get(region, "UTC"))
    except ZoneInfoNotFoundError:
        return UTC


def local_time(iso: str | None, tz: tzinfo) -> str:
    """A stored instant as a control room reads it: "Sat 28 Nov 2026, 14:05 GMT" (the
    zone's own abbreviation, which also tells winter from summer time)."""
    if not iso:
        return "not recorded"
    at = from_iso(iso).astimezone(tz)
    return f"{_DAYS[at.weekday()]} {at.day} {_MONTHS[at.month - 1]} {at.year}, {at:%H:%M} {at.tzname()}"


def plate_as_written(normalised: str, region: str) -> str:
    """A plate as it is written on the vehicle: UK current-format plates split 4+3
    ("WR21 XKD"); any other format stays as normalised (no guessing at its spacing)."""
    match = _UK_CURRENT_PLATE.match(normalised) if region == "uk" else None
    return f"{match.group(1)} {match.group(2)}" if match else normalised


def priority_reasons(incident: dict[str, Any]) -> list[str]:
    """Why the control room should deal with this report first (empty: no priority)."""
    flags = incident.get("flags") or {}
    reasons = []
    if flags.get("violence") or incident.get("category") in VIOLENT_CATEGORIES:
        reasons.append("violence")
    if flags.get("offender_detained"):
        reasons.append("suspect detained")
    return reasons


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
    role = p.get("role") or "suspect"
    parts = [PERSON_ROLE_WORDS.get(role, role)]
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
        parts.append(f"linked to the retailer's known-person record {p['offender_id']}")
    return "; ".join(parts)


def _vehicle_line(v: dict[str, Any], region: str) -> str:
    plate = plate_as_written(v["plate_normalised"], region) if v.get("plate_normalised") else v.get("plate")
    return " ".join(x for x in (plate, v.get("colour"), v.get("make"), v.get("model")) if x)


def _lines(*texts: str) -> tuple[Line, ...]:
    return tuple(Line(t) for t in texts)


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
    base_url: str,
    region: str = "uk",
) -> DispatchEmail:
    """The control room's email: everything to record the crime in one read, times in the
    force's own time zone (`region`), priority first in the subject, and sign-in links
    (under `base_url`) to the case page, each evidence item's viewer and the acknowledge
    form. Evidence is listed (name, kind, SHA-256, size), never attached or linked openly.
    A reply goes to the store's `contact_email` when it has one."""
    links = CaseLinks(base_url, incident["id"])
    tz = region_time_zone(region)
    category = CATEGORY_WORDS.get(incident["category"], incident["category"])
    subject = f"[Vigil D2P] {force_name}: {category} at {store['name']} - {incident['reference']}"
    priority = priority_reasons(incident)
    if priority:
        subject = f"PRIORITY ({', '.join(priority)}) {subject}"
    flags = [EMAIL_FLAG_WORDS[f] for f in FLAG_NAMES if (incident.get("flags") or {}).get(f)]
    total = incident.get("total_value")
    reporter = incident["reporter"]
    sections: list[Section] = []
    report = [
        f"Force: {force_name}",
        f"Retailer: {retailer_name}",
        f"Store: {store['name']}, {store['address']}, {store['postcode']}",
        f"Vigil reference: {incident['reference']}",
        f"Category: {category}",
        f"Occurred: {local_time(incident.get('occurred_at'), tz)}",
        f"Reported: {local_time(incident.get('reported_at'), tz)}",
        f"Flags: {', '.join(flags) if flags else 'none'}",
        f"Victim organisation supports prosecution: {'yes' if incident.get('prosecution_supported') else 'no'}",
        f"Reporter: {reporter['name']}"
        + (f" ({reporter['job_title']})" if reporter.get("job_title") else "")
        + (f", {reporter['phone']}" if reporter.get("phone") else ""),
    ]
    if priority:
        report.insert(0, f"PRIORITY: {', '.join(priority)}")
    sections.append(Section("Report", _lines(*report)))
    sections.append(Section("What happened", _lines(incident.get("narrative", ""))))
    goods = [
        f"{g['quantity']} x {g['description']} at {money_words(g['unit_value']['amount_minor'], g['unit_value']['currency'])}"
        + (" (recovered)" if g.get("recovered") else "")
        for g in incident.get("goods", [])
    ]
    goods.append(f"Total value: {money_words(total['amount_minor'], total['currency']) if total else 'none recorded'}")
    sections.append(Section("Goods and value", _lines(*goods)))
    people = [_person_line(p) for p in incident.get("persons", [])]
    sections.append(Section("Suspects", _lines(*people) if people else _lines("none described")))
    vehicles = [_vehicle_line(v, region) for v in incident.get("vehicles", [])]
    sections.append(Section("Vehicles", _lines(*vehicles) if vehicles else _lines("none recorded")))
    statements = []
    for w in incident.get("witnesses", []):
        who = f"{w['name']} ({w.get('kind', 'staff')}{', reporter' if w.get('is_reporter') else ''})"
        statements.append(f"{who}: {w['statement']}")
    sections.append(Section("Witness statements", _lines(*statements) if statements else _lines("none")))
    files = tuple(
        Line(
            f"{e.get('filename') or e['id']} [{e.get('kind', 'other')}, {e.get('content_type', 'unknown type')}] "
            f"{_size(e.get('size'))}, SHA-256 {e.get('sha256', 'not recorded')}",
            url=links.evidence(e["id"]),
            label="View in Vigil",
        )
        for e in evidence
    )
    sections.append(Section("Evidence held in Vigil (not attached)", files or _lines("none")))
    sections.append(
        Section(
            "Case in Vigil (sign-in required)",
            (
                Line("The report and its evidence.", url=links.case, label="Open the case"),
                Line(f"Dispatch {dispatch.id}: record your crime reference number.", url=links.acknowledge, label="Acknowledge"),
            ),
        )
    )
    return DispatchEmail(
        to=to,
        sender=sender,
        subject=subject,
        sections=tuple(sections),
        case_url=links.case,
        message_id=f"{dispatch.id}@vigil.d2p",
        reply_to=store.get("contact_email") or None,
        headers={"X-Vigil-Dispatch": dispatch.id, "X-Vigil-Reference": incident["reference"]},
        custom_args={"dispatch_id": dispatch.id, "owner_org": dispatch.owner_org},
    )
