"""On the police case page a redacted video copy is the one to disclose, and the copies
the video pipeline makes (playable, poster, thumbnails) are not taken for redactions."""

from __future__ import annotations

from tests.console.test_police_pages import FORCE, OFFICER, case_url, dispatched
from tests.evidence.test_video import run_video_jobs
from tests.evidence.video_files import make_video


def test_a_redacted_video_is_the_copy_for_disclosure_and_the_playable_copy_is_not(stamp, browser):
    incident = dispatched(stamp)
    investigator = stamp.auth("northwind", "Retailer.Investigator")
    video = stamp.client.post(
        f"/api/v1/incidents/{incident['id']}/evidence",
        content=make_video(seconds=1.0),
        headers={**investigator, "Content-Type": "video/x-msvideo", "X-Filename": "till.avi", "X-Evidence-Kind": "cctv"},
    ).json()
    run_video_jobs(stamp)
    playable = stamp.client.get(f"/api/v1/evidence/{video['id']}", headers=investigator).json()["processing"]["outputs"]["playable"]

    browser.sign_in(FORCE, OFFICER)
    case = browser.get(case_url(incident))
    at = case.text.index(f"/evidence/{playable}/file")
    # Only a playable copy so far: nothing is marked redacted, nothing "not for disclosure".
    assert "Redacted copy" not in case.text and "not for disclosure" not in case.text
    page = browser.get(f"/cases/{incident['id']}/evidence/{playable}?purpose=Recording+the+crime")
    assert "Redacted copy" not in page.text

    redacted = stamp.client.post(
        f"/api/v1/evidence/{video['id']}/video-redactions",
        json={"regions": [{"style": "black", "keys": [{"t": 0, "x": 0, "y": 0, "w": 64, "h": 64}]}], "reason": "Bystander's face"},
        headers=investigator,
    )
    assert redacted.status_code == 201, redacted.text
    case = browser.get(case_url(incident))
    copy_at = case.text.index(f"/evidence/{redacted.json()['id']}/file")
    original_at = case.text.index(f"/evidence/{video['id']}/file")
    at = case.text.index(f"/evidence/{playable}/file")
    assert copy_at < original_at
    assert "Redacted copy: the one to disclose" in case.text[copy_at:original_at]
    assert "Original: not for disclosure (a redacted copy exists)" in case.text[original_at:]
    assert case.text.count("Redacted copy: the one to disclose") == 1
    assert at > copy_at
