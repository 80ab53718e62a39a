"""Store staff pages: report an incident from a phone, follow the store's reports to the police.

Every action calls the service the matching API route calls, with the same principal:
the report is `incidents.report.submit` (POST /incidents) with an Idempotency-Key made
when the form was drawn, so a second tap on "Send" makes no second report; a report's
page reads it as GET /incidents/{id}, its eligibility as GET /incidents/{id}/d2p and its
evidence as GET /incidents/{id}/evidence do. Files go straight to the API's resumable
upload routes from `static/upload.js`, with the session cookie and the CSRF header.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from functions.console.deps import posted_form, require_page
from functions.console.render import page, redirect
from functions.http.deps import ContainerDep
from shared.adapters.page_tokens import binding
from shared.domain.d2p import CATEGORY_WORDS, FLAG_NAMES, Evaluation
from shared.domain.errors import Invalid
from shared.domain.incidents import MAX_WITNESSES, Category, IncidentIn, WitnessIn
from shared.domain.tenancy import REGION_TIME_ZONES, Principal, Role, Store
from shared.services.incidents import Filters

router = APIRouter(include_in_schema=False)

# Who reports: the roles POST /incidents admits (investigators report for any store of theirs).
Staff = Annotated[Principal, Depends(require_page(Role.RETAILER_REPORTER, Role.RETAILER_INVESTIGATOR))]
Form = Annotated[FormData, Depends(posted_form)]
IncidentId = Annotated[str, Path(min_length=1, max_length=64)]

PAGE_SIZE = 20

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

DISPATCH_WORDS = {
    "queued": "Being sent to police",
    "enqueued": "Being sent to police",
    "sending": "Being sent to police",
    "retrying": "Being sent to police (trying again)",
    "sent": "Sent to police",
    "failed": "Not delivered to police yet: Vigil's operators have been told",
    "dead_lettered": "Not delivered to police yet: Vigil's operators have been told",
    "acknowledged": "Acknowledged by police",
}
ALREADY_SENT = (
    "This form was already sent as a report. To add to that report, open it from Our reports; "
    "to report another incident, start a new report."
)
# A report may be sent again only when its last sending failed for good.
_SENDABLE_AGAIN = {None, "failed"}


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


def _validation_errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in e["loc"]), "message": str(e["msg"]).removeprefix("Value error, ")} for e in exc.errors()[:50]
    ]


def _report_stores(c, who: Principal) -> list[Store]:
    """The stores this person reports for: a reporter's own, an investigator's organisation's."""
    stores = c.directory.stores_of(who.organisation_id)
    if not who.has(Role.RETAILER_INVESTIGATOR):
        stores = [s for s in stores if s.id in who.stores]
    return sorted(stores, key=lambda s: s.name)


def _region(c, who: Principal) -> str:
    org = c.directory.organisation(who.organisation_id)
    return org.home_region if org else c.settings.region


def _evaluate_draft(c, who: Principal, form: ReportForm, currency: str) -> tuple[Evaluation | None, str]:
    """The draft against its force's rules, or a prompt saying what to choose first."""
    draft = form.draft(currency)
    if not draft["store_id"]:
        return None, "Choose the store to see whether the police will take this report."
    if not draft["category"]:
        return None, "Choose what happened to see whether the police will take this report."
    try:
        return c.d2p.eligibility.preview(who, draft), ""
    except Invalid as exc:
        return None, exc.detail


def _form_page(request: Request, c, who: Principal, form: ReportForm, *, status: int = 200) -> Response:
    region = _region(c, who)
    currency = REGION_CURRENCIES.get(region, "GBP")
    evaluation, prompt = _evaluate_draft(c, who, form, currency)
    force = c.directory.organisation(evaluation.force_id) if evaluation else None
    return page(
        request,
        "store/report.html",
        status=status,
        form=form,
        stores=_report_stores(c, who),
        categories=[(c_.value, CATEGORY_WORDS.get(c_.value, c_.value)) for c_ in Category],
        flag_labels=FLAG_LABELS,
        builds=BUILDS,
        person_roles=PERSON_ROLES,
        max_lines=MAX_LINES,
        currency=currency,
        zone_name=REGION_TIME_ZONES.get(region, "UTC"),
        evaluation=evaluation,
        force=force,
        prompt=prompt,
    )


