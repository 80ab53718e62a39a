"""A seeded stamp on the embedded backend, its HTTP app in-process, and tokens."""

from __future__ import annotations

import atexit
import copy
import json
import shutil
import tempfile
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from functools import cache
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from functions.cli import demo_token
from functions.http.app import create_app
from shared.adapters.local.signing import LocalSigningKeys
from shared.bootstrap import Container
from shared.services.seed import seed_directory
from shared.settings import Settings
from tests.fakes import FakeClock
from tests.fixtures_backends import BACKENDS


@dataclass
class Stamp:
    container: Container
    client: TestClient
    clock: FakeClock
    data_dir: Path
    backend: str = "local"

    def token(self, org: str, role: str, *, user: str | None = None, stores: list[str] | None = None) -> str:
        return demo_token(self.container, org, role, user=user, stores=stores)

    def auth(self, org: str, role: str, **kw) -> dict[str, str]:
        return {"Authorization": "Bearer " + self.token(org, role, **kw)}

    def example(self, schema: str) -> dict:
        # Schema examples come from the models, whatever the settings: read them from the
        # default settings' document, so a stamp with settings of its own does not build
        # a second document (seconds of CPU) for them.
        return copy.deepcopy(shared_app().openapi()["components"]["schemas"][schema]["examples"][0])


# Building the FastAPI app (every route's models) and an RSA key pair each cost seconds;
# tests build them once per process and give each stamp its own container and data.
_APPS: dict[str, FastAPI] = {}


@cache
def _key_template() -> Path:
    return LocalSigningKeys(Path(tempfile.mkdtemp(prefix="vigil-test-keys-")) / "keys").ensure().directory


class BoundApp:
    """The shared app with this stamp's container put on every request's scope, so two
    stamps alive at once never see each other's data. Other attributes (routes,
    openapi) are the shared app's."""

    def __init__(self, app: FastAPI, container: Container):
        self._app = app
        self._container = container

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket"):
            scope = dict(scope, state={**scope.get("state", {}), "container": self._container})
        await self._app(scope, receive, send)

    def __getattr__(self, name):
        return getattr(self._app, name)


def _app_for(container: Container) -> BoundApp:
    key = container.settings.model_dump_json(exclude={"data_dir", "cosmos_database_prefix"})
    app = _APPS.get(key)
    if app is None:
        app = _APPS[key] = create_app(container)
    return BoundApp(app, container)


# Seeding (onboarding every demo organisation, each force's DPIA approvals, their audit
# entries) costs more than most tests that use a stamp. It runs once per process and
# settings into a template data directory that each new stamp copies: the same records
# the seed writes at the same fake time, the same keys. Only audit entry ids differ
# between two seeds, and each test has its own copy. SQLite's shared-memory index is
# left behind; SQLite rebuilds it from the write-ahead log on first open.
_SEEDED: dict[str, tuple[Path, list[str]]] = {}


def _built(container: Container) -> list[str]:
    """The adapters and services a container has built so far, in order."""
    return list(container.__dict__)


def _build(container: Container, names: list[str]) -> None:
    """Build what the seed built in the template's container, in the same order: with the
    settings of the moment (a test may swap them afterwards, as for the azure console)."""
    for name in names:
        getattr(container, name)


def _seeded_template(settings: dict) -> tuple[Path, list[str]]:
    key = Settings(data_dir=Path("template"), **settings).model_dump_json(exclude={"data_dir", "cosmos_database_prefix"})
    seeded = _SEEDED.get(key)
    if seeded is None:
        template = Path(tempfile.mkdtemp(prefix="vigil-test-seeded-"))
        atexit.register(shutil.rmtree, template, True)
        shutil.copytree(_key_template(), template / "keys", dirs_exist_ok=True)
        container = Container(Settings(data_dir=template, **settings), clock=FakeClock())
        try:
            seed_directory(container)
            built = _built(container)
        finally:
            container.close()
        seeded = _SEEDED[key] = (template, built)
    return seeded


def _fresh(path: Path) -> bool:
    return not path.exists() or not any(path.iterdir())


def shared_app(**settings) -> FastAPI:
    """The app that stamps with these settings share, routes and OpenAPI document built once
    per process: for tests that read the document or the routes without a stamp of their own."""
    return _app_for(Container(Settings(data_dir=Path("/nonexistent-shared-app"), **settings)))._app


