"""The interactive docs work offline (every asset served by the app, a CSP with no other
origin), and every answer carries the security headers; API answers are not cached."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest

API = "/api/v1"


class Refs(HTMLParser):
    def __init__(self):
        super().__init__()
        self.refs: list[str] = []
        self.inline_scripts = 0
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for name in ("src", "href", "data-openapi-url"):
            if a.get(name):
                self.refs.append(a[name])
        self._in_script = tag == "script"
        if tag == "script" and not a.get("src"):
            self.inline_scripts += 1
        if any(k.startswith("on") for k in a) or "style" in a:
            self.inline_scripts += 1

    def handle_endtag(self, tag):
        self._in_script = False


def csp(header: str) -> dict[str, list[str]]:
    out = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def test_docs_page_loads_everything_from_the_app(stamp):
    page = stamp.client.get(f"{API}/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    parser = Refs()
    parser.feed(page.text)
    assert parser.inline_scripts == 0
    assert len(parser.refs) >= 4
    for ref in parser.refs:
        parts = urlsplit(ref)
        assert not parts.scheme and not parts.netloc and ref.startswith("/"), f"{ref} is not this app's"
        r = stamp.client.get(ref)
        assert r.status_code == 200, ref
        assert len(r.content) > 0
    # The stylesheet draws with data: images only; nothing fetched from elsewhere.
    css = stamp.client.get(next(r for r in parser.refs if r.endswith(".css"))).text
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", css)
    policy = csp(page.headers["content-security-policy"])
    assert policy["default-src"] == ["'none'"] and policy["script-src"] == ["'self'"] and policy["frame-ancestors"] == ["'none'"]
    for directive, sources in policy.items():
        for source in sources:
            assert source in ("'self'", "'none'", "data:"), f"{directive} allows {source}"
    assert stamp.client.get(f"{API}/docs/assets/index.html").status_code == 404  # only the files the page uses


def _assert_security_headers(r):
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["cross-origin-resource-policy"] == "same-origin"
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "no_store"),
    [
        ("GET", f"{API}/incidents", {"auth": True}, 200, True),
        ("GET", f"{API}/incidents", {}, 401, True),
        ("GET", f"{API}/incidents/nope", {"auth": True}, 404, True),
        ("POST", f"{API}/incidents", {"auth": True, "content": b"x" * (300 * 1024)}, 413, True),
        ("GET", f"{API}/healthz", {}, 200, False),
        ("GET", f"{API}/openapi.json", {}, 200, False),
        ("GET", f"{API}/docs", {}, 200, False),
        ("GET", "/not-here", {}, 404, True),  # a console page: personal data, never cached
    ],
)
def test_every_answer_has_security_headers(stamp, method, path, kwargs, status, no_store):
    headers = stamp.auth("northwind", "Retailer.Investigator") if kwargs.pop("auth", False) else {}
    if "content" in kwargs:
        headers["Content-Type"] = "application/json"
    r = stamp.client.request(method, path, headers=headers, **kwargs)
    assert r.status_code == status, r.text[:200]
    _assert_security_headers(r)
    assert (r.headers.get("cache-control") == "no-store") is no_store, r.headers.get("cache-control")
    assert "strict-transport-security" not in r.headers  # plain http here


def test_hsts_only_when_behind_https(stamp):
    assert "strict-transport-security" not in stamp.client.get(f"{API}/healthz").headers
    behind = stamp.client.get(f"{API}/healthz", headers={"X-Forwarded-Proto": "https"})
    assert behind.headers["strict-transport-security"].startswith("max-age=31536000")
    direct = stamp.client.get(f"https://testserver{API}/healthz")
    assert "max-age" in direct.headers["strict-transport-security"]


def test_an_unexpected_error_has_the_headers_too(stamp, monkeypatch):
    monkeypatch.setattr(stamp.container.incidents, "search", lambda *a, **k: 1 / 0)
    r = stamp.client.get(f"{API}/incidents", headers=stamp.auth("northwind", "Retailer.Investigator"))
    assert r.status_code == 500
    _assert_security_headers(r)
    assert r.headers["cache-control"] == "no-store"
