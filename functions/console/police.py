"""The police pages: a force's D2P inbox, the case a D2P email opens, and what an officer
does with it (acknowledge with the crime reference, record an outcome, download the court
package, hold it from deletion, look at the evidence).

Each page calls the service the matching API route calls, with the same principal and the
same purpose, so the audit trail and the chain of custody read exactly as for the API."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import ValidationError
from starlette.datastructures import FormData

from functions.console.deps import posted_form, require_page
from functions.console.render import container_of, finish, page, redirect
from functions.http.deps import ContainerDep
from shared.adapters.page_tokens import binding
from shared.domain.d2p import OUTCOME_CODES, AcknowledgeIn, Dispatch, InboxView, OutcomeIn, dispatch_id
from shared.domain.d2p_rules import CATEGORY_WORDS, FLAG_NAMES, FLAG_WORDS, money_words
from shared.domain.errors import Conflict, Invalid, NotFound
from shared.domain.evidence import EvidenceItem
from shared.domain.http_fields import ascii_filename
from shared.domain.retention import LegalHoldIn
from shared.domain.tenancy import Principal
from shared.services.d2p import POLICE
from shared.services.incidents import READERS
from shared.services.retention.holds import HOLDERS_POLICE

router = APIRouter(include_in_schema=False)

Officer = Annotated[Principal, Depends(require_page(*POLICE))]
# The API's incident and evidence reads admit these police roles (Police.Admin manages
# rules, it does not read reports); the pages admit the same.
CaseReader = Annotated[Principal, Depends(require_page(*(r for r in READERS if r in POLICE)))]
Holder = Annotated[Principal, Depends(require_page(*HOLDERS_POLICE))]
Form = Annotated[FormData, Depends(posted_form)]
IncidentId = Annotated[str, Path(min_length=1, max_length=64)]
EvidenceId = Annotated[str, Path(min_length=1, max_length=64)]
PurposeQuery = Annotated[str | None, Query(max_length=500)]

# Why an officer opens a report, offered so the audit trail reads the same for the same
# reason; "another purpose" takes free text. The API accepts any 3 to 500 characters.
PURPOSES = (
    "Recording the crime reported through D2P",
    "Investigating the offence",
    "Identifying the suspect",
    "Preparing the case file for the CPS or court",
    "Reviewing the report for disclosure",
)
PURPOSE_MIN, PURPOSE_MAX = 3, 500


def _region(request: Request, who: Principal) -> str:
    org = container_of(request).directory.organisation(who.organisation_id)
    return org.home_region if org else "uk"


def _case_url(incident_id: str, purpose: str | None, suffix: str = "") -> str:
    query = f"?{urlencode({'purpose': purpose})}" if purpose else ""
    return f"/cases/{incident_id}{suffix}{query}"


def _clean_purpose(purpose: str | None) -> str | None:
    return " ".join(purpose.split()) if purpose else None


def stated_purpose(purpose: str | None, other: str | None) -> tuple[str | None, str | None]:
    """The purpose the prompt's form gave (a listed one or the officer's own words), and an error to show."""
    # Words typed under "another purpose" count even when its radio button was not ticked.
    typed = purpose == "other" or (purpose is None and bool(other and other.strip()))
    chosen = _clean_purpose(other) if typed else _clean_purpose(purpose)
    if chosen is None and not typed:
        return None, None
    if not chosen or not PURPOSE_MIN <= len(chosen) <= PURPOSE_MAX:
        return None, f"Say why you are looking, in {PURPOSE_MIN} to {PURPOSE_MAX} characters."
    return chosen, None


def _purpose_prompt(request: Request, *, action: str, error: str | None, other: str | None) -> Response:
    return page(
        request,
        "police/purpose.html",
        status=422 if error else 200,
        action=action,
        purposes=PURPOSES,
        error=error,
        other=other or "",
    )


# ---- inbox ----------------------------------------------------------------------------


@router.get("/inbox")
def inbox(
    request: Request,
    who: Officer,
    c: ContainerDep,
    view: Annotated[InboxView, Query()] = InboxView.ALL,
    page_token: Annotated[str | None, Query(alias="page", max_length=4000)] = None,
) -> Response:
    # Sealed as the API seals its continuations: bound to this listing and this person, so
    # an edited or borrowed token is refused (422) before the store parses it.
    bound_to = binding("GET /inbox", who.organisation_id, who.user_id, [("view", view.value)])
    store_token = c.page_tokens.open(page_token, bound_to)
    found = c.d2p.police.inbox(who, who.organisation_id, view, limit=c.settings.default_page_size, continuation=store_token)
    now = c.clock.now()
    rows = []
    for d in found.items:
        store = c.directory.store(d.store_id)
        rows.append(
            {
                "dispatch": d,
                "store": store.name if store else "a store in your area",
                "category": CATEGORY_WORDS.get(d.category, d.category),
                "overdue": d.overdue(now, found.acknowledge_within_hours),
            }
        )
    sealed = c.page_tokens.seal(found.continuation, bound_to)
    next_url = f"/inbox?{urlencode({'view': view.value, 'page': sealed})}" if sealed else None
    return page(
        request,
        "police/inbox.html",
        rows=rows,
        view=view,
        view_label=_VIEW_WORDS[view],
        views=[(v, _VIEW_WORDS[v]) for v in InboxView],
        within=found.acknowledge_within_hours,
        next_url=next_url,
        first_page=page_token is None,
        region=_region(request, who),
    )


_VIEW_WORDS = {
    InboxView.ALL: "All received",
    InboxView.NEW: "New",
    InboxView.UNACKNOWLEDGED: "Unacknowledged",
    InboxView.OVERDUE: "Overdue",
}


# ---- the case ---------------------------------------------------------------------------


def _people(incident: dict[str, Any]) -> list[str]:
    lines = []
    for p in incident.get("persons") or []:
        d = p.get("description") or {}
        role = "suspect" if p.get("role", "offender") == "offender" else p.get("role", "person")
        parts = [role]
        for label, value in (("name", p.get("name")), ("born", p.get("date_of_birth"))):
            if value:
                parts.append(f"{label} {value}")
        if p.get("under_18"):
            parts.append("UNDER 18")
        if d.get("build") and d.get("build") != "unknown":
            parts.append(f"{d['build']} build")
        if d.get("height_min_cm") or d.get("height_max_cm"):
            parts.append(f"{d.get('height_min_cm') or '?'} to {d.get('height_max_cm') or '?'} cm")
        for k in ("apparent_age_range", "hair", "clothing", "distinguishing_marks"):
            if d.get(k):
                parts.append(f"{k.replace('_', ' ')}: {d[k]}")
        lines.append("; ".join(parts))
    return lines


def _size(n: int) -> str:
    """A file's size as people read it: 812 bytes, 4.2 MB."""
    size = float(n)
    for unit in ("bytes", "KB", "MB"):
        if size < 1024:
            return f"{n:,} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GB"


