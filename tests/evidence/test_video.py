"""The video pipeline end to end: a DVR export uploaded by a store becomes a playable
MP4 with a poster and a thumbnail strip, each a derived item with custody on both sides,
the original untouched; bad files fail with a named reason; stills and clips."""

from __future__ import annotations

import hashlib
import io

import av
import pytest

from functions import jobs
from shared.domain.image_headers import image_dimensions
from shared.services.evidence.video import QUEUE
from tests.evidence.conftest import INVESTIGATOR, REPORTER, headers, new_incident
from tests.evidence.video_files import make_video
from tests.fixtures_http import both_backends

AVI = "video/x-msvideo"


def upload_video(stamp, incident_id, data, content_type=AVI, who=REPORTER, kind="cctv"):
    h = headers(stamp, who, **{"Content-Type": content_type, "X-Filename": "dvr export.avi", "X-Evidence-Kind": kind})
    r = stamp.client.post(f"/api/v1/incidents/{incident_id}/evidence", content=data, headers=h)
    assert r.status_code == 201, r.text
    return r.json()


def run_video_jobs(stamp, *, crash: type[BaseException] | None = None) -> int:
    """Relay the outbox and run the video handler until its queue is empty, as the local runner does."""
    jobs.load_all()
    c = stamp.container
    c.outbox.relay(stamp.clock.now())
    handled = 0
    for _ in range(10):
        messages = c.queue.receive(QUEUE, max_messages=10, visibility_seconds=0)
        if not messages:
            break
        for m in messages:
            try:
                jobs.QUEUE_HANDLERS[QUEUE](c, m.body, m.delivery_count)
            except Exception:  # noqa: BLE001 - as the runner: abandon for redelivery
                c.queue.abandon(m, delay_seconds=0)
                continue
            c.queue.complete(m)
            handled += 1
    return handled


def get(stamp, evidence_id, who=INVESTIGATOR):
    r = stamp.client.get(f"/api/v1/evidence/{evidence_id}", headers=headers(stamp, who))
    assert r.status_code == 200, r.text
    return r.json()


def content(stamp, evidence_id, who=INVESTIGATOR) -> bytes:
    r = stamp.client.get(f"/api/v1/evidence/{evidence_id}/content", headers=headers(stamp, who))
    assert r.status_code == 200, r.text
    return r.content


def custody(stamp, evidence_id, who=INVESTIGATOR):
    r = stamp.client.get(f"/api/v1/evidence/{evidence_id}/custody", headers=headers(stamp, who))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verified"] is True
    return body["events"]


def decode_mp4(data: bytes) -> tuple[str, str, float, int]:
    """(codec, pixel format, duration in seconds, frames) of an MP4, decoded with PyAV."""
    with av.open(io.BytesIO(data)) as c:
        v = c.streams.video[0]
        frames = sum(1 for _ in c.decode(video=0))
        return v.codec_context.name, v.codec_context.format.name, c.duration / av.time_base, frames


def assert_fast_start(data: bytes) -> None:
    """The index (moov) comes before the media (mdat): a browser plays before the whole file arrives."""
    moov, mdat = data.find(b"moov"), data.find(b"mdat")
    assert 0 < moov < mdat, (moov, mdat)


