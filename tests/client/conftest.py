"""The client against a real local stamp (tests/live_stamp.py: the local runner in a
subprocess with its own data dir and port, as `make run` starts it). The client package is
put on the path from clients/python (it is installed separately by integrators)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.live_stamp import LiveStamp

ROOT = Path(__file__).resolve().parents[2]
CLIENT_SRC = ROOT / "clients" / "python"
if str(CLIENT_SRC) not in sys.path:
    sys.path.insert(0, str(CLIENT_SRC))

from vigil_client.auth import LocalStampToken  # noqa: E402


@dataclass
class Stamp(LiveStamp):
    """The shared live stamp, with the tokens and CLI environment the client tests use."""

    tokens: dict = field(default_factory=dict)

    def token(self, org: str = "northwind", role: str = "Retailer.Reporter", **kw: str) -> LocalStampToken:
        # Shared per stamp: each mint is a Python start-up, the slowest part of these tests.
        key = (org, role, tuple(sorted(kw.items())))
        if key not in self.tokens:
            self.tokens[key] = LocalStampToken(org=org, role=role, repo=ROOT, python=sys.executable, data_dir=str(self.data_dir), **kw)
        return self.tokens[key]

    def cli_env(self, tmp: Path, org: str = "northwind", role: str = "Retailer.Reporter") -> dict[str, str]:
        """The environment a user of `vigil` sets for this stamp (local development tokens)."""
        return {
            **{k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")},
            "PYTHONPATH": str(CLIENT_SRC),
            "VIGIL_CONFIG_DIR": str(tmp / "config"),
            "VIGIL_API_URL": self.url,
            "VIGIL_AUTH_MODE": "local",
            "VIGIL_LOCAL_ORG": org,
            "VIGIL_LOCAL_ROLE": role,
            "VIGIL_LOCAL_REPO": str(ROOT),
            "VIGIL_LOCAL_PYTHON": sys.executable,
            "VIGIL_DATA_DIR": str(self.data_dir),
        }


# One stamp for the whole folder (per xdist worker): starting one is the slowest step.
@pytest.fixture(scope="session")
def stamp(tmp_path_factory) -> Iterator[Stamp]:
    # One test user stands in for a whole store's tills: lift the per-person write budget.
    s = Stamp.fresh(tmp_path_factory.mktemp("stamp"), VIGIL_HTTP_WRITE_BURST="100000", VIGIL_HTTP_WRITES_PER_MINUTE="100000")
    s.start()
    try:
        yield s
    finally:
        s.stop()
