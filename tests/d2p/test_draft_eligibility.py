"""A report not yet made, against its force's rules (the report form's live reasons), and
the D2P state of a listing's reports, on both backends."""

from __future__ import annotations

import pytest

from shared.domain.errors import Forbidden, Invalid
from shared.domain.tenancy import OrgKind, Principal, Role
from tests.d2p.helpers import report
from tests.fixtures_http import both_backends


def _reporter(*stores: str) -> Principal:
    return Principal(
        user_id="nw-reporter",
        organisation_id="northwind",
        organisation_kind=OrgKind.RETAILER,
        roles=frozenset({Role.RETAILER_REPORTER}),
        stores=frozenset(stores),
    )


def _draft(**changes):
    draft = {
        "store_id": "nw-plymouth",
        "category": "shop_theft",
        "flags": {},
        "goods": [{"quantity": 2, "unit_value": {"amount_minor": 1250, "currency": "GBP"}}],
        "witnesses": [{"is_reporter": True, "statement": "I saw it."}],
        "prosecution_supported": True,
    }
    draft.update(changes)
    return draft


@both_backends
def test_a_draft_is_evaluated_with_its_forces_rules_and_nothing_is_stored(stamp):
    eligibility = stamp.container.d2p.eligibility
    ev = eligibility.preview(_reporter("nw-plymouth"), _draft())
    assert ev.force_id == "devon-and-cornwall" and not ev.eligible
    assert set(ev.failed_rules) == {"seriousness", "cctv", "suspect_image"}
    assert "Attach CCTV covering the whole incident." in ev.reasons
    detained = eligibility.preview(_reporter("nw-plymouth"), _draft(flags={"offender_detained": True}))
    assert set(detained.failed_rules) == {"cctv", "suspect_image"}
    with stamp.container.records.read_only() as uow:
        assert uow.query("d2p_evaluations", ["northwind"], [], limit=10).items == []


@both_backends
def test_a_draft_for_a_store_not_the_reporters_is_refused(stamp):
    eligibility = stamp.container.d2p.eligibility
    with pytest.raises(Forbidden):
        eligibility.preview(_reporter("nw-exeter"), _draft())
    with pytest.raises(Invalid):
        eligibility.preview(_reporter("nw-plymouth"), _draft(store_id="ct-bristol"))


@both_backends
def test_states_give_each_own_report_its_reasons_and_no_other_organisations(stamp):
    # Evidence and dispatch are shown with the report's page tests (tests/console/test_store_pages.py).
    valued = report(stamp, store_id="nw-plymouth")
    plain = report(stamp, store_id="nw-plymouth", flags={}, goods=[])
    investigator = Principal(
        user_id="nw-inv", organisation_id="northwind", organisation_kind=OrgKind.RETAILER, roles=frozenset({Role.RETAILER_INVESTIGATOR})
    )
    states = stamp.container.d2p.eligibility.states(investigator, [valued, plain, {"id": "x", "organisation_id": "contoso"}])
    assert set(states) == {valued["id"], plain["id"]}
    assert states[valued["id"]].reasons == [
        "Attach CCTV covering the whole incident.",
        "Attach a clear image of the suspect (a still from the CCTV will do).",
    ]
    assert states[plain["id"]].eligible is False and states[plain["id"]].status is None
    assert any("below the force's minimum" in r for r in states[plain["id"]].reasons)
    with pytest.raises(Forbidden):
        stamp.container.d2p.eligibility.states(
            Principal(
                user_id="o",
                organisation_id="devon-and-cornwall",
                organisation_kind=OrgKind.POLICE_FORCE,
                roles=frozenset({Role.POLICE_OFFICER}),
            ),
            [valued],
        )