@router.get("/report")
def report_form(request: Request, c: ContainerDep, who: Staff) -> Response:
    zone = region_zone(_region(c, who))
    now = c.clock.now().astimezone(zone)
    stores = _report_stores(c, who)
    form = ReportForm(
        values={
            # A fresh key per drawn form: the same form sent twice is one report.
            "idempotency_key": uuid.uuid4().hex,
            "occurred_at": now.strftime("%Y-%m-%dT%H:%M"),
            "store_id": stores[0].id if len(stores) == 1 else "",
        }
    )
    return _form_page(request, c, who, form)


@router.post("/report")
def report_submit(request: Request, c: ContainerDep, who: Staff, posted: Form) -> Response:
    form = ReportForm.posted(posted)
    if form.change_lines(str(posted.get("action", ""))):
        return _form_page(request, c, who, form)
    region = _region(c, who)
    store = next((s for s in _report_stores(c, who) if s.id == form.values.get("store_id")), None)
    body = form.body(store, region_zone(region), REGION_CURRENCIES.get(region, "GBP"))
    if not form.errors:
        try:
            report = IncidentIn.model_validate(body)
        except ValidationError as exc:
            form.adopt_errors(_validation_errors(exc))
    if form.errors:
        return _form_page(request, c, who, form, status=422)
    try:
        reported = c.incidents.report.submit(who, report, form.values.get("idempotency_key") or None)
    except Invalid as exc:
        if any(e.get("field") == "Idempotency-Key" for e in exc.errors or []):
            # Sent, then changed after going back: a second report is never made quietly.
            form.error("form", ALREADY_SENT)
        else:
            form.adopt_errors([dict(e, message=e.get("message") or exc.detail) for e in exc.errors or [{"field": "form"}]])
        return _form_page(request, c, who, form, status=exc.status)
    return redirect(request, f"/reports/{reported.incident.id}?made=1")


@router.post("/report/eligibility")
def report_eligibility(request: Request, c: ContainerDep, who: Staff, posted: Form) -> Response:
    """The draft against its force's rules, as a fragment `store.js` swaps in as the form fills."""
    form = ReportForm.posted(posted)
    currency = REGION_CURRENCIES.get(_region(c, who), "GBP")
    evaluation, prompt = _evaluate_draft(c, who, form, currency)
    force = c.directory.organisation(evaluation.force_id) if evaluation else None
    return page(request, "store/_eligibility.html", evaluation=evaluation, force=force, prompt=prompt)


# ---- our reports ------------------------------------------------------------------------


def _status_words(state) -> str:
    if state is None or state.status is None:
        if state is not None and state.eligible:
            return "Ready to send to police"
        return "Not sent to police"
    return DISPATCH_WORDS.get(state.status, state.status)


@router.get("/reports")
def reports(
    request: Request,
    c: ContainerDep,
    who: Staff,
    after: Annotated[str | None, Query(max_length=4000)] = None,
) -> Response:
    # The continuation is sealed to this listing and this person, as the API's are.
    bound = binding("GET /reports", who.organisation_id, who.user_id, [])
    token = c.page_tokens.open(after, bound)
    found = c.incidents.search.find(who, Filters(), limit=PAGE_SIZE, continuation=token, purpose=None)
    states = c.d2p.eligibility.states(who, [v.body for v in found.items])
    stores = {s.id: s.name for s in c.directory.stores_of(who.organisation_id)}
    rows = [
        {
            "incident": v.body,
            "store": stores.get(v.body["store_id"], v.body["store_id"]),
            "category": CATEGORY_WORDS.get(v.body["category"], v.body["category"]),
            "state": states.get(v.id),
            "status": _status_words(states.get(v.id)),
        }
        for v in found.items
    ]
    return page(
        request,
        "store/reports.html",
        rows=rows,
        region=_region(c, who),
        next_page=c.page_tokens.seal(found.continuation, bound) if found.continuation else None,
        first_page=after is None,
    )


