"""Record-store fixtures for both backends.

`record_store` is parametrised: `local` (SQLite in a temp dir) and `azure` (Cosmos DB
emulator, started once per session by tests/emulators.py, a fresh database per test).
`cosmos_emulator` and `azurite` start the emulators once per session (installing them
with npm if needed) and stop them at the end. If they cannot be installed or started,
the tests that use them fail; they are never skipped.
"""

from __future__ import annotations

import uuid
from typing import NamedTuple

import pytest

from shared.adapters.local.sqlite_records import SqliteRecordStore
from tests import emulators

BACKENDS = ["local", pytest.param("azure", marks=pytest.mark.azure)]


class CosmosEmulator(NamedTuple):
    endpoint: str
    key: str


@pytest.fixture(scope="session")
def cosmos_emulator():
    """cosmosdb-server on a free port: (endpoint, key)."""
    emulator = emulators.start_cosmos()
    try:
        yield CosmosEmulator(emulators.cosmos_endpoint(emulator), emulators.COSMOS_KEY)
    finally:
        emulator.stop()


@pytest.fixture(scope="session")
def azurite():
    """Azurite (Blob, Queue, Table) on free ports: its connection string."""
    emulator = emulators.start_azurite()
    try:
        yield emulators.azurite_connection_string(emulator)
    finally:
        emulator.stop()


def make_cosmos_store(cosmos_emulator: CosmosEmulator, **kwargs):
    """A CosmosRecordStore on the emulator with a database of its own."""
    from shared.adapters.azure.cosmos import CosmosRecordStore

    kwargs.setdefault("region", "uk")
    kwargs.setdefault("database_prefix", "t" + uuid.uuid4().hex[:12])
    return CosmosRecordStore(cosmos_emulator.endpoint, key=cosmos_emulator.key, **kwargs)


def drop_cosmos_store(store) -> None:
    try:
        store.client().delete_database(store.database_name)
    finally:
        store.close()


@pytest.fixture(params=BACKENDS)
def record_store(request, tmp_path):
    if request.param == "local":
        store = SqliteRecordStore(tmp_path / "records.sqlite")
        yield store
        store.close()
    elif request.param == "azure":
        store = make_cosmos_store(request.getfixturevalue("cosmos_emulator"))
        yield store
        drop_cosmos_store(store)
    else:  # pragma: no cover
        raise AssertionError(request.param)
