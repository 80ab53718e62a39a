"""Shared pytest fixtures. Backend fixtures (local SQLite, Cosmos emulator) live in
tests/fixtures_backends.py; HTTP fixtures in tests/fixtures_http.py."""

pytest_plugins = ["tests.fixtures_backends", "tests.fixtures_http"]