def _detail_page(
    request: Request,
    c,
    who: Principal,
    incident_id: str,
    *,
    statement: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
    made: bool = False,
    added: str = "",
) -> Response:
    view = c.incidents.read.get(who, incident_id, None)
    report = c.d2p.eligibility.report(who, incident_id, None)
    evidence = c.evidence.access.list_items(who, incident_id, None)
    incident = view.body
    live = next((d for d in report.dispatches if d.force_id == report.evaluation.force_id), None)
    status_now = live.status.value if live else None
    stores = {s.id: s.name for s in c.directory.stores_of(who.organisation_id)}
    force = c.directory.organisation(report.evaluation.force_id) if report.evaluation.force_id else None
    return page(
        request,
        "store/report_detail.html",
        status=status,
        incident=incident,
        store=stores.get(incident["store_id"], incident["store_id"]),
        category=CATEGORY_WORDS.get(incident["category"], incident["category"]),
        flags=[FLAG_LABELS[f] for f in FLAG_NAMES if (incident.get("flags") or {}).get(f)],
        region=_region(c, who),
        evaluation=report.evaluation,
        dispatch=live,
        dispatch_words=DISPATCH_WORDS.get(status_now, "") if status_now else "",
        can_send=report.evaluation.eligible and status_now in _SENDABLE_AGAIN,
        force=force,
        evidence=evidence,
        evidence_kinds=EVIDENCE_KINDS,
        kind_words=dict(EVIDENCE_KINDS),
        witness_kinds=WITNESS_KINDS,
        can_add_statement=who.has(Role.RETAILER_INVESTIGATOR) or incident.get("created_by") == who.user_id,
        room_for_statement=len(incident.get("witnesses") or []) < MAX_WITNESSES,
        statement=statement or {"kind": "staff"},
        errors=errors or {},
        made=made,
        added=added,
    )


@router.get("/reports/{incident_id}")
def report_detail(
    request: Request,
    c: ContainerDep,
    who: Staff,
    incident_id: IncidentId,
    made: Annotated[str | None, Query(max_length=1, description="1 right after the report was made")] = None,
    added: Annotated[str | None, Query(max_length=20, description="What was just added: statement, or sent")] = None,
) -> Response:
    return _detail_page(request, c, who, incident_id, made=made == "1", added=added or "")


@router.post("/reports/{incident_id}/statements")
def add_statement(request: Request, c: ContainerDep, who: Staff, incident_id: IncidentId, posted: Form) -> Response:
    fields = {k: str(posted.get(k, "")).strip() for k in ("name", "kind", "contact", "statement")}
    fields["is_reporter"] = "yes" if posted.get("is_reporter") else ""
    data = {
        "name": fields["name"],
        "kind": fields["kind"] or "staff",
        "contact": fields["contact"] or None,
        "statement": fields["statement"],
        "is_reporter": bool(fields["is_reporter"]),
    }
    errors: dict[str, str] = {}
    if not data["name"]:
        errors["name"] = "Enter the witness's name."
    if not data["statement"]:
        errors["statement"] = "Write the statement."
    if not errors:
        try:
            witness = WitnessIn.model_validate(data)
        except ValidationError as exc:
            for e in _validation_errors(exc):
                errors.setdefault(e["field"] if e["field"] in fields else "statement", e["message"])
    if errors:
        return _detail_page(request, c, who, incident_id, statement=fields, errors=errors, status=422)
    c.incidents.change.add_statement(who, incident_id, witness)
    return redirect(request, f"/reports/{incident_id}?added=statement")


@router.post("/reports/{incident_id}/send")
def send_to_police(request: Request, c: ContainerDep, who: Staff, incident_id: IncidentId, posted: Form) -> Response:
    """As POST /incidents/{id}/d2p: an eligible report sent to its force, once."""
    c.d2p.dispatch.send(who, incident_id)
    return redirect(request, f"/reports/{incident_id}?added=sent")
