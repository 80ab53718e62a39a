"""Screenshots of the console's main pages for docs/console.md, taken as the browser tests
see the console: a fresh local stamp with the demo seed (tests/live_stamp.py), headless
Chromium, the same viewports, sign-in and D2P case as tests/browser/.

    PYTHONPATH=. .venv/bin/python tools/console_screenshots.py [--out docs/console]

Each is what the viewport shows (not the whole page), at CSS pixels, so the files stay
small enough to keep in the repository.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus
from zoneinfo import ZoneInfo

import cv2
import numpy as np
from playwright.sync_api import Browser, Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _tests(name: str) -> Any:
    """A module of the browser tests (the stamp, sign-in, the D2P case, the viewports):
    imported at run time, as test code it is not type-checked with the tools."""
    return importlib.import_module(f"tests.{name}")


cases, conftest, helpers, live_stamp = (_tests(n) for n in ("browser.cases", "browser.conftest", "browser.helpers", "live_stamp"))

# A page screenshot above this is re-encoded at the strongest PNG compression.
MAX_BYTES = 150_000
PURPOSE = "Recording the crime reported through D2P"


def shoot(page: Page, path: Path) -> None:
    page.wait_for_load_state("networkidle")
    png = page.screenshot(full_page=False, scale="css", animations="disabled", caret="hide")
    if len(png) > MAX_BYTES:
        pixels = cv2.imdecode(np.frombuffer(png, dtype=np.uint8), cv2.IMREAD_UNCHANGED)
        ok, smaller = cv2.imencode(".png", pixels, [cv2.IMWRITE_PNG_COMPRESSION, 9]) if pixels is not None else (False, None)
        if ok and smaller is not None and len(smaller) < len(png):
            png = smaller.tobytes()
    path.write_bytes(png)
    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}: {len(png) // 1024} KB")


def new_page(browser: Browser, stamp: Any, viewport: dict) -> Page:
    context = browser.new_context(base_url=stamp.url, locale="en-GB", timezone_id="Europe/London", **viewport)
    return context.new_page()


def take(browser: Browser, stamp: Any, out: Path) -> None:
    incident, message = cases.dispatched(stamp)
    link = cases.case_link(message)

    officer = new_page(browser, stamp, conftest.DESKTOP)
    officer.goto("/signin")
    shoot(officer, out / "signin.png")
    helpers.sign_in(officer, "devon-and-cornwall", "Police.Officer")
    shoot(officer, out / "inbox.png")
    officer.goto(f"{link}?purpose={quote_plus(PURPOSE)}")
    shoot(officer, out / "case.png")
    officer.goto(f"{link}/acknowledge?purpose={quote_plus(PURPOSE)}")
    officer.get_by_label("Crime reference number").fill("CR/004217/26")
    shoot(officer, out / "acknowledge.png")

    reporter = new_page(browser, stamp, conftest.PHONE)
    helpers.sign_in(reporter, "northwind", "Retailer.Reporter", stores=("Northwind Plymouth",))
    reporter.get_by_label("What kind of incident").select_option("shop_theft")
    yesterday = datetime.now(ZoneInfo("Europe/London")) - timedelta(days=1)
    reporter.get_by_label("When it happened").fill(yesterday.strftime("%Y-%m-%dT%H:%M"))
    reporter.get_by_label("What happened, in your own words").fill("Two bottles of whisky taken from aisle 4.")
    shoot(reporter, out / "report-phone.png")

    investigator = new_page(browser, stamp, conftest.DESKTOP)
    helpers.sign_in(investigator, "northwind", "Retailer.Investigator", next_path="/reports")
    shoot(investigator, out / "reports.png")
    investigator.goto(f"/search?reference={quote_plus(incident['reference'])}")
    shoot(investigator, out / "search.png")

    admin = new_page(browser, stamp, conftest.DESKTOP)
    helpers.sign_in(admin, "northwind", "Retailer.Admin", next_path="/admin")
    shoot(admin, out / "admin.png")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "console", help="where the PNG files go")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vigil-screenshots-") as tmp:
        stamp = live_stamp.LiveStamp.fresh(Path(tmp) / "data")
        stamp.start()
        try:
            with sync_playwright() as p:
                # Chromium draws date fields in its own UI language, not the page's locale:
                # en-GB, so the pictures show UK dates as the forces and stores see them.
                browser = p.chromium.launch(
                    executable_path=str(conftest.CHROMIUM), args=["--no-sandbox", "--disable-dev-shm-usage", "--lang=en-GB"]
                )
                try:
                    take(browser, stamp, args.out)
                finally:
                    browser.close()
        finally:
            stamp.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
