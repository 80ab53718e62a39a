"""`make smoke` against a live local stamp: every check a local stamp can answer passes, and
the Azure-only ones are skipped with their reasons."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.live_stamp import ROOT, LiveStamp
from tools.smoke import Smoke


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    s = LiveStamp.fresh(tmp_path_factory.mktemp("smoke-stamp"))
    s.start()
    try:
        yield s
    finally:
        s.stop()


def test_smoke_passes_against_the_local_stamp_and_names_what_it_skips_and_leaves(live):
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("VIGIL_SMOKE")},
        "VIGIL_DATA_DIR": str(live.data_dir),
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "tools/smoke.py", "--url", live.url, "--tenant", "local", "--timeout", "90"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = done.stdout
    assert done.returncode == 0, out + done.stderr + live.log_tail()
    for check in (
        "sign in",
        "health",
        "report an incident",
        "upload evidence",
        "evidence protected (API)",
        "D2P to the test inbox",
        "read back",
    ):
        assert f"ok   {check}:" in out, out
    assert "skip blob immutability (Azure SDK): local stamp: evidence is kept on write-once files" in out
    assert "skip telemetry arrived: local stamp: no Application Insights" in out
    assert "left evidence " in out and "write-once" in out and "left D2P dispatch " in out
    assert out.strip().endswith("smoke: 7 passed, 0 failed, 2 skipped")
    # The email really reached the force's inbox (the local stamp's outbox folder).
    emails = [p.read_text(errors="replace") for p in (live.data_dir / "outbox").glob("*.eml")]
    assert any("To: control-room@devon-cornwall.police.example" in e for e in emails), emails


def test_against_azure_without_credentials_sign_in_fails_with_what_to_set():
    lines: list[str] = []
    smoke = Smoke(url="http://127.0.0.1:9", tenant="00000000-0000-0000-0000-000000000000", env={}, out=lines.append)
    assert smoke.run() == 1
    assert lines[0].startswith("FAIL sign in: RuntimeError: set VIGIL_SMOKE_CLIENT_ID")


def test_azure_only_checks_say_which_setting_they_need():
    smoke = Smoke(url="http://127.0.0.1:9", tenant="contoso-tenant", env={}, out=lambda _: None)
    assert smoke.check("blob immutability (Azure SDK)", smoke.blob_immutability) is False
    assert smoke.check("telemetry arrived", smoke.telemetry_arrived) is False
    assert [r[0] for r in smoke.results] == ["skip", "skip"]
    assert "VIGIL_SMOKE_EVIDENCE_ACCOUNT" in smoke.results[0][2] and "VIGIL_SMOKE_APPINSIGHTS_ID" in smoke.results[1][2]
