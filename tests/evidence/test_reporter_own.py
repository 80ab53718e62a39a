"""Store staff add evidence to the reports they filed, never to a colleague's or an
investigator's: those they can read answer 403, those outside their stores 404."""

from __future__ import annotations

from tests.evidence.conftest import MP4

RR = "Retailer.Reporter"


def _staff(stamp, user, stores=("nw-plymouth",)):
    return stamp.auth("northwind", RR, user=user, stores=list(stores))


def _report(stamp, auth) -> str:
    r = stamp.client.post("/api/v1/incidents", json=stamp.example("IncidentIn"), headers=auth)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _add(stamp, incident_id, auth):
    h = {**auth, "Content-Type": "video/mp4", "X-Filename": "cam.mp4"}
    return stamp.client.post(f"/api/v1/incidents/{incident_id}/evidence", content=MP4, headers=h)


def _session(stamp, incident_id, auth):
    body = {"filename": "cam.mp4", "content_type": "video/mp4", "size": len(MP4)}
    return stamp.client.post(f"/api/v1/incidents/{incident_id}/evidence/uploads", json=body, headers=auth)


def test_reporter_adds_evidence_to_own_report_only(ev):
    alice, bob = _staff(ev, "till-alice"), _staff(ev, "till-bob")
    mine = _report(ev, alice)
    assert _add(ev, mine, alice).status_code == 201
    assert _session(ev, mine, alice).status_code == 201
    # A colleague at the same store can read the report but not add to it.
    assert ev.client.get(f"/api/v1/incidents/{mine}", headers=bob).status_code == 200
    for r in (_add(ev, mine, bob), _session(ev, mine, bob)):
        assert r.status_code == 403, r.text
    # Nor to one an investigator filed.
    theirs = _report(ev, ev.auth("northwind", "Retailer.Investigator"))
    assert _add(ev, theirs, alice).status_code == 403
    # Staff of another store do not see the report at all.
    elsewhere = _staff(ev, "till-carol", stores=("nw-exeter",))
    assert _add(ev, mine, elsewhere).status_code == 404
    assert _session(ev, mine, elsewhere).status_code == 404
    items = ev.client.get(f"/api/v1/incidents/{mine}/evidence", headers=alice).json()["items"]
    assert len(items) == 1