def test_a_1080p_dvr_avi_becomes_a_playable_mp4_with_poster_and_thumbnails(ev):
    original_bytes = make_video(fmt="avi", codec="mpeg4", width=1920, height=1080, seconds=1.0)
    incident = new_incident(ev)
    item = upload_video(ev, incident, original_bytes)
    assert item["detected_type"] == "avi" and item["media"] == "video"
    assert item["processing"]["state"] == "queued"

    assert run_video_jobs(ev) == 1
    done = get(ev, item["id"])
    assert done["processing"]["state"] == "ready" and done["processing"]["percent"] == 100
    assert done["video"]["video"] == {"codec": "mpeg4", "width": 1920, "height": 1080, "frame_rate": 25.0, "pixel_format": "yuv420p"}
    assert done["video"]["duration_seconds"] == pytest.approx(1.0, abs=0.05)
    outputs = done["processing"]["outputs"]
    assert set(outputs) == {"playable", "poster", "thumbnails"}

    playable = get(ev, outputs["playable"])
    assert playable["derived_from"] == item["id"] and playable["kind"] == "cctv" and playable["content_type"] == "video/mp4"
    params = playable["derivation"]["parameters"]
    assert params["video_codec"] == "libx264" and params["crf"] == 23 and params["scale"] == "1920x1080"
    assert params["pyav"] == av.__version__ and params["ffmpeg"]
    mp4 = content(ev, playable["id"])
    assert hashlib.sha256(mp4).hexdigest() == playable["sha256"]
    assert_fast_start(mp4)
    codec, pix_fmt, duration, frames = decode_mp4(mp4)
    assert (codec, pix_fmt, frames) == ("h264", "yuv420p", 25)
    assert duration == pytest.approx(1.0, abs=0.1)

    poster = get(ev, outputs["poster"])
    assert poster["derived_from"] == item["id"] and poster["content_type"] == "image/jpeg"
    assert image_dimensions(content(ev, poster["id"])) == (1920, 1080)
    strip = content(ev, outputs["thumbnails"])
    width, height = image_dimensions(strip)
    assert height == 90 and width % 160 == 0 and width >= 160

    # Custody shows the derivation from both sides.
    derived = [e for e in custody(ev, item["id"]) if e["event"] == "derived"]
    assert {e["details"]["derived_id"] for e in derived} == set(outputs.values())
    assert {e["details"]["operation"] for e in derived} == {"playable", "poster", "thumbnails"}
    received = next(e for e in custody(ev, playable["id"]) if e["event"] == "received")
    assert received["details"]["derived_from"] == item["id"] and received["details"]["original_sha256"] == item["sha256"]

    # The original is never changed.
    assert content(ev, item["id"]) == original_bytes
    assert get(ev, item["id"])["sha256"] == hashlib.sha256(original_bytes).hexdigest() == item["sha256"]


def test_a_raw_h264_stream_is_accepted_probed_and_made_playable(ev):
    data = make_video(fmt="h264", codec="libx264", seconds=2.0)
    incident = new_incident(ev)
    item = upload_video(ev, incident, data, content_type="video/h264")
    assert item["detected_type"] == "h264"
    run_video_jobs(ev)
    done = get(ev, item["id"])
    assert done["processing"]["state"] == "ready", done["processing"]
    # A raw stream names no length: it is counted while decoding.
    assert done["video"]["duration_seconds"] == pytest.approx(2.0, abs=0.05)
    mp4 = content(ev, done["processing"]["outputs"]["playable"])
    assert_fast_start(mp4)
    assert decode_mp4(mp4)[:2] == ("h264", "yuv420p")
    assert image_dimensions(content(ev, done["processing"]["outputs"]["poster"])) == (320, 240)


@both_backends
def test_recorded_start_and_audio_are_probed_and_audio_is_kept_as_aac(cosmos_too):
    data = make_video(fmt="mp4", codec="libx264", audio=True, creation_time="2026-11-20T14:03:00.000000Z")
    incident = new_incident(cosmos_too)
    item = upload_video(cosmos_too, incident, data, content_type="video/mp4")
    run_video_jobs(cosmos_too)
    done = get(cosmos_too, item["id"])
    assert done["video"]["recorded_start"].startswith("2026-11-20T14:03:00")
    assert done["video"]["audio"]["codec"] == "aac"
    mp4 = content(cosmos_too, done["processing"]["outputs"]["playable"])
    with av.open(io.BytesIO(mp4)) as c:
        assert c.streams.audio[0].codec_context.name == "aac"