def make_stamp(tmp_path: Path, *, prepare: Callable[[Container], None] | None = None, **settings) -> Stamp:
    """A seeded stamp; `prepare` swaps adapters in before the seed (which audits) builds on them.
    A stamp made over an existing data directory (a restart) seeds it as `make run` does."""
    if prepare is None and _fresh(tmp_path):
        template, built = _seeded_template(settings)
        shutil.copytree(template, tmp_path, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*-shm"))
        return _stamp(tmp_path, settings, prepare=lambda container: _build(container, built))
    shutil.copytree(_key_template(), tmp_path / "keys", dirs_exist_ok=True)
    return _stamp(tmp_path, settings, prepare=prepare, seed=True)


def _stamp(tmp_path: Path, settings: dict, *, prepare: Callable[[Container], None] | None = None, seed: bool = False) -> Stamp:
    clock = FakeClock()
    container = Container(Settings(data_dir=tmp_path, **settings), clock=clock)
    if prepare is not None:
        prepare(container)
    if seed:
        seed_directory(container)
    # A real address, as uvicorn gives: network ranges (docs/security.md) match it.
    client = TestClient(_app_for(container), raise_server_exceptions=False, client=("127.0.0.1", 50000))
    return Stamp(container=container, client=client, clock=clock, data_dir=tmp_path)


# The azure backend takes its chain keys from settings (Key Vault in Azure), never a file.
AZURE_CHAIN_KEYS = {"audit_chain_keys": {"test-1": "cosmos-stamp-chain-key-" + "k" * 32}, "audit_chain_key_id": "test-1"}


def local_checkpoints(s: Stamp | Container, tmp_path: Path) -> None:
    """Checkpoints of an azure-backend stamp on write-once local files: the Azure container's
    adapter is the evidence one, tested against Azurite in tests/test_audit_checkpoints.py."""
    from shared.adapters.checkpoints import BlobCheckpointStore
    from shared.adapters.local.file_evidence import FileEvidenceStore

    container = s.container if isinstance(s, Stamp) else s
    container.__dict__["checkpoint_store"] = BlobCheckpointStore(
        FileEvidenceStore(tmp_path / "checkpoints", clock=container.clock), container.clock, keep=timedelta(days=3650)
    )


# Seeding through the services on cosmosdb-server takes some 400 requests (seconds of wall
# time per stamp). A Cosmos stamp instead gets the items of a database seeded once per
# process and settings, written as they were stored, and a copy of that stamp's local
# files (queue, checkpoints, keys): the same directory, in a database of its own.
_COSMOS_SEEDED: dict[str, tuple[Path, dict[str, list[dict]], list[str]]] = {}
_SYSTEM_FIELDS = frozenset({"_rid", "_self", "_etag", "_attachments", "_ts"})


def _stored_items(store) -> dict[str, list[dict]]:
    database = store.database()
    return {
        props["id"]: [
            {k: v for k, v in item.items() if k not in _SYSTEM_FIELDS}
            for item in database.get_container_client(props["id"]).read_all_items()
        ]
        for props in database.list_containers()
    }


def make_cosmos_stamp(tmp_path: Path, cosmos_emulator, **settings) -> Stamp:
    """A seeded stamp whose records live in Cosmos DB on cosmosdb-server, in a database of
    its own (drop it with `close_stamp`). Queues stay on the local SQLite queue and mail
    in the outbox: Service Bus and SendGrid have no emulator here (their adapters are
    tested with the client's transport replaced, tests/d2p)."""
    from shared.adapters.local.sqlite_queue import SqliteQueue

    for name, value in AZURE_CHAIN_KEYS.items():
        settings.setdefault(name, value)
    azure = {
        "backend": "azure",
        "cosmos_endpoint": cosmos_emulator.endpoint,
        "cosmos_key": cosmos_emulator.key,
        "mail_provider": "outbox",
        **settings,
    }

    def local_adapters(container: Container) -> None:
        # The seed audits and publishes events through onboarding: its checkpoints and its
        # queue must already be the local ones, or the services it builds hold Azure's.
        data_dir = container.settings.data_dir
        local_checkpoints(container, data_dir)
        container.__dict__["queue"] = SqliteQueue(data_dir / "queue.sqlite", queue_max_deliveries=container.settings.queue_max_deliveries())
        # Built court packages stay local files unless a test puts them in Azurite.
        from shared.adapters.local.file_evidence import FileEvidenceStore

        container.__dict__["package_store"] = FileEvidenceStore(data_dir / "packages", clock=container.clock)

    def new_database() -> dict:
        return {**azure, "cosmos_database_prefix": "h" + uuid.uuid4().hex[:12]}

    key = json.dumps(azure, sort_keys=True, default=str)
    if key not in _COSMOS_SEEDED and _fresh(tmp_path):
        template = Path(tempfile.mkdtemp(prefix="vigil-test-cosmos-seeded-"))
        atexit.register(shutil.rmtree, template, True)
        shutil.copytree(_key_template(), template / "keys", dirs_exist_ok=True)
        seeded = _stamp(template, new_database(), prepare=local_adapters, seed=True)
        try:
            _COSMOS_SEEDED[key] = (template, _stored_items(seeded.container.records), _built(seeded.container))
        finally:
            close_stamp(seeded)
    if key in _COSMOS_SEEDED and _fresh(tmp_path):
        template, items, built = _COSMOS_SEEDED[key]
        shutil.copytree(template, tmp_path, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*-shm"))

        def restore(container: Container) -> None:
            local_adapters(container)
            for name, stored in items.items():
                proxy = container.records.container(name)
                for item in stored:
                    proxy.create_item(item)
            _build(container, built)

        s = _stamp(tmp_path, new_database(), prepare=restore)
    else:
        shutil.copytree(_key_template(), tmp_path / "keys", dirs_exist_ok=True)
        s = _stamp(tmp_path, new_database(), prepare=local_adapters, seed=True)
    assert type(s.container.records).__name__ == "CosmosRecordStore"
    return s


def close_stamp(s: Stamp) -> None:
    """Close a stamp; a Cosmos stamp's database is dropped first."""
    try:
        if s.container.settings.backend == "azure":
            s.container.records.client().delete_database(s.container.records.database_name)
    finally:
        s.container.close()


@pytest.fixture
def stamp(request, tmp_path):
    """A seeded stamp on SQLite; `@both_backends` runs the test again on Cosmos DB.
    `@pytest.mark.stamp_settings(name=value)` changes settings for the test's stamp."""
    backend = getattr(request, "param", "local")
    settings: dict = {}
    # Every marker applies (a module's and a test's), the closest winning a setting both name.
    for marker in reversed(list(request.node.iter_markers("stamp_settings"))):
        settings.update(marker.kwargs)
    if backend == "azure":
        s = make_cosmos_stamp(tmp_path, request.getfixturevalue("cosmos_emulator"), **settings)
    else:
        s = make_stamp(tmp_path, **settings)
    s.backend = backend
    yield s
    close_stamp(s)


# Runs a test that uses `stamp` on both record stores: SQLite and Cosmos DB (emulator).
both_backends = pytest.mark.parametrize("stamp", BACKENDS, indirect=True)
