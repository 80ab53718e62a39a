"""The report page's plain upload form (no JavaScript): one file of up to 32 MiB as a
multipart post, stored with every check the API's upload makes; a larger file is refused
with a page that says what to do, and nothing is stored. With JavaScript the page sends
files of any size in chunks through the upload sessions (tests/console/test_store_pages.py
drives those routes as upload.js does)."""

from __future__ import annotations

import hashlib

from functions.console.evidence_form import parse_multipart
from shared.services.evidence.intake import SINGLE_REQUEST_MAX_BYTES
from tests.console.test_store_pages import REPORTER, _reported
from tests.d2p.helpers import CCTV_CLIP, STILL_IMAGE

BOUNDARY = "----vigil-form-7f3a"


def _multipart(fields: list[tuple[str, str]], file: tuple[str, str, bytes] | None) -> bytes:
    out = bytearray()
    for name, value in fields:
        out += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    if file is not None:
        filename, content_type, data = file
        out += f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\nContent-Type: {content_type}\r\n\r\n'.encode()
        out += data + b"\r\n"
    out += f"--{BOUNDARY}--\r\n".encode()
    return bytes(out)


def _post(browser, incident_id: str, file, *, kind: str = "cctv", csrf: bool = True):
    fields = [("kind", kind)] + ([("csrf_token", browser.csrf)] if csrf else [])
    return browser.client.post(
        f"/reports/{incident_id}/evidence",
        content=_multipart(fields, file),
        headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"},
    )


def test_the_plain_form_stores_one_file_exactly_as_sent(browser, stamp):
    browser.sign_in("northwind", REPORTER, stores=["nw-plymouth"])
    incident_id = _reported(browser)
    browser.get(f"/reports/{incident_id}")
    # Bytes that look like the form's own delimiters must come through untouched.
    clip = CCTV_CLIP + b"\r\n--" + BOUNDARY.encode() + b"x\r\n\r\n"
    sent = _post(browser, incident_id, ("till camera 2.mp4", "video/mp4", clip))
    assert sent.status_code == 303, sent.text
    assert sent.headers["location"] == f"/reports/{incident_id}?added=evidence#evidence"
    shown = browser.get(sent.headers["location"]).text
    assert "The file was added." in shown and "till camera 2.mp4" in shown
    items = stamp.client.get(f"/api/v1/incidents/{incident_id}/evidence", headers=stamp.auth("northwind", "Retailer.Investigator"))
    (item,) = items.json()["items"]
    assert item["sha256"] == hashlib.sha256(clip).hexdigest() and item["kind"] == "cctv"


def test_the_plain_form_refuses_a_file_over_32_mib_and_a_post_without_the_pages_token(browser, stamp):
    browser.sign_in("northwind", REPORTER, stores=["nw-plymouth"])
    incident_id = _reported(browser)
    browser.get(f"/reports/{incident_id}")
    big = _post(browser, incident_id, ("whole evening.mp4", "video/mp4", CCTV_CLIP + bytes(SINGLE_REQUEST_MAX_BYTES)))
    assert big.status_code == 413
    assert "up to 32 MiB" in big.text and "JavaScript" in big.text
    # Past the form's own overhead too: refused on its declared length, before it is read.
    bigger = _post(browser, incident_id, ("whole night.mp4", "video/mp4", CCTV_CLIP + bytes(SINGLE_REQUEST_MAX_BYTES + 128 * 1024)))
    assert bigger.status_code == 413 and "up to 32 MiB" in bigger.text
    forged = _post(browser, incident_id, ("still.jpg", "image/jpeg", STILL_IMAGE), kind="suspect_image", csrf=False)
    assert forged.status_code == 403
    items = stamp.client.get(f"/api/v1/incidents/{incident_id}/evidence", headers=stamp.auth("northwind", "Retailer.Investigator"))
    assert items.json()["items"] == []


def test_a_form_that_is_not_multipart_or_arrived_cut_short_is_a_clear_problem():
    import pytest

    from shared.domain.errors import Invalid

    with pytest.raises(Invalid):
        parse_multipart(b"kind=cctv", "application/x-www-form-urlencoded")
    with pytest.raises(Invalid):
        parse_multipart(_multipart([("kind", "cctv")], None)[:-8], f"multipart/form-data; boundary={BOUNDARY}")
    parts = parse_multipart(
        _multipart([("kind", "cctv")], ("a.jpg", "image/jpeg", b"\xff\xd8")), f'multipart/form-data; boundary="{BOUNDARY}"'
    )
    assert [(p.name, p.filename, p.content_type, p.data) for p in parts] == [
        ("kind", None, None, b"cctv"),
        ("file", "a.jpg", "image/jpeg", b"\xff\xd8"),
    ]


def test_only_the_retailers_staff_may_post_the_plain_form(browser_for, stamp):
    staff = browser_for()
    staff.sign_in("northwind", REPORTER, stores=["nw-plymouth"])
    incident_id = _reported(staff)
    police = browser_for()
    police.sign_in("devon-and-cornwall", "Police.Officer")
    police.get("/")
    answer = _post(police, incident_id, ("still.jpg", "image/jpeg", STILL_IMAGE), kind="suspect_image")
    assert answer.status_code == 403
    other = browser_for()
    other.sign_in("contoso", "Retailer.Investigator")
    other.get(other.get("/").headers["location"])  # a page of theirs, for the form token
    assert _post(other, incident_id, ("still.jpg", "image/jpeg", STILL_IMAGE), kind="suspect_image").status_code == 404
    items = stamp.client.get(f"/api/v1/incidents/{incident_id}/evidence", headers=stamp.auth("northwind", "Retailer.Investigator"))
    assert items.json()["items"] == []
