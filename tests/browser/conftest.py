"""Real-browser tests: the pages in headless Chromium (Playwright), against a live local
stamp started as `make run` starts it (tests/live_stamp.py: its own port and data dir,
the demo seed).

Fixtures:
- `live_stamp`: the stamp, one per session (per xdist worker); `live_stamp.url` is its origin.
- `browser`: one Chromium per session.
- `desktop`, `phone`: a fresh browser context per test (no cookies or storage from another
  test), a 1280x800 desktop or a 390x844 touch phone, with `base_url` set to the stamp, so
  `page.goto("/api/v1/docs")` works. `page` is a page in `desktop`, `phone_page` one in `phone`.
- `other_desktop`, `other_page`: a second desktop context and its page, for a second person
  in the same test (the retailer who then sees what the officer did).
- `console`: the test's console watch. Every console error (which includes every CSP
  violation) and uncaught exception in the test's contexts fails the test at teardown,
  unless the test allowed it with `console.allow(regex)`.

A failed test leaves a screenshot of each page it had open in var/browser-failures/.
Browser test modules set `pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]`:
one xdist worker runs them all, with one stamp and one Chromium.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright

from tests.browser.helpers import ROOT, ConsoleWatch, screenshot
from tests.live_stamp import LiveStamp

# `make test` installs Chromium there (Debian's package); elsewhere point VIGIL_TEST_CHROMIUM
# at a Chromium or Chrome binary.
CHROMIUM = Path(os.environ.get("VIGIL_TEST_CHROMIUM", "/usr/bin/chromium"))
FAILURES = ROOT / "var" / "browser-failures"
DESKTOP = {"viewport": {"width": 1280, "height": 800}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 3, "is_mobile": True, "has_touch": True}
TIMEOUT_MS = 10_000
expect.set_options(timeout=TIMEOUT_MS)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.browser_test_failed = report.failed
    return report


@pytest.fixture(scope="session")
def live_stamp(tmp_path_factory) -> Iterator[LiveStamp]:
    stamp = LiveStamp.fresh(tmp_path_factory.mktemp("browser-stamp"))
    stamp.start()
    try:
        yield stamp
    finally:
        stamp.stop()


# Package scope, not session: Playwright's sync API keeps an event loop running in this
# thread while it is open, and tests the same xdist worker runs after the browser tests
# (asyncio.run, the Functions host's loop) must find none.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: `make test` installs it (as root, `apt-get install chromium`), "
            "or set VIGIL_TEST_CHROMIUM to a Chromium or Chrome binary"
        )
    # No sandbox: CI and the development machines run as root, where Chromium's sandbox
    # cannot start; the pages are our own. /dev/shm is small in containers.
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage"])
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture
def console(request) -> Iterator[ConsoleWatch]:
    watch = ConsoleWatch()
    yield watch
    watch.assert_clean()


def _context(browser: Browser, stamp: LiveStamp, watch: ConsoleWatch, request, name: str, **options) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=stamp.url, locale="en-GB", timezone_id="Europe/London", **options)
    context.set_default_timeout(TIMEOUT_MS)
    watch.attach(context)
    try:
        yield context
    finally:
        if getattr(request.node, "browser_test_failed", False):
            stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
            for i, open_page in enumerate(context.pages):
                try:
                    screenshot(open_page, FAILURES / f"{stem}-{name}-{i}.png")
                except Exception:  # noqa: BLE001 - a page that cannot be drawn must not hide the failure
                    pass
        context.close()


@pytest.fixture
def desktop(browser: Browser, live_stamp: LiveStamp, console: ConsoleWatch, request) -> Iterator[BrowserContext]:
    yield from _context(browser, live_stamp, console, request, "desktop", **DESKTOP)


@pytest.fixture
def phone(browser: Browser, live_stamp: LiveStamp, console: ConsoleWatch, request) -> Iterator[BrowserContext]:
    yield from _context(browser, live_stamp, console, request, "phone", **PHONE)


@pytest.fixture
def other_desktop(browser: Browser, live_stamp: LiveStamp, console: ConsoleWatch, request) -> Iterator[BrowserContext]:
    yield from _context(browser, live_stamp, console, request, "other-desktop", **DESKTOP)


@pytest.fixture
def page(desktop: BrowserContext) -> Page:
    return desktop.new_page()


@pytest.fixture
def phone_page(phone: BrowserContext) -> Page:
    return phone.new_page()


@pytest.fixture
def other_page(other_desktop: BrowserContext) -> Page:
    return other_desktop.new_page()
