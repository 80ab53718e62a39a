"""`make job`: clear usage and errors (exit 2, one line), and AS_OF honoured by everything
the job does, not only by what it selects."""

from __future__ import annotations

import json
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from functions import cli
from shared import bootstrap
from shared.domain.timestamps import to_iso
from shared.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def on_stamp(stamp, monkeypatch):
    """The CLI's container over the stamp's data directory (as `make job` beside `make run`)."""
    monkeypatch.setenv("VIGIL_DATA_DIR", str(stamp.data_dir))
    get_settings.cache_clear()
    monkeypatch.setattr(bootstrap, "_default", None)
    yield stamp
    get_settings.cache_clear()


def run(capsys, *argv):
    code = cli.main(["job", *argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--job", ""], "usage: make job JOB=<job>"),
        (["--job", "retension"], "unknown job 'retension'"),
        (["--job", "retention", "--as-of", "2033-01-01T00:00:00"], "AS_OF needs a UTC offset"),
        (["--job", "retention", "--as-of", "2033-01-01"], "AS_OF needs a UTC offset"),
        (["--job", "retention", "--as-of", "next tuesday"], "AS_OF is not an ISO 8601 time"),
        (["--job", "anpr-expiry", "--dry-run"], "DRY_RUN"),
    ],
)
def test_bad_invocations_get_one_line_and_exit_2(on_stamp, capsys, argv, says):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and says in err, err
    assert "Traceback" not in err
    if "JOB" in says or "unknown job" in says:
        assert "retention" in err and "anpr-expiry" in err  # names the jobs there are


def test_as_of_is_the_time_of_everything_the_job_does(on_stamp, capsys):
    """Retention six years on deletes an incident with evidence: the evidence's protection is
    judged at AS_OF too (not at the wall clock), and the tombstone is dated AS_OF."""
    stamp = on_stamp
    rep = stamp.auth("northwind", "Retailer.Reporter", stores=["nw-plymouth"])
    incident = stamp.client.post("/api/v1/incidents", json=stamp.example("IncidentIn"), headers=rep).json()
    uploaded = stamp.client.post(
        f"/api/v1/incidents/{incident['id']}/evidence",
        content=b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64,
        headers={**rep, "Content-Type": "video/mp4", "X-Filename": "till.mp4"},
    )
    assert uploaded.status_code == 201, uploaded.text
    as_of = stamp.clock.now() + timedelta(days=366 * 11)
    code, out, err = run(capsys, "--job", "retention", "--as-of", as_of.isoformat())
    assert code == 0, err
    report = json.loads(out)
    assert report["counts"]["incidents_deleted"] == 1, report
    with stamp.container.records.unit_of_work() as uow:
        tombstones = uow.query("tombstones", ["northwind"], [], limit=10).items
    assert incident["id"] in {t["entity_id"] for t in tombstones}
    assert {t["deleted_at"] for t in tombstones} == {to_iso(as_of)}, tombstones


def test_dry_run_is_passed_by_make():
    dry = subprocess.run(
        ["make", "-n", "-o", ".venv/.installed", "job", "JOB=retention", "DRY_RUN=1"], cwd=ROOT, capture_output=True, text=True
    )
    assert "--job retention" in dry.stdout.replace('"', "") and "--dry-run" in dry.stdout, dry.stdout + dry.stderr
    plain = subprocess.run(["make", "-n", "-o", ".venv/.installed", "job", "JOB=retention"], cwd=ROOT, capture_output=True, text=True)
    assert "--dry-run" not in plain.stdout


def test_make_replay_dead_letters_lists_and_replays_recorded_and_queue_dead_letters(on_stamp, capsys):
    """`make replay-dead-letters`: one list of what the Azure trigger recorded and what the
    queue dead-lettered itself, then each put back once."""
    from functions import d2p_jobs
    from shared.services.d2p import QUEUE

    container = bootstrap.default_container()
    container.dead_letters.record(QUEUE, message_id="d1#retry10", body={"dispatch_id": "d1"}, deliveries=10, reason="SendGrid 503")
    container.queue.send(QUEUE, {"dispatch_id": "d2"}, message_id="d2")
    [message] = container.queue.receive(QUEUE)
    container.queue.dead_letter(message, reason="UnknownDispatch: dispatch d2 does not exist")

    assert d2p_jobs.main([""]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("recorded d1#retry10 deliveries=10") and lines[0].endswith("reason=SendGrid 503")
    assert lines[1].startswith("queue    d2 deliveries=1") and "UnknownDispatch" in lines[1]
    assert lines[2] == "replayed 2 of 2 dead-lettered d2p dispatch message(s)"
    assert sorted(m.body["dispatch_id"] for m in container.queue.receive(QUEUE)) == ["d1", "d2"]
    assert d2p_jobs.main(["d1#retry10"]) == 0
    assert capsys.readouterr().out.splitlines() == ["replayed 0 of 0 dead-lettered d2p dispatch message(s)"]
