"""A seeded stamp on the embedded backend, its HTTP app in-process, and tokens."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from functions.cli import demo_token
from functions.http.app import create_app
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


def make_stamp(tmp_path: Path, **settings) -> Stamp:
    clock = FakeClock()
    container = Container(Settings(data_dir=tmp_path, **settings), clock=clock)
    seed_directory(container.records, container.clock)
    client = TestClient(create_app(container), raise_server_exceptions=False)
    return Stamp(container=container, client=client, clock=clock, data_dir=tmp_path)


@pytest.fixture
def stamp(tmp_path):
    s = make_stamp(tmp_path)
    yield s
    s.container.close()
