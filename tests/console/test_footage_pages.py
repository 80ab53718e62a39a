"""Footage-request pages: an officer asks a store for footage, the store's staff see it,
upload into the report and give the files, or decline; the officer sees the answer."""

from __future__ import annotations

from tests.d2p.helpers import CCTV_CLIP, report
from tests.footage.helpers import DC, make_request


def _upload(stamp, incident_id: str) -> str:
    headers = {
        **stamp.auth("northwind", "Retailer.Investigator"),
        "Content-Type": "video/mp4",
        "X-Filename": "tills.mp4",
        "X-Evidence-Kind": "cctv",
    }
    r = stamp.client.post(f"/api/v1/incidents/{incident_id}/evidence", content=CCTV_CLIP, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_an_officer_asks_a_store_in_the_area_and_sees_the_request(stamp, browser):
    browser.sign_in(DC, "Police.Officer", next_path="/footage-requests/new")
    form = browser.get("/footage-requests/new")
    assert form.status_code == 200
    assert "Northwind Plymouth" in form.text and "Contoso Bristol" not in form.text  # only stores in the force's area
    assert 'href="/footage-requests"' in form.text  # the nav link
    made = browser.post(
        "/footage-requests/new",
        {
            "crime_reference": "DC/2026/555",
            "store_id": "nw-plymouth",
            "window_start": "2026-11-22T14:00",
            "window_end": "2026-11-22T14:30",
            "deadline": "2026-11-30T17:00",
            "wanted": "Camera over the tills",
            "incident_id": "",
        },
    )
    assert made.status_code == 303, made.text
    shown = browser.get(made.headers["location"])
    assert "DC/2026/555" in shown.text and "Waiting for the store" in shown.text
    assert "Sun 22 Nov 2026, 14:00 GMT" in shown.text and "Mon 30 Nov 2026, 17:00 GMT" in shown.text
    listed = browser.get("/footage-requests")
    assert "DC/2026/555" in listed.text and "Northwind Plymouth" in listed.text


def test_the_form_keeps_what_was_typed_and_says_what_is_wrong(stamp, browser):
    browser.sign_in(DC, "Police.Officer", next_path="/footage-requests/new")
    browser.get("/footage-requests/new")
    refused = browser.post(
        "/footage-requests/new",
        {
            "crime_reference": "DC/2026/556",
            "store_id": "nw-plymouth",
            "window_start": "2026-11-22T15:00",
            "window_end": "2026-11-22T14:00",
            "deadline": "2026-11-20T17:00",
            "wanted": "Front door",
            "incident_id": "",
        },
    )
    assert refused.status_code == 422
    assert "The window must end after it starts." in refused.text and "The deadline must be in the future." in refused.text
    assert 'value="DC/2026/556"' in refused.text
    assert browser.get("/footage-requests").text.count("DC/2026/556") == 0


def test_store_staff_upload_give_the_files_and_the_officer_sees_them(stamp, browser, browser_for):
    # The hour of the reported theft (IncidentIn's example: 14:32 on 20 November).
    asked = make_request(stamp, window_start="2026-11-20T14:00:00+00:00", window_end="2026-11-20T15:00:00+00:00")
    incident = report(stamp, role="Retailer.Investigator")
    staff = browser
    staff.sign_in("northwind", "Retailer.Investigator", next_path="/footage-requests")
    listed = staff.get("/footage-requests")
    assert "DC/2026/118734" in listed.text and "Devon and Cornwall" in listed.text

    # The request names no report: staff choose theirs, upload into it and give the file.
    page = staff.get(f"/footage-requests/{asked['id']}")
    assert incident["reference"] in page.text
    evidence_id = _upload(stamp, incident["id"])
    chosen = staff.get(f"/footage-requests/{asked['id']}?report={incident['id']}")
    assert "tills.mp4" in chosen.text and 'data-incident="' + incident["id"] + '"' in chosen.text
    given = staff.post(f"/footage-requests/{asked['id']}/supply", [("evidence_id", evidence_id), ("complete", "yes")])
    assert given.status_code == 303, given.text
    assert "Supplied" in staff.get(f"/footage-requests/{asked['id']}").text

    officer = browser_for()
    officer.sign_in(DC, "Police.Officer", next_path=f"/footage-requests/{asked['id']}")
    seen = officer.get(f"/footage-requests/{asked['id']}")
    assert "Supplied" in seen.text and "tills.mp4" in seen.text
    link = f"/footage-requests/{asked['id']}/files/{evidence_id}"
    assert f'href="{link}"' in seen.text
    # The download first asks why, then streams the file; custody records the purpose.
    prompt = officer.get(link)
    assert prompt.status_code == 200 and "Why are you looking" in prompt.text
    got = officer.get(link + "?purpose=Investigating+the+offence")
    assert got.status_code == 200 and got.content == CCTV_CLIP
    chain = stamp.client.get(f"/api/v1/evidence/{evidence_id}/custody", headers=stamp.auth("northwind", "Retailer.Investigator")).json()
    downloads = [e for e in chain["events"] if e["event"] == "downloaded"]
    assert [e["purpose"] for e in downloads] == ["Investigating the offence"] and downloads[0]["actor_org"] == DC
    assert officer.get(f"/footage-requests/{asked['id']}/files/northwind-{'0' * 32}?purpose=Investigating+the+offence").status_code == 404


def test_store_staff_decline_with_a_reason_and_another_retailer_sees_nothing(stamp, browser, browser_for):
    asked = make_request(stamp)
    browser.sign_in("northwind", "Retailer.Reporter", next_path="/footage-requests", stores=["nw-plymouth"])
    browser.get(f"/footage-requests/{asked['id']}")
    declined = browser.post(f"/footage-requests/{asked['id']}/decline", {"reason": "Footage overwritten: retention 30 days"})
    assert declined.status_code == 303
    shown = browser.get(f"/footage-requests/{asked['id']}")
    assert "Declined by the store" in shown.text and "Footage overwritten: retention 30 days" in shown.text

    other = browser_for()
    other.sign_in("contoso", "Retailer.Investigator", next_path="/footage-requests")
    assert other.get(f"/footage-requests/{asked['id']}").status_code == 404
    assert "DC/2026/118734" not in other.get("/footage-requests").text
    assert other.get("/footage-requests/new").status_code == 403  # a retailer cannot ask


def test_a_case_page_links_to_a_request_about_that_report(stamp, browser):
    from urllib.parse import quote_plus

    from tests.console.test_police_pages import dispatched

    incident = dispatched(stamp)
    browser.sign_in(DC, "Police.Officer")
    case = browser.get(f"/cases/{incident['id']}?purpose={quote_plus('Investigating the offence')}")
    link = f"/footage-requests/new?incident={incident['id']}&amp;store=nw-plymouth"
    assert link in case.text
    form = browser.get(link.replace("&amp;", "&"))
    assert f'name="incident_id" value="{incident["id"]}"' in form.text
    assert '<option value="nw-plymouth" selected>' in form.text
    made = browser.post(
        "/footage-requests/new",
        {
            "crime_reference": "DC/2026/777",
            "store_id": "nw-plymouth",
            "window_start": "2026-11-20T14:00",
            "window_end": "2026-11-20T15:00",
            "deadline": "2026-11-30T17:00",
            "wanted": "Second camera at the door",
            "incident_id": incident["id"],
        },
    )
    assert made.status_code == 303, made.text
    request_id = made.headers["location"].rsplit("/", 1)[1]
    shown = stamp.client.get(f"/api/v1/footage-requests/{request_id}", headers=stamp.auth(DC, "Police.Officer")).json()
    assert shown["incident_id"] == incident["id"]


def test_the_list_pages_through_a_sealed_continuation(stamp, browser):
    import re

    for n in range(26):
        make_request(stamp, crime_reference=f"DC/2026/P{n:02d}")
        stamp.clock.advance(minutes=1)
    browser.sign_in(DC, "Police.Analyst", next_path="/footage-requests")
    first = browser.get("/footage-requests")
    assert first.text.count("DC/2026/P") == 25 and "DC/2026/P25" in first.text  # newest first
    next_url = re.search(r'href="(/footage-requests\?page=[^"]+)"', first.text).group(1).replace("&amp;", "&")
    second = browser.get(next_url)
    assert second.text.count("DC/2026/P") == 1 and "DC/2026/P00" in second.text
    assert browser.get(next_url[:-3] + "xyz").status_code == 422  # an edited token is refused
