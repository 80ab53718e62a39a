"""Person-of-interest images on both record stores: a suspect image of an incident naming
an offender goes 24 months after that offender's last linked incident, while the incident
stays; a later incident pushes the date; holds and police cases keep it; a crash mid-sweep
is finished by the next run, nothing twice; tombstones carry nothing personal."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from shared.domain.evidence import EvidenceKind
from shared.records import AUDIT, CUSTODY, DISPATCHES, EVIDENCE, INCIDENTS, RETENTION_INDEX, TOMBSTONES
from tests.retention.helpers import INVESTIGATOR, OCCURRED, SIX_YEARS_LATER, container_on, report

pytestmark = pytest.mark.xdist_group("retention-cosmos")

POI_DUE = OCCURRED.replace(year=OCCURRED.year + 2)  # 24 calendar months after OCCURRED
JPEG = b"\xff\xd8\xff\xe0 a still of the suspect at the door"


@pytest.fixture
def c(record_store, tmp_path):
    yield container_on(record_store, tmp_path)


def _get(c, collection, tenant, id_):
    with c.records.unit_of_work() as uow:
        return uow.get(collection, tenant, id_)


def _count(c, collection, tenant, where=()):
    with c.records.unit_of_work() as uow:
        return uow.count(collection, [tenant], where)


def _audit_ops(c, operation):
    with c.records.unit_of_work() as uow:
        return [e for e in uow.query(AUDIT.name, ["northwind"], limit=500).items if e["operation"] == operation]


def upload(c, incident_id: str, kind: EvidenceKind = EvidenceKind.SUSPECT_IMAGE, filename: str = "jamie-doyle-at-the-door.jpg") -> dict:
    return c.evidence.intake.upload(
        INVESTIGATOR,
        incident_id,
        [JPEG],
        content_type="image/jpeg",
        filename=filename,
        kind=kind,
        content_digest=None,
        content_length=None,
    ).model_dump(mode="json")


def sweep(c, as_of: datetime):
    """The timer at `as_of`, with the clock there too (immutability is judged by the clock)."""
    c.clock.current = as_of
    return c.retention.sweep.run(as_of)


def offender_of(c, incident_id: str) -> str:
    return _get(c, INCIDENTS.name, "northwind", incident_id)["offender_ids"][0]


def custody_events(c, evidence_id: str) -> list[str]:
    with c.records.unit_of_work() as uow:
        return [
            e["event"]
            for e in uow.query(CUSTODY.name, ["northwind"], [], order_by="seq", limit=100).items
            if e["evidence_id"] == evidence_id
        ]


def test_image_goes_exactly_at_the_due_moment_and_the_incident_stays(c):
    incident = report(c)
    image = upload(c, incident)
    photo = upload(c, incident, kind=EvidenceKind.PHOTO, filename="shelf.jpg")
    # Immutable no longer than the image can be due: 24 months after the incident.
    assert image["retention_until"].startswith(POI_DUE.isoformat()[:19])
    assert photo["retention_until"].startswith(SIX_YEARS_LATER.isoformat()[:19])
    assert sweep(c, POI_DUE - timedelta(days=1)).counts["poi_images_deleted"] == 0
    assert sweep(c, POI_DUE - timedelta(microseconds=1)).counts["poi_images_deleted"] == 0
    assert _get(c, EVIDENCE.name, "northwind", image["id"]) is not None
    at = sweep(c, POI_DUE)
    assert at.counts["poi_images_deleted"] == 1 and at.counts["incidents_deleted"] == 0
    assert _get(c, EVIDENCE.name, "northwind", image["id"]) is None
    assert c.evidence_blobs.size(image["id"]) is None
    assert _get(c, EVIDENCE.name, "northwind", photo["id"]) is not None  # not a person-of-interest image
    assert _get(c, INCIDENTS.name, "northwind", incident) is not None
    tomb = _get(c, TOMBSTONES.name, "northwind", f"poi_image:{image['id']}")
    assert tomb["type"] == "poi_image" and tomb["cause"] == "schedule" and tomb["entity_id"] == image["id"]
    assert tomb["rule"].startswith("poi_image: 24 months after the last linked incident") and tomb["schedule_version"] == "uk:0/northwind:0"
    assert custody_events(c, image["id"])[-1] == "deleted"
    erasures = _audit_ops(c, "retention.poi_image")
    assert [(e["action"], e["actor_user"], e["entity"], e["subjects"]) for e in erasures] == [
        ("erasure", "retention-timer", f"evidence/{image['id']}", [incident])
    ]
    stats = c.retention.statistics.rows("northwind", "2026-11", "2026-11")
    assert [(r["kept"], r["deleted"], r["poi_images_deleted"]) for r in stats] == [(1, 0, 1)]
    # Nothing more to do, and the offender's entry left the index.
    assert sweep(c, POI_DUE + timedelta(days=30)).counts["poi_images_deleted"] == 0
    assert _get(c, RETENTION_INDEX.name, "northwind", f"poi_image:{offender_of(c, incident)}") is None
    # When the incident goes, the erased image's custody goes with it.
    assert sweep(c, SIX_YEARS_LATER).counts["incidents_deleted"] == 1
    assert custody_events(c, image["id"]) == [] and _count(c, CUSTODY.name, "northwind") == 0


def test_a_later_incident_naming_the_offender_pushes_the_date(c):
    first = report(c)
    image = upload(c, first)
    offender = offender_of(c, first)
    later = OCCURRED.replace(year=2027, month=8)
    c.clock.current = later + timedelta(days=2)
    second = report(c, occurred_at=later.isoformat(), persons=[{"role": "suspect", "name": "Jamie Doyle", "offender_id": offender}])
    second_image = upload(c, second)
    entry = _get(c, RETENTION_INDEX.name, "northwind", f"poi_image:{offender}")
    assert entry["basis_at"].startswith(later.isoformat()[:19]) and entry["last_incident_id"] == second
    assert sweep(c, POI_DUE + timedelta(days=1)).counts["poi_images_deleted"] == 0
    assert _get(c, EVIDENCE.name, "northwind", image["id"]) is not None
    second_due = later.replace(year=2029)
    assert sweep(c, second_due - timedelta(days=1)).counts["poi_images_deleted"] == 0
    assert sweep(c, second_due).counts["poi_images_deleted"] == 2
    assert _get(c, EVIDENCE.name, "northwind", image["id"]) is None and _get(c, EVIDENCE.name, "northwind", second_image["id"]) is None
    assert _get(c, INCIDENTS.name, "northwind", first) is not None and _get(c, INCIDENTS.name, "northwind", second) is not None


def test_an_image_added_later_to_an_old_incident_is_found_again(c):
    incident = report(c)
    upload(c, incident)
    assert sweep(c, POI_DUE).counts["poi_images_deleted"] == 1
    c.clock.current = POI_DUE + timedelta(days=10)
    late = upload(c, incident)  # already past the POI period of its offender
    assert sweep(c, POI_DUE + timedelta(days=11)).counts["poi_images_deleted"] == 1
    assert _get(c, EVIDENCE.name, "northwind", late["id"]) is None


def test_hold_keeps_the_image_and_release_resumes(c):
    incident = report(c)
    image = upload(c, incident)
    c.retention.holds.place(INVESTIGATOR, incident, "Crown Court trial listed for March 2029")
    held = sweep(c, POI_DUE + timedelta(days=5))
    assert held.counts["poi_images_deleted"] == 0 and held.counts["poi_images_kept_held"] == 1
    assert _get(c, EVIDENCE.name, "northwind", image["id"]) is not None
    # The entry waits outside the sweep while held: later runs do not look at it again.
    assert _get(c, RETENTION_INDEX.name, "northwind", f"poi_image:{offender_of(c, incident)}")["lane"] == "poi_held"
    assert sweep(c, POI_DUE + timedelta(days=6)).counts["poi_images_kept_held"] == 0
    c.retention.holds.release(INVESTIGATOR, incident, "Trial concluded; no appeal lodged")
    assert sweep(c, POI_DUE + timedelta(days=7)).counts["poi_images_deleted"] == 1
    assert _get(c, EVIDENCE.name, "northwind", image["id"]) is None
    assert custody_events(c, image["id"])[-3:] == ["held", "released", "deleted"]


def test_police_case_keeps_the_image_with_the_incident(c):
    incident = report(c)
    image = upload(c, incident)
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
    kept = sweep(c, POI_DUE + timedelta(days=1))
    assert kept.counts["poi_images_deleted"] == 0 and kept.counts["poi_images_kept_police_case"] == 1
    assert _get(c, EVIDENCE.name, "northwind", image["id"]) is not None
    assert sweep(c, SIX_YEARS_LATER).counts["incidents_deleted"] == 0  # a police case: ten years
    ten_years = OCCURRED.replace(year=2036)
    assert sweep(c, ten_years).counts["incidents_deleted"] == 1
    assert _get(c, EVIDENCE.name, "northwind", image["id"]) is None
    assert _get(c, TOMBSTONES.name, "northwind", f"poi_image:{image['id']}") is None  # it went with its incident


def test_images_of_an_incident_naming_no_offender_go_with_the_incident(c):
    incident = report(c, persons=[])
    image = upload(c, incident)
    assert sweep(c, POI_DUE + timedelta(days=1)).counts["poi_images_deleted"] == 0
    assert _get(c, EVIDENCE.name, "northwind", image["id"]) is not None
    assert sweep(c, SIX_YEARS_LATER).counts["incidents_deleted"] == 1
    assert _get(c, EVIDENCE.name, "northwind", image["id"]) is None


def test_crash_in_the_middle_then_rerun_erases_the_rest_once(c):
    c.retention.deps.batch = 2
    incident = report(c)
    offender = offender_of(c, incident)
    other = report(
        c,
        occurred_at=(OCCURRED - timedelta(days=3)).isoformat(),
        persons=[{"role": "suspect", "name": "Jamie Doyle", "offender_id": offender}],
    )
    third = report(c, occurred_at=(OCCURRED - timedelta(days=1)).isoformat(), persons=[{"role": "accomplice", "name": "Chris Vale"}])
    images = [upload(c, incident)["id"], upload(c, incident)["id"], upload(c, other)["id"], upload(c, other)["id"], upload(c, third)["id"]]
    real = c.evidence.erasure.erase_item
    calls = {"n": 0}

    def crashing_erase(uow, org, item, rule, *, custody_event=True):
        calls["n"] += 1
        real(uow, org, item, rule, custody_event=custody_event)  # the bytes go before the power cut
        if calls["n"] == 4:
            raise RuntimeError("power cut in the middle of a batch")

    c.evidence.erasure.erase_item = crashing_erase
    with pytest.raises(RuntimeError):
        sweep(c, POI_DUE)
    del c.evidence.erasure.erase_item
    left = [i for i in images if _get(c, EVIDENCE.name, "northwind", i) is not None]
    assert 0 < len(left) < 5
    rerun = sweep(c, POI_DUE)
    assert rerun.counts["poi_images_deleted"] == len(left)
    assert all(_get(c, EVIDENCE.name, "northwind", i) is None for i in images)
    assert _count(c, TOMBSTONES.name, "northwind") == 5
    assert sorted(e["entity"] for e in _audit_ops(c, "retention.poi_image")) == sorted(f"evidence/{i}" for i in images)
    assert all(custody_events(c, i).count("deleted") == 1 for i in images)
    stats = c.retention.statistics.rows("northwind", "2026-11", "2026-11")
    assert sum(r["poi_images_deleted"] for r in stats) == 5 and sum(r["kept"] for r in stats) == 3


def test_tombstones_carry_no_personal_data(c):
    incident = report(c, witnesses=[{"name": "Alex Witness", "statement": "Saw it all", "contact": "07700 900123"}])
    image = upload(c, incident)
    sweep(c, POI_DUE)
    tomb = _get(c, TOMBSTONES.name, "northwind", f"poi_image:{image['id']}")
    text = repr(tomb)
    for personal in (
        "Jamie",
        "Doyle",
        "jamie-doyle",
        "1990-04-12",
        "whisky",
        "Alex Witness",
        "07700",
        "Sam Taylor",
        image["sha256"],
        offender_of(c, incident),
    ):
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
