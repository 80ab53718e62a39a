"""Image work stays within bounded memory: a picture declaring too many pixels is refused
from its header, faces are looked for on a reduced copy, a few images are worked on at
once per process, and each person has a budget of image jobs."""

from __future__ import annotations

import struct
import threading
import tracemalloc
import zlib

import pytest

from shared.domain import imaging
from shared.domain.evidence import Rect
from shared.domain.tenancy import OrgKind, Principal, Role
from shared.services.evidence.image_work import ImageWork, ImageWorkBusy
from shared.services.quotas import Rate, RateLimited
from tests.evidence.conftest import INVESTIGATOR, PURPOSE, headers, new_incident, upload
from tests.fakes import FakeMonotonic
from tests.fixtures_http import make_stamp

DEFAULT_MAX_PIXELS = 36_000_000


def png_header_only(width: int, height: int) -> bytes:
    """A valid-looking PNG of a few hundred bytes whose header declares width x height
    (the shape of a decompression bomb: its pixels would only exist once decoded)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 4096)) + chunk(b"IEND", b"")


def picture(width: int, height: int, square: tuple[int, int, int], ext: str) -> bytes:
    """A grey picture with one white square (x, y, side): what the test detector finds."""
    import cv2
    import numpy as np

    image = np.full((height, width, 3), 90, dtype=np.uint8)
    x, y, side = square
    image[y : y + side, x : x + side] = 255
    ok, out = cv2.imencode(ext, image)
    assert ok
    return out.tobytes()


def person(user: str = "inv-1", org: str = "northwind") -> Principal:
    return Principal(user_id=user, organisation_id=org, organisation_kind=OrgKind.RETAILER, roles=frozenset({Role.RETAILER_INVESTIGATOR}))


# ---- pixels bound, checked from the header ------------------------------------------


@pytest.mark.parametrize("size", [(7680, 7700), (20000, 20000)], ids=["59MP-under-the-old-cap", "400MP"])
def test_an_image_declaring_too_many_pixels_is_refused_before_any_decoding(monkeypatch, size):
    import cv2

    def no_decoding(*args, **kwargs):
        raise AssertionError("the image was decoded")

    monkeypatch.setattr(cv2, "imdecode", no_decoding)
    bomb = png_header_only(*size)
    assert len(bomb) < 1024
    tracemalloc.start()
    try:
        with pytest.raises(imaging.ImageTooLarge) as proposals:
            imaging.face_proposals(bomb, "png", max_pixels=DEFAULT_MAX_PIXELS)
        with pytest.raises(imaging.ImageTooLarge) as redaction:
            imaging.redact(bomb, "png", "black_box", [], max_pixels=DEFAULT_MAX_PIXELS)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1024 * 1024
    for refused in (proposals.value, redaction.value):
        assert (refused.width, refused.height, refused.max_pixels) == (*size, DEFAULT_MAX_PIXELS)
        assert "36 megapixels" in str(refused)


def test_the_default_pixel_bound_takes_8k_stills_and_stays_under_opencvs_own():
    from shared.settings import Settings

    assert Settings().evidence_image_max_pixels == DEFAULT_MAX_PIXELS >= 8192 * 4320
    assert DEFAULT_MAX_PIXELS <= imaging.DECODER_CEILING_PIXELS
    with pytest.raises(ValueError):
        Settings(evidence_image_max_pixels=imaging.DECODER_CEILING_PIXELS + 1)


def test_face_proposals_and_redaction_of_a_bomb_answer_413_and_write_nothing(ev):
    incident = new_incident(ev)
    bomb = upload(ev, incident, data=png_header_only(7680, 7700), content_type="image/png").json()
    url = f"/api/v1/evidence/{bomb['id']}"
    proposals = ev.client.get(f"{url}/face-proposals", headers=headers(ev, INVESTIGATOR), params=PURPOSE)
    body = {"method": "black_box", "regions": [{"x": 0, "y": 0, "width": 10, "height": 10}], "reason": "Bystander's face"}
    redaction = ev.client.post(f"{url}/redactions", json=body, headers=headers(ev, INVESTIGATOR))
    for r in (proposals, redaction):
        assert r.status_code == 413, r.text
        assert r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert problem["max_pixels"] == DEFAULT_MAX_PIXELS and (problem["width"], problem["height"]) == (7680, 7700)
        assert "7680x7700" in problem["detail"] and "36 megapixels" in problem["detail"]
    items = ev.client.get(f"/api/v1/incidents/{incident}/evidence", headers=headers(ev, INVESTIGATOR), params=PURPOSE).json()["items"]
    assert [i["id"] for i in items] == [bomb["id"]]
    events = ev.client.get(f"{url}/custody", headers=headers(ev, INVESTIGATOR)).json()["events"]
    assert [e["event"] for e in events] == ["received", "stored"]


# ---- faces looked for on a reduced copy ---------------------------------------------


class FakeSquareDetector:
    """Test double for the Haar cascade: finds the white square, and notes the copy it was shown."""

    def __init__(self):
        self.shapes: list[tuple[int, ...]] = []

    def __call__(self, gray):
        import cv2

        self.shapes.append(gray.shape)
        _, mask = cv2.threshold(gray, 200, 255, cv2.THRESH_BINARY)
        return [cv2.boundingRect(mask)]


@pytest.mark.parametrize("ext,type_id", [(".png", "png"), (".jpg", "jpeg"), (".webp", "webp")])
def test_rectangles_found_on_the_reduced_copy_land_on_the_original(ext, type_id):
    square = (2400, 1500, 400)
    data = picture(4000, 3000, square, ext)
    detector = FakeSquareDetector()
    [found] = imaging.face_proposals(data, type_id, max_pixels=DEFAULT_MAX_PIXELS, detect=detector)
    [shape] = detector.shapes
    assert max(shape) <= imaging.DETECT_LONG_EDGE and shape[0] * 4000 == shape[1] * 3000
    x, y, side = square
    # Within one reduced pixel (2.5 original pixels) of the square, and covering it.
    assert abs(found["x"] - x) <= 3 and abs(found["y"] - y) <= 3
    assert abs(found["width"] - side) <= 6 and abs(found["height"] - side) <= 6
    assert found["x"] <= x + 1 and found["x"] + found["width"] >= x + side - 1


def with_orientation(jpeg: bytes, orientation: int) -> bytes:
    """`jpeg` with an EXIF APP1 segment carrying only the Orientation tag (6: turn 90 degrees clockwise to view)."""
    tiff = b"MM\x00\x2a" + struct.pack(">IH", 8, 1) + struct.pack(">HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(">I", 0)
    app1 = b"Exif\x00\x00" + tiff
    return jpeg[:2] + b"\xff\xe1" + struct.pack(">H", len(app1) + 2) + app1 + jpeg[2:]


def test_rectangles_on_a_turned_photo_are_in_the_pixels_redaction_uses():
    import cv2
    import numpy as np

    data = with_orientation(picture(4000, 3000, (2400, 1500, 400), ".jpg"), 6)
    upright = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert upright.shape == (4000, 3000)
    x, y, w, h = cv2.boundingRect(cv2.threshold(upright, 200, 255, cv2.THRESH_BINARY)[1])
    [found] = imaging.face_proposals(data, "jpeg", max_pixels=DEFAULT_MAX_PIXELS, detect=FakeSquareDetector())
    assert abs(found["x"] - x) <= 3 and abs(found["y"] - y) <= 3 and abs(found["width"] - w) <= 6 and abs(found["height"] - h) <= 6
    out = imaging.redact(data, "jpeg", "black_box", [Rect(**found)], max_pixels=DEFAULT_MAX_PIXELS)
    redacted = cv2.imdecode(np.frombuffer(out, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert redacted.shape == (4000, 3000) and redacted[y + 4 : y + h - 4, x + 4 : x + w - 4].max() < 40


def test_a_small_image_is_searched_as_it_is():
    detector = FakeSquareDetector()
    [found] = imaging.face_proposals(picture(640, 480, (100, 50, 60), ".png"), "png", max_pixels=DEFAULT_MAX_PIXELS, detect=detector)
    assert detector.shapes == [(480, 640)] and found == {"x": 100, "y": 50, "width": 60, "height": 60}


def test_scaled_rectangles_grow_to_whole_pixels_and_stay_inside_the_image():
    assert imaging.scale_boxes([(10, 10, 5, 5)], (100, 50), (333, 166)) == [{"x": 33, "y": 33, "width": 17, "height": 17}]
    assert imaging.scale_boxes([(90, 40, 10, 10)], (100, 50), (1000, 500)) == [{"x": 900, "y": 400, "width": 100, "height": 100}]
    assert imaging.scale_boxes([(95, 45, 10, 10)], (100, 50), (1000, 500)) == [{"x": 950, "y": 450, "width": 50, "height": 50}]


def test_redaction_still_renders_the_full_resolution_image():
    import cv2
    import numpy as np

    data = picture(4000, 3000, (2400, 1500, 400), ".png")
    out = imaging.redact(data, "png", "black_box", [Rect(x=2400, y=1500, width=400, height=400)], max_pixels=DEFAULT_MAX_PIXELS)
    pixels = cv2.imdecode(np.frombuffer(out, np.uint8), cv2.IMREAD_COLOR)
    assert pixels.shape[:2] == (3000, 4000)
    assert pixels[1500:1900, 2400:2800].max() == 0 and pixels[1499, 2400].tolist() == [90, 90, 90]


# ---- a few images at once per process -----------------------------------------------


def test_no_more_images_are_worked_on_at_once_than_there_are_workers():
    work = ImageWork(workers=2, queue_seconds=0, rate=Rate(burst=100, per_minute=60))
    release = threading.Event()
    lock = threading.Lock()
    inside = peak = 0
    busy: list[ImageWorkBusy] = []
    entered = threading.Barrier(3)  # the two admitted and the test

    def job(n: int) -> None:
        nonlocal inside, peak
        try:
            with work.slot(person(f"user-{n}"), "Face proposals"):
                with lock:
                    inside += 1
                    peak = max(peak, inside)
                entered.wait(timeout=10)
                release.wait(timeout=10)
                with lock:
                    inside -= 1
        except ImageWorkBusy as exc:
            busy.append(exc)

    admitted = [threading.Thread(target=job, args=(n,)) for n in range(2)]
    for t in admitted:
        t.start()
    entered.wait(timeout=10)
    refused = [threading.Thread(target=job, args=(n,)) for n in range(2, 6)]
    for t in refused:
        t.start()
    for t in refused:
        t.join(timeout=10)
    release.set()
    for t in admitted:
        t.join(timeout=10)
    assert peak == 2 and len(busy) == 4
    assert busy[0].status == 503 and busy[0].headers["Retry-After"] == "5" and busy[0].extra["limit"] == 2
    # Refusals did not spend the refused people's budget, and the workers are free again.
    with work.slot(person("user-2"), "Face proposals"):
        pass


def test_a_request_waits_briefly_for_a_worker_rather_than_being_refused():
    work = ImageWork(workers=1, queue_seconds=10, rate=Rate(burst=100, per_minute=60))
    holding = threading.Event()
    release = threading.Event()
    order: list[str] = []

    def first() -> None:
        with work.slot(person("first"), "Redaction"):
            holding.set()
            release.wait(timeout=10)
            order.append("first done")

    t = threading.Thread(target=first)
    t.start()
    holding.wait(timeout=10)
    threading.Timer(0.2, release.set).start()
    with work.slot(person("second"), "Redaction"):
        order.append("second in")
    t.join(timeout=10)
    assert order == ["first done", "second in"]


def test_face_proposals_past_the_process_workers_answer_503_with_retry_after(tmp_path):
    stamp = make_stamp(tmp_path, evidence_image_workers=1, evidence_image_queue_seconds=0)
    try:
        incident = new_incident(stamp)
        photo = upload(stamp, incident, data=picture(64, 48, (10, 10, 20), ".png"), content_type="image/png").json()
        url = f"/api/v1/evidence/{photo['id']}/face-proposals"
        with stamp.container.evidence.access.deps.image_work.slot(person("someone-else"), "Redaction"):
            r = stamp.client.get(url, headers=headers(stamp, INVESTIGATOR), params=PURPOSE)
        assert r.status_code == 503 and r.headers["retry-after"] == "5"
        assert r.headers["content-type"] == "application/problem+json" and r.json()["type"].endswith("/image-work-busy")
        assert stamp.client.get(url, headers=headers(stamp, INVESTIGATOR), params=PURPOSE).status_code == 200
    finally:
        stamp.container.close()


# ---- each person's budget -----------------------------------------------------------


def test_a_persons_image_budget_runs_out_refills_and_leaves_others_alone():
    clock = FakeMonotonic()
    work = ImageWork(workers=2, queue_seconds=0, rate=Rate(burst=2, per_minute=6), clock=clock)
    for _ in range(2):
        with work.slot(person("alice"), "Face proposals"):
            pass
    with pytest.raises(RateLimited) as refused:
        with work.slot(person("alice"), "Face proposals"):
            pass
    assert refused.value.status == 429 and refused.value.headers["Retry-After"] == "10"
    # Another person, and the same user id in another organisation, are their own principals.
    with work.slot(person("bob"), "Face proposals"), work.slot(person("alice", org="southwind"), "Face proposals"):
        pass
    clock.advance(9)
    with pytest.raises(RateLimited):
        with work.slot(person("alice"), "Face proposals"):
            pass
    clock.advance(1)
    with work.slot(person("alice"), "Face proposals"):
        pass


def test_face_proposals_past_a_persons_budget_answer_429_and_another_person_is_served(tmp_path):
    stamp = make_stamp(tmp_path, evidence_image_burst=2, evidence_image_per_minute=2)
    try:
        incident = new_incident(stamp)
        photo = upload(stamp, incident, data=picture(64, 48, (10, 10, 20), ".png"), content_type="image/png").json()
        url = f"/api/v1/evidence/{photo['id']}/face-proposals"
        alice = headers(stamp, INVESTIGATOR)
        assert [stamp.client.get(url, headers=alice, params=PURPOSE).status_code for _ in range(2)] == [200, 200]
        r = stamp.client.get(url, headers=alice, params=PURPOSE)
        assert r.status_code == 429 and r.headers["content-type"] == "application/problem+json"
        assert int(r.headers["retry-after"]) == r.json()["retry_after_seconds"] == 30
        assert r.json()["type"].endswith("/rate-limited") and r.json()["scope"] == "image-work"
        bob = stamp.auth(*INVESTIGATOR, user="bob@northwind.example")
        assert stamp.client.get(url, headers=bob, params=PURPOSE).status_code == 200
        # Refused work is not recorded as a look at the evidence.
        events = stamp.client.get(f"/api/v1/evidence/{photo['id']}/custody", headers=alice).json()["events"]
        assert [e["event"] for e in events].count("viewed") == 3
    finally:
        stamp.container.close()