@pytest.mark.parametrize(
    "data, reason",
    [
        # An AVI header over noise: accepted on upload (it looks like AVI) but holds no video.
        (b"RIFF\x00\x10\x00\x00AVI LIST" + bytes(range(256)) * 64, "not-a-video"),
    ],
)
def test_a_file_that_is_not_video_fails_with_a_named_reason(ev, data, reason):
    incident = new_incident(ev)
    item = upload_video(ev, incident, data)
    run_video_jobs(ev)
    done = get(ev, item["id"])
    assert done["processing"]["state"] == "failed"
    assert done["processing"]["failure"] == reason and done["processing"]["detail"]
    assert done["processing"]["outputs"] == {}
    assert content(ev, item["id"]) == data


def test_a_truncated_video_fails_named_or_plays_what_survives(stamp):
    whole = make_video(fmt="avi", codec="mpeg4", seconds=2.0)
    incident = new_incident(stamp)
    item = upload_video(stamp, incident, whole[: len(whole) // 3])
    run_video_jobs(stamp)
    processing = get(stamp, item["id"])["processing"]
    # Never stuck: a damaged DVR export either plays the part that survives or says why not.
    assert processing["state"] in ("ready", "failed")
    if processing["state"] == "failed":
        assert processing["failure"] in ("corrupt", "not-a-video")


@pytest.mark.stamp_settings(evidence_video_max_pixels=320 * 240 - 1)
def test_a_video_over_the_resolution_bound_is_refused_by_name(stamp):
    incident = new_incident(stamp)
    item = upload_video(stamp, incident, make_video(seconds=0.5))
    run_video_jobs(stamp)
    processing = get(stamp, item["id"])["processing"]
    assert processing["state"] == "failed" and processing["failure"] == "resolution-too-high"
    assert "320x240" in processing["detail"]


@both_backends
def test_a_job_that_keeps_dying_ends_failed_not_stuck(cosmos_too, monkeypatch):
    from shared.services.evidence import transcoding

    def dies(*args, **kwargs):
        raise OSError("the worker ran out of disk")

    monkeypatch.setattr(transcoding, "encode", dies)
    incident = new_incident(cosmos_too)
    item = upload_video(cosmos_too, incident, make_video(seconds=0.5))
    run_video_jobs(cosmos_too)
    processing = get(cosmos_too, item["id"])["processing"]
    assert processing["state"] == "failed" and processing["failure"] == "interrupted"
    assert processing["attempts"] >= 1


@pytest.mark.stamp_settings(evidence_video_max_seconds=1.5)
def test_a_video_over_the_length_bound_is_refused_by_name(stamp):
    incident = new_incident(stamp)
    item = upload_video(stamp, incident, make_video(seconds=2.0))
    run_video_jobs(stamp)
    processing = get(stamp, item["id"])["processing"]
    assert processing["state"] == "failed" and processing["failure"] == "too-long"
    assert processing["outputs"] == {}


@pytest.mark.stamp_settings(evidence_video_budget_seconds=0.001)
def test_a_job_past_its_time_budget_stops_with_a_named_failure(stamp):
    incident = new_incident(stamp)
    item = upload_video(stamp, incident, make_video(seconds=2.0))
    run_video_jobs(stamp)
    processing = get(stamp, item["id"])["processing"]
    assert processing["state"] == "failed" and processing["failure"] == "time-budget-exceeded"
    assert [
        i
        for i in stamp.client.get(f"/api/v1/incidents/{incident}/evidence", headers=headers(stamp, INVESTIGATOR)).json()["items"]
        if i["derived_from"]
    ] == []


def test_progress_is_shown_on_the_record_while_the_job_runs(stamp, monkeypatch):
    from shared.services.evidence import video

    monkeypatch.setattr(video, "PROGRESS_EVERY_SECONDS", 0.0)
    seen: list[tuple[str, int]] = []
    incident = new_incident(stamp)
    item = upload_video(stamp, incident, make_video(seconds=2.0))
    original_update = video.Video._update

    def watching(self, owner, evidence_id, change):
        result = original_update(self, owner, evidence_id, change)
        if result is not None and result.processing is not None and evidence_id == item["id"]:
            seen.append((result.processing.state, result.processing.percent))
        return result

    monkeypatch.setattr(video.Video, "_update", watching)
    run_video_jobs(stamp)
    percents = [p for state, p in seen if state == "processing"]
    assert len(set(percents)) > 3 and percents == sorted(percents) and max(percents) < 100
    assert seen[-1] == ("ready", 100)


def test_a_job_finding_every_worker_busy_waits_without_spending_deliveries(stamp, monkeypatch):
    from shared.services.evidence import video as pipeline

    monkeypatch.setattr(pipeline, "BUSY_DELAY_SECONDS", 0)
    incident = new_incident(stamp)
    item = upload_video(stamp, incident, make_video(seconds=0.5))
    video = stamp.container.evidence.video
    assert video._workers.acquire(timeout=1)  # another video holds the only worker
    try:
        run_video_jobs(stamp)
        assert get(stamp, item["id"])["processing"]["state"] == "queued"
    finally:
        video._workers.release()
    run_video_jobs(stamp)
    processing = get(stamp, item["id"])["processing"]
    assert processing["state"] == "ready" and processing["attempts"] == 1


# Hikvision exports put a 40-byte IMKH header before an MPEG program stream.
IMKH_HEADER = b"IMKH\x01\x01\x00\x00\x02\x00\x00\x00\x01\x10\x01\x10\x01\x10\x10\x00\x80>" + bytes(18)


@pytest.mark.parametrize(
    "fmt, codec, detected",
    [
        ("avi", "mpeg4", "avi"),
        ("avi", "mjpeg", "avi"),
        ("matroska", "libx264", "matroska"),
        ("mpegts", "libx264", "mpegts"),
        ("mpeg", "mpeg2video", "mpegps"),
        ("h264", "libx264", "h264"),
        ("hevc", "libx265", "h265"),
        ("mov", "libx264", "quicktime"),
        ("mp4", "libx264", "mp4"),
    ],
)
def test_cctv_containers_and_raw_streams_are_recognised_from_their_first_bytes(fmt, codec, detected):
    from shared.domain.file_types import SNIFF_BYTES, sniff

    assert sniff(make_video(fmt=fmt, codec=codec, seconds=0.2)[:SNIFF_BYTES]).type_id == detected


def test_a_hikvision_dvr_export_is_accepted_and_made_playable(stamp):
    data = IMKH_HEADER + make_video(fmt="mpeg", codec="mpeg2video", seconds=1.0)
    incident = new_incident(stamp)
    item = upload_video(stamp, incident, data, content_type="video/x-dvr")
    assert item["detected_type"] == "dvr"
    run_video_jobs(stamp)
    done = get(stamp, item["id"])
    assert done["processing"]["state"] == "ready", done["processing"]
    assert done["video"]["video"]["codec"] == "mpeg2video"
    assert decode_mp4(content(stamp, done["processing"]["outputs"]["playable"]))[0] == "h264"


def test_a_video_upload_finished_by_the_settling_sweep_still_gets_its_job(ev, monkeypatch):
    from datetime import timedelta

    incident = new_incident(ev)
    audit = ev.container.evidence.intake.deps.audit
    real = audit.record
    calls = {"n": 0}

    def fails_once(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("injected fault")
        return real(*args, **kwargs)

    # The unit that marks the upload stored fails after its bytes committed.
    monkeypatch.setattr(audit, "record", fails_once)
    h = headers(ev, REPORTER, **{"Content-Type": AVI, "X-Filename": "dvr.avi"})
    assert ev.client.post(f"/api/v1/incidents/{incident}/evidence", content=make_video(seconds=0.5), headers=h).status_code == 500
    assert ev.container.evidence.settling.sweep(ev.clock.now() + timedelta(minutes=30)).counts["stored"] == 1
    [item] = ev.client.get(f"/api/v1/incidents/{incident}/evidence", headers=headers(ev, INVESTIGATOR)).json()["items"]
    assert item["processing"]["state"] == "queued"
    assert run_video_jobs(ev) == 1
    assert get(ev, item["id"])["processing"]["state"] == "ready"