def _evidence_rows(items: list[EvidenceItem]) -> list[dict[str, Any]]:
    redacted_from = {i.derived_from for i in items if i.is_redacted_copy}
    rows = []
    for item in items:
        if item.is_redacted_copy:
            disclosure = "Redacted copy: the one to disclose"
        elif item.id in redacted_from:
            disclosure = "Original: not for disclosure (a redacted copy exists)"
        else:
            disclosure = None
        rows.append({"item": item, "disclosure": disclosure})
    # The copy for disclosure first: it is the one an officer forwards.
    return sorted(rows, key=lambda r: 0 if r["item"].is_redacted_copy else 1)


def _case(c, who: Principal, incident_id: str) -> Dispatch:
    """The force's dispatch of this incident, or the same 404 as an incident it may not see."""
    return c.d2p.police.case(who, incident_id)


@router.get("/cases/{incident_id}")
def case_page(
    request: Request,
    incident_id: IncidentId,
    who: CaseReader,
    c: ContainerDep,
    purpose: PurposeQuery = None,
    other: PurposeQuery = None,
) -> Response:
    stated, error = stated_purpose(purpose, other)
    if stated is None:
        # Asked before anything is looked up, so the prompt is the same for any address:
        # it does not tell anyone whether the case exists.
        return _purpose_prompt(request, action=f"/cases/{incident_id}", error=error, other=other)
    if stated != purpose:
        return redirect(request, _case_url(incident_id, stated))
    dispatch = _case(c, who, incident_id)
    incident = c.incidents.read.get(who, incident_id, stated).body
    items = c.evidence.access.list_items(who, incident_id, stated)
    outcomes = c.d2p.eligibility.report(who, incident_id, stated).outcomes
    holds = c.retention.holds.view(who, incident_id) if who.has(*HOLDERS_POLICE) else None
    store = c.directory.store(incident.get("store_id", ""))
    retailer = c.directory.organisation(incident.get("organisation_id", ""))
    flags = [FLAG_WORDS[f] for f in FLAG_NAMES if (incident.get("flags") or {}).get(f)]
    return page(
        request,
        "police/case.html",
        incident=incident,
        dispatch=dispatch,
        purpose=stated,
        store=store,
        retailer=retailer,
        category=CATEGORY_WORDS.get(incident.get("category", ""), incident.get("category", "")),
        flags=flags,
        people=_people(incident),
        evidence=_evidence_rows(items),
        outcomes=outcomes,
        outcome_codes=OUTCOME_CODES,
        holds=holds,
        own_hold=_own_hold(holds, who),
        region=_region(request, who),
        url=lambda suffix="": _case_url(incident_id, stated, suffix),
        may_hold=who.has(*HOLDERS_POLICE),
        money=lambda m: money_words(m["amount_minor"], m["currency"]),
        size=_size,
    )


