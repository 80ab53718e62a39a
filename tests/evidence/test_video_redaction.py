"""Video redaction: boxes obscured over their time range only (moving between key
positions), sound silenced in mute ranges, a derived MP4 with the exact plan and custody
on both items, the original untouched; bad plans refused with nothing written; face
proposals on sampled frames answered as tracks to confirm."""

from __future__ import annotations

import hashlib
import io

import av
import numpy as np
import pytest

from shared.domain.video import BoxKey, RegionTrack, VideoRedactionIn, box_at, join_tracks
from tests.evidence.conftest import INVESTIGATOR, headers, new_incident
from tests.evidence.test_stills_clips import items, post
from tests.evidence.test_video import assert_fast_start, content, custody, get, run_video_jobs, upload_video
from tests.evidence.video_files import make_video

FPS = 25
GREY = 100
SIDE = 40


def square_at(x_of_t, y: int = 100):
    """Frames of mid grey with a white square whose left edge is at x_of_t(seconds)."""

    def draw(i: int, width: int, height: int) -> np.ndarray:
        img = np.full((height, width, 3), GREY, dtype=np.uint8)
        x = int(round(x_of_t(i / FPS)))
        img[y : y + SIDE, x : x + SIDE] = 255
        return img

    return draw


def frames(mp4: bytes) -> list[tuple[float, np.ndarray]]:
    with av.open(io.BytesIO(mp4)) as c:
        return [(float(f.time), f.to_ndarray(format="gray").astype(float)) for f in c.decode(video=0)]


def frame_at(decoded: list[tuple[float, np.ndarray]], t: float) -> np.ndarray:
    return min(decoded, key=lambda tf: abs(tf[0] - t))[1]


def audio_rms(mp4: bytes, start: float, end: float) -> float:
    chunks = []
    with av.open(io.BytesIO(mp4)) as c:
        for f in c.decode(audio=0):
            samples = f.to_ndarray().astype(float).reshape(-1)
            times = float(f.time) + np.arange(len(samples)) / f.sample_rate
            chunks.append(samples[(times >= start) & (times < end)])
    picked = np.concatenate(chunks)
    assert len(picked) > 0
    return float(np.sqrt(np.mean(picked**2)))


def redact(stamp, evidence_id, body, **extra):
    return post(stamp, evidence_id, "video-redactions", body, **extra)


@pytest.mark.parametrize("codec", ["mpeg4", "mjpeg"])  # limited- and full-range pictures (DVRs write both)
def test_a_black_box_covers_the_square_only_within_its_time_range_and_the_original_is_untouched(stamp, codec):
    incident = new_incident(stamp)
    original = make_video(seconds=3.0, codec=codec, picture=square_at(lambda t: 100))
    video = upload_video(stamp, incident, original)
    plan = {
        "regions": [
            {
                "style": "black",
                "keys": [{"t": 1.0, "x": 100, "y": 100, "w": SIDE, "h": SIDE}, {"t": 2.0, "x": 100, "y": 100, "w": SIDE, "h": SIDE}],
            }
        ],
        "reason": "Bystander at the till, before disclosure to the CPS",
    }
    r = redact(stamp, video["id"], plan)
    assert r.status_code == 201, r.text
    copy = r.json()
    assert r.headers["Location"] == f"/api/v1/evidence/{copy['id']}"
    mp4 = content(stamp, copy["id"])
    assert_fast_start(mp4)
    decoded = frames(mp4)
    inside = (slice(105, 135), slice(105, 135))
    assert frame_at(decoded, 1.5)[inside].mean() < 40  # was white
    assert frame_at(decoded, 0.5)[inside].mean() > 200  # before the range: untouched
    assert frame_at(decoded, 2.5)[inside].mean() > 200  # after it
    assert abs(frame_at(decoded, 1.5)[20:60, 20:60].mean() - GREY) < 12  # outside the box
    # The original is exactly as uploaded.
    assert content(stamp, video["id"]) == original
    assert get(stamp, video["id"])["sha256"] == hashlib.sha256(original).hexdigest()


