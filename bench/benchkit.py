"""What every benchmark shares: the machine it ran on, and a free local port.

The scripts run as `python bench/<name>.py`, so this module is imported as a sibling.
"""

from __future__ import annotations

import os
import platform
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path


def machine_facts() -> dict[str, str]:
    """CPU model, cores, RAM, Python, SQLite, OS and the load average before the run."""
    cpu = platform.processor() or "unknown CPU"
    ram = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        kb = int(next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")).split()[1])
        ram = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": ram,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "os": platform.platform(),
        "load_before": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def machine() -> str:
    """The machine in one line, for a benchmark's printout."""
    m = machine_facts()
    return f"{m['cpu']}, {m['cores']} cores, {m['ram']} RAM, Python {m['python']}, SQLite {m['sqlite']}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_stamp(data_dir: Path, root: Path, *, wait_seconds: float = 60) -> tuple[subprocess.Popen, str]:
    """Start `python -m functions.local_runner` on a free port with its data in `data_dir`;
    return the process and its base URL once /healthz answers."""
    port = free_port()
    env = {**os.environ, "VIGIL_DATA_DIR": str(data_dir), "PORT": str(port), "PYTHONPATH": str(root), "VIGIL_LOG_LEVEL": "WARNING"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "functions.local_runner"], env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + wait_seconds
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/api/v1/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.2)
    return proc, base
