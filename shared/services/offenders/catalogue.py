"""Records-level reads of persons of interest for other capabilities (rankings, networks,
lookouts, referrals) that audit their own reads: nothing here writes an audit entry."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from shared.domain.offenders import PersonOfInterest
from shared.ports import RecordStore, UnitOfWork
from shared.records import INCIDENTS, OFFENDERS
from shared.services.repository import body, dump


def profiles_by_ids(records_or_uow: RecordStore | UnitOfWork, organisation_id: str, ids: Iterable[str]) -> dict[str, PersonOfInterest]:
    """The profiles of `organisation_id` among `ids`, by id; ids with no profile are left
    out. Point reads in the organisation's partition. Given a record store, reads in a
    read-only unit of its own; given a unit of work, reads in it."""
    wanted = list(dict.fromkeys(i for i in ids if i and len(i) <= 64))
    if hasattr(records_or_uow, "unit_of_work"):  # a record store, not a unit of work
        store = cast(RecordStore, records_or_uow)
        with store.read_only() as uow:
            return _read(uow, organisation_id, wanted)
    return _read(records_or_uow, organisation_id, wanted)


def _read(uow: UnitOfWork, organisation_id: str, ids: list[str]) -> dict[str, PersonOfInterest]:
    found: dict[str, PersonOfInterest] = {}
    for offender_id in ids:
        doc = uow.get(OFFENDERS.name, organisation_id, offender_id)
        if doc is not None:
            found[offender_id] = PersonOfInterest.model_validate(body(doc))
    return found


def to_document(profile: PersonOfInterest) -> dict[str, Any]:
    """A profile as stored: its fields and the derived `name_key` the suggestions query."""
    return dump(profile)


def incidents_in_area(uow: UnitOfWork, profile: PersonOfInterest, force_id: str) -> set[str]:
    """The profile's linked incidents that happened in `force_id`'s area: all a force may be
    shown of a retailer's profile, which can link incidents at stores in other forces' areas.
    Point reads in the owner's partition."""
    inside: set[str] = set()
    for incident_id in profile.incident_ids:
        doc = uow.get(INCIDENTS.name, profile.organisation_id, incident_id)
        if doc is not None and doc.get("force_id") == force_id:
            inside.add(incident_id)
    return inside
