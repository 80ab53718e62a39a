"""An evidence download answers in the file's own media type, and the OpenAPI document
says so: a generated client (or a browser) can render the bytes without sniffing them."""

from __future__ import annotations

from tests.evidence.conftest import MP4, headers, new_incident, upload


def test_download_answers_in_the_documented_media_type(ev):
    created = upload(ev, new_incident(ev))
    assert created.status_code == 201, created.text
    url = f"/api/v1/evidence/{created.json()['id']}/content"
    documented = ev.client.app.openapi()["paths"]["/api/v1/evidence/{evidence_id}/content"]["get"]["responses"]

    whole = ev.client.get(url, headers=headers(ev))
    part = ev.client.get(url, headers=headers(ev, Range="bytes=0-99"))

    assert whole.status_code == 200 and whole.content == MP4
    assert whole.headers["content-type"] == "video/mp4"
    assert "video/mp4" in documented["200"]["content"]
    assert part.status_code == 206 and part.content == MP4[:100]
    assert part.headers["content-type"] == "video/mp4"
    assert "video/mp4" in documented["206"]["content"]
