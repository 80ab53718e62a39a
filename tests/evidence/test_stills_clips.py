"""Stills and clips cut from CCTV: new items derived from the untouched original, a still
meeting D2P's suspect-image rule, clips of the asked length, bad times refused with
problem details and nothing written."""

from __future__ import annotations

import io

import av
import pytest

from shared.domain.image_headers import image_dimensions
from tests.d2p.helpers import report
from tests.evidence.conftest import INVESTIGATOR, headers, new_incident
from tests.evidence.test_video import assert_fast_start, content, custody, get, run_video_jobs, upload_video
from tests.evidence.video_files import make_video
from tests.fixtures_http import both_backends


def items(stamp, incident_id) -> list[dict]:
    r = stamp.client.get(f"/api/v1/incidents/{incident_id}/evidence", headers=headers(stamp, INVESTIGATOR))
    assert r.status_code == 200, r.text
    return r.json()["items"]


def post(stamp, evidence_id, what, body, **extra):
    return stamp.client.post(f"/api/v1/evidence/{evidence_id}/{what}", json=body, headers=headers(stamp, INVESTIGATOR, **extra))


def test_a_still_is_a_full_size_jpeg_derived_from_the_cctv(ev):
    incident = new_incident(ev)
    original = make_video(seconds=2.0)
    video = upload_video(ev, incident, original)
    r = post(ev, video["id"], "stills", {"at_seconds": 1.0, "reason": "Clearest view of the suspect"})
    assert r.status_code == 201, r.text
    still = r.json()
    assert r.headers["Location"] == f"/api/v1/evidence/{still['id']}"
    assert (still["kind"], still["media"], still["content_type"]) == ("suspect_image", "image", "image/jpeg")
    assert still["derived_from"] == video["id"]
    assert still["derivation"]["operation"] == "still" and still["derivation"]["parameters"]["at_seconds"] == 1.0
    assert image_dimensions(content(ev, still["id"])) == (320, 240)
    derived = [e for e in custody(ev, video["id"]) if e["event"] == "derived"]
    assert [e["details"]["derived_id"] for e in derived] == [still["id"]]
    assert derived[0]["details"]["reason"] == "Clearest view of the suspect"
    assert content(ev, video["id"]) == original


@both_backends
def test_a_still_from_the_cctv_meets_the_d2p_suspect_image_rule(cosmos_too):
    incident = report(cosmos_too)
    video = upload_video(cosmos_too, incident["id"], make_video(seconds=1.0), who=INVESTIGATOR)
    d2p = cosmos_too.client.get(f"/api/v1/incidents/{incident['id']}/d2p", headers=headers(cosmos_too, INVESTIGATOR)).json()
    assert {r["rule"]: r["passed"] for r in d2p["rules"]}["suspect_image"] is False

    r = post(cosmos_too, video["id"], "stills", {"at_seconds": 0.5, "reason": "Suspect's face at the till"})
    assert r.status_code == 201, r.text
    d2p = cosmos_too.client.get(f"/api/v1/incidents/{incident['id']}/d2p", headers=headers(cosmos_too, INVESTIGATOR)).json()
    rules = {r["rule"]: r["passed"] for r in d2p["rules"]}
    assert rules["suspect_image"] is True and rules["cctv"] is True


def test_a_clip_has_the_asked_length_and_plays(stamp):
    incident = new_incident(stamp)
    video = upload_video(stamp, incident, make_video(seconds=3.0))
    r = post(stamp, video["id"], "clips", {"start_seconds": 0.5, "end_seconds": 2.0, "reason": "The theft at the till"})
    assert r.status_code == 201, r.text
    clip = r.json()
    assert clip["derived_from"] == video["id"] and clip["kind"] == "cctv" and clip["content_type"] == "video/mp4"
    assert clip["processing"] is None  # made playable already: no second job
    mp4 = content(stamp, clip["id"])
    assert_fast_start(mp4)
    with av.open(io.BytesIO(mp4)) as c:
        assert c.streams.video[0].codec_context.name == "h264"
        assert c.duration / av.time_base == pytest.approx(1.5, abs=0.08)
        assert sum(1 for _ in c.decode(video=0)) == 38  # 1.5 s at 25 fps, both ends' frames
    assert clip["video"]["duration_seconds"] == pytest.approx(1.5, abs=0.08)
    assert run_video_jobs(stamp) == 1  # only the upload's job, not the clip's


@pytest.mark.parametrize(
    "what, body, field",
    [
        ("clips", {"start_seconds": 1.5, "end_seconds": 0.5, "reason": "Backwards"}, "body"),
        ("clips", {"start_seconds": 0.5, "end_seconds": 9.0, "reason": "Past the end"}, "end_seconds"),
        ("stills", {"at_seconds": 9.0, "reason": "Past the end"}, "at_seconds"),
        ("stills", {"at_seconds": -1, "reason": "Before the start"}, "at_seconds"),
    ],
)
def test_bad_times_are_refused_with_problem_details_and_nothing_written(stamp, what, body, field):
    incident = new_incident(stamp)
    video = upload_video(stamp, incident, make_video(seconds=2.0))
    run_video_jobs(stamp)
    before = items(stamp, incident)
    r = post(stamp, video["id"], what, body)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in r.text
    assert items(stamp, incident) == before


def test_past_the_end_is_refused_before_the_video_is_probed(stamp):
    incident = new_incident(stamp)
    video = upload_video(stamp, incident, make_video(seconds=1.0))
    before = items(stamp, incident)
    for what, body in (
        ("stills", {"at_seconds": 5, "reason": "Too late"}),
        ("clips", {"start_seconds": 4, "end_seconds": 5, "reason": "Too late"}),
    ):
        r = post(stamp, video["id"], what, body)
        assert r.status_code == 422, r.text
        assert "ends before" in r.json()["detail"]
    assert items(stamp, incident) == before


def test_a_retry_with_the_same_idempotency_key_makes_one_still(stamp):
    incident = new_incident(stamp)
    video = upload_video(stamp, incident, make_video(seconds=1.0))
    body = {"at_seconds": 0.2, "reason": "Suspect"}
    first = post(stamp, video["id"], "stills", body, **{"Idempotency-Key": "still-1"})
    again = post(stamp, video["id"], "stills", body, **{"Idempotency-Key": "still-1"})
    assert first.status_code == 201 and again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert len([i for i in items(stamp, incident) if i["derived_from"] == video["id"]]) == 1
    other = post(stamp, video["id"], "stills", {**body, "at_seconds": 0.4}, **{"Idempotency-Key": "still-1"})
    assert other.status_code == 422 and "Idempotency-Key" in other.text


def test_stills_are_refused_for_images(stamp):
    incident = new_incident(stamp)
    import cv2
    import numpy as np

    jpeg = cv2.imencode(".jpg", np.full((48, 64, 3), 128, dtype=np.uint8))[1].tobytes()
    h = headers(stamp, INVESTIGATOR, **{"Content-Type": "image/jpeg", "X-Filename": "p.jpg"})
    photo = stamp.client.post(f"/api/v1/incidents/{incident}/evidence", content=jpeg, headers=h).json()
    r = post(stamp, photo["id"], "stills", {"at_seconds": 0, "reason": "Not a video"})
    assert r.status_code == 422 and "made from video" in r.json()["detail"]
    assert get(stamp, photo["id"])["derived_from"] is None
