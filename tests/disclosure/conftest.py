"""The console's browser-like clients, for the share pages and the recipient's pages."""

from tests.console.conftest import browser, browser_for  # noqa: F401
