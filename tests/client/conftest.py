"""The client against a real local stamp: `python -m functions.local_runner` in a
subprocess with its own data dir and port, as `make run` starts it. The client package is
put on the path from clients/python (it is installed separately by integrators)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.emulators import free_port

ROOT = Path(__file__).resolve().parents[2]
CLIENT_SRC = ROOT / "clients" / "python"
if str(CLIENT_SRC) not in sys.path:
    sys.path.insert(0, str(CLIENT_SRC))

from vigil_client.auth import LocalStampToken  # noqa: E402


@dataclass
class Stamp:
    url: str
    port: int
    data_dir: Path
    env: dict[str, str]
    proc: subprocess.Popen | None = None
    tokens: dict = field(default_factory=dict)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "functions.local_runner"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while True:
            assert self.proc.poll() is None, "the local stamp exited"
            try:
                if httpx.get(f"{self.url}/api/v1/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the local stamp did not answer within 60 s"
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        self.proc = None

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
    data_dir = tmp_path_factory.mktemp("stamp")
    port = free_port()
    env = {
        **os.environ,
        "VIGIL_DATA_DIR": str(data_dir),
        "PORT": str(port),
        "PYTHONPATH": str(ROOT),
        "VIGIL_LOG_LEVEL": "WARNING",
        # One test user stands in for a whole store's tills: lift the per-person write budget.
        "VIGIL_HTTP_WRITE_BURST": "100000",
        "VIGIL_HTTP_WRITES_PER_MINUTE": "100000",
    }
    s = Stamp(url=f"http://127.0.0.1:{port}", port=port, data_dir=data_dir, env=env)
    s.start()
    try:
        yield s
    finally:
        s.stop()