def test_the_copy_is_derived_with_the_exact_plan_and_custody_on_both(ev):
    stamp = ev
    incident = new_incident(stamp)
    video = upload_video(stamp, incident, make_video(seconds=2.0, picture=square_at(lambda t: 100)))
    plan = {
        "regions": [{"style": "pixelate", "keys": [{"t": 0.0, "x": 90, "y": 90, "w": 60, "h": 60}]}],
        "reason": "Bystander's face",
    }
    r = redact(stamp, video["id"], plan)
    assert r.status_code == 201, r.text
    copy = r.json()
    assert copy["derived_from"] == video["id"] and copy["content_type"] == "video/mp4" and copy["kind"] == "cctv"
    assert copy["derivation"]["operation"] == "video-redaction"
    assert copy["derivation"]["source_sha256"] == video["sha256"]
    assert copy["derivation"]["parameters"]["redaction"] == {"regions": plan["regions"], "mute": []}
    assert copy["derivation"]["parameters"]["encoding"]["video_codec"] == "libx264"
    derived = [e for e in custody(stamp, video["id"]) if e["event"] == "derived"]
    assert [e["details"]["derived_id"] for e in derived] == [copy["id"]]
    assert derived[0]["details"]["reason"] == "Bystander's face"
    received = custody(stamp, copy["id"])[0]
    assert received["details"]["derived_from"] == video["id"]
    assert received["details"]["original_sha256"] == video["sha256"]


def test_a_blurred_box_moving_between_two_keys_covers_the_moving_square_at_the_midpoint(stamp):
    incident = new_incident(stamp)
    # The square crosses the picture at 80 px a second: from x=20 at 0 s to x=260 at 3 s.
    video = upload_video(stamp, incident, make_video(seconds=3.0, picture=square_at(lambda t: 20 + 80 * t)))
    plan = {
        "regions": [
            {"style": "blur", "keys": [{"t": 0.0, "x": 10, "y": 90, "w": 60, "h": 60}, {"t": 3.0, "x": 250, "y": 90, "w": 60, "h": 60}]}
        ],
        "reason": "Bystander walking past",
    }
    r = redact(stamp, video["id"], plan)
    assert r.status_code == 201, r.text
    mid = frame_at(frames(content(stamp, r.json()["id"])), 1.5)
    # At 1.5 s the square is at x=140: its sharp edges (a 155-level step in the
    # original) are smeared into the grey around it.
    box = mid[95:145, 135:185]
    assert np.abs(np.diff(box, axis=1)).max() < 25 and np.abs(np.diff(box, axis=0)).max() < 25
    assert box[5:45, 5:45].mean() < 215
    assert abs(mid[20:60, 20:60].mean() - GREY) < 12  # far from the box: as it was


def test_mute_silences_the_range_and_keeps_the_rest(stamp):
    incident = new_incident(stamp)
    video = upload_video(stamp, incident, make_video(seconds=3.0, audio=True))
    r = redact(stamp, video["id"], {"mute": [{"start": 1.0, "end": 2.0}], "reason": "A card number read aloud"})
    assert r.status_code == 201, r.text
    mp4 = content(stamp, r.json()["id"])
    assert audio_rms(mp4, 1.1, 1.9) < 0.005
    assert audio_rms(mp4, 0.2, 0.8) > 0.1
    assert audio_rms(mp4, 2.2, 2.8) > 0.1


@pytest.mark.parametrize(
    "body, field",
    [
        (
            {"regions": [{"keys": [{"t": 0.5, "x": 0, "y": 0, "w": 10, "h": 10}, {"t": 9.0, "x": 0, "y": 0, "w": 10, "h": 10}]}]},
            "regions[0].keys[1].t",
        ),
        ({"regions": [{"keys": [{"t": 0.5, "x": 300, "y": 0, "w": 40, "h": 10}]}]}, "regions[0].keys[0]"),
        ({"regions": [{"keys": [{"t": 1.0, "x": 0, "y": 0, "w": 10, "h": 10}, {"t": 0.5, "x": 0, "y": 0, "w": 10, "h": 10}]}]}, "keys"),
        ({"regions": [{"keys": []}]}, "keys"),
        ({"regions": [{"keys": [{"t": 0.5, "x": 0, "y": 0, "w": 10, "h": 10}], "style": "smudge"}]}, "style"),
        ({"mute": [{"start": 0.5, "end": 1.0}]}, "mute[0]"),  # this video has no sound
        ({}, "region or mute"),
    ],
)
def test_a_bad_plan_is_refused_with_problem_details_and_nothing_written(stamp, body, field):
    incident = new_incident(stamp)
    video = upload_video(stamp, incident, make_video(seconds=2.0))
    before = items(stamp, incident)
    r = redact(stamp, video["id"], {**body, "reason": "Bystander"})
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert field in r.text
    assert items(stamp, incident) == before
    assert not [e for e in custody(stamp, video["id"]) if e["event"] == "derived"]