def _own_hold(holds, who: Principal) -> dict[str, Any] | None:
    if holds is None:
        return None
    return next((h for h in holds.holds if h["holder_org"] == who.organisation_id and h["status"] == "active"), None)


# ---- acknowledge ------------------------------------------------------------------------


@router.get("/cases/{incident_id}/acknowledge")
def acknowledge_form(request: Request, incident_id: IncidentId, who: Officer, c: ContainerDep, purpose: PurposeQuery = None) -> Response:
    dispatch = _case(c, who, incident_id)
    return page(request, "police/acknowledge.html", dispatch=dispatch, purpose=_clean_purpose(purpose), value="", errors=[])


@router.post("/cases/{incident_id}/acknowledge")
def acknowledge(request: Request, incident_id: IncidentId, who: Officer, c: ContainerDep, form: Form) -> Response:
    purpose = _clean_purpose(str(form.get("purpose", "")) or None)
    entered = str(form.get("crime_reference", ""))
    did = dispatch_id(incident_id, who.organisation_id)
    try:
        ack = AcknowledgeIn(crime_reference=entered.strip())
        c.d2p.police.acknowledge(who, did, ack)
    except ValidationError:
        return _acknowledge_again(
            request, c, who, incident_id, purpose, entered, 422,
            "Enter the crime reference as your force writes it: 3 to 64 letters, digits, spaces and / - _ . only.",
        )  # fmt: skip
    except Conflict as exc:
        return _acknowledge_again(request, c, who, incident_id, purpose, entered, 409, exc.detail)
    return redirect(request, _case_url(incident_id, purpose))


def _acknowledge_again(request, c, who, incident_id, purpose, entered, status, message) -> Response:
    dispatch = _case(c, who, incident_id)
    return page(request, "police/acknowledge.html", status=status, dispatch=dispatch, purpose=purpose, value=entered, errors=[message])


# ---- outcome, legal hold, court package ------------------------------------------------------


@router.post("/cases/{incident_id}/outcome")
def record_outcome(request: Request, incident_id: IncidentId, who: Officer, c: ContainerDep, form: Form) -> Response:
    purpose = _clean_purpose(str(form.get("purpose", "")) or None)
    try:
        given = OutcomeIn(code=str(form.get("code", "")), note=str(form.get("note", "")).strip() or None)
    except ValidationError:
        raise Invalid(
            f"Choose one of the Home Office outcome codes ({', '.join(OUTCOME_CODES)}); a note is at most 2,000 characters.",
            errors=[{"field": "code"}],
        ) from None
    c.d2p.police.record_outcome(who, incident_id, given)
    return redirect(request, _case_url(incident_id, purpose, "") + "#outcomes")


