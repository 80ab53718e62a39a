"""`make test` runs `pytest -n 2 --dist loadgroup`: every test of an xdist group runs on
one worker, so a group's costly fixture (a live stamp, an emulator, Chromium) starts once."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

GROUPED = """
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("{group}")]

{tests}
"""


def test_a_group_runs_on_one_worker(tmp_path):
    tests = "\n".join(f"def test_{i}(): pass" for i in range(8))
    (tmp_path / "test_one.py").write_text(GROUPED.format(group="stamp", tests=tests))
    (tmp_path / "test_two.py").write_text(GROUPED.format(group="stamp", tests=tests).replace("test_", "test_also_"))
    (tmp_path / "test_free.py").write_text(tests)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests.xdist_groups",
            "-p",
            "no:cacheprovider",
            "-n",
            "2",
            "--dist",
            "loadgroup",
            "-vv",
            ".",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    workers: dict[str, set[str]] = {}
    for worker, module in re.findall(r"\[(gw\d)\].*PASSED (test_\w+)\.py::", run.stdout):
        workers.setdefault(module, set()).add(worker)
    assert set(workers) == {"test_one", "test_two", "test_free"}, run.stdout[-3000:]
    assert len(workers["test_one"] | workers["test_two"]) == 1, workers
