"""The report page uploads a file of several chunks through the upload sessions (1 MiB
chunks from upload.js), and hides its plain, capped form once the script runs."""

from __future__ import annotations

import hashlib

import pytest
from playwright.sync_api import expect

from shared.domain.incident_report import IncidentIn
from tests.browser.cases import api
from tests.browser.helpers import sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

MP4_HEAD = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom"


def test_a_file_of_several_chunks_goes_up_from_the_report_page(page, live_stamp, console):
    example = IncidentIn.model_config["json_schema_extra"]["examples"][0]  # type: ignore[index,call-overload]
    with api(live_stamp, "northwind", "Retailer.Investigator") as client:
        made = client.post("/incidents", json=example)
        assert made.status_code == 201, made.text
        incident = made.json()
    sign_in(page, "northwind", "Retailer.Investigator")
    chunks = []
    page.on("request", lambda r: chunks.append(r.headers.get("content-range")) if r.url.endswith("/chunks") else None)
    page.goto(f"/reports/{incident['id']}")
    expect(page.locator("[data-upload-fallback]")).to_be_hidden()
    # Two and a half MiB: three chunks of at most 1 MiB.
    data = MP4_HEAD + (bytes(range(256)) * 4096 * 10)[: 5 * 512 * 1024 - len(MP4_HEAD)]
    page.get_by_label("What the files show").select_option("cctv")
    page.get_by_label("Take a picture or choose files").set_input_files(
        files=[{"name": "till-camera-4.mp4", "mimeType": "video/mp4", "buffer": data}]
    )
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("[data-upload-list]")).to_contain_text("Uploaded.", timeout=60000)
    assert chunks == [
        f"bytes 0-1048575/{len(data)}",
        f"bytes 1048576-2097151/{len(data)}",
        f"bytes 2097152-{len(data) - 1}/{len(data)}",
    ]
    with api(live_stamp, "northwind", "Retailer.Investigator") as client:
        items = client.get(f"/incidents/{incident['id']}/evidence").json()["items"]
    originals = [i for i in items if i["filename"] == "till-camera-4.mp4"]
    assert len(originals) == 1 and originals[0]["sha256"] == hashlib.sha256(data).hexdigest()
    console.assert_clean()
