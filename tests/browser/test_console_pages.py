"""The console in Chromium, as its people use it: each role signs in on the local sign-in
page and opens the pages it works from, store staff on a phone. Every page answers, keeps
to its Content-Security-Policy with a clean console, and passes the WCAG 2.2 AA checks."""

from __future__ import annotations

from datetime import datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import cv2
import numpy as np
import pytest
from playwright.sync_api import expect

from tests.browser.helpers import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# (organisation, role, the pages it opens; the first is where signing in lands)
DESKTOP_ROUNDS = [
    ("devon-and-cornwall", "Police.Officer", ["/inbox", "/search"]),
    ("northwind", "Retailer.Investigator", ["/search", "/search/plate-reads"]),
    (
        "northwind",
        "Retailer.Admin",
        ["/admin", "/admin/d2p-settings", "/admin/sharing", "/admin/retention", "/admin/audit", "/admin/go-live"],
    ),
    # Referrals: a national unit's people have one page, their intake.
    ("opal", "NationalUnit.Officer", ["/referrals"]),
    # D2P evaluation: the table, chart and upload forms.
    ("devon-and-cornwall", "Police.Analyst", ["/inbox", "/evaluation"]),
]


def visit(page, path: str) -> None:
    answer = page.goto(path)
    assert answer is not None and answer.status == 200, f"{path}: {answer and answer.status}"
    assert "/signin" not in page.url, f"{path} asked to sign in again"
    expect(page.locator("main h1").first).to_be_visible()
    assert page.title().endswith("Vigil"), page.title()
    assert_accessible(page)


def test_the_sign_in_page_is_accessible(page, phone_page):
    for each in (page, phone_page):
        each.goto("/signin")
        expect(each.get_by_role("heading", level=1)).to_contain_text("Sign in")
        assert_accessible(each)


@pytest.mark.parametrize(("organisation", "role", "paths"), DESKTOP_ROUNDS, ids=[r[1] for r in DESKTOP_ROUNDS])
def test_each_role_works_its_pages(page, console, organisation, role, paths):
    sign_in(page, organisation, role)
    assert page.url.endswith(paths[0]), page.url
    for path in paths:
        visit(page, path)
    console.assert_clean()


def test_store_staff_report_from_a_phone(phone_page, console):
    sign_in(phone_page, "northwind", "Retailer.Reporter", stores=("Northwind Plymouth",))
    assert phone_page.url.endswith("/report"), phone_page.url
    for path in ("/report", "/reports"):
        visit(phone_page, path)
    # Nothing wider than the phone: no sideways scrolling to reach a field.
    phone_page.goto("/report")
    assert phone_page.evaluate("() => document.documentElement.scrollWidth") <= 390
    console.assert_clean()


def test_a_link_opened_signed_out_comes_back_after_sign_in_and_sign_out_ends_it(page):
    sign_in(page, "northwind", "Retailer.Investigator", next_path="/search/plate-reads")
    assert page.url.endswith("/search/plate-reads"), page.url

    with page.expect_navigation():
        page.get_by_role("button", name="Sign out").click()
    page.goto("/search")
    assert "/signin" in page.url, page.url


def test_store_staff_report_and_add_a_photo_from_a_phone(phone_page, console):
    page = phone_page
    sign_in(page, "northwind", "Retailer.Reporter", stores=("Northwind Plymouth",))

    # Sent empty, the form comes back with each problem named beside its field.
    with page.expect_navigation():
        page.locator("button.wide", has_text="Send the report").tap()
    expect(page.locator("#form-problems")).to_be_visible()
    assert_accessible(page)
    console.allow(r"422 \(Unprocessable (Entity|Content)\)")

    eligibility = page.locator("#eligibility")
    page.get_by_label("Store", exact=True).select_option(label="Northwind Plymouth")
    page.get_by_label("What kind of incident").select_option("shop_theft")
    yesterday = datetime.now(ZoneInfo("Europe/London")) - timedelta(days=1)
    page.get_by_label("When it happened").fill(yesterday.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("What happened, in your own words").fill(
        "Two bottles of whisky taken from aisle 4; the man ran towards the car park."
    )
    page.locator("#goods-0-description").fill("Whisky, 70cl")
    page.locator("#goods-0-value").fill("24.50")
    # The reasons the force would not yet take it show as the form fills: no CCTV or
    # suspect image yet (those come after the report is made), and too little value.
    expect(eligibility).to_contain_text("Attach CCTV covering the whole incident.")
    expect(eligibility).to_contain_text("Attach a clear image of the suspect")
    expect(eligibility).to_contain_text("below the force's minimum of £100.00")

    page.get_by_role("button", name="Add a person").tap()
    page.locator("#person-0-clothing").fill("Grey hoodie, black jeans, white trainers")
    page.locator("#person-0-age").fill("25-35")
    # Five bottles, not one: the value now meets the force's minimum and that reason goes.
    page.locator("#goods-0-quantity").fill("5")
    expect(eligibility).not_to_contain_text("below the force's minimum")
    expect(eligibility).to_contain_text("Attach CCTV covering the whole incident.")
    page.locator("#reporter_name").fill("Sam Patel")
    with page.expect_navigation():
        page.locator("button.wide", has_text="Send the report").tap()
    expect(page.get_by_text("Your report was made.")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Grey hoodie, black jeans, white trainers")
    report_path = urlsplit(page.url).path

    # The photo goes up through the API's resumable upload routes, from the page's script,
    # with the session cookie and the CSRF header.
    ok, photo = cv2.imencode(".jpg", np.full((48, 64, 3), 128, dtype=np.uint8))
    assert ok
    page.get_by_label("Take a picture or choose files").set_input_files(
        files=[{"name": "till-3.jpg", "mimeType": "image/jpeg", "buffer": photo.tobytes()}]
    )
    page.get_by_role("button", name="Upload").tap()
    expect(page.locator("[data-upload-list]")).to_contain_text("Uploaded.")
    bar = page.get_by_role("progressbar", name="till-3.jpg")
    assert bar.evaluate("bar => bar.value === bar.max && bar.max > 0"), "the progress bar stopped short of done"
    # What a screen reader announces when the file is in.
    expect(page.locator("[data-upload-status]")).to_have_text("till-3.jpg uploaded.")
    page.get_by_role("link", name="Show the report with the new evidence").tap()
    expect(page.locator(".evidence-list")).to_contain_text("till-3.jpg")
    assert_accessible(page)

    page.goto("/reports")
    expect(page.locator(f"a[href='{report_path}']")).to_be_visible()
    assert_accessible(page)
    console.assert_clean()
