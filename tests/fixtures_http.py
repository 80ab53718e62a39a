"""A seeded stamp on the embedded backend, its HTTP app in-process, and tokens."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from functions.cli import demo_token
from fastapi import FastAPI

from functions.http.app import create_app
from shared.adapters.local.signing import LocalSigningKeys
from shared.bootstrap import Container
from shared.services.seed import seed_directory
from shared.settings import Settings
from tests.fakes import FakeClock


@dataclass
class Stamp:
    container: Container
    client: TestClient
    clock: FakeClock
    data_dir: Path

    def token(self, org: str, role: str, *, user: str | None = None, stores: list[str] | None = None) -> str:
        return demo_token(self.container, org, role, user=user, stores=stores)

    def auth(self, org: str, role: str, **kw) -> dict[str, str]:
        return {"Authorization": "Bearer " + self.token(org, role, **kw)}

    def example(self, schema: str) -> dict:
        return dict(self.client.app.openapi()["components"]["schemas"][schema]["examples"][0])


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


def make_stamp(tmp_path: Path, **settings) -> Stamp:
    clock = FakeClock()
    shutil.copytree(_key_template(), tmp_path / "keys", dirs_exist_ok=True)
    container = Container(Settings(data_dir=tmp_path, **settings), clock=clock)
    seed_directory(container.records, container.clock, region=container.settings.region)
    client = TestClient(_app_for(container), raise_server_exceptions=False)
    return Stamp(container=container, client=client, clock=clock, data_dir=tmp_path)


@pytest.fixture
def stamp(tmp_path):
    s = make_stamp(tmp_path)
    yield s
    s.container.close()
