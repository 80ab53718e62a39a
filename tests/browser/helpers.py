"""What a browser test checks besides its own assertions: the browser console stayed clean
(no errors, no Content-Security-Policy violations, no uncaught exceptions), the page passes
axe-core's WCAG checks, and a screenshot when asked for one."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, ConsoleMessage, Error, Page

ROOT = Path(__file__).resolve().parents[2]
# axe-core is pinned in tools/emulators/package.json and installed with the emulators by
# `make test` (`make emulators`), so the browser tests use the same version everywhere.
AXE_JS = ROOT / "tools" / "emulators" / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.2 AA is what UK public sector services (the forces using the console) are held to;
# axe tags each rule with the version and level that introduced it.
WCAG_TAGS = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa")


@dataclass
class ConsoleWatch:
    """Everything a context's pages said on the console at level error, and every uncaught
    exception. Chromium reports each CSP violation (a blocked script, style, image, fetch or
    frame) as a console error, so a clean console also means the page kept to its policy."""

    problems: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(default_factory=list)

    def attach(self, context: BrowserContext) -> None:
        context.on("console", self._console)
        context.on("weberror", lambda error: self.problems.append(f"uncaught: {error.error}"))
        context.on("page", self._watch_page)

    def _watch_page(self, page: Page) -> None:
        # A renderer that dies leaves later steps timing out on elements that vanished:
        # name the cause instead.
        page.on("crash", lambda crashed: self.problems.append(f"the page crashed: {crashed.url}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            self.problems.append(f"console error: {message.text}" + (f" ({where})" if where else ""))

    def allow(self, pattern: str) -> None:
        """Accept console errors matching `pattern` (a regex) in this test: only for what the
        test itself provokes, such as a blocked request it checks is blocked."""
        self.allowed.append(re.compile(pattern))

    def unexpected(self) -> list[str]:
        return [p for p in self.problems if not any(a.search(p) for a in self.allowed)]

    def assert_clean(self) -> None:
        found = self.unexpected()
        assert not found, "the browser console reported:\n  " + "\n  ".join(found)

    def csp_violations(self) -> list[str]:
        return [p for p in self.problems if "Content Security Policy" in p]


@cache
def _axe_source() -> str:
    if not AXE_JS.exists():
        raise AssertionError(f"{AXE_JS} is missing: run `make emulators` (npm ci in tools/emulators) to install axe-core")
    return AXE_JS.read_text()


def _inject_axe(page: Page) -> None:
    # page.add_script_tag would add an inline <script>, which the pages' CSP (script-src
    # 'self') rightly blocks; evaluate runs through the DevTools protocol, outside the CSP.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(_axe_source())


def axe_violations(
    page: Page,
    *,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    rules: list[str] | None = None,
    impacts: tuple[str, ...] = ("serious", "critical"),
) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.2 A/AA violations on the page as it is now, at the given impacts,
    within the `include` selectors (the whole page by default) and outside `exclude`;
    only the named axe `rules` when given. Page-level rules (the document's title and
    language) run only when the whole page is included."""
    _inject_axe(page)
    context = {"include": [[s] for s in include] if include else [["html"]], "exclude": [[s] for s in exclude or []]}
    run_only = {"type": "rule", "values": rules} if rules else {"type": "tag", "values": list(WCAG_TAGS)}
    options = {"runOnly": run_only, "resultTypes": ["violations"]}
    try:
        result = page.evaluate("([context, options]) => window.axe.run(context, options)", [context, options])
    except Error as exc:
        raise AssertionError(f"axe-core could not run on {page.url}: {exc.message}") from exc
    return [v for v in result["violations"] if v.get("impact") in impacts]


def assert_accessible(
    page: Page,
    *,
    include: list[str] | None = None,
    exclude: list[str] | None = None,
    rules: list[str] | None = None,
    impacts: tuple[str, ...] = ("serious", "critical"),
) -> None:
    """Fail listing each WCAG violation axe-core finds (rule, impact, the elements and how
    to fix them): serious and critical ones by default, on the whole page by default (see
    `axe_violations` for the scope arguments)."""
    violations = axe_violations(page, include=include, exclude=exclude, rules=rules, impacts=impacts)
    if not violations:
        return
    lines = [f"{len(violations)} accessibility violation(s) on {page.url}:"]
    for v in violations:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']} [{v['helpUrl']}]")
        for node in v["nodes"][:5]:
            lines.append(f"    {' '.join(map(str, node['target']))}: {node.get('failureSummary', '').replace(chr(10), ' ')}")
        if len(v["nodes"]) > 5:
            lines.append(f"    ... and {len(v['nodes']) - 5} more")
    raise AssertionError("\n".join(lines))


def screenshot(page: Page, path: str | Path, *, full_page: bool = True) -> Path:
    """Save what the page shows now as a PNG at `path` (its folders are made); returns it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target), full_page=full_page)
    return target


def sign_in(page: Page, organisation: str, role: str, *, stores: tuple[str, ...] = (), next_path: str | None = None) -> None:
    """Sign in on the local stamp's sign-in page as a person does: in the organisation's
    card, tick the stores (store staff), press the role's button; the console then shows
    its landing page (or `next_path`). Waits until the signed-in page has loaded."""
    if next_path is not None:
        page.goto(next_path)  # signed out: the console sends the browser to sign-in, keeping the address
    elif "/signin" not in page.url:
        page.goto("/signin")
    card = page.locator(f"section[aria-labelledby='org-{organisation}']")
    for store in stores:
        card.get_by_label(store).check()
    with page.expect_navigation():
        card.get_by_role("button", name=role, exact=True).click()
    if "/signin" in page.url:
        raise AssertionError(f"signing in as {role} of {organisation} stayed on {page.url}")
