"""The retention sweep on both record stores: due dates at the boundary, holds, police
cases, crash and resume, tombstones without personal data, counts that survive deletion."""

from __future__ import annotations

from datetime import timedelta

import pytest

from shared.domain.errors import Conflict
from shared.domain.events import IncidentErased
from shared.domain.tenancy import OrgKind, Principal, Role
from shared.records import ACCESS_GRANTS, AUDIT, DISPATCHES, INCIDENT_VERSIONS, INCIDENTS, PERSON_INDEX, TOMBSTONES
from shared.services.handlers import HANDLERS
from tests.retention.helpers import INVESTIGATOR, OCCURRED, SIX_YEARS_LATER, container_on, incident_body, report

pytestmark = pytest.mark.xdist_group("retention-cosmos")


@pytest.fixture
def c(record_store, tmp_path):
    container = container_on(record_store, tmp_path)
    yield container


def _get(c, collection, tenant, id_):
    with c.records.unit_of_work() as uow:
        return uow.get(collection, tenant, id_)


def _count(c, collection, tenant, where=()):
    with c.records.unit_of_work() as uow:
        return uow.count(collection, [tenant], where)


def test_deleted_exactly_at_the_boundary_not_a_day_before(c):
    incident = report(c)
    before = c.retention.sweep.run(SIX_YEARS_LATER - timedelta(days=1))
    assert before.counts["incidents_deleted"] == 0
    assert _get(c, INCIDENTS.name, "northwind", incident) is not None
    just_before = c.retention.sweep.run(SIX_YEARS_LATER - timedelta(microseconds=1))
    assert just_before.counts["incidents_deleted"] == 0
    at = c.retention.sweep.run(SIX_YEARS_LATER)
    assert at.counts["incidents_deleted"] == 1
    assert _get(c, INCIDENTS.name, "northwind", incident) is None
    assert _count(c, INCIDENT_VERSIONS.name, "northwind") == 0
    assert _count(c, PERSON_INDEX.name, "northwind") == 0
    tomb = _get(c, TOMBSTONES.name, "northwind", f"incident:{incident}")
    assert tomb["entity_id"] == incident and tomb["type"] == "incident" and tomb["cause"] == "schedule"
    assert tomb["rule"].startswith("incident: 72 months") and tomb["schedule_version"] == "uk:0/northwind:0"
    # A second run finds nothing more to do.
    assert c.retention.sweep.run(SIX_YEARS_LATER + timedelta(days=400)).counts["incidents_deleted"] == 0


def test_tombstones_carry_no_personal_data(c):
    incident = report(c, witnesses=[{"name": "Alex Witness", "statement": "Saw it all", "contact": "07700 900123"}])
    c.retention.sweep.run(SIX_YEARS_LATER)
    tomb = _get(c, TOMBSTONES.name, "northwind", f"incident:{incident}")
    text = repr(tomb)
    for personal in ("Jamie", "Doyle", "1990-04-12", "whisky", "Alex Witness", "07700", "Sam Taylor"):
        assert personal not in text
    assert set(k for k in tomb if not k.startswith("_")) == {
        "id",
        "entity_id",
        "type",
        "deleted_at",
        "rule",
        "schedule_version",
        "cause",
        "request_id",
    }


def test_hold_stops_deletion_and_release_resumes_it(c):
    incident = report(c)
    held = c.retention.holds.place(INVESTIGATOR, incident, "Crown Court trial listed for March 2027")
    assert held.held is True
    assert c.retention.sweep.run(SIX_YEARS_LATER + timedelta(days=30)).counts["incidents_deleted"] == 0
    assert _get(c, INCIDENTS.name, "northwind", incident) is not None
    with c.records.unit_of_work() as uow, pytest.raises(Conflict):
        c.retention.deletion.delete_incident(uow, "northwind", incident, principal=INVESTIGATOR, cause="erasure")
    released = c.retention.holds.release(INVESTIGATOR, incident, "Trial concluded; no appeal lodged")
    assert released.held is False and released.holds[0]["status"] == "released"
    assert c.retention.sweep.run(SIX_YEARS_LATER + timedelta(days=30)).counts["incidents_deleted"] == 1
    with c.records.unit_of_work() as uow:
        ops = [e["operation"] for e in uow.query(AUDIT.name, ["northwind"], limit=100).items]
    assert {"legal_hold.place", "legal_hold.release", "retention.delete"} <= set(ops)


