"""A real local stamp for the tests that need one over the network (the Python client,
the browser tests): `python -m functions.local_runner` in a subprocess, as `make run`
starts it, on a free port and its own data dir, with the demo seed, its queue workers and
its timers. Its log goes beside the data dir (`<data dir>.log`) and is quoted when it fails
to start.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import httpx

from tests.emulators import free_port

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT = 60.0


@dataclass
class LiveStamp:
    url: str
    port: int
    data_dir: Path
    env: dict[str, str]
    proc: subprocess.Popen | None = None

    @classmethod
    def fresh(cls, data_dir: Path, **settings: str) -> Self:
        """A stamp on a free port over an empty `data_dir`, not yet started; `settings`
        are extra environment variables (VIGIL_* settings) on top of this process's."""
        port = free_port()
        env = {
            **os.environ,
            "VIGIL_DATA_DIR": str(data_dir),
            "PORT": str(port),
            "PYTHONPATH": str(ROOT),
            "VIGIL_LOG_LEVEL": "WARNING",
            **settings,
        }
        return cls(url=f"http://127.0.0.1:{port}", port=port, data_dir=data_dir, env=env)

    @property
    def log_path(self) -> Path:
        return self.data_dir.with_name(self.data_dir.name + ".log")

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def start(self) -> None:
        """Start the runner and wait until its health check answers (60 s at most)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "functions.local_runner"],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert self.proc.poll() is None, f"the local stamp exited with {self.proc.returncode}:\n{self.log_tail()}"
            try:
                if httpx.get(f"{self.url}/api/v1/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise AssertionError(f"the local stamp did not answer within {START_TIMEOUT:.0f} s:\n{self.log_tail()}")
            time.sleep(0.2)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None
