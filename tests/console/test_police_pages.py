"""The police pages as an officer uses them: the inbox, the case a D2P email opens, the
purpose prompt, acknowledging with a crime reference, outcomes, legal holds and evidence."""

from __future__ import annotations

from urllib.parse import quote_plus

import pytest

from tests.d2p.helpers import CCTV_CLIP, add_evidence, drain, report

FORCE = "devon-and-cornwall"
OFFICER = "Police.Officer"
PURPOSE = "Recording the crime reported through D2P"
SCRIPT = "<script>alert('x')</script>"


def dispatched(stamp, *, narrative: str = "Took two bottles of whisky and pushed a colleague.", **overrides) -> dict:
    """A northwind report at a Plymouth store that meets the force's rules, sent to the force and delivered."""
    incident = report(stamp, narrative=narrative, **overrides)
    add_evidence(stamp, incident, "cctv", "suspect_image")
    sent = stamp.client.post(f"/api/v1/incidents/{incident['id']}/d2p", headers=stamp.auth("northwind", "Retailer.Investigator"))
    assert sent.status_code == 202, sent.text
    drain(stamp)
    return incident


def case_url(incident: dict, suffix: str = "") -> str:
    return f"/cases/{incident['id']}{suffix}?purpose={quote_plus(PURPOSE)}"


def dispatch_of(stamp, incident: dict) -> dict:
    got = stamp.client.get(f"/api/v1/incidents/{incident['id']}/d2p", headers=stamp.auth("northwind", "Retailer.Investigator"))
    return got.json()["dispatches"][0]


def test_email_link_survives_sign_in_then_asks_purpose_and_audits_the_read(stamp, browser):
    incident = dispatched(stamp)
    link = f"/cases/{incident['id']}"

    first = browser.get(link)
    assert first.status_code == 303 and first.headers["location"] == f"/signin?next={link}"
    signed = browser.sign_in(FORCE, OFFICER, next_path=link)
    assert signed.headers["location"] == link

    prompt = browser.get(link)
    assert prompt.status_code == 200
    assert "Why are you looking at this case?" in prompt.text and incident["reference"] not in prompt.text

    opened = browser.get(link, params={"purpose": PURPOSE})
    assert opened.status_code == 200, opened.text
    assert incident["reference"] in opened.text and "Took two bottles of whisky" in opened.text
    assert f'href="{case_url(incident, "/acknowledge")}"' in opened.text

    trail = stamp.client.get(
        "/api/v1/audit", params={"entity": f"incident/{incident['id']}"}, headers=stamp.auth("northwind", "Retailer.Admin")
    )
    reads = [e for e in trail.json()["items"] if e["operation"] == "incident.read" and e.get("recipient_org") == FORCE]
    assert [e["purpose"] for e in reads] == [PURPOSE]


def test_another_purpose_in_the_officers_words_too_short_is_asked_again(stamp, browser):
    incident = dispatched(stamp)
    browser.sign_in(FORCE, OFFICER)
    again = browser.get(f"/cases/{incident['id']}", params={"purpose": "other", "other": "x"})
    assert again.status_code == 422 and "3 to 500 characters" in again.text
    own = browser.get(f"/cases/{incident['id']}", params={"purpose": "other", "other": "Checking a linked series of thefts"})
    assert own.status_code == 303 and own.headers["location"].endswith("?purpose=Checking+a+linked+series+of+thefts")
    typed = browser.get(f"/cases/{incident['id']}", params={"other": "  Checking   a linked series "})
    assert typed.status_code == 303 and typed.headers["location"].endswith("?purpose=Checking+a+linked+series")


def test_narrative_holding_script_shows_as_text(stamp, browser):
    incident = dispatched(stamp, narrative=f"Suspect wrote {SCRIPT} on the till screen.")
    browser.sign_in(FORCE, OFFICER)
    page = browser.get(case_url(incident))
    assert page.status_code == 200
    assert SCRIPT not in page.text
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in page.text