def test_officer_of_the_force_dispatched_to_may_hold(c):
    incident = report(c)
    officer = Principal(
        user_id="dc-1", organisation_id="devon-and-cornwall", organisation_kind=OrgKind.POLICE_FORCE, roles=frozenset({Role.POLICE_OFFICER})
    )
    with c.records.unit_of_work() as uow:
        uow.insert(
            ACCESS_GRANTS.name, "devon-and-cornwall", {"id": incident, "owner_org": "northwind", "incident_id": incident, "reason": "d2p"}
        )
    c.retention.holds.place(officer, incident, "Suspect charged; evidence needed for trial")
    assert c.retention.sweep.run(SIX_YEARS_LATER + timedelta(days=1)).counts["incidents_deleted"] == 0
    # The retailer cannot release the force's hold: it has none of its own.
    from shared.domain.errors import NotFound

    with pytest.raises(NotFound):
        c.retention.holds.release(INVESTIGATOR, incident, "We would like it gone")
    c.retention.holds.release(officer, incident, "Case closed at court, no appeal")
    assert c.retention.sweep.run(SIX_YEARS_LATER + timedelta(days=1)).counts["incidents_deleted"] == 1
    assert _get(c, ACCESS_GRANTS.name, "devon-and-cornwall", incident) is None


def test_police_case_keeps_the_incident_for_the_longer_period(c):
    incident = report(c)
    with c.records.unit_of_work() as uow:
        uow.insert(
            DISPATCHES.name,
            "northwind",
            {
                "id": "d-1",
                "incident_id": incident,
                "force_id": "devon-and-cornwall",
                "status": "acknowledged",
                "crime_reference": "DC/12345/26",
                "acknowledged_at": "2026-11-21T09:00:00.000000+00:00",
            },
        )
    first = c.retention.sweep.run(SIX_YEARS_LATER)
    assert first.counts["incidents_deleted"] == 0 and first.counts["moved_to_police_case"] == 1
    assert c.retention.sweep.run(SIX_YEARS_LATER + timedelta(days=365 * 3)).counts["incidents_deleted"] == 0
    ten_years = OCCURRED.replace(year=2036)
    assert c.retention.sweep.run(ten_years).counts["incidents_deleted"] == 1


def test_crash_in_the_middle_then_rerun_deletes_the_rest_once(c):
    c.retention.deps.batch = 3
    ids = [report(c, occurred_at=(OCCURRED - timedelta(hours=i)).isoformat()) for i in range(7)]
    calls = {"n": 0}

    def crashing_eraser(event, uow, services):
        calls["n"] += 1
        if calls["n"] == 5:
            raise RuntimeError("power cut in the middle of a batch")
        return 0

    # One more consequence of an erasure, which fails on the fifth incident.
    c.bus.handlers = {**HANDLERS, IncidentErased: [*HANDLERS[IncidentErased], crashing_eraser]}
    with pytest.raises(RuntimeError):
        c.retention.sweep.run(SIX_YEARS_LATER)
    c.bus.handlers = HANDLERS
    remaining = sum(_get(c, INCIDENTS.name, "northwind", i) is not None for i in ids)
    assert 0 < remaining < 7
    rerun = c.retention.sweep.run(SIX_YEARS_LATER)
    assert rerun.counts["incidents_deleted"] == remaining
    assert all(_get(c, INCIDENTS.name, "northwind", i) is None for i in ids)
    assert _count(c, TOMBSTONES.name, "northwind") == 7
    stats = c.retention.statistics.rows("northwind", "2026-11", "2026-11")
    assert [(r["deleted"], r["kept"]) for r in stats] == [(7, 0)]
    with c.records.unit_of_work() as uow:
        erasures = [e for e in uow.query(AUDIT.name, ["northwind"], limit=200).items if e["operation"] == "retention.delete"]
    assert sorted(e["entity"] for e in erasures) == sorted(f"incident/{i}" for i in ids)


