"""Referral pages: the national unit's intake (read a referral, accept it, ask for more,
allocate a lead force) and the referrer's side (the status of what it referred, and its
answer to the unit's question), and the form a force or retailer makes a referral with.

Each page calls the service the matching API route calls (functions/http/referrals.py),
with the same principal, so the audit trail reads exactly as for the API."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from functions.console.deps import posted_form, require_page
from functions.console.render import page, redirect
from functions.http.deps import ContainerDep
from shared.adapters.page_tokens import binding
from shared.domain.errors import Invalid
from shared.domain.referrals import ASSESSMENT_WORDS, HANDLING_WORDS, SOURCE_WORDS, STATUS_WORDS, Grading, ReferralIn, ReferralStatus
from shared.domain.tenancy import OrgKind, Principal
from shared.services.referrals import REFERRERS, UNIT

router = APIRouter(include_in_schema=False)

Viewer = Annotated[Principal, Depends(require_page(*REFERRERS, *UNIT))]
UnitPerson = Annotated[Principal, Depends(require_page(*UNIT))]
Referrer = Annotated[Principal, Depends(require_page(*REFERRERS))]
Form = Annotated[FormData, Depends(posted_form)]
ReferralId = Annotated[str, Path(min_length=1, max_length=64)]
PAGE_SIZE = 25


def _region(c: Any, who: Principal) -> str:
    org = c.directory.organisation(who.organisation_id)
    return org.home_region if org else c.settings.region


def _name(c: Any, org_id: str | None) -> str:
    org = c.directory.organisation(org_id) if org_id else None
    return org.name if org else (org_id or "")


def grading_words(g: Grading) -> str:
    """A grading as a person reads it, e.g. "1B P: reliable; known indirectly, corroborated; lawful sharing permitted"."""
    words = (
        f"{g.code}: {SOURCE_WORDS[g.source_evaluation]}; {ASSESSMENT_WORDS[g.intelligence_assessment]}; {HANDLING_WORDS[g.handling_code]}"
    )
    return words + (f". Conditions: {g.conditions}" if g.conditions else "")


@router.get("/referrals")
def list_referrals(
    request: Request, who: Viewer, c: ContainerDep, page_token: Annotated[str | None, Query(alias="page", max_length=4000)] = None
) -> Response:
    bound_to = binding("GET /referrals", who.organisation_id, who.user_id, [])
    found = c.referrals.read.list(who, limit=PAGE_SIZE, continuation=c.page_tokens.open(page_token, bound_to))
    sealed = c.page_tokens.seal(found.continuation, bound_to)
    rows = [
        {
            "r": s.referral,
            "status": STATUS_WORDS[s.referral.status],
            "other": _name(c, s.referral.referrer_org if who.is_national_unit else s.referral.unit_id),
            "forces": ", ".join(_name(c, f) for f in s.referral.force_ids),
        }
        for s in found.items
    ]
    return page(
        request,
        "referrals/list.html",
        rows=rows,
        unit=who.is_national_unit,
        region=_region(c, who),
        next_url=f"/referrals?{urlencode({'page': sealed})}" if sealed else None,
        first_page=page_token is None,
    )


# Rows on the form: a series is a handful of incidents; the API takes more.
FORM_INCIDENTS = 4
FORM_POINTERS = 2


def _grading(form: FormData, prefix: str) -> dict[str, Any] | None:
    """The row's grading as entered; parts left blank stay out, so the refusal names them."""
    parts = {
        "source_evaluation": str(form.get(f"{prefix}_source") or "").strip(),
        "intelligence_assessment": str(form.get(f"{prefix}_assessment") or "").strip(),
        "handling_code": str(form.get(f"{prefix}_handling") or "").strip(),
        "conditions": str(form.get(f"{prefix}_conditions") or "").strip()[:1000],
    }
    given = {k: v for k, v in parts.items() if v}
    return given or None


def _referral_body(form: FormData) -> dict[str, Any]:
    incidents, pointers = [], []
    for i in range(FORM_INCIDENTS):
        ref = str(form.get(f"incident{i}_crime_reference") or "").strip()[:64]
        if ref:
            incidents.append({"crime_reference": ref, "grading": _grading(form, f"incident{i}")})
    for i in range(FORM_POINTERS):
        force, ref = (str(form.get(f"pointer{i}_{k}") or "").strip()[:64] for k in ("force_id", "crime_reference"))
        if force and ref:
            pointers.append({"force_id": force, "crime_reference": ref, "grading": _grading(form, f"pointer{i}")})
    return {
        "unit_id": str(form.get("unit_id") or "").strip()[:64],
        "title": str(form.get("title") or "").strip()[:200],
        "summary": str(form.get("summary") or "").strip()[:4000],
        "incidents": incidents,
        "other_forces": pointers,
    }


