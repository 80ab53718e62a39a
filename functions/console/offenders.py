"""Person-of-interest pages for investigators: the organisation's profiles, one profile
(`/offenders/{id}`, which other pages such as the network drawing link to), and the
linking suggestions to confirm or reject.

Each page calls the service the matching API route calls (functions/http/offenders.py),
with the same principal, so the audit trail reads exactly as for the API."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from functions.console.deps import posted_form, require_page
from functions.console.render import page, redirect
from functions.http.deps import ContainerDep
from shared.domain.offenders import ListingStatus, is_minor, listing_in_force
from shared.domain.tenancy import Principal
from shared.services.offenders import EDITORS
from shared.services.offenders.profiles import ProfileFilters

router = APIRouter(include_in_schema=False)

Investigator = Annotated[Principal, Depends(require_page(*EDITORS))]
Form = Annotated[FormData, Depends(posted_form)]
OffenderId = Annotated[str, Path(min_length=1, max_length=64)]
SuggestionId = Annotated[str, Path(min_length=1, max_length=160)]
PAGE_SIZE = 25
KIND_WORDS = {"name_and_date_of_birth": "Same name and date of birth", "plate": "Same vehicle", "description": "Close description"}
STATUS_WORDS = {
    ListingStatus.LISTED: "Listed",
    ListingStatus.CONTESTED: "Contested: suspended until reviewed",
    ListingStatus.UNLISTED: "Withdrawn",
    ListingStatus.MERGED: "Merged into another profile",
}


def _region(c: Any, who: Principal) -> str:
    org = c.directory.organisation(who.organisation_id)
    return org.home_region if org else c.settings.region


def _references(c: Any, who: Principal, incident_ids: list[str]) -> dict[str, str]:
    return c.offenders.search.references(who, incident_ids)


@router.get("/offenders")
def list_profiles(request: Request, who: Investigator, c: ContainerDep) -> Response:
    found = c.offenders.search.list(who, ProfileFilters(), limit=PAGE_SIZE)
    now = c.clock.now()
    rows = [
        {
            "p": s.record,
            "status": STATUS_WORDS[s.record.status],
            "in_force": listing_in_force(s.record, now),
            "overdue": s.record.status in (ListingStatus.LISTED, ListingStatus.CONTESTED)
            and (now >= s.record.review_at or (s.record.contest_due_at is not None and now >= s.record.contest_due_at)),
        }
        for s in found.items
    ]
    return page(request, "offenders/list.html", rows=rows, region=_region(c, who))


@router.get("/offenders/suggestions")
def list_suggestions(request: Request, who: Investigator, c: ContainerDep) -> Response:
    found = c.offenders.suggestions.list(who, limit=PAGE_SIZE)
    refs = _references(c, who, [i for s in found.items for r in s.reasons for i in [s.incident_id, *r.incident_ids]])
    rows = [
        {
            "s": s,
            "reference": refs.get(s.incident_id, "an incident"),
            "reasons": [
                {
                    "words": KIND_WORDS.get(r.kind, r.kind),
                    "fields": r.fields,
                    "references": [refs.get(i, "an erased incident") for i in r.incident_ids],
                }
                for r in s.reasons
            ],
        }
        for s in found.items
    ]
    return page(request, "offenders/suggestions.html", rows=rows)


@router.post("/offenders/suggestions/{suggestion_id}/confirm")
def confirm(request: Request, who: Investigator, c: ContainerDep, suggestion_id: SuggestionId, form: Form) -> Response:
    confirmed = c.offenders.suggestions.confirm(who, suggestion_id)
    if confirmed.profile:
        return redirect(request, f"/offenders/{confirmed.offender_id}")
    return redirect(request, "/offenders/suggestions")


@router.post("/offenders/suggestions/{suggestion_id}/reject")
def reject(request: Request, who: Investigator, c: ContainerDep, suggestion_id: SuggestionId, form: Form) -> Response:
    c.offenders.suggestions.reject(who, suggestion_id)
    return redirect(request, "/offenders/suggestions")


@router.get("/offenders/{offender_id}")
def profile_page(request: Request, who: Investigator, c: ContainerDep, offender_id: OffenderId) -> Response:
    p = c.offenders.profiles.get(who, offender_id)
    now = c.clock.now()
    return page(
        request,
        "offenders/profile.html",
        p=p,
        state=STATUS_WORDS[p.status],
        in_force=listing_in_force(p, now),
        minor=is_minor(p, now.date()),
        incidents=[{"id": i, "reference": ref} for i, ref in _references(c, who, p.incident_ids).items()],
        versions=c.offenders.search.history(who, offender_id),
        region=_region(c, who),
    )
