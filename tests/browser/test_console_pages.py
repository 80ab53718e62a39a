"""The console in Chromium, as its people use it: each role signs in on the local sign-in
page and opens the pages it works from, store staff on a phone. Every page answers, keeps
to its Content-Security-Policy with a clean console, and passes the WCAG 2.2 AA checks."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import assert_accessible, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# (organisation, role, the pages it opens; the first is where signing in lands)
DESKTOP_ROUNDS = [
    ("devon-and-cornwall", "Police.Officer", ["/inbox", "/search"]),
    ("northwind", "Retailer.Investigator", ["/search", "/search/plate-reads"]),
    ("northwind", "Retailer.Admin", ["/admin", "/admin/d2p-settings", "/admin/sharing", "/admin/retention", "/admin/audit"]),
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
