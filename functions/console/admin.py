"""Admins' pages: a retailer's D2P settings, sharing agreements and retention choices; a
force's D2P rules and its answer to ANPR sharing; the region's retention schedule, changed
by one platform operator and approved by another.

Each form calls the service its API route calls (functions/http/d2p.py, sharing.py,
retention.py) with the same principal, and carries the ETag it was read at where the API
needs If-Match: a form older than the stored version shows "someone changed this first"."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from functions.console.deps import posted_form, require_page
from functions.console.investigate import field_errors, zone_of
from functions.console.render import page, redirect
from functions.http.deps import ContainerDep, bare_etag
from shared.domain.d2p_rules import D2PSettingsIn, ForceRules
from shared.domain.errors import Conflict, Forbidden, Invalid, PreconditionFailed
from shared.domain.retention import OrganisationScheduleIn, RecordType, RegionScheduleIn
from shared.domain.tenancy import OrgKind, Principal, Role, ShareLevel
from shared.services.sharing import Agreement

router = APIRouter(include_in_schema=False)

ADMINS = (Role.RETAILER_ADMIN, Role.POLICE_ADMIN, Role.PLATFORM_OPERATOR)
Admin = Annotated[Principal, Depends(require_page(*ADMINS))]
RetailerAdmin = Annotated[Principal, Depends(require_page(Role.RETAILER_ADMIN))]
ForceAdmin = Annotated[Principal, Depends(require_page(Role.POLICE_ADMIN))]
SharingAdmin = Annotated[Principal, Depends(require_page(Role.RETAILER_ADMIN, Role.POLICE_ADMIN))]
RetentionAdmin = Annotated[Principal, Depends(require_page(Role.RETAILER_ADMIN, Role.PLATFORM_OPERATOR))]
Operator = Annotated[Principal, Depends(require_page(Role.PLATFORM_OPERATOR))]
Form = Annotated[FormData, Depends(posted_form)]
# After a post, the page it redirects to says what was done.
Saved = Annotated[str | None, Query(max_length=20)]

LEVEL_WORDS = {
    ShareLevel.NONE: "Nothing",
    ShareLevel.COUNTS: "Counts only",
    ShareLevel.DESCRIPTIONS: "Incidents without names or dates of birth",
    ShareLevel.FULL: "Full details (never minors)",
}
TYPE_WORDS = {
    RecordType.INCIDENT: "Incidents without a police case",
    RecordType.INCIDENT_POLICE_CASE: "Incidents with a police crime reference",
    RecordType.POI_IMAGE: "Person-of-interest images",
    RecordType.EVIDENCE: "Evidence files",
    RecordType.ANPR_HIT: "ANPR hits not linked to an incident",
    RecordType.D2P_EMAIL_BODY: "Sent D2P email bodies",
    RecordType.FOOTAGE_REQUEST: "Police requests for footage",
    RecordType.LOOKOUT: "Lookouts to stores and their acknowledgements",
    RecordType.REFERRAL: "Referrals to a national unit",
    RecordType.CRIME_GROUP: "Organised crime group records",
    RecordType.AUDIT: "Audit trail",
}
REQUIREMENTS = (
    ("require_cctv", "CCTV covering the incident"),
    ("require_suspect_image", "An image of the suspect"),
    ("require_reporter_statement", "A statement from the reporter"),
    ("require_prosecution_support", "The retailer supports a prosecution"),
    ("repeat_offender_meets_value", "A known repeat offender makes a theft worth sending below the minimum value"),
)


def _etag(form: FormData) -> str | None:
    return bare_etag(str(form.get("etag", "")) or None)


def _changed_first(request: Request, back: str, what: str) -> Response:
    return page(request, "investigate/changed_first.html", status=412, back=back, what=what)


def _text(form: FormData, name: str) -> str:
    return str(form.get(name, "")).strip()


# ---- index ---------------------------------------------------------------------------------


@router.get("/admin")
def admin_index(request: Request, who: Admin) -> Response:
    return page(request, "admin/index.html")


# ---- a retailer's D2P settings ---------------------------------------------------------------


@router.get("/admin/d2p-settings")
def d2p_settings_page(request: Request, c: ContainerDep, who: RetailerAdmin, saved: Saved = None) -> Response:
    settings = c.d2p.settings.get(who, who.organisation_id)
    return page(request, "admin/d2p_settings.html", settings=settings, zone=zone_of(c), saved=saved)


@router.post("/admin/d2p-settings")
def d2p_settings_save(request: Request, c: ContainerDep, who: RetailerAdmin, form: Form) -> Response:
    choice = _text(form, "auto_send")
    if choice not in ("on", "off"):
        raise Invalid("Choose whether eligible reports are sent automatically.", errors=[{"field": "auto_send"}])
    c.d2p.settings.put(who, who.organisation_id, D2PSettingsIn(auto_send=choice == "on"))
    return redirect(request, "/admin/d2p-settings?saved=1")


# ---- sharing agreements --------------------------------------------------------------------


def _partners(c: Any, who: Principal) -> list[Any]:
    """The organisations a retailer may share with: every retailer and force served here."""
    here = c.directory.organisations_here()
    return [o for o in here if o.id != who.organisation_id and o.kind in (OrgKind.RETAILER, OrgKind.POLICE_FORCE)]


def _sharing(request: Request, c: Any, who: Principal, *, status: int = 200, **extra: Any) -> Response:
    found = c.sharing.read(who, who.organisation_id)
    names = {o.id: o.name for o in c.directory.organisations_here()}
    by_partner = {a["partner_id"]: a for a in found.agreements}
    context: dict[str, Any] = {
        "found": found,
        "names": names,
        "partners": _partners(c, who) if found.direction == "outgoing" else [],
        "by_partner": by_partner,
        "levels": LEVEL_WORDS,
        "chosen": {},
        "errors": {},
        "zone": zone_of(c),
        "saved": None,
        **extra,
    }
    return page(request, "admin/sharing.html", status=status, **context)


@router.get("/admin/sharing")
def sharing_page(request: Request, c: ContainerDep, who: SharingAdmin, saved: Saved = None) -> Response:
    return _sharing(request, c, who, saved=saved)


@router.post("/admin/sharing")
def sharing_save(request: Request, c: ContainerDep, who: RetailerAdmin, form: Form) -> Response:
    partners = _partners(c, who)
    agreements: list[Agreement] = []
    chosen: dict[str, dict[str, Any]] = {}
    errors: dict[str, str] = {}
    for org in partners:
        level_text = _text(form, f"level.{org.id}") or ShareLevel.NONE.value
        anpr = form.get(f"anpr.{org.id}") == "on"
        chosen[org.id] = {"level": level_text, "anpr": anpr}
        try:
            level = ShareLevel(level_text)
        except ValueError:
            errors[org.id] = "Choose one of the levels listed."
            continue
        # A partner shared nothing with is left out: the API's list names only those who receive something.
        if level != ShareLevel.NONE or anpr:
            agreements.append(Agreement(partner_id=org.id, level=level, anpr=anpr))
    if errors:
        return _sharing(request, c, who, status=422, chosen=chosen, errors=errors)
    try:
        c.sharing.replace(who, who.organisation_id, agreements, _etag(form))
    except PreconditionFailed:
        return _changed_first(request, "/admin/sharing", "these sharing agreements")
    except Invalid as exc:
        for problem in exc.errors:
            parts = str(problem.get("field", "")).split(".")
            if len(parts) >= 2 and parts[0] == "agreements" and parts[1].isdigit() and int(parts[1]) < len(agreements):
                errors[agreements[int(parts[1])].partner_id] = str(problem.get("message", exc.detail))
            else:
                errors["form"] = exc.detail
        return _sharing(request, c, who, status=422, chosen=chosen, errors=errors)
    return redirect(request, "/admin/sharing?saved=1")


@router.post("/admin/sharing/{owner_id}/anpr")
def anpr_answer(
    request: Request, owner_id: Annotated[str, Path(min_length=1, max_length=64)], c: ContainerDep, who: ForceAdmin, form: Form
) -> Response:
    answer = _text(form, "answer")
    if answer not in ("accept", "decline"):
        raise Invalid("Choose to accept or decline the ANPR sharing.", errors=[{"field": "answer"}])
    c.sharing.answer_anpr(who, who.organisation_id, owner_id, accept=answer == "accept")
    return redirect(request, "/admin/sharing?saved=1")


# ---- a force's D2P rules -----------------------------------------------------------------


def _rules(request: Request, c: Any, who: Principal, *, status: int = 200, **extra: Any) -> Response:
    stored = c.d2p.rules.get(who, who.organisation_id)
    current = stored.record
    rules = current.rules
    values = {
        "control_room_email": rules.control_room_email,
        "min_theft_value": f"{rules.min_theft_value.amount_minor / 100:.2f}" if rules.min_theft_value else "",
        "acknowledge_within_hours": str(rules.acknowledge_within_hours),
        **{name: getattr(rules, name) for name, _ in REQUIREMENTS},
    }
    context: dict[str, Any] = {
        "current": current,
        "etag": stored.etag,
        "values": values,
        "requirements": REQUIREMENTS,
        "errors": {},
        "zone": zone_of(c),
        "saved": None,
        **extra,
    }
    if "sent" in extra:
        context["values"] = {**values, **extra["sent"]}
    return page(request, "admin/d2p_rules.html", status=status, **context)


@router.get("/admin/d2p-rules")
def d2p_rules_page(request: Request, c: ContainerDep, who: ForceAdmin, saved: Saved = None) -> Response:
    return _rules(request, c, who, saved=saved)


@router.post("/admin/d2p-rules")
def d2p_rules_save(request: Request, c: ContainerDep, who: ForceAdmin, form: Form) -> Response:
    sent: dict[str, Any] = {
        "control_room_email": _text(form, "control_room_email"),
        "min_theft_value": _text(form, "min_theft_value").removeprefix("£"),
        "acknowledge_within_hours": _text(form, "acknowledge_within_hours"),
        **{name: form.get(name) == "on" for name, _ in REQUIREMENTS},
    }
    errors: dict[str, str] = {}
    minimum: dict[str, Any] | None = None
    if sent["min_theft_value"]:
        try:
            pounds = float(sent["min_theft_value"].replace(",", ""))
            if not 0 <= pounds <= 100_000_000:
                raise ValueError
            minimum = {"amount_minor": round(pounds * 100), "currency": "GBP"}
        except ValueError:
            errors["min_theft_value"] = "Enter an amount in pounds, e.g. 100 or 99.50, or leave it empty for any value."
    if not sent["acknowledge_within_hours"].isdigit():
        errors["acknowledge_within_hours"] = "Enter a whole number of hours, from 1 to 720."
    if errors:
        return _rules(request, c, who, status=422, errors=errors, sent=sent)
    current = c.d2p.rules.get(who, who.organisation_id).record.rules
    # The form edits the thresholds; the categories, flags and enrolled retailers stay as they are.
    change = {**current.model_dump(mode="json"), **{k: v for k, v in sent.items() if k != "min_theft_value"}}
    change["min_theft_value"] = minimum
    change["acknowledge_within_hours"] = int(sent["acknowledge_within_hours"])
    try:
        rules = ForceRules.model_validate(change)
    except ValidationError as exc:
        return _rules(request, c, who, status=422, errors=field_errors(exc), sent=sent)
    try:
        c.d2p.rules.put(who, who.organisation_id, rules, _etag(form))
    except PreconditionFailed:
        return _changed_first(request, "/admin/d2p-rules", "these D2P rules")
    return redirect(request, "/admin/d2p-rules?saved=1")


# ---- retention schedules -------------------------------------------------------------------


def _retention(request: Request, c: Any, who: Principal, *, status: int = 200, **extra: Any) -> Response:
    context: dict[str, Any] = {
        "types": TYPE_WORDS,
        "errors": {},
        "sent": None,
        "zone": zone_of(c),
        "saved": None,
        "operator": who.has(Role.PLATFORM_OPERATOR),
        "approve_errors": {},
    }
    if who.has(Role.PLATFORM_OPERATOR):
        # As GET /retention/schedules/region and /proposals.
        context["region"] = c.retention.schedules.region()
        context["proposals"] = list(reversed(c.retention.schedules.proposals()))
    if who.has(Role.RETAILER_ADMIN):
        chosen = c.retention.schedules.organisation(who)
        context["schedule"] = chosen.schedule
        context["etag"] = chosen.etag
    context.update(extra)
    return page(request, "admin/retention.html", status=status, **context)


@router.get("/admin/retention")
def retention_page(request: Request, c: ContainerDep, who: RetentionAdmin, saved: Saved = None) -> Response:
    return _retention(request, c, who, saved=saved)


@router.post("/admin/retention/organisation")
def retention_organisation_save(request: Request, c: ContainerDep, who: RetailerAdmin, form: Form) -> Response:
    sent = {t.value: _text(form, f"months.{t.value}") for t in RecordType}
    sent["reason"] = _text(form, "reason")
    errors: dict[str, str] = {}
    overrides: dict[str, int] = {}
    for t in RecordType:
        text = sent[t.value]
        if not text:
            continue
        if not text.isdigit():
            errors[f"months.{t.value}"] = "Enter a whole number of months, or leave it empty to follow the region."
        else:
            overrides[t.value] = int(text)
    try:
        change = OrganisationScheduleIn.model_validate({"overrides": overrides, "reason": sent["reason"]})
    except ValidationError as exc:
        errors.update(field_errors(exc))
    if errors:
        return _retention(request, c, who, status=422, errors=errors, sent=sent)
    try:
        c.retention.schedules.set_organisation(who, change, _etag(form))
    except PreconditionFailed:
        return _changed_first(request, "/admin/retention", "your organisation's retention schedule")
    except Invalid as exc:
        return _retention(request, c, who, status=422, errors=_schedule_errors(exc, "months"), sent=sent)
    return redirect(request, "/admin/retention?saved=1")


def _schedule_errors(exc: Invalid, prefix: str) -> dict[str, str]:
    """The service's errors next to the record type's field they name (e.g. `overrides.incident`)."""
    errors: dict[str, str] = {}
    for problem in exc.errors or [{}]:
        field = str(problem.get("field") or "")
        name = next((t.value for t in RecordType if t.value in field.split(".")), None)
        errors.setdefault(f"{prefix}.{name}" if name else "form", str(problem.get("message") or exc.detail))
    return errors


@router.post("/admin/retention/proposals")
def retention_propose(request: Request, c: ContainerDep, who: Operator, form: Form) -> Response:
    sent: dict[str, str] = {"reason": _text(form, "reason")}
    errors: dict[str, str] = {}
    rules: dict[str, dict[str, int]] = {}
    for t in RecordType:
        rule: dict[str, int] = {}
        for part in ("months", "min_months", "max_months"):
            name = f"{part}.{t.value}"
            sent[name] = _text(form, name)
            if not sent[name].isdigit():
                errors.setdefault(f"rule.{t.value}", "Enter whole numbers of months for the period and its bounds.")
            else:
                rule[part] = int(sent[name])
        rules[t.value] = rule
    if not errors:
        try:
            change = RegionScheduleIn.model_validate({"rules": rules, "reason": sent["reason"]})
        except ValidationError as exc:
            for e in exc.errors():
                loc = [str(p) for p in e.get("loc", ())]
                key = f"rule.{loc[1]}" if len(loc) > 1 and loc[0] == "rules" else (loc[0] if loc else "form")
                errors.setdefault(key, str(e.get("msg", "")).removeprefix("Value error, "))
    if errors:
        return _retention(request, c, who, status=422, errors=errors, sent=sent)
    try:
        c.retention.schedules.propose_region(who, change)
    except Invalid as exc:
        return _retention(request, c, who, status=422, errors=_schedule_errors(exc, "rule"), sent=sent)
    return redirect(request, "/admin/retention?saved=proposed")


@router.post("/admin/retention/proposals/{number}/approval")
def retention_approve(
    request: Request, number: Annotated[int, Path(ge=1, le=999_999)], c: ContainerDep, who: Operator, form: Form
) -> Response:
    try:
        c.retention.schedules.approve_region(who, number)
    except (Forbidden, Conflict) as exc:
        # Refused by the service (one's own proposal, or one no longer pending): said beside it.
        return _retention(request, c, who, status=exc.status, approve_errors={number: exc.detail})
    return redirect(request, "/admin/retention?saved=approved")