@router.post("/cases/{incident_id}/hold")
def legal_hold(request: Request, incident_id: IncidentId, who: Holder, c: ContainerDep, form: Form) -> Response:
    purpose = _clean_purpose(str(form.get("purpose", "")) or None)
    action = str(form.get("action", ""))
    try:
        reason = LegalHoldIn(reason=str(form.get("reason", "")).strip()).reason
    except ValidationError:
        raise Invalid("Give the reason for the hold, in 10 to 1,000 characters (it is audited).", errors=[{"field": "reason"}]) from None
    if action == "place":
        c.retention.holds.place(who, incident_id, reason)
    elif action == "release":
        c.retention.holds.release(who, incident_id, reason)
    else:
        raise Invalid("Choose to place or to release the hold.", errors=[{"field": "action"}])
    return redirect(request, _case_url(incident_id, purpose) + "#hold")


@router.get("/cases/{incident_id}/package")
def court_package(request: Request, incident_id: IncidentId, who: CaseReader, c: ContainerDep, purpose: PurposeQuery = None) -> Response:
    stated = _need_purpose(purpose)
    _case(c, who, incident_id)
    pkg = c.evidence.package.build(who, incident_id, stated)
    headers = {
        "Content-Disposition": f'attachment; filename="{ascii_filename(pkg.filename)}"',
        "X-Manifest-SHA256": pkg.manifest_sha256,
    }
    return finish(request, StreamingResponse(pkg.body, media_type="application/zip", headers=headers))


def _need_purpose(purpose: str | None) -> str:
    stated = _clean_purpose(purpose)
    if not stated or not PURPOSE_MIN <= len(stated) <= PURPOSE_MAX:
        raise Invalid("State why you are looking on the case page first: police reads need a purpose.", errors=[{"field": "purpose"}])
    return stated


# ---- evidence ---------------------------------------------------------------------------------


def _item_of_case(item: EvidenceItem, incident_id: str, evidence_id: str) -> None:
    if item.incident_id != incident_id:
        raise NotFound(f"Evidence {evidence_id} was not found.")


@router.get("/cases/{incident_id}/evidence/{evidence_id}")
def evidence_viewer(
    request: Request,
    incident_id: IncidentId,
    evidence_id: EvidenceId,
    who: CaseReader,
    c: ContainerDep,
    purpose: PurposeQuery = None,
    other: PurposeQuery = None,
) -> Response:
    stated, error = stated_purpose(purpose, other)
    here = f"/cases/{incident_id}/evidence/{evidence_id}"
    if stated is None:
        return _purpose_prompt(request, action=here, error=error, other=other)
    if stated != purpose:
        return redirect(request, f"{here}?{urlencode({'purpose': stated})}")
    _case(c, who, incident_id)
    item = c.evidence.access.get(who, evidence_id, stated)
    _item_of_case(item, incident_id, evidence_id)
    chain = c.evidence.custody.chain(who, evidence_id, stated)
    query = urlencode({"purpose": stated})
    return page(
        request,
        "police/evidence.html",
        item=item,
        chain=chain,
        purpose=stated,
        incident_id=incident_id,
        file_url=f"{here}/file?{query}",
        download_url=f"{here}/file?{query}&download=1",
        case_url=_case_url(incident_id, stated),
        region=_region(request, who),
    )


@router.get("/cases/{incident_id}/evidence/{evidence_id}/file")
def evidence_file(
    request: Request,
    incident_id: IncidentId,
    evidence_id: EvidenceId,
    who: CaseReader,
    c: ContainerDep,
    purpose: PurposeQuery = None,
    download: Annotated[bool, Query()] = False,
    range_: Annotated[str | None, Header(alias="Range", max_length=100)] = None,
) -> Response:
    stated = _need_purpose(purpose)
    _case(c, who, incident_id)
    d = c.evidence.access.download(who, evidence_id, stated, range_, link=False)
    _item_of_case(d.item, incident_id, evidence_id)
    item = d.item
    # Shown in the page (inline) unless asked for as a file; never sniffed into another type.
    disposition = "attachment" if download else "inline"
    headers = {
        "Accept-Ranges": "bytes",
        "Content-Length": str(d.length),
        "X-Evidence-SHA256": item.sha256,
        "Content-Disposition": f'{disposition}; filename="{ascii_filename(item.filename)}"',
        "X-Content-Type-Options": "nosniff",
    }
    if d.partial:
        headers["Content-Range"] = f"bytes {d.start}-{d.end - 1}/{item.size}"
    response = StreamingResponse(d.body, status_code=206 if d.partial else 200, media_type=item.content_type, headers=headers)
    return finish(request, response)