def test_statistics_unchanged_by_deletion(c):
    report(c)
    report(c, store_id="nw-exeter", category="robbery")
    report(c, occurred_at=(OCCURRED + timedelta(days=1)).isoformat())
    before = c.retention.statistics.rows("northwind", "2026-01", "2026-12")
    c.retention.sweep.run(SIX_YEARS_LATER)  # deletes the first two, the third is a day younger
    after = c.retention.statistics.rows("northwind", "2026-01", "2026-12")
    assert [(r["store_id"], r["category"], r["total"]) for r in before] == [(r["store_id"], r["category"], r["total"]) for r in after]
    assert sum(r["deleted"] for r in after) == 2 and sum(r["kept"] for r in after) == 1


def test_shorter_organisation_period_applies_at_the_next_sweep(c):
    from shared.domain.retention import OrganisationScheduleIn

    incident = report(c)
    admin = Principal(
        user_id="nw-admin", organisation_id="northwind", organisation_kind=OrgKind.RETAILER, roles=frozenset({Role.RETAILER_ADMIN})
    )
    c.retention.schedules.set_organisation(
        admin,
        OrganisationScheduleIn(overrides={"incident": 36}, reason="Board decision: three years"),
        c.retention.schedules.organisation(admin).etag,
    )
    three_years = OCCURRED.replace(year=2029)
    assert c.retention.sweep.run(three_years - timedelta(seconds=1)).counts["incidents_deleted"] == 0
    assert c.retention.sweep.run(three_years).counts["incidents_deleted"] == 1
    assert _get(c, TOMBSTONES.name, "northwind", f"incident:{incident}")["schedule_version"] == "uk:0/northwind:1"


def test_an_erased_incident_is_not_answered_or_recorded_again_by_a_retry_of_its_report(c):
    from shared.domain.errors import Gone
    from shared.domain.subject_requests import IdentityCheckIn, SubjectRequestIn, TaskAnswerIn
    from shared.records import IDEMPOTENCY
    from tests.retention.helpers import incident_body

    c.clock.current = OCCURRED + timedelta(days=3)  # the request is received after the report
    body = incident_body()
    first = c.incidents.report.submit(INVESTIGATOR, body, "till-7-erase-1").incident
    assert c.incidents.report.submit(INVESTIGATOR, body, "till-7-erase-1").incident.id == first.id
    operator = Principal(
        user_id="ops", organisation_id="vigil-platform", organisation_kind=OrgKind.PLATFORM, roles=frozenset({Role.PLATFORM_OPERATOR})
    )
    admin = Principal(
        user_id="nw-admin", organisation_id="northwind", organisation_kind=OrgKind.RETAILER, roles=frozenset({Role.RETAILER_ADMIN})
    )
    person = {k: v for k, v in SubjectRequestIn.model_json_schema()["examples"][0].items() if k in ("name", "date_of_birth")}
    check = c.subject_requests.identity.record(admin, IdentityCheckIn(**person, method="photo_id_in_person"))
    request = c.subject_requests.requests.file(
        operator, SubjectRequestIn(kind="erasure", **person, identity_check={"organisation_id": "northwind", "id": check.id})
    )
    c.subject_requests.tasks.answer(admin, request.id, TaskAnswerIn(decision="erase"))
    assert _get(c, INCIDENTS.name, "northwind", first.id) is None
    with pytest.raises(Gone):
        c.incidents.report.submit(INVESTIGATOR, body, "till-7-erase-1")
    assert _count(c, INCIDENTS.name, "northwind") == 0
    (key,) = [k for k in _all(c, IDEMPOTENCY.name, "northwind")]
    assert key["erased"] is True and "fingerprint" not in key and "Jamie Doyle" not in str(key)


def _all(c, collection, tenant):
    with c.records.unit_of_work() as uow:
        return uow.query(collection, [tenant]).items


def _choose(c, org: str, overrides: dict[str, int]) -> None:
    from shared.domain.retention import OrganisationScheduleIn

    admin = Principal(
        user_id=f"{org}-admin", organisation_id=org, organisation_kind=OrgKind.RETAILER, roles=frozenset({Role.RETAILER_ADMIN})
    )
    c.retention.schedules.set_organisation(
        admin, OrganisationScheduleIn(overrides=overrides, reason="Board decision"), c.retention.schedules.organisation(admin).etag
    )