def test_a_plan_is_checked_against_the_probed_video_before_any_work(stamp):
    incident = new_incident(stamp)
    video = upload_video(stamp, incident, make_video(seconds=2.0))
    run_video_jobs(stamp)
    assert get(stamp, video["id"])["video"]["duration_seconds"] == pytest.approx(2.0, abs=0.1)
    r = redact(stamp, video["id"], {"regions": [{"keys": [{"t": 5, "x": 0, "y": 0, "w": 8, "h": 8}]}], "reason": "Too late"})
    assert r.status_code == 422 and "past the video's end" in r.json()["detail"]


def test_a_retry_with_the_same_idempotency_key_makes_one_copy(stamp):
    incident = new_incident(stamp)
    video = upload_video(stamp, incident, make_video(seconds=1.0))
    body = {"regions": [{"style": "black", "keys": [{"t": 0, "x": 0, "y": 0, "w": 16, "h": 16}]}], "reason": "Bystander"}
    first = redact(stamp, video["id"], body, **{"Idempotency-Key": "vredact-1"})
    again = redact(stamp, video["id"], body, **{"Idempotency-Key": "vredact-1"})
    assert first.status_code == 201 and again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert len([i for i in items(stamp, incident) if i["derived_from"] == video["id"]]) == 1


def test_video_redaction_is_refused_for_images(stamp):
    incident = new_incident(stamp)
    import cv2

    jpeg = cv2.imencode(".jpg", np.full((48, 64, 3), 128, dtype=np.uint8))[1].tobytes()
    h = headers(stamp, INVESTIGATOR, **{"Content-Type": "image/jpeg", "X-Filename": "p.jpg"})
    photo = stamp.client.post(f"/api/v1/incidents/{incident}/evidence", content=jpeg, headers=h).json()
    r = redact(stamp, photo["id"], {"regions": [{"keys": [{"t": 0, "x": 0, "y": 0, "w": 8, "h": 8}]}], "reason": "Not a video"})
    assert r.status_code == 422 and "works on video" in r.json()["detail"]


def test_face_proposals_on_video_answer_tracks_for_a_person_to_confirm(stamp):
    incident = new_incident(stamp)
    video = upload_video(stamp, incident, make_video(seconds=3.0))
    r = stamp.client.post(
        f"/api/v1/evidence/{video['id']}/video-face-proposals",
        params={"purpose": "Planning a redaction"},
        headers=headers(stamp, INVESTIGATOR),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    # A moving square is no face: the answer's shape, with nothing proposed.
    assert body["tracks"] == [] and body["samples"] == 3 and body["sample_every_seconds"] == 1.0
    assert (body["width"], body["height"]) == (320, 240)
    assert "Nothing has been redacted" in body["note"]
    viewed = [e for e in custody(stamp, video["id"]) if e["details"].get("what") == "video face proposals"]
    assert len(viewed) == 1


def test_faces_in_consecutive_samples_join_into_one_track_and_a_stranger_starts_another():
    a = {"x": 10, "y": 10, "w": 40, "h": 40}
    tracks = join_tracks(
        [
            (0.0, [a]),
            (1.0, [{**a, "x": 18}, {"x": 200, "y": 10, "w": 40, "h": 40}]),
            (2.0, [{**a, "x": 26}]),
        ]
    )
    assert [[k["t"] for k in t] for t in tracks] == [[0.0, 1.0, 2.0], [1.0]]
    assert tracks[0][1] == {"t": 1.0, "x": 18, "y": 10, "w": 40, "h": 40}
    # Each track is a valid region as it stands.
    VideoRedactionIn(regions=[RegionTrack(keys=[BoxKey(**k) for k in t]) for t in tracks], reason="Faces")


def test_a_box_is_interpolated_between_keys_and_held_only_within_them():
    region = RegionTrack(keys=[BoxKey(t=1, x=0, y=0, w=10, h=10), BoxKey(t=3, x=100, y=50, w=30, h=10)])
    assert box_at(region, 2) == (50, 25, 20, 10)
    assert box_at(region, 0.99) is None and box_at(region, 3.01) is None
    assert box_at(region, 3) == (100, 50, 30, 10)
