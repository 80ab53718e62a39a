"""Record-store fixtures for both backends.

`record_store` is parametrised: `local` (SQLite in a temp dir) and `azure` (Cosmos DB
emulator, started once per session by tests/emulators.py).
"""

from __future__ import annotations

import pytest

from shared.adapters.local.sqlite_records import SqliteRecordStore

BACKENDS = ["local"]


@pytest.fixture(params=BACKENDS)
def record_store(request, tmp_path):
    if request.param == "local":
        store = SqliteRecordStore(tmp_path / "records.sqlite")
        yield store
        store.close()
