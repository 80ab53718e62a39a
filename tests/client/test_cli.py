"""The `vigil` command as a shell script uses it, against a real local stamp: exit codes,
a report queued while the API is unreachable and sent once by `vigil queue drain`, a CSV
import run twice that creates each incident once, plate reads in batches, webhook checks."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
import time

import pytest

from shared.domain.anpr import sign
from tests.client.conftest import CLIENT_SRC
from tests.emulators import free_port
from vigil_client import VigilClient

# One real stamp serves the folder: keep its tests on one xdist worker.
pytestmark = pytest.mark.xdist_group("client-stamp")


def vigil(env: dict, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vigil_client.cli", *args], env=env, input=stdin, capture_output=True, text=True, timeout=120
    )


@pytest.fixture(scope="session")
def shell(stamp, tmp_path_factory):
    """The environment of a shell signed in with a token (the fastest sign-in to start)."""
    home = tmp_path_factory.mktemp("cli")
    env = stamp.cli_env(home)
    env.update({"VIGIL_AUTH_MODE": "token", "VIGIL_TOKEN": stamp.token().token(), "PYTHONPATH": str(CLIENT_SRC)})
    return env


REPORT = {
    "store_id": "nw-plymouth",
    "category": "shop_theft",
    "occurred_at": "2026-11-22T16:05:00+00:00",
    "narrative": "CLI report: took a bottle of vodka, left by the fire exit.",
    "reporter": {"name": "Sam Taylor"},
}


def test_a_report_made_while_the_api_is_unreachable_is_queued_exit_3_and_drained_once(shell, stamp, tmp_path):
    env = {**shell, "VIGIL_QUEUE_FILE": str(tmp_path / "queue.sqlite3")}
    report = {**REPORT, "narrative": f"Offline CLI report {time.time_ns()}"}
    down = vigil(env, "--url", f"http://127.0.0.1:{free_port()}", "--retries", "1", "report", "-", stdin=json.dumps(report))
    assert down.returncode == 3, down.stderr
    assert "queued as #1" in down.stderr and json.loads(down.stdout)["queued"] == 1
    drained = vigil(env, "queue", "drain")
    assert drained.returncode == 0, drained.stderr
    assert [e["kind"] for e in json.loads(drained.stdout)["sent"]] == ["report"]
    again = vigil(env, "queue", "drain")
    assert again.returncode == 0 and json.loads(again.stdout)["sent"] == []
    with VigilClient(stamp.url, stamp.token()) as client:
        assert sum(1 for i in client.iter_incidents(store="nw-plymouth") if i["narrative"] == report["narrative"]) == 1


def test_exit_codes_for_usage_api_refusal_and_success(shell, stamp):
    assert vigil(shell, "frobnicate").returncode == 2
    assert vigil({**shell, "VIGIL_AUTH_MODE": "client-credentials"}, "status", "abc").returncode == 2
    made = vigil(shell, "report", "-", stdin=json.dumps(REPORT))
    assert made.returncode == 0, made.stderr
    incident = json.loads(made.stdout)
    refused = vigil(shell, "d2p", "send", incident["id"])
    assert refused.returncode == 1
    assert "422" in refused.stderr and "d2p.cctv" in refused.stderr
    status = vigil(shell, "status", incident["id"])
    assert status.returncode == 0 and json.loads(status.stdout)["reference"] == incident["reference"]
    assert vigil(shell, "report", "-", stdin="{not json").returncode == 4


def test_upload_shows_progress_and_prints_the_stored_item(shell, stamp, tmp_path):
    with VigilClient(stamp.url, stamp.token()) as client:
        incident = client.report_incident(REPORT)
    clip = tmp_path / "till-camera-2.png"
    clip.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4000)
    done = vigil(shell, "upload", incident["id"], str(clip), "--kind", "photo", "--chunk-mb", "0.25")
    assert done.returncode == 0, done.stderr
    assert "100.0%" in done.stderr
    assert json.loads(done.stdout)["size"] == clip.stat().st_size


MAPPING = {
    "columns": {
        "store_id": "Store",
        "occurred_at": "When",
        "category": "Type",
        "narrative": "What happened",
        "reporter.name": "Reported by",
        "goods.0.description": "Item",
        "goods.0.quantity": "Qty",
        "goods.0.unit_value.amount_minor": "Pence",
        "flags.violence": "Violent",
    },
    "constants": {"goods.0.unit_value.currency": "GBP"},
    "values": {"category": {"Theft": "shop_theft", "Abuse": "abuse_threats", "Bogus": "not_a_category"}},
    "timezone": "Europe/London",
    "date_formats": ["%d/%m/%Y %H:%M"],
}


def _history(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Store", "When", "Type", "What happened", "Reported by", "Item", "Qty", "Pence", "Violent"])
        w.writerows(rows)


def test_importing_the_same_csv_twice_creates_each_incident_once(shell, stamp, tmp_path):
    run = time.time_ns()
    rows = [
        ["nw-exeter", f"{1 + n % 28:02d}/10/2025 {n % 24:02d}:15", "Theft" if n % 3 else "Abuse", f"Import {run} row {n}", "Jo Bloggs"]
        + (["Lager 4-pack", str(1 + n % 4), "650", "no"] if n % 2 else ["", "", "", "yes" if n % 5 == 0 else ""])
        for n in range(200)
    ]
    _history(tmp_path / "history.csv", rows)
    (tmp_path / "mapping.json").write_text(json.dumps(MAPPING))
    env = {**shell, "VIGIL_QUEUE_FILE": str(tmp_path / "ledger.sqlite3")}
    args = ("import", "incidents", str(tmp_path / "history.csv"), "--mapping", str(tmp_path / "mapping.json"))

    dry = vigil(env, *args, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    summary = json.loads(dry.stdout)
    assert summary["rows"] == 200 and summary["created"] == 0
    assert summary["first_report"]["occurred_at"] == "2025-10-01T00:15:00+01:00"

    first = vigil(env, *args)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["created"] == 200
    second = vigil(env, *args)
    assert second.returncode == 0 and json.loads(second.stdout) | {"rows": 0} == {
        "rows": 0,
        "created": 0,
        "already_imported": 200,
        "invalid": 0,
        "refused": 0,
    }
    # Even without the local ledger (another machine), the row keys make replays, not copies.
    third = vigil({**env, "VIGIL_QUEUE_FILE": str(tmp_path / "other-ledger.sqlite3")}, *args)
    assert third.returncode == 0, third.stderr
    assert json.loads(third.stdout)["already_imported"] == 200, third.stdout
    with VigilClient(stamp.url, stamp.token()) as client:
        imported = [i for i in client.iter_incidents(store="nw-exeter", page_size=100) if i["narrative"].startswith(f"Import {run} ")]
    assert len(imported) == 200 == len({i["narrative"] for i in imported})
    with_goods = next(i for i in imported if i["narrative"].endswith(" row 1"))
    assert with_goods["goods"][0]["unit_value"] == {"amount_minor": 650, "currency": "GBP"}


def test_a_reimport_by_another_person_on_another_machine_adds_nothing(stamp, tmp_path):
    # Another user and another ledger: no Idempotency-Key in common with the first run,
    # as after the 24 h key window; the rows' external references still match.
    run = time.time_ns()
    rows = [["nw-exeter", f"{1 + n:02d}/09/2025 10:15", "Theft", f"Reimport {run} row {n}", "Jo Bloggs", "", "", "", ""] for n in range(12)]
    _history(tmp_path / "history.csv", rows)
    mapping = {**MAPPING, "columns": {**MAPPING["columns"], "external_reference": "What happened"}}
    (tmp_path / "mapping.json").write_text(json.dumps(mapping))
    args = ("import", "incidents", str(tmp_path / "history.csv"), "--mapping", str(tmp_path / "mapping.json"))

    def person(user: str, ledger: str) -> dict:
        env = stamp.cli_env(tmp_path / user)
        token = stamp.token(role="Retailer.Investigator", user=user).token()
        return {**env, "VIGIL_AUTH_MODE": "token", "VIGIL_TOKEN": token, "VIGIL_QUEUE_FILE": str(tmp_path / ledger)}

    first = vigil(person("lp-analyst-1", "laptop.sqlite3"), *args)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["created"] == 12
    second = vigil(person("lp-analyst-2", "desktop.sqlite3"), *args)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout) == {"rows": 12, "created": 0, "already_imported": 12, "invalid": 0, "refused": 0}
    # The source changed since (a corrected category): named, not duplicated, not overwritten.
    rows[3][2] = "Abuse"
    _history(tmp_path / "history.csv", rows)
    third = vigil(person("lp-analyst-2", "desktop.sqlite3"), *args)
    assert third.returncode == 1
    assert "history.csv:5: 409" in third.stderr and "PATCH" in third.stderr
    assert json.loads(third.stdout) == {"rows": 12, "created": 0, "already_imported": 11, "invalid": 0, "refused": 1}
    with VigilClient(stamp.url, stamp.token()) as client:
        found = [i for i in client.iter_incidents(store="nw-exeter", page_size=100) if i["narrative"].startswith(f"Reimport {run} ")]
    assert len(found) == 12 and {i["external_reference"] for i in found} == {r[3] for r in rows}


def test_import_streams_rows_holding_only_a_few_ahead_of_the_workers(tmp_path, capsys, monkeypatch):
    import threading

    import httpx

    import vigil_client.cli as cli
    from vigil_client.importer import map_row
    from vigil_client.queue import OfflineQueue

    mapping_file = tmp_path / "mapping.json"
    mapping_file.write_text(json.dumps(MAPPING))
    (tmp_path / "history.csv").write_text("stand-in: rows come from the generator below\n")
    lock = threading.Lock()
    produced = answered = most_ahead = 0
    total = 3000

    def rows(path, mapping_):
        # A generator-fed source, as a million-row file is read: a row at a time.
        nonlocal produced
        for n in range(total):
            cells = {"Store": "nw-exeter", "When": "01/10/2025 10:15", "Type": "Theft", "What happened": f"Streamed row {n}"}
            cells |= {"Reported by": "Jo", "Item": "", "Qty": "", "Pence": "", "Violent": ""}
            with lock:
                produced += 1
            yield map_row(mapping_, n + 2, cells)

    def handler(request):
        nonlocal answered, most_ahead
        with lock:
            most_ahead = max(most_ahead, produced - answered)
            answered += 1
        return httpx.Response(201, json={"id": f"i-{answered}"})

    monkeypatch.setattr(cli, "read_rows", rows)
    args = cli.parser().parse_args(["import", "incidents", str(tmp_path / "history.csv"), "--mapping", str(mapping_file), "--workers", "4"])
    ctx = cli.Context(args)
    ctx._client = VigilClient("http://vigil.test", transport=httpx.MockTransport(handler), retries=0)
    ctx._queue = OfflineQueue(tmp_path / "ledger.sqlite3")
    try:
        assert cli.cmd_import_incidents(args, ctx) == 0
    finally:
        ctx.close()
    assert json.loads(capsys.readouterr().out)["created"] == total
    # Read ahead: the queue (twice the workers), one row per worker and one being put.
    assert most_ahead <= 2 * 4 + 4 + 1, most_ahead


def test_an_import_past_a_small_write_budget_waits_out_each_429_and_creates_every_row(tmp_path):
    import os

    from tests.client.conftest import ROOT, Stamp

    port = free_port()
    env = {
        **os.environ,
        "VIGIL_DATA_DIR": str(tmp_path / "stamp"),
        "PORT": str(port),
        "PYTHONPATH": str(ROOT),
        "VIGIL_LOG_LEVEL": "WARNING",
        # Two writes at once, then one every two seconds: an import of 6 rows meets 429s.
        "VIGIL_HTTP_WRITE_BURST": "2",
        "VIGIL_HTTP_WRITES_PER_MINUTE": "30",
    }
    small = Stamp(url=f"http://127.0.0.1:{port}", port=port, data_dir=tmp_path / "stamp", env=env)
    small.start()
    try:
        rows = [["nw-exeter", f"0{1 + n}/08/2025 09:30", "Theft", f"Budget row {n}", "Jo", "", "", "", ""] for n in range(6)]
        _history(tmp_path / "history.csv", rows)
        (tmp_path / "mapping.json").write_text(json.dumps(MAPPING))
        cli_env = small.cli_env(tmp_path)
        cli_env.update({"VIGIL_AUTH_MODE": "token", "VIGIL_TOKEN": small.token(role="Retailer.Investigator").token()})
        cli_env["VIGIL_QUEUE_FILE"] = str(tmp_path / "ledger.sqlite3")
        # The demo seed already has reports at this store: only what the import adds counts.
        with VigilClient(small.url, small.token(role="Retailer.Investigator")) as client:
            seeded = [i["narrative"] for i in client.iter_incidents(store="nw-exeter")]
        started = time.monotonic()
        done = vigil(
            cli_env,
            "--retries",
            "1",
            "import",
            "incidents",
            str(tmp_path / "history.csv"),
            "--mapping",
            str(tmp_path / "mapping.json"),
            "--workers",
            "3",
        )
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == {"rows": 6, "created": 6, "already_imported": 0, "invalid": 0, "refused": 0}
        # Paced by the budget (four rows past the burst, one per 2 s), not failed by it.
        assert time.monotonic() - started >= 6
        with VigilClient(small.url, small.token(role="Retailer.Investigator")) as client:
            assert sorted(i["narrative"] for i in client.iter_incidents(store="nw-exeter")) == sorted([*seeded, *(r[3] for r in rows)])
    finally:
        small.stop()


def test_import_names_bad_rows_by_line_and_exit_code(shell, tmp_path):
    _history(
        tmp_path / "bad.csv",
        [
            ["nw-exeter", "31/02/2025 10:00", "Theft", "Impossible date", "Jo", "", "", "", ""],
            ["nw-exeter", "01/03/2025 10:00", "Shoplifting", "Unmapped type", "Jo", "", "", "", ""],
            ["nw-exeter", "01/03/2025 10:00", "Bogus", f"Refused by the API {time.time_ns()}", "Jo", "", "", "", ""],
        ],
    )
    (tmp_path / "mapping.json").write_text(json.dumps(MAPPING))
    env = {**shell, "VIGIL_QUEUE_FILE": str(tmp_path / "ledger.sqlite3")}
    done = vigil(env, "import", "incidents", str(tmp_path / "bad.csv"), "--mapping", str(tmp_path / "mapping.json"))
    assert done.returncode == 1
    assert "bad.csv:2: occurred_at" in done.stderr
    assert "bad.csv:3: category" in done.stderr
    assert "bad.csv:4: 422" in done.stderr and "category" in done.stderr
    assert json.loads(done.stdout) == {"rows": 3, "created": 0, "already_imported": 0, "invalid": 2, "refused": 1}
    missing = vigil(env, "import", "incidents", str(tmp_path / "bad.csv"), "--mapping", str(tmp_path / "nope.json"))
    assert missing.returncode == 2


def test_a_dry_run_names_the_rows_the_api_would_refuse_by_line_and_stores_nothing(shell, stamp, tmp_path):
    run = time.time_ns()
    _history(
        tmp_path / "history.csv",
        [
            ["nw-exeter", "01/03/2025 10:00", "Theft", f"Dry {run} fine", "Jo", "", "", "", ""],
            ["nw-exeter", "01/03/2099 10:00", "Theft", f"Dry {run} in the future", "Jo", "", "", "", ""],
            ["nw-exeter", "31/02/2025 10:00", "Theft", f"Dry {run} impossible date", "Jo", "", "", "", ""],
            ["nw-exeter", "02/03/2025 10:00", "Theft", f"Dry {run} special category", "Jo", "", "", "", ""],
            ["nw-exeter", "03/03/2025 10:00", "Theft", f"Dry {run} fine too", "Jo", "", "", "", ""],
        ],
    )
    # A mapping that carries a special-category column across: the API refuses it, the mapping cannot know.
    mapping = {**MAPPING, "constants": {**MAPPING["constants"], "religion": "none recorded"}}
    (tmp_path / "mapping.json").write_text(json.dumps(mapping))
    (tmp_path / "ok-mapping.json").write_text(json.dumps(MAPPING))
    env = {**shell, "VIGIL_QUEUE_FILE": str(tmp_path / "ledger.sqlite3")}
    args = ("import", "incidents", str(tmp_path / "history.csv"), "--dry-run")
    dry = vigil(env, *args, "--mapping", str(tmp_path / "ok-mapping.json"))
    assert dry.returncode == 4, dry.stderr
    assert "history.csv:3: 422" in dry.stderr and "occurred_at" in dry.stderr
    assert "history.csv:4: occurred_at" in dry.stderr
    assert json.loads(dry.stdout) | {"first_report": None} == {
        "rows": 5,
        "created": 0,
        "already_imported": 0,
        "invalid": 1,
        "refused": 1,
        "dry_run": True,
        "first_report": None,
    }
    assert json.loads(dry.stdout)["first_report"]["narrative"] == f"Dry {run} fine"
    special = vigil(env, *args, "--mapping", str(tmp_path / "mapping.json"))
    assert special.returncode == 4 and "religion" in special.stderr
    assert all(f"history.csv:{line}: 422" in special.stderr for line in (2, 3, 5, 6))
    local = vigil(env, *args, "--local", "--mapping", str(tmp_path / "ok-mapping.json"))
    assert json.loads(local.stdout)["refused"] == 0 and json.loads(local.stdout)["invalid"] == 1
    with VigilClient(stamp.url, stamp.token()) as client:
        assert not [i for i in client.iter_incidents(store="nw-exeter", page_size=100) if i["narrative"].startswith(f"Dry {run} ")]


def test_anpr_push_sends_batches_and_resends_a_batch_without_its_bad_read(stamp, tmp_path):
    env = stamp.cli_env(tmp_path)
    env.update({"VIGIL_AUTH_MODE": "token", "VIGIL_TOKEN": stamp.token(role="Device.Anpr").token()})
    reads = tmp_path / "reads.csv"
    with open(reads, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["camera_id", "store_id", "captured_at", "plate", "confidence", "direction"])
        for n in range(25):
            plate = "THIS PLATE IS FAR TOO LONG" if n == 7 else f"WR{n:02d} XKD"
            w.writerow(["cam-car-park-1", "nw-plymouth", f"2026-11-23T11:{n:02d}:04+00:00", plate, "0.93", "towards"])
    done = vigil(env, "anpr", "push", str(reads), "--batch-size", "10", "--rate", "500")
    assert done.returncode == 1
    assert "reads.csv:9: read refused (reads.7.plate)" in done.stderr
    totals = json.loads(done.stdout)
    assert totals["stored"] == 24 and totals["refused"] == 1
    again = vigil(env, "anpr", "push", str(reads), "--batch-size", "10")
    assert json.loads(again.stdout)["duplicates"] == 24


def test_anpr_push_sends_json_lines_as_they_are_and_names_a_line_that_is_not_json(stamp, tmp_path):
    env = stamp.cli_env(tmp_path)
    env.update({"VIGIL_AUTH_MODE": "token", "VIGIL_TOKEN": stamp.token(role="Device.Anpr").token()})
    lines = [
        json.dumps(
            {
                "camera_id": "cam-bay-3",
                "store_id": "nw-exeter",
                "captured_at": f"2026-11-23T12:{n:02d}:07+00:00",
                "plate": f"WK{n:02d} PLY",
                "confidence": 0.9,
            }
        )
        for n in range(30)
    ]
    good = tmp_path / "bridge.jsonl"
    # A byte-order mark and blank lines, as some camera exports write them.
    good.write_bytes("\ufeff".encode() + "\n\n".join(lines).encode() + b"\n")
    done = vigil(env, "anpr", "push", str(good), "--batch-size", "7", "--in-flight", "3")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) | {"seconds": 0} == {
        "sent": 30,
        "accepted": 30,
        "stored": 30,
        "duplicates": 0,
        "hits": 0,
        "refused": 0,
        "seconds": 0,
    }
    bad = tmp_path / "torn.jsonl"
    bad.write_text("\n".join([*lines[:2], '{"camera_id": "cam-bay-3", "plate": ', *lines[2:5]]) + "\n")
    torn = vigil(env, "anpr", "push", str(bad))
    assert torn.returncode == 4, torn.stderr
    assert "torn.jsonl:3: not JSON" in torn.stderr


def test_anpr_push_keeps_several_batches_in_flight_and_still_names_each_refused_read(tmp_path, capsys):
    import threading

    import httpx

    from vigil_client.cli import Context, cmd_anpr_push, parser

    reads = tmp_path / "reads.jsonl"
    lines = []
    for n in range(40):
        plate = "THIS PLATE IS FAR TOO LONG" if n == 12 else f"WR{n:02d} XKD"
        lines.append(
            json.dumps({"camera_id": "cam-1", "store_id": "nw-plymouth", "captured_at": f"2026-11-23T11:{n:02d}:04+00:00", "plate": plate})
        )
    reads.write_text("\n".join(lines) + "\n")
    lock = threading.Lock()
    active = 0
    most = 0
    stored: list[str] = []

    def handler(request):
        nonlocal active, most
        batch = json.loads(request.content)["reads"]
        bad = [i for i, r in enumerate(batch) if len(r["plate"]) > 10]
        if bad:
            problem = {"status": 422, "title": "Invalid", "detail": "bad read", "errors": [{"field": f"reads.{i}.plate"} for i in bad]}
            return httpx.Response(422, json=problem, headers={"Content-Type": "application/problem+json"})
        with lock:
            active += 1
            most = max(most, active)
        time.sleep(0.05)  # long enough for the other batches to be sent meanwhile
        with lock:
            active -= 1
            stored.extend(r["plate"] for r in batch)
        return httpx.Response(200, json={"accepted": len(batch), "stored": len(batch), "duplicates": 0, "hits": []})

    args = parser().parse_args(["anpr", "push", str(reads), "--batch-size", "5", "--in-flight", "4"])
    ctx = Context(args)
    ctx._client = VigilClient("http://vigil.test", transport=httpx.MockTransport(handler), retries=0)
    code = cmd_anpr_push(args, ctx)
    out, err = capsys.readouterr()
    assert most > 1
    assert code == 1 and "reads.jsonl:13: read refused (reads.2.plate)" in err
    totals = json.loads(out)
    assert totals["stored"] == 39 and totals["refused"] == 1 and totals["sent"] == 39
    assert sorted(stored) == sorted(f"WR{n:02d} XKD" for n in range(40) if n != 12)


def test_webhook_verify_accepts_vigils_signature_and_rejects_tampered_or_stale(tmp_path, monkeypatch):
    secret = "whsec_test"
    body = json.dumps({"type": "anpr.hit", "alert_id": "a-1", "hit": {"plate": "WR21 XKD"}}).encode()
    (tmp_path / "body.json").write_bytes(body)
    now = str(int(time.time()))
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(CLIENT_SRC), "VIGIL_CONFIG_DIR": str(tmp_path)}
    ok = vigil(
        env,
        "webhook",
        "verify",
        str(tmp_path / "body.json"),
        "--timestamp",
        now,
        "--signature",
        sign(secret, now, body),
        "--secret",
        secret,
    )
    assert ok.returncode == 0, ok.stderr
    (tmp_path / "tampered.json").write_bytes(body.replace(b"WR21", b"WR22"))
    bad = vigil(
        env,
        "webhook",
        "verify",
        str(tmp_path / "tampered.json"),
        "--timestamp",
        now,
        "--signature",
        sign(secret, now, body),
        "--secret",
        secret,
    )
    assert bad.returncode == 4 and "does not match" in bad.stderr
    old = str(int(time.time()) - 3600)
    stale = vigil(
        {**env, "VIGIL_WEBHOOK_SECRET": secret},
        "webhook",
        "verify",
        str(tmp_path / "body.json"),
        "--timestamp",
        old,
        "--signature",
        sign(secret, old, body),
    )
    assert stale.returncode == 4 and "stale" in stale.stderr
    assert vigil(env, "webhook", "verify", str(tmp_path / "body.json"), "--timestamp", now, "--signature", "v1=00").returncode == 2


def test_an_upload_whose_connection_is_killed_exits_3_and_the_same_command_resumes_it(shell, stamp, tmp_path):
    from tests.client.proxies import CuttingProxy

    with VigilClient(stamp.url, stamp.token()) as client:
        incident = client.report_incident(REPORT)
    clip = tmp_path / "door.png"
    clip.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 12_000)
    env = {**shell, "VIGIL_QUEUE_FILE": str(tmp_path / "state.sqlite3")}
    proxy = CuttingProxy(stamp.port, cut_after=2_000_000)
    try:
        cut = vigil(env, "--url", proxy.url, "--retries", "0", "upload", incident["id"], str(clip), "--chunk-mb", "1")
    finally:
        proxy.close()
    assert cut.returncode == 3, cut.stderr
    assert "run the same command again to resume" in cut.stderr
    resumed = vigil(env, "upload", incident["id"], str(clip), "--chunk-mb", "1")
    assert resumed.returncode == 0, resumed.stderr
    # The second run carried on from what the server held, not from byte 0.
    first_line = next(line for line in resumed.stderr.splitlines() if line.startswith("door.png ["))
    assert " 0.0%" not in first_line
    with VigilClient(stamp.url, stamp.token()) as client:
        items = client.list_evidence(incident["id"])
    assert [i["sha256"] for i in items] == [json.loads(resumed.stdout)["sha256"]]


def test_an_import_row_waits_out_rate_limits_instead_of_failing():
    import httpx

    from vigil_client.cli import report_paced

    answers = [httpx.Response(429, headers={"Retry-After": "9"}, json={"status": 429, "title": "Too many", "detail": "budget"})] * 3
    answers.append(httpx.Response(201, json={"id": "i-9"}))
    keys: list[str] = []

    def handler(request):
        keys.append(request.headers["Idempotency-Key"])
        return answers.pop(0)

    waits: list[float] = []
    with VigilClient("http://vigil.test", transport=httpx.MockTransport(handler), retries=0) as client:
        assert report_paced(client, REPORT, "vigil-import-abc", sleep=waits.append)["id"] == "i-9"
    assert waits == [9.0, 9.0, 9.0] and set(keys) == {"vigil-import-abc"}


def test_an_upload_cut_with_queue_is_queued_with_its_session_and_the_drain_finishes_it(shell, stamp, tmp_path):
    from tests.client.proxies import CuttingProxy

    with VigilClient(stamp.url, stamp.token()) as client:
        incident = client.report_incident(REPORT)
    clip = tmp_path / "aisle.png"
    clip.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 12_000)
    env = {**shell, "VIGIL_QUEUE_FILE": str(tmp_path / "queue.sqlite3")}
    proxy = CuttingProxy(stamp.port, cut_after=2_000_000)
    try:
        cut = vigil(env, "--url", proxy.url, "--retries", "0", "upload", incident["id"], str(clip), "--chunk-mb", "1", "--queue")
    finally:
        proxy.close()
    assert cut.returncode == 3 and "queued as #1" in cut.stderr, cut.stderr
    from vigil_client.queue import OfflineQueue

    with OfflineQueue(tmp_path / "queue.sqlite3") as queue:
        opened = queue.get(1).upload_id
    assert opened
    drained = vigil(env, "queue", "drain")
    assert drained.returncode == 0, drained.stderr
    with VigilClient(stamp.url, stamp.token()) as client:
        assert client.upload_status(opened)["state"] == "committed"
        assert len(client.list_evidence(incident["id"])) == 1
