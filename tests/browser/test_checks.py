"""The browser tests' own checks catch what they are for: the WCAG check names the rule,
the element and the fix; the console watch reports a CSP violation and an uncaught error.
On small pages of their own, so a check that silently passed everything would show here."""

from __future__ import annotations

import pytest

from tests.browser.helpers import ConsoleWatch, assert_accessible

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

ORIGIN = "http://checks.test"
STRICT_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:"


def serve(context, body: str) -> None:
    context.route(
        f"{ORIGIN}/**", lambda route: route.fulfill(content_type="text/html", headers={"Content-Security-Policy": STRICT_CSP}, body=body)
    )


def test_the_wcag_check_names_each_violation_and_passes_a_good_page(page):
    page.set_content('<html><body><img src="data:,"><button></button></body></html>')
    with pytest.raises(AssertionError) as failed:
        assert_accessible(page)
    report = str(failed.value)
    for rule in ("image-alt (critical)", "button-name (critical)", "html-has-lang (serious)", "document-title (serious)"):
        assert rule in report
    assert "img" in report and "dequeuniversity.com" in report

    page.set_content(
        '<html lang="en"><head><title>Report an incident</title></head>'
        '<body><main><h1>Report</h1><img src="data:," alt="Till 3"><button>Send</button></main></body></html>'
    )
    assert_accessible(page, impacts=("minor", "moderate", "serious", "critical"))


def test_the_wcag_check_runs_under_a_strict_csp(desktop):
    serve(desktop, "<html><body><img src='data:,'></body></html>")
    page = desktop.new_page()
    page.goto(f"{ORIGIN}/page.html")
    with pytest.raises(AssertionError, match="image-alt"):
        assert_accessible(page)


def test_the_console_watch_reports_csp_violations_and_uncaught_errors(browser):
    context = browser.new_context()
    try:
        watch = ConsoleWatch()
        watch.attach(context)
        serve(context, "<html><body><script>window.inline = 1</script></body></html>")
        page = context.new_page()
        page.goto(f"{ORIGIN}/page.html")
        page.evaluate("() => setTimeout(() => { throw new Error('handler broke') }, 0)")
        page.wait_for_timeout(200)
        assert len(watch.csp_violations()) == 1, watch.problems
        assert any("uncaught" in p and "handler broke" in p for p in watch.problems), watch.problems
        with pytest.raises(AssertionError, match="Content Security Policy"):
            watch.assert_clean()
        watch.allow("Content Security Policy")
        watch.allow("handler broke")
        watch.assert_clean()
    finally:
        context.close()
