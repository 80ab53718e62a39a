"""Pure incident rules, no I/O: plates, minors, money, what partners see."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from shared.domain.incident_report import IncidentIn
from shared.domain.incidents import age_on, is_minor, total_value, view_for_partner
from shared.domain.plates import PlateError, normalise_plate
from shared.domain.tenancy import ShareLevel

# ---- plates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "WR21XKD",
        "wr21 xkd",
        "WR21-XKD",
        "wr21.xkd",
        "W R 2 1 X K D",
        " WR21 XKD\t",
        "WR21_XKD",
        "WR21/XKD",
        "WR21·XKD",
        "WR21\u00a0XKD",  # no-break space from a copied form
        "ＷＲ２１ ＸＫＤ",  # full-width, as some phone keyboards type
        "𝐖𝐑𝟐𝟏𝐗𝐊𝐃",  # mathematical bold, from styled text
        "WR21\u200bXKD",
        "\ufeffWR21 XKD",
        "WR\u00ad21\u2060XKD",  # invisible characters pasted from a web page or chat
    ],
)
def test_plate_variants_normalise_to_one_key(raw):
    assert normalise_plate(raw) == "WR21XKD"


@pytest.mark.parametrize(
    "raw,expected",
    [
        ("АВ12 СЕК", "AB12CEK"),  # Cyrillic А В С Е К
        ("ΑΒ12 ΕΚΜ", "AB12EKM"),  # Greek Α Β Ε Κ Μ
        ("Т0Р 1", "T0P1"),  # Cyrillic Т and Р next to digits
        ("ХН05 ОМУ", "XH05OMY"),
    ],
)
def test_unicode_look_alikes_match_the_latin_plate(raw, expected):
    assert normalise_plate(raw) == expected


@pytest.mark.parametrize("raw", ["", "   ", "--", "<script>", "AB12 CDE!", "ДЖ12", "A" * 11, "AB12😀CDE", "AB12\u200b!CDE"])
def test_non_plates_are_refused(raw):
    with pytest.raises(PlateError):
        normalise_plate(raw)


def test_raw_plate_is_kept_as_typed():
    body = IncidentIn.model_validate({**_incident(), "vehicles": [{"plate": " wr21 xkd "}]})
    assert body.vehicles[0].plate == "wr21 xkd"


# ---- minors --------------------------------------------------------------------------


def _on(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "dob,incident_day,minor",
    [
        ("2008-11-20", date(2026, 11, 19), True),  # the day before the 18th birthday
        ("2008-11-20", date(2026, 11, 20), False),  # on the 18th birthday: an adult that day
        ("2008-11-20", date(2026, 11, 21), False),
        ("2008-02-29", date(2026, 2, 28), True),  # leap-day birthday: 18 from 1 March in other years
        ("2008-02-29", date(2026, 3, 1), False),
        ("2011-03-04", date(2026, 11, 20), True),
        ("1980-01-01", date(2026, 11, 20), False),
    ],
)
def test_minor_by_date_of_birth_on_the_day_of_the_incident(dob, incident_day, minor):
    assert is_minor({"date_of_birth": dob}, _on(incident_day)) is minor


def test_stated_under_18_counts_without_a_date_of_birth():
    assert is_minor({"under_18": True}, _on(date(2026, 11, 20))) is True
    assert is_minor({}, _on(date(2026, 11, 20))) is False
    assert is_minor({"under_18": None, "date_of_birth": None}, _on(date(2026, 11, 20))) is False


def test_age_on():
    assert age_on(date(2000, 6, 15), date(2018, 6, 14)) == 17
    assert age_on(date(2000, 6, 15), date(2018, 6, 15)) == 18


# ---- money ---------------------------------------------------------------------------


def test_total_value_in_minor_units():
    goods = [
        {"description": "Whisky 70cl", "quantity": 6, "unit_value": {"amount_minor": 2899, "currency": "GBP"}},
        {"description": "Razor blades", "quantity": 3, "unit_value": {"amount_minor": 1250, "currency": "GBP"}},
        {"description": "Gift card", "unit_value": {"amount_minor": 5000, "currency": "GBP"}},
    ]
    assert total_value(goods) == {"amount_minor": 6 * 2899 + 3 * 1250 + 5000, "currency": "GBP"}
    assert total_value([]) is None


def test_totals_are_exact_for_large_amounts():
    goods = [{"description": "Pallet of phones", "quantity": 100_000, "unit_value": {"amount_minor": 10_000_000_000, "currency": "GBP"}}]
    assert total_value(goods)["amount_minor"] == 1_000_000_000_000_000


def test_goods_in_two_currencies_are_refused():
    goods = [
        {"description": "a", "unit_value": {"amount_minor": 1, "currency": "GBP"}},
        {"description": "b", "unit_value": {"amount_minor": 1, "currency": "EUR"}},
    ]
    with pytest.raises(ValidationError, match="one currency"):
        IncidentIn.model_validate({**_incident(), "goods": goods})


@pytest.mark.parametrize("amount", [12.5, -1, "12"])
def test_money_must_be_whole_non_negative_minor_units(amount):
    goods = [{"description": "a", "unit_value": {"amount_minor": amount, "currency": "GBP"}}]
    with pytest.raises(ValidationError):
        IncidentIn.model_validate({**_incident(), "goods": goods}, strict=True)


# ---- reports -------------------------------------------------------------------------


def _incident() -> dict:
    return {
        "store_id": "nw-plymouth",
        "category": "shop_theft",
        "occurred_at": "2026-11-20T14:32:00+00:00",
        "narrative": "Took two bottles.",
        "reporter": {"name": "Sam Taylor"},
    }


@pytest.mark.parametrize("field", ["ethnicity", "Religion", "sexual_orientation", "health", "political_views"])
def test_special_category_fields_are_never_accepted(field):
    with pytest.raises(ValidationError, match="special category"):
        IncidentIn.model_validate({**_incident(), field: "x"})
    with pytest.raises(ValidationError):
        IncidentIn.model_validate({**_incident(), "persons": [{"role": "suspect", field: "x"}]})


def test_occurred_at_needs_an_offset_and_keeps_it():
    with pytest.raises(ValidationError, match="offset"):
        IncidentIn.model_validate({**_incident(), "occurred_at": "2026-11-20T14:32:00"})
    body = IncidentIn.model_validate({**_incident(), "occurred_at": "2026-11-20T15:32:00+01:00"})
    assert body.occurred_at.utcoffset() == timedelta(hours=1)
    assert body.occurred_at.astimezone(UTC).hour == 14


# ---- what a partner sees ---------------------------------------------------------------


def _shared_incident() -> dict:
    return {
        "id": "i1",
        "persons": [
            {"role": "suspect", "name": "Jo Bloggs", "date_of_birth": "2011-03-04", "under_18": True},
            {"role": "accomplice", "name": "Alex Adult", "date_of_birth": "1990-01-01", "under_18": False},
        ],
        "witnesses": [{"name": "Sam Taylor", "contact": "07700 900123", "statement": "Saw it."}],
    }


def test_minor_never_reaches_a_partner_by_sharing():
    for level in ShareLevel:
        view = view_for_partner(_shared_incident(), level, dispatched_to_viewer=False)
        assert [p["role"] for p in view["persons"]] == ["accomplice"]
        assert view["persons_withheld"] == 1


def test_below_full_names_dates_and_contacts_are_withheld():
    view = view_for_partner(_shared_incident(), ShareLevel.DESCRIPTIONS, dispatched_to_viewer=False)
    assert view["persons"][0]["name"] is None and view["persons"][0]["date_of_birth"] is None
    assert view["witnesses"][0]["contact"] is None
    full = view_for_partner(_shared_incident(), ShareLevel.FULL, dispatched_to_viewer=False)
    assert full["persons"][0]["name"] == "Alex Adult" and full["witnesses"][0]["contact"] == "07700 900123"


def test_the_force_an_incident_was_dispatched_to_sees_the_minor():
    view = view_for_partner(_shared_incident(), ShareLevel.COUNTS, dispatched_to_viewer=True)
    assert [p["name"] for p in view["persons"]] == ["Jo Bloggs", "Alex Adult"]
    assert view["persons_withheld"] == 0


def test_the_owners_record_is_not_changed_by_a_view():
    incident = _shared_incident()
    view_for_partner(incident, ShareLevel.DESCRIPTIONS, dispatched_to_viewer=False)
    assert incident == _shared_incident()