def _form_page(request: Request, c: Any, who: Principal, *, form: FormData | None = None, problem: Invalid | None = None) -> Response:
    orgs = c.directory.organisations_here()
    units = [o for o in orgs if o.kind == OrgKind.NATIONAL_UNIT]
    forces = [o for o in orgs if o.kind == OrgKind.POLICE_FORCE]
    return page(
        request,
        "referrals/new.html",
        status=422 if problem else 200,
        units=units,
        forces=forces,
        values=dict(form.items()) if form else {},
        problem=problem,
        incident_rows=range(FORM_INCIDENTS),
        pointer_rows=range(FORM_POINTERS),
        sources=SOURCE_WORDS,
        assessments=ASSESSMENT_WORDS,
        handlings=HANDLING_WORDS,
    )


@router.get("/referrals/new")
def new_referral(request: Request, who: Referrer, c: ContainerDep) -> Response:
    return _form_page(request, c, who)


@router.post("/referrals")
def make_referral(request: Request, who: Referrer, c: ContainerDep, form: Form) -> Response:
    """The referral as POST /referrals makes it; a refusal shows the form again, as
    entered, with the service's words naming each item and what it lacks."""
    try:
        body = ReferralIn.model_validate(_referral_body(form))
        made = c.referrals.create.create(who, body, None)
    except ValidationError as exc:
        words = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
        return _form_page(request, c, who, form=form, problem=Invalid(f"Please check: {words}"))
    except Invalid as exc:
        return _form_page(request, c, who, form=form, problem=exc)
    return redirect(request, f"/referrals/{made.referral.id}")


@router.get("/referrals/{referral_id}")
def show_referral(request: Request, who: Viewer, c: ContainerDep, referral_id: ReferralId) -> Response:
    seen = c.referrals.read.get(who, referral_id)
    r = seen.referral
    unit = seen.for_unit
    open_question = r.questions[-1] if r.questions and r.questions[-1].answered_at is None else None
    return page(
        request,
        "referrals/referral.html",
        r=r,
        unit=unit,
        status_words=STATUS_WORDS[r.status],
        region=_region(c, who),
        names={o: _name(c, o) for o in {r.unit_id, r.referrer_org, *r.force_ids, *(e.owner_org for e in r.incidents)}},
        grading=grading_words,
        open_question=open_question,
        may_decide=unit and r.status in (ReferralStatus.SUBMITTED, ReferralStatus.ACCEPTED),
        may_accept=unit and r.status == ReferralStatus.SUBMITTED,
        may_answer=not unit and open_question is not None and who.has(*REFERRERS),
    )


def _text(form: FormData, name: str, *, least: int, most: int, what: str) -> str:
    value = str(form.get(name) or "").strip()
    if len(value) < least:
        raise Invalid(what, errors=[{"field": name}])
    return value[:most]


@router.post("/referrals/{referral_id}/accept")
def accept(request: Request, who: UnitPerson, c: ContainerDep, referral_id: ReferralId, form: Form) -> Response:
    note = str(form.get("note") or "").strip()[:2000] or None
    c.referrals.decide.accept(who, referral_id, note)
    return redirect(request, f"/referrals/{referral_id}")


@router.post("/referrals/{referral_id}/questions")
def ask(request: Request, who: UnitPerson, c: ContainerDep, referral_id: ReferralId, form: Form) -> Response:
    question = _text(form, "question", least=3, most=2000, what="Write the question for the referrer.")
    c.referrals.decide.ask(who, referral_id, question)
    return redirect(request, f"/referrals/{referral_id}")


@router.post("/referrals/{referral_id}/lead-force")
def allocate(request: Request, who: UnitPerson, c: ContainerDep, referral_id: ReferralId, form: Form) -> Response:
    force_id = _text(form, "force_id", least=1, most=64, what="Choose the lead force.")
    note = str(form.get("note") or "").strip()[:2000] or None
    c.referrals.decide.allocate(who, referral_id, force_id, note)
    return redirect(request, f"/referrals/{referral_id}")


@router.post("/referrals/{referral_id}/answer")
def answer(request: Request, who: Referrer, c: ContainerDep, referral_id: ReferralId, form: Form) -> Response:
    text = _text(form, "answer", least=1, most=4000, what="Write your answer for the unit.")
    c.referrals.answer.answer(who, referral_id, text)
    return redirect(request, f"/referrals/{referral_id}")
