"""Pure person-of-interest rules: minors, when a listing is in force, what may leave the
organisation, and what a partner sees at each sharing level."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from shared.domain.offenders import ListingStatus, PersonOfInterest, is_minor, listing_in_force, may_leave_organisation, partner_view
from shared.domain.tenancy import ShareLevel

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def profile(**overrides) -> PersonOfInterest:
    fields = {
        "id": "off-1",
        "organisation_id": "northwind",
        "name": "Jamie Doyle",
        "aliases": ["JD"],
        "date_of_birth": date(1990, 4, 12),
        "description": "Tall, slim, grey hoodie, scar on the left hand",
        "image_evidence_ids": ["ev-1"],
        "incident_ids": ["inc-1", "inc-2"],
        "plates": ["WR21XKD"],
        "listing_reason": "Two thefts within a month at Plymouth",
        "listed_by": "nw-inv",
        "listed_at": NOW - timedelta(days=10),
        "review_at": NOW + timedelta(days=80),
        "expires_at": NOW + timedelta(days=300),
    }
    fields.update(overrides)
    return PersonOfInterest.model_validate(fields)


def test_minor_by_date_of_birth_or_belief():
    assert not is_minor(profile(), NOW.date())
    assert is_minor(profile(date_of_birth=date(2010, 1, 1)), NOW.date())
    # Turns 18 on the day: an adult that day, a minor the day before.
    assert not is_minor(profile(date_of_birth=date(2008, 11, 23)), NOW.date())
    assert is_minor(profile(date_of_birth=date(2008, 11, 24)), NOW.date())
    assert not is_minor(profile(date_of_birth=None), NOW.date())
    assert is_minor(profile(date_of_birth=None, believed_under_18=True), NOW.date())
    # A known date of birth showing an adult outweighs an earlier belief.
    assert not is_minor(profile(believed_under_18=True), NOW.date())


def test_listing_in_force_only_while_listed_and_before_review_and_expiry():
    assert listing_in_force(profile(), NOW)
    assert not listing_in_force(profile(status=ListingStatus.CONTESTED), NOW)
    assert not listing_in_force(profile(status=ListingStatus.UNLISTED), NOW)
    assert not listing_in_force(profile(status=ListingStatus.MERGED, merged_into="off-2"), NOW)
    assert not listing_in_force(profile(review_at=NOW), NOW)  # lapses on its review date
    assert not listing_in_force(profile(expires_at=NOW - timedelta(seconds=1)), NOW)


def test_may_leave_organisation_never_for_a_minor_or_a_lapsed_listing():
    assert may_leave_organisation(profile(), NOW)
    assert not may_leave_organisation(profile(date_of_birth=date(2012, 5, 1)), NOW)
    assert not may_leave_organisation(profile(status=ListingStatus.CONTESTED), NOW)
    assert not may_leave_organisation(profile(review_at=NOW - timedelta(days=1)), NOW)


def test_partner_view_by_level():
    p = profile()
    full = partner_view(p, ShareLevel.FULL)
    assert full["name"] == "Jamie Doyle" and full["aliases"] == ["JD"] and full["date_of_birth"] == "1990-04-12"
    described = partner_view(p, ShareLevel.DESCRIPTIONS)
    assert described["name"] is None and described["aliases"] == [] and described["date_of_birth"] is None
    assert described["description"] == p.description and described["image_evidence_ids"] == ["ev-1"]
    assert "Jamie" not in str(described)
    for level in (ShareLevel.COUNTS, ShareLevel.NONE):
        assert partner_view(p, level) == {"organisation_id": "northwind", "incident_count": 2}


@pytest.mark.parametrize("name,key", [("Jamie Doyle", "doyle jamie"), (None, ""), ("O'Neill, Siobhán", "oneill siobhan")])
def test_stored_profile_carries_its_folded_name_and_reads_back(name, key):
    doc = profile(name=name).model_dump(mode="json")
    assert doc["name_key"] == key
    assert PersonOfInterest.model_validate(doc) == profile(name=name)