def test_acknowledge_with_crime_reference_reaches_the_retailer(stamp, browser):
    incident = dispatched(stamp)
    browser.sign_in(FORCE, OFFICER)
    form = browser.get(case_url(incident, "/acknowledge"))
    assert form.status_code == 200 and 'for="crime-reference"' in form.text

    done = browser.post(f"/cases/{incident['id']}/acknowledge", {"crime_reference": "CR/012345/26", "purpose": PURPOSE})
    assert done.status_code == 303 and done.headers["location"] == case_url(incident)
    case = browser.get(done.headers["location"])
    assert f"Acknowledged by {FORCE}-officer with crime reference" in case.text and "CR/012345/26" in case.text

    seen = stamp.client.get(f"/api/v1/incidents/{incident['id']}/d2p", headers=stamp.auth("northwind", "Retailer.Investigator"))
    assert seen.json()["dispatches"][0]["crime_reference"] == "CR/012345/26"


def test_bad_crime_reference_is_shown_on_the_form_with_what_was_entered(stamp, browser):
    incident = dispatched(stamp)
    browser.sign_in(FORCE, OFFICER)
    browser.get(case_url(incident, "/acknowledge"))
    bad = browser.post(f"/cases/{incident['id']}/acknowledge", {"crime_reference": "CR#1<b>", "purpose": PURPOSE})
    assert bad.status_code == 422
    assert "Enter the crime reference as your force writes it" in bad.text
    assert 'value="CR#1&lt;b&gt;"' in bad.text
    assert dispatch_of(stamp, incident)["status"] == "sent"


def test_acknowledge_without_the_csrf_token_is_refused_and_changes_nothing(stamp, browser):
    incident = dispatched(stamp)
    browser.sign_in(FORCE, OFFICER)
    refused = browser.post(f"/cases/{incident['id']}/acknowledge", {"crime_reference": "CR/1/26"}, csrf=False)
    assert refused.status_code == 403
    assert dispatch_of(stamp, incident)["status"] == "sent" and dispatch_of(stamp, incident)["crime_reference"] is None


def test_another_forces_officer_gets_not_found(stamp, browser):
    incident = dispatched(stamp)
    browser.sign_in("avon-and-somerset", OFFICER)
    assert browser.get(case_url(incident)).status_code == 404
    assert browser.get(case_url(incident, "/acknowledge")).status_code == 404
    # The prompt itself is the same for any address: it does not confirm the case exists.
    assert browser.get(f"/cases/{incident['id']}").text == browser.get("/cases/no-such-case").text.replace("no-such-case", incident["id"])


def test_an_incident_not_dispatched_to_the_force_is_not_found(stamp, browser):
    incident = report(stamp)
    browser.sign_in(FORCE, OFFICER)
    assert browser.get(case_url(incident)).status_code == 404


@pytest.mark.parametrize("role", ["Retailer.Investigator", "Retailer.Reporter"])
def test_retailers_have_no_inbox(stamp, browser, role):
    browser.sign_in("northwind", role)
    assert browser.get("/inbox").status_code in (403, 404)


def test_inbox_marks_violence_priority_and_shows_the_overdue_one(stamp, browser):
    calm = dispatched(stamp, narrative="Took razor blades, left on foot.", flags={"violence": False})
    stamp.clock.advance(hours=30)
    violent = dispatched(stamp, narrative="Punched a colleague on the way out.", flags={"violence": True})
    browser.sign_in(FORCE, OFFICER)

    inbox = browser.get("/inbox")
    assert inbox.status_code == 200
    rows = inbox.text.split("<tbody>")[1].split("</tr>")
    assert violent["reference"] in rows[0] and "PRIORITY: violence" in rows[0] and "New: not yet acknowledged" in rows[0]
    assert calm["reference"] in rows[1] and "PRIORITY" not in rows[1] and "OVERDUE" in rows[1]
    assert f'href="/cases/{violent["id"]}"' in inbox.text

    overdue = browser.get("/inbox?view=overdue")
    assert calm["reference"] in overdue.text and violent["reference"] not in overdue.text
    new = browser.get("/inbox?view=new")
    assert violent["reference"] in new.text and calm["reference"] not in new.text


@pytest.mark.stamp_settings(default_page_size=2)
def test_inbox_pages_through_continuation(stamp, browser):
    made = []
    for i in range(3):
        made.append(dispatched(stamp, narrative=f"Theft number {i}."))
        stamp.clock.advance(minutes=1)
    browser.sign_in(FORCE, OFFICER)
    first = browser.get("/inbox")
    assert made[2]["reference"] in first.text and made[0]["reference"] not in first.text
    nxt = first.text.split('href="/inbox?view=all&amp;page=')[1].split('"')[0]
    second = browser.get("/inbox?view=all&page=" + nxt.replace("&amp;", "&"))
    assert made[0]["reference"] in second.text and made[2]["reference"] not in second.text
    # A token edited by hand, or taken to another filter, is refused before the store reads it.
    assert browser.get("/inbox?view=all&page=" + nxt.replace("&amp;", "&")[:-2] + "AA").status_code == 422
    assert browser.get("/inbox?view=overdue&page=" + nxt.replace("&amp;", "&")).status_code == 422


