"""The console's scenarios end to end in Chromium, against the live local stamp, as the
people in them do it: a northwind report with a suspect image and a CCTV clip goes to
devon-and-cornwall, the officer follows the D2P email's link, signs in, states a purpose,
sees the image, plays the clip and acknowledges with a crime reference, and the retailer
then sees that reference; another force's officer gets not found for the same link; a
form posted without its CSRF token is refused and changes nothing; a narrative holding
a script shows as text. Every page visited passes axe-core's WCAG 2.2 AA checks. (Store
staff reporting from a phone: test_console_pages.py's phone test.)"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.browser.cases import api, case_link, dispatched
from tests.browser.helpers import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

FORCE = "devon-and-cornwall"
OFFICER = "Police.Officer"
CRIME_REFERENCE = "CR/004217/26"
SCRIPT = "<script>window.pwned=1</script>"


def open_case(page: Page, link: str) -> None:
    """From the purpose prompt a case link shows first: pick the first stated purpose."""
    expect(page.get_by_role("heading", level=1)).to_have_text("Why are you looking at this case?")
    assert_accessible(page)
    page.locator("#purpose-1").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Open the case").click()
    assert urlsplit(page.url).path == urlsplit(link).path, page.url


def test_an_officer_follows_the_email_views_the_evidence_and_acknowledges_and_the_retailer_sees_it(page, other_page, live_stamp):
    retailer = other_page
    incident, message = dispatched(live_stamp)
    link = case_link(message)
    assert urlsplit(link).port == live_stamp.port, link

    # Signed out, the link goes to sign-in and comes back to the case.
    page.goto(link)
    assert "/signin" in page.url, page.url
    sign_in(page, FORCE, OFFICER)
    open_case(page, link)
    expect(page.locator("main h1")).to_contain_text(incident["reference"])

    # The clip's poster and thumbnails show too; the suspect image is the one the store sent.
    image = page.get_by_role("img", name="suspect image: suspect.jpg")
    expect(image).to_be_visible()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=image.element_handle())

    # The clip as the store sent it (a playable copy made on upload sits beside it).
    video = page.get_by_label("cctv: till-camera.mp4", exact=True)
    expect(video).to_be_visible()
    clip_url = video.evaluate("v => v.src")
    asked = []
    page.on(
        "response", lambda r: asked.append((r.request.headers.get("range"), r.headers.get("accept-ranges"))) if r.url == clip_url else None
    )
    video.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function("v => v.currentTime > 0", arg=video.element_handle())
    assert video.evaluate("v => v.error") is None
    # The player asks in byte ranges and is told it may (so it can seek in a long clip
    # without fetching it all); a range from the middle comes back as just those bytes.
    assert any(r and r.startswith("bytes=") and a == "bytes" for r, a in asked), asked
    part = page.evaluate(
        """async url => {
            const r = await fetch(url, {headers: {Range: "bytes=100-199"}});
            return [r.status, r.headers.get("content-range"), (await r.arrayBuffer()).byteLength];
        }""",
        clip_url,
    )
    assert part[0] == 206 and part[1].startswith("bytes 100-199/") and part[2] == 100, part
    assert_accessible(page)

    page.get_by_role("link", name="Acknowledge with a crime reference").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Acknowledge")
    assert_accessible(page)
    page.get_by_label("Crime reference number").fill(CRIME_REFERENCE)
    with page.expect_navigation():
        page.get_by_role("button", name="Acknowledge", exact=True).click()
    expect(page.locator("#status-h + p")).to_contain_text(f"with crime reference {CRIME_REFERENCE}")

    # The inbox lists the case (acknowledged now).
    page.goto("/inbox")
    expect(page.locator("main")).to_contain_text(incident["reference"])
    assert_accessible(page)

    # The retailer, in a browser of their own, sees the crime reference on their report.
    sign_in(retailer, "northwind", "Retailer.Investigator", next_path=f"/reports/{incident['id']}")
    expect(retailer.locator("main")).to_contain_text(f"crime reference {CRIME_REFERENCE}")
    assert_accessible(retailer)


def test_another_forces_officer_gets_not_found_and_a_form_without_its_csrf_token_is_refused(page, live_stamp, console):
    incident, message = dispatched(live_stamp)
    link = case_link(message)

    # The case link's purpose prompt asks every officer before anything of the case is read
    # (it says nothing about whether the case exists); with a purpose stated, the other
    # force's officer is told there is no such case. The acknowledge link says so at once.
    sign_in(page, "avon-and-somerset", OFFICER)
    page.goto(link)
    page.locator("#purpose-1").check()
    with page.expect_navigation() as case:
        page.get_by_role("button", name="Open the case").click()
    assert case.value is not None and case.value.status == 404, f"{link}: {case.value and case.value.status}"
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    assert_accessible(page)
    answer = page.goto(f"{link}/acknowledge")
    assert answer is not None and answer.status == 404, f"{link}/acknowledge: {answer and answer.status}"
    expect(page.get_by_role("heading", level=1)).to_have_text("Not found")
    assert incident["reference"] not in page.content()
    console.allow(r"404 \(Not Found\)")

    # The right force, but a form that lost its CSRF token (as a cross-site post would).
    page.context.clear_cookies()
    sign_in(page, FORCE, OFFICER, next_path=f"{link}/acknowledge")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Acknowledge {incident['reference']}")
    page.get_by_label("Crime reference number").fill("CR/999999/26")
    page.evaluate("() => document.querySelector('form[action$=\"/acknowledge\"] input[name=csrf_token]').remove()")
    with page.expect_navigation() as refused:
        page.get_by_role("button", name="Acknowledge", exact=True).click()
    assert refused.value is not None and refused.value.status == 403
    expect(page.get_by_role("alert")).to_contain_text("did not come from this Vigil page")
    assert_accessible(page)
    console.allow(r"403 \(Forbidden\)")

    with api(live_stamp, "northwind", "Retailer.Investigator") as client:
        dispatch = client.get(f"/incidents/{incident['id']}/d2p").json()["dispatches"][0]
    assert dispatch["status"] == "sent" and dispatch["crime_reference"] is None


def test_a_narrative_holding_a_script_shows_as_text(page, live_stamp, console):
    incident, message = dispatched(live_stamp, narrative=f"He wrote {SCRIPT} on the till screen.")
    sign_in(page, FORCE, OFFICER, next_path=case_link(message))
    open_case(page, case_link(message))
    expect(page.locator(".police-narrative")).to_have_text(f"He wrote {SCRIPT} on the till screen.")
    assert page.evaluate("() => typeof window.pwned") == "undefined"
    assert_accessible(page)
    console.assert_clean()