def test_each_organisations_own_schedule_decides_what_is_swept(c):
    """One query asks every organisation at once; each is still judged by its own period."""
    contoso = Principal(
        user_id="ct-inv", organisation_id="contoso", organisation_kind=OrgKind.RETAILER, roles=frozenset({Role.RETAILER_INVESTIGATOR})
    )
    ours = report(c)
    c.clock.current = OCCURRED
    theirs = c.incidents.report.submit(contoso, incident_body(store_id="ct-bristol"), None).incident.id
    _choose(c, "northwind", {"incident": 36})
    three_years = OCCURRED.replace(year=2029)
    swept = c.retention.sweep.run(three_years)
    assert swept.counts["incidents_deleted"] == 1
    assert _get(c, INCIDENTS.name, "northwind", ours) is None and _get(c, INCIDENTS.name, "contoso", theirs) is not None
    assert _get(c, TOMBSTONES.name, "northwind", f"incident:{ours}")["schedule_version"] == "uk:0/northwind:1"
    # Contoso chooses four years: its incident waits for its own period, not northwind's.
    _choose(c, "contoso", {"incident": 48})
    assert c.retention.sweep.run(three_years.replace(year=2030) - timedelta(seconds=1)).counts["incidents_deleted"] == 0
    assert c.retention.sweep.run(three_years.replace(year=2030)).counts["incidents_deleted"] == 1
    tomb = _get(c, TOMBSTONES.name, "contoso", f"incident:{theirs}")
    assert tomb["schedule_version"] == "uk:0/contoso:1" and tomb["rule"].startswith("incident: 48 months")


@pytest.mark.azure
def test_a_sweep_with_nothing_due_makes_at_most_one_cosmos_query_per_lane(cosmos_emulator, tmp_path, monkeypatch):
    """Counted at the HTTP transport, as bench/request_counts.py counts: the schedules'
    read and each lane's query across organisations, even with an organisation on a
    period of its own, and nothing else."""
    from azure.core.pipeline.transport import RequestsTransport

    from tests.fixtures_backends import drop_cosmos_store, make_cosmos_store

    store = make_cosmos_store(cosmos_emulator)
    try:
        c = container_on(store, tmp_path)
        report(c)  # records that are not due yet
        _choose(c, "northwind", {"incident": 36})
        sent: list[tuple[str, str]] = []
        real_send = RequestsTransport.send

        def counting_send(transport, request, **kwargs):
            headers = {k.lower(): v for k, v in request.headers.items()}
            kind = "query" if headers.get("x-ms-documentdb-isquery", "").lower() == "true" else request.method
            sent.append((kind, request.url))
            return real_send(transport, request, **kwargs)

        monkeypatch.setattr(RequestsTransport, "send", counting_send)
        result = c.retention.sweep.run(OCCURRED + timedelta(days=30))
        monkeypatch.setattr(RequestsTransport, "send", real_send)
        assert not any(result.counts.values())
        lanes = len(c.retention.sweep.lanes)
        assert len(sent) <= lanes, sent
        assert {kind for kind, _ in sent} == {"query"}
    finally:
        drop_cosmos_store(store)


def test_the_query_across_organisations_sweeps_only_those_homed_here_and_their_kind(c):
    """Records found in the partition of an organisation homed elsewhere, or of a force in
    a retailers' lane, are not this sweep's: as when each organisation was asked alone."""
    from shared.records import ANPR_HITS, LOOKOUTS

    old = "2020-01-01T00:00:00.000000+00:00"
    with c.records.unit_of_work() as uow:
        uow.insert(LOOKOUTS.name, "koala-mart", {"id": "lk-au", "retention_basis": old})
        uow.insert(ANPR_HITS.name, "devon-and-cornwall", {"id": "hit-force", "linked": False, "captured_at": old})
        uow.insert(LOOKOUTS.name, "devon-and-cornwall", {"id": "lk-force", "retention_basis": old})
    swept = c.retention.sweep.run(c.clock.now())
    assert swept.counts["lookouts_deleted"] == 1 and swept.counts["unlinked_hits_deleted"] == 0
    assert _get(c, LOOKOUTS.name, "koala-mart", "lk-au") is not None
    assert _get(c, ANPR_HITS.name, "devon-and-cornwall", "hit-force") is not None
    assert _get(c, LOOKOUTS.name, "devon-and-cornwall", "lk-force") is None