def test_video_evidence_plays_with_range_requests(stamp, browser):
    incident = dispatched(stamp)
    browser.sign_in(FORCE, OFFICER)
    case = browser.get(case_url(incident))
    clip = next(e for e in stamp.client.get(
        f"/api/v1/incidents/{incident['id']}/evidence", headers=stamp.auth("northwind", "Retailer.Investigator")
    ).json()["items"] if e["kind"] == "cctv")  # fmt: skip
    src = f"/cases/{incident['id']}/evidence/{clip['id']}/file?purpose={quote_plus(PURPOSE)}"
    assert f'<video class="evidence" controls preload="none" src="{src}"' in case.text

    part = browser.get(src, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 0-99/{len(CCTV_CLIP)}" and part.content == CCTV_CLIP[:100]
    assert part.headers["content-type"] == "video/mp4" and part.headers["accept-ranges"] == "bytes"

    viewer = browser.get(f"/cases/{incident['id']}/evidence/{clip['id']}?purpose={quote_plus(PURPOSE)}")
    assert viewer.status_code == 200 and clip["sha256"] in viewer.text and "The chain verifies" in viewer.text
    assert PURPOSE in viewer.text  # the custody events carry the stated purpose


def test_outcome_hold_and_court_package_from_the_case_page(stamp, browser):
    incident = dispatched(stamp)
    browser.sign_in(FORCE, OFFICER)
    browser.get(case_url(incident))
    recorded = browser.post(f"/cases/{incident['id']}/outcome", {"code": "1", "note": "Charged", "purpose": PURPOSE})
    assert recorded.status_code == 303
    held = browser.post(f"/cases/{incident['id']}/hold", {"action": "place", "reason": "Trial listed for March", "purpose": PURPOSE})
    assert held.status_code == 303
    case = browser.get(case_url(incident))
    assert "1: Charged / summonsed" in case.text and "Held from deletion." in case.text and "Release our hold" in case.text

    short = browser.post(f"/cases/{incident['id']}/hold", {"action": "release", "reason": "short", "purpose": PURPOSE})
    assert short.status_code == 422 and "10 to 1,000 characters" in short.text

    package = browser.get(case_url(incident, "/package"))
    assert package.status_code == 200 and package.headers["content-type"] == "application/zip" and package.content[:2] == b"PK"


def test_pictures_show_inline_and_the_redacted_copy_is_the_one_for_disclosure(stamp, browser):
    import cv2
    import numpy as np

    incident = dispatched(stamp)
    investigator = stamp.auth("northwind", "Retailer.Investigator")
    _, png = cv2.imencode(".png", np.full((96, 128, 3), 200, dtype=np.uint8))
    photo = stamp.client.post(
        f"/api/v1/incidents/{incident['id']}/evidence",
        content=png.tobytes(),
        headers={**investigator, "Content-Type": "image/png", "X-Filename": "aisle.png", "X-Evidence-Kind": "photo"},
    ).json()
    redacted = stamp.client.post(
        f"/api/v1/evidence/{photo['id']}/redactions",
        json={"method": "blur", "regions": [{"x": 0, "y": 0, "width": 32, "height": 32}], "reason": "Bystander's face"},
        headers=investigator,
    )
    assert redacted.status_code == 201, redacted.text
    browser.sign_in(FORCE, OFFICER)
    case = browser.get(case_url(incident))

    copy_at = case.text.index(f"/evidence/{redacted.json()['id']}/file")
    original_at = case.text.index(f"/evidence/{photo['id']}/file")
    assert copy_at < original_at  # the copy to disclose comes first
    assert "Redacted copy: the one to disclose" in case.text[copy_at:original_at]
    assert "Original: not for disclosure (a redacted copy exists)" in case.text[original_at:]

    shown = browser.get(f"/cases/{incident['id']}/evidence/{photo['id']}/file?purpose={quote_plus(PURPOSE)}")
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/png" and shown.content == png.tobytes()
    assert shown.headers["content-disposition"].startswith("inline")
