"""Shared pytest fixtures. Backend fixtures (local SQLite, Cosmos emulator) live in
tests/fixtures_backends.py; HTTP fixtures in tests/fixtures_http.py; tests/xdist_groups.py
keeps each xdist group on one worker."""

pytest_plugins = ["tests.fixtures_backends", "tests.fixtures_http", "tests.xdist_groups"]
