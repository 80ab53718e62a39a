"""Helpers for referral tests: a second national unit, and series referred through the API."""

from __future__ import annotations

from shared.domain.tenancy import Organisation, OrgKind
from shared.services.seed import SEED_OPERATOR

PREFIX = "/api/v1"
# Another national unit, so "another organisation of the same kind" exists for the unit's roles.
OTHER_UNIT = "merlin"


def onboard_other_unit(stamp) -> str:
    """Onboard `merlin`, a second national unit, through onboarding (once); returns its id."""
    if stamp.container.directory.organisation(OTHER_UNIT) is None:
        stamp.container.onboarding.organisations.put(
            SEED_OPERATOR,
            Organisation(
                id=OTHER_UNIT,
                name="Merlin, a regional organised crime unit",
                kind=OrgKind.NATIONAL_UNIT,
                home_region="uk",
                idp_tenant_id="6f1c1a52-0b1e-4c7e-9a0e-2f5d7c1b0a42",
                reference_prefix="MRL",
            ),
            None,
        )
    return OTHER_UNIT


GRADED = {"source_evaluation": "1", "intelligence_assessment": "B", "handling_code": "P"}
INV = ("northwind", "Retailer.Investigator")
DC, AS = "devon-and-cornwall", "avon-and-somerset"


def referable_incident(stamp, crime_reference: str = "DC/2026/118734", *, acknowledged_by: str = DC, **overrides) -> dict:
    """A northwind report (at nw-plymouth unless `store_id` says otherwise), dispatched to
    the store's force and acknowledged there (`acknowledged_by`) with `crime_reference`:
    what a referral needs of each incident."""
    from tests.d2p.helpers import drain, eligible_report

    if stamp.backend == "azure" and "evidence_blobs" not in stamp.container.__dict__:
        # The records are what runs on Cosmos DB here; evidence bytes stay in local files
        # (the blob adapter has its own tests against Azurite).
        from shared.adapters.local.file_evidence import FileEvidenceStore

        stamp.container.__dict__["evidence_blobs"] = FileEvidenceStore(stamp.data_dir / "evidence", clock=stamp.clock)
    incident = eligible_report(stamp, **overrides)
    r = stamp.client.post(f"{PREFIX}/incidents/{incident['id']}/d2p", headers=stamp.auth(*INV))
    assert r.status_code < 300, r.text
    dispatch = r.json()
    drain(stamp)
    ack = stamp.client.post(
        f"{PREFIX}/d2p/{dispatch['id']}/acknowledge",
        json={"crime_reference": crime_reference},
        headers=stamp.auth(acknowledged_by, "Police.Officer"),
    )
    assert ack.status_code == 200, ack.text
    return incident


def list_person(
    stamp, org: str, offender_id: str, *, name: str = "Jamie Doyle", date_of_birth: str | None = "1990-04-12", **fields
) -> None:
    """Test set-up: a listed person-of-interest profile written straight to the records
    (listing through the API is the persons-of-interest capability's, tested there)."""
    from datetime import date, timedelta

    from shared.domain.offenders import PersonOfInterest
    from shared.records import OFFENDERS
    from shared.services.offenders.catalogue import to_document

    now = stamp.clock.now()
    profile = PersonOfInterest(
        id=offender_id,
        organisation_id=org,
        name=name,
        aliases=["JD"],
        date_of_birth=date.fromisoformat(date_of_birth) if date_of_birth else None,
        description="Slim, short ginger hair, grey hooded top.",
        listing_reason="Repeat theft at two stores",
        listed_by="inv-1",
        listed_at=now,
        review_at=now + timedelta(days=90),
        expires_at=now + timedelta(days=365),
        **fields,
    )
    with stamp.container.records.unit_of_work() as uow:
        uow.insert(OFFENDERS.name, org, to_document(profile))


def series(incident: dict, **overrides) -> dict:
    """A referral to opal of `incident` (devon-and-cornwall's area) and avon-and-somerset's
    crime reference for the same series, every item graded."""
    body = {
        "unit_id": "opal",
        "title": "Razor-blade thefts across Devon, Cornwall, Avon and Somerset",
        "summary": "The same man at stores in two forces' areas over three weeks.",
        "incidents": [{"incident_id": incident["id"], "grading": dict(GRADED)}],
        "other_forces": [{"force_id": AS, "crime_reference": "AS/2026/5531", "grading": dict(GRADED)}],
    }
    body.update(overrides)
    return body


def refer(stamp, body: dict, who: tuple[str, str] = INV) -> dict:
    r = stamp.client.post(f"{PREFIX}/referrals", json=body, headers=stamp.auth(*who))
    assert r.status_code == 201, r.text
    return r.json()
