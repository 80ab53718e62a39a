"""Console tests: a browser-like client over https (session cookies are `Secure`), signed
in through the local sign-in page as a person would."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.fixtures_http import Stamp

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


class Browser:
    """A TestClient that keeps cookies like a browser and reads forms' CSRF tokens."""

    def __init__(self, stamp: Stamp):
        self.stamp = stamp
        # From loopback, as a browser on `make run`: network ranges match the address.
        self.client = TestClient(stamp.client.app, base_url="https://testserver", follow_redirects=False, client=("127.0.0.1", 50000))
        self.csrf = ""

    def get(self, path: str, **kw):
        answer = self.client.get(path, **kw)
        found = CSRF.search(answer.text)
        if found:
            self.csrf = found.group(1)
        return answer

    def post(self, path: str, data: dict | list | None = None, *, csrf: bool = True, **kw):
        fields = list(data.items()) if isinstance(data, dict) else list(data or [])
        if csrf:
            fields.append(("csrf_token", self.csrf))
        body = "&".join(f"{k}={v}" for k, v in [(k, _quote(str(v))) for k, v in fields])
        headers = {"content-type": "application/x-www-form-urlencoded", **kw.pop("headers", {})}
        return self.client.post(path, content=body, headers=headers, **kw)

    def sign_in(self, org: str, role: str, *, next_path: str = "/", stores: list[str] | None = None):
        self.get("/signin")
        fields = [("organisation", org), ("role", role), ("next", next_path)] + [("stores", s) for s in stores or []]
        answer = self.post("/signin", fields)
        assert answer.status_code == 303, answer.text
        return answer


def _quote(text: str) -> str:
    from urllib.parse import quote_plus

    return quote_plus(text)


@pytest.fixture
def browser(stamp) -> Browser:
    return Browser(stamp)


@pytest.fixture
def browser_for(stamp):
    """More than one person at once: `browser_for()` gives each their own cookies."""
    return lambda: Browser(stamp)
