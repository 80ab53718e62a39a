"""`make run` as a user starts it: the real local runner in a subprocess, with two HTTP
processes; a second runner on the same port refuses to start; nothing is left running."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from functions import local_runner
from shared.settings import Settings
from tests.emulators import free_port

ROOT = Path(__file__).resolve().parent.parent


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def test_a_taken_port_is_refused_with_a_clear_message():
    port = free_port()
    sock, _ = local_runner.bind_http(port, 2)
    try:
        for processes in (1, 2):
            with pytest.raises(SystemExit, match=f"Cannot listen on 127.0.0.1:{port}"):
                local_runner.bind_http(port, processes)
    finally:
        sock.close()


@pytest.mark.skipif(not Path("/proc").exists(), reason="reads child processes from /proc (Linux)")
def test_make_run_with_two_http_processes_serves_and_stops_cleanly(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "VIGIL_DATA_DIR": str(tmp_path),
        "PORT": str(port),
        "HTTP_PROCESSES": "2",
        "PYTHONPATH": str(ROOT),
        "VIGIL_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "functions.local_runner"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        base = f"http://127.0.0.1:{port}/api/v1"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stdout.read()
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the runner did not answer within 60 s"
            time.sleep(0.2)
        # Fresh connections: each is served by one of the two processes.
        assert all(httpx.get(f"{base}/healthz", timeout=5).status_code == 200 for _ in range(6))
        unauthorised = httpx.get(f"{base}/incidents", timeout=5)
        assert unauthorised.status_code == 401 and unauthorised.headers["content-type"] == "application/problem+json"
        children = _children(proc.pid)
        assert children, "the second HTTP process was not started"
        second = subprocess.run(
            [sys.executable, "-m", "functions.local_runner"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )
        assert second.returncode == 1 and "Cannot listen" in second.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in children):
        assert time.monotonic() < deadline, "HTTP processes outlived the runner"
        time.sleep(0.2)


def test_make_run_on_another_port_links_the_d2p_email_to_that_port(tmp_path):
    """`PORT=7099 make run`: the control room's links open the console on 7099, where the
    runner actually serves, not on the default 7071."""
    from tests.d2p.helpers import drain, eligible_report
    from tests.d2p.test_email_readers import read_eml
    from tests.fixtures_http import make_stamp

    settings = local_runner.runner_settings(7099, environ={"PORT": "7099"}, settings=Settings(data_dir=tmp_path))
    assert settings.region_base_urls["uk"] == "http://127.0.0.1:7099"
    assert settings.region_base_urls["au"] == Settings().region_base_urls["au"]  # other stamps keep their addresses
    stamp = make_stamp(tmp_path, region_base_urls=settings.region_base_urls)
    try:
        incident = eligible_report(stamp)
        r = stamp.client.post(f"/api/v1/incidents/{incident['id']}/d2p", headers=stamp.auth("northwind", "Retailer.Investigator"))
        assert r.status_code == 202, r.text
        assert drain(stamp) == ["ok"]
        _, text, html = read_eml(stamp)
        case = f"http://127.0.0.1:7099/cases/{incident['id']}"
        assert f"Open the case: {case}\n" in text and f'<a href="{case}">Open the case</a>' in html
        assert ":7071" not in text + html
    finally:
        stamp.container.close()


def test_an_explicit_base_url_wins_over_the_port(tmp_path):
    """Behind a proxy or a tunnel the operator names the public address; the port does not override it."""
    given = Settings(data_dir=tmp_path, region_base_urls={"uk": "https://vigil.test.example"})
    settings = local_runner.runner_settings(
        7099, environ={"PORT": "7099", "VIGIL_REGION_BASE_URLS": '{"uk": "https://vigil.test.example"}'}, settings=given
    )
    assert settings.region_base_urls == {"uk": "https://vigil.test.example"}
