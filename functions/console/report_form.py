"""The store staff report form: what a phone posts, read as the incident the API takes.

Lines of goods, people and vehicles are added and removed in place (or by a post without
JavaScript); times are read as the store's wall clock; money as people type it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from starlette.datastructures import FormData

from shared.domain.d2p_rules import FLAG_NAMES
from shared.domain.tenancy import REGION_TIME_ZONES, Store

# A store's wall clock and money come from its organisation's home region.
REGION_CURRENCIES = {"uk": "GBP", "au": "AUD", "nz": "NZD", "us": "USD", "ca": "CAD"}

FLAG_LABELS = {
    "violence": "Violence was used",
    "weapon": "A weapon was seen",
    "threats": "Threats were made",
    "staff_injured": "A member of staff was hurt",
    "offender_detained": "The suspect was detained by security",
    "hate_element": "Hate was shown (for example abuse about someone's identity)",
}
BUILDS = ("unknown", "slim", "medium", "heavy", "athletic")
PERSON_ROLES = (("suspect", "Suspect"), ("accomplice", "Accomplice"))
WITNESS_KINDS = (("staff", "Staff"), ("security", "Security"), ("customer", "Customer"), ("other", "Someone else"))
EVIDENCE_KINDS = (
    ("suspect_image", "An image of the suspect"),
    ("cctv", "CCTV video of the incident"),
    ("photo", "Another photo (damage, goods)"),
    ("other", "Something else"),
)
# Blank lines on a phone are common (an extra "Add item" tap): they are dropped, not refused.
MAX_LINES = {"goods": 50, "person": 10, "vehicle": 10}
LINE_FIELDS = {
    "goods": ("description", "quantity", "value"),
    "person": ("role", "build", "height_min", "height_max", "hair", "clothing", "marks", "age"),
    "vehicle": ("plate", "make", "colour"),
}
_ACTION = re.compile(r"^(add|remove)-(goods|person|vehicle)(?:-(\d{1,3}))?$")
_MONEY = re.compile(r"^\d{1,9}(\.\d{1,2})?$")


def region_zone(region: str) -> ZoneInfo:
    return ZoneInfo(REGION_TIME_ZONES.get(region, "UTC"))


def local_to_aware(text: str, zone: ZoneInfo) -> datetime:
    """A `datetime-local` value read as the store's wall clock, with that date's offset
    (British Summer Time or not). A time the clocks skipped is refused; a time the clocks
    passed twice is read as the first of the two (docs/console.md)."""
    naive = None
    for pattern in ("%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S"):
        try:
            naive = datetime.strptime(text.strip(), pattern)
            break
        except ValueError:
            continue
    if naive is None:
        raise ValueError("Enter the date and time it happened, for example 14/07/2026 14:30.")
    aware = naive.replace(tzinfo=zone)
    if aware.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != naive:
        raise ValueError("That time did not exist here: the clocks went forward an hour. Check the time.")
    return aware


def pounds_to_minor(text: str) -> int:
    """A value typed in pounds (or dollars), e.g. "12.50", "£1,250" → minor units (1250, 125000)."""
    cleaned = text.strip().replace(",", "").lstrip("£$€").strip()
    if not _MONEY.match(cleaned):
        raise ValueError("Enter the value in pounds and pence, for example 12.50.")
    try:
        return int(Decimal(cleaned) * 100)
    except InvalidOperation:
        raise ValueError("Enter the value in pounds and pence, for example 12.50.") from None


# ---- the report form --------------------------------------------------------------------


@dataclass
class ReportForm:
    """The report form as typed: kept verbatim so a refused form comes back as it was sent,
    with each problem next to its field."""

    values: dict[str, str] = field(default_factory=dict)
    lines: dict[str, list[dict[str, str]]] = field(default_factory=lambda: {"goods": [{}], "person": [], "vehicle": []})
    errors: dict[str, str] = field(default_factory=dict)
    # Which form line each report list entry came from (blank lines are dropped).
    rows: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def posted(cls, form: FormData) -> ReportForm:
        values = {k: str(v) for k, v in form.items() if "-" not in k}
        values["flags"] = ",".join(f for f in FLAG_NAMES if form.get(f"flag_{f}"))
        lines: dict[str, list[dict[str, str]]] = {}
        for kind, names in LINE_FIELDS.items():
            try:
                count = int(str(form.get(f"{kind}_count", "0")))
            except ValueError:
                count = 0
            # One past the limit is read, so a form with too many lines is refused, not cut short.
            count = max(0, min(count, MAX_LINES[kind] + 1))
            lines[kind] = [{n: str(form.get(f"{kind}-{i}-{n}", "")).strip() for n in names} for i in range(count)]
        return cls(values=values, lines=lines)

    def flag(self, name: str) -> bool:
        return name in self.values.get("flags", "").split(",")

    def change_lines(self, action: str) -> bool:
        """An "Add"/"Remove" button pressed without JavaScript: the form comes back with one line more or less."""
        found = _ACTION.match(action)
        if not found:
            return False
        verb, kind, index = found.group(1), found.group(2), found.group(3)
        rows = self.lines[kind]
        if verb == "add" and len(rows) < MAX_LINES[kind]:
            rows.append({})
        elif verb == "remove" and index is not None and int(index) < len(rows):
            rows.pop(int(index))
        return True

    def error(self, name: str, message: str) -> None:
        self.errors.setdefault(name, message)

    # -- what the draft says, for the eligibility preview (lenient: half-typed lines are skipped)
    def draft(self, currency: str) -> dict[str, Any]:
        goods = []
        for row in self.lines["goods"]:
            try:
                minor = pounds_to_minor(row.get("value", ""))
                quantity = int(row.get("quantity") or 1)
            except ValueError:
                continue
            goods.append({"quantity": max(quantity, 1), "unit_value": {"amount_minor": minor, "currency": currency}})
        statement = self.values.get("statement", "").strip()
        return {
            "store_id": self.values.get("store_id", ""),
            "category": self.values.get("category", ""),
            "flags": {f: self.flag(f) for f in FLAG_NAMES},
            "goods": goods,
            "witnesses": [{"is_reporter": True, "statement": statement}] if statement else [],
            "prosecution_supported": bool(self.values.get("prosecution_supported")),
        }

    # -- the report as IncidentIn takes it; problems collected in `errors`
    def body(self, store: Store | None, zone: ZoneInfo, currency: str) -> dict[str, Any]:
        v = self.values
        body: dict[str, Any] = {
            "store_id": v.get("store_id", ""),
            "category": v.get("category", ""),
            "narrative": v.get("narrative", "").strip(),
            "flags": {f: self.flag(f) for f in FLAG_NAMES},
            "prosecution_supported": bool(v.get("prosecution_supported")),
            "reporter": {"name": v.get("reporter_name", "").strip(), "job_title": v.get("reporter_job_title", "").strip() or None},
        }
        if store is None:
            self.error("store_id", "Choose the store where it happened.")
        if not body["category"]:
            self.error("category", "Choose what happened.")
        if not body["narrative"]:
            self.error("narrative", "Say what happened.")
        if not body["reporter"]["name"]:
            self.error("reporter_name", "Enter your name.")
        try:
            body["occurred_at"] = local_to_aware(v.get("occurred_at", ""), zone).isoformat()
        except ValueError as exc:
            self.error("occurred_at", str(exc))
        for kind, noun in (("goods", "items"), ("person", "people"), ("vehicle", "vehicles")):
            if len(self.lines[kind]) > MAX_LINES[kind]:
                self.error(f"{kind}-lines", f"A report holds at most {MAX_LINES[kind]} {noun}: remove the extra lines.")
        body["goods"] = self._goods(currency)
        body["persons"] = self._persons()
        body["vehicles"] = self._vehicles()
        statement = v.get("statement", "").strip()
        body["witnesses"] = (
            [{"name": body["reporter"]["name"] or "-", "kind": "staff", "statement": statement, "is_reporter": True}] if statement else []
        )
        return body

    def _goods(self, currency: str) -> list[dict[str, Any]]:
        out, self.rows["goods"] = [], []
        for i, row in enumerate(self.lines["goods"]):
            if not any(row.values()):
                continue
            item: dict[str, Any] = {"description": row.get("description", "")}
            if not item["description"]:
                self.error(f"goods-{i}-description", "Say what the item is.")
            try:
                item["quantity"] = int(row.get("quantity") or "1")
                if item["quantity"] < 1:
                    raise ValueError
            except ValueError:
                self.error(f"goods-{i}-quantity", "Enter how many, as a whole number (1 or more).")
            try:
                item["unit_value"] = {"amount_minor": pounds_to_minor(row.get("value", "")), "currency": currency}
            except ValueError as exc:
                self.error(f"goods-{i}-value", str(exc))
            out.append(item)
            self.rows["goods"].append(i)
        return out

    def _persons(self) -> list[dict[str, Any]]:
        out, self.rows["person"] = [], []
        for i, row in enumerate(self.lines["person"]):
            described = {k: row.get(k, "") for k in ("hair", "clothing", "marks", "age", "height_min", "height_max")}
            if not any(described.values()) and row.get("build", "unknown") in ("", "unknown"):
                continue
            description: dict[str, Any] = {
                "build": row.get("build") or "unknown",
                "hair": described["hair"] or None,
                "clothing": described["clothing"] or None,
                "distinguishing_marks": described["marks"] or None,
                "apparent_age_range": described["age"] or None,
            }
            for name, key in (("height_min", "height_min_cm"), ("height_max", "height_max_cm")):
                if described[name]:
                    try:
                        description[key] = int(described[name])
                    except ValueError:
                        self.error(f"person-{i}-{name}", "Enter a height in centimetres, for example 175.")
            out.append({"role": row.get("role") or "suspect", "description": description})
            self.rows["person"].append(i)
        return out

    def _vehicles(self) -> list[dict[str, Any]]:
        out, self.rows["vehicle"] = [], []
        for i, row in enumerate(self.lines["vehicle"]):
            if not any(row.values()):
                continue
            if not row.get("plate"):
                self.error(f"vehicle-{i}-plate", "Enter the number plate (as much of it as was seen).")
            out.append({"plate": row.get("plate", ""), "make": row.get("make") or None, "colour": row.get("colour") or None})
            self.rows["vehicle"].append(i)
        return out

    def adopt_errors(self, errors: list[dict[str, Any]]) -> None:
        """Errors the model or the service named by report field, placed on the form's fields."""
        for e in errors:
            self.error(self.field_for(str(e.get("field") or "")), str(e.get("message") or "Check this."))

    def field_for(self, path: str) -> str:
        parts = [p for p in re.split(r"[.\[\]]+", path) if p]
        if not parts:
            return "form"
        head = parts[0]
        simple = {"store_id", "category", "occurred_at", "narrative"}
        if head in simple:
            return head
        if head == "reporter":
            return "reporter_name" if parts[1:2] != ["job_title"] else "reporter_job_title"
        if head == "witnesses":
            return "statement" if "statement" in parts else "reporter_name"
        kinds = {"goods": "goods", "persons": "person", "vehicles": "vehicle"}
        if head in kinds and len(parts) > 1 and parts[1].isdigit():
            kind = kinds[head]
            rows = self.rows.get(kind, [])
            index = int(parts[1])
            row = rows[index] if index < len(rows) else index
            leaf = parts[-1]
            names = {
                "description": "description",
                "quantity": "quantity",
                "amount_minor": "value",
                "unit_value": "value",
                "currency": "value",
                "plate": "plate",
                "make": "make",
                "colour": "colour",
                "height_min_cm": "height_min",
                "height_max_cm": "height_max",
                "hair": "hair",
                "clothing": "clothing",
                "distinguishing_marks": "marks",
                "apparent_age_range": "age",
                "build": "build",
                "role": "role",
            }
            if kind == "goods" and leaf == "description" and "unit_value" not in parts:
                return f"goods-{row}-description"
            name = names.get(leaf)
            if name is None and kind == "person":
                name = "height_min"  # the description as a whole: its height range
            return f"{kind}-{row}-{name or LINE_FIELDS[kind][0]}"
        return "form"
