"""The force's evaluation table: the other channels' figures uploaded by its admin, D2P's
side counted as acknowledgements and outcomes happen, and the table comparing them."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.domain import evaluation as ev
from shared.domain.errors import Invalid
from shared.records import AUDIT, CHANNEL_FIGURES, D2P_COUNTERS
from tests.d2p.helpers import drain, eligible_report, report
from tests.fixtures_http import both_backends

DC = "devon-and-cornwall"
API = "/api/v1"
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "d2p-evaluation-2026-11.csv"
HEADER = "crime_reference,channel,reported_at,recorded_at,outcome_code\n"
NOVEMBER = {"from": "2026-11-01T00:00:00Z", "to": "2026-12-01T00:00:00Z"}


def admin(stamp, force=DC):
    return stamp.auth(force, "Police.Admin")


def upload_extract(stamp, text: bytes | str, *, first="2026-11-01", last="2026-11-30", headers=None):
    body = text.encode() if isinstance(text, str) else text
    return stamp.client.post(
        f"{API}/forces/{DC}/channel-figures/extract",
        params={"from": first, "to": last},
        content=body,
        headers={**(headers or admin(stamp)), "Content-Type": "text/csv"},
    )


def figures(stamp):
    r = stamp.client.get(f"{API}/forces/{DC}/channel-figures", headers=admin(stamp))
    assert r.status_code == 200, r.text
    return r.json()["items"]


def aggregates(**overrides):
    body = {
        "channel": "front_counter",
        "from": "2026-11-01",
        "to": "2026-11-30",
        "reports": 200,
        "charged": 30,
        "outcomes": {"1": 30, "14": 20, "16": 10},
        "hours_to_record": {"mean": 20.0, "median": 18.5},
    }
    return body | overrides


# ---- the extract, row by row ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "row", "column"),
    [
        ("crime_reference,channel,reported_at,outcome_code\nCR/1,online,2026-11-02T10:00:00Z,1\n", 1, "recorded_at"),
        (HEADER + "CR/1,online,2026-11-02T10:00:00Z,2026-11-02T12:00:00Z,1\nCR/2,online,2 Nov 2026,,\n", 3, "reported_at"),
        (HEADER + "CR/1,online,2026-11-02T10:00:00Z,2026-11-02T12:00:00Z,23\n", 2, "outcome_code"),
        (HEADER + "CR/1,online,2026-11-02T10:00:00Z,2026-11-02T09:00:00Z,1\n", 2, "recorded_at"),
        (HEADER + "CR/1,online,2026-10-31T23:59:00Z,,\n", 2, "reported_at"),
        (HEADER + "CR/1,online,2026-11-02T10:00:00Z,,\nCR/1,101,2026-11-03T10:00:00Z,,\n", 3, "crime_reference"),
        (HEADER + "CR/1,Online Home!,2026-11-02T10:00:00Z,,\n", 2, "channel"),
        (HEADER + "CR/1,online,2026-11-02T10:00:00Z\n", 2, "recorded_at"),
        (HEADER + ",online,2026-11-02T10:00:00Z,,\n", 2, "crime_reference"),
    ],
)
def test_a_bad_extract_is_refused_naming_row_and_column_and_nothing_is_stored(stamp, text, row, column):
    r = upload_extract(stamp, text)
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["errors"][0]["row"] == row and problem["errors"][0]["column"] == column
    assert f"Row {row}, column {column}" in problem["detail"]
    assert figures(stamp) == []


def test_an_extract_over_the_size_limit_is_refused_as_it_streams(stamp, monkeypatch):
    monkeypatch.setattr(ev, "MAX_EXTRACT_BYTES", 1000)
    r = upload_extract(stamp, HEADER + "CR/1,online,2026-11-02T10:00:00Z,,\n" * 40)
    assert r.status_code == 413 and r.json()["max_bytes"] == 1000
    assert figures(stamp) == []


def test_an_extract_that_is_not_csv_is_415(stamp):
    r = stamp.client.post(
        f"{API}/forces/{DC}/channel-figures/extract",
        params={"from": "2026-11-01", "to": "2026-11-30"},
        json={"channel": "online"},
        headers=admin(stamp),
    )
    assert r.status_code == 415 and figures(stamp) == []


def test_extract_rows_are_counted_and_dropped(stamp):
    text = HEADER + (
        "CR/1,online,2026-11-02T10:00:00Z,2026-11-02T16:00:00Z,1\n"
        "CR/2,online,2026-11-03T10:00:00+01:00,2026-11-05T09:00:00Z,14\n"
        "CR/3,online,2026-11-04T10:00:00,,\n"
        "CR/4,101,2026-11-05T10:00:00Z,2026-11-05T11:30:00Z,1a\n"
    )
    r = upload_extract(stamp, text)
    assert r.status_code == 201, r.text
    online, phone = sorted(r.json()["items"], key=lambda i: i["channel"])[::-1]
    assert online["channel"] == "online" and online["reports"] == 3 and online["charged"] == 1
    assert online["outcomes"] == {"1": 1, "14": 1} and online["source"] == "extract"
    assert online["hours_to_record"] == {"n": 2, "mean_hours": 27.0, "median_hours": 27.0}
    assert phone["channel"] == "101" and phone["outcomes"] == {"1A": 1} and phone["charged"] == 1
    with stamp.container.records.read_only() as uow:
        stored = uow.query(CHANNEL_FIGURES.name, [DC], [], limit=100).items
    assert stored and not any("CR/" in repr(d) for d in stored)
    assert not any("2026-11-02T10:00" in repr(d) for d in stored)


def test_hours_statistics_of_a_histogram():
    h: dict[str, int] = {}
    for minutes in (60, 120, 180, 600):
        ev.add_minutes(h, minutes)
    assert ev.hours_stats(h) == {"n": 4, "mean_hours": 4.0, "median_hours": 2.5}
    ev.add_minutes(h, 30)
    assert ev.hours_stats(h)["median_hours"] == 2.0
    assert ev.hours_stats({}) == {"n": 0, "mean_hours": None, "median_hours": None}


def test_differences_are_labelled_as_points_or_relative():
    up = ev.rate_difference(0.30, 0.20)
    assert up["points_label"] == "10.0 percentage points higher" and up["relative_label"] == "50.0% higher (relative)"
    down = ev.rate_difference(0.036, 0.166)
    assert down["points_label"] == "13.0 percentage points lower" and down["relative_label"] == "78.3% lower (relative)"
    assert ev.rate_difference(0.1, 0.0)["relative_label"].startswith("no relative change")
    assert ev.hours_difference(6.0, 53.0)["hours_label"] == "47.0 hours sooner"
    assert ev.rate_difference(None, 0.2) is None


def test_aggregates_must_add_up():
    with pytest.raises(ValueError, match="more reports charged"):
        ev.ChannelFiguresIn.model_validate(aggregates(charged=300))
    with pytest.raises(ValueError, match="differs from outcomes 1 and 1A"):
        ev.ChannelFiguresIn.model_validate(aggregates(charged=31))
    with pytest.raises(ValueError, match="unknown outcome code"):
        ev.ChannelFiguresIn.model_validate(aggregates(outcomes={"99": 1}))
    with pytest.raises(ValueError, match="d2p is Vigil's own channel"):
        ev.ChannelFiguresIn.model_validate(aggregates(channel="d2p"))
    with pytest.raises(Invalid):
        list(ev.aggregate_extract(iter([]), ev.date(2026, 11, 1), ev.date(2026, 11, 30)))


# ---- aggregates over HTTP ---------------------------------------------------------------------


@both_backends
def test_uploading_a_channel_and_period_again_replaces_it_as_a_new_version_audited(stamp):
    url = f"{API}/forces/{DC}/channel-figures"
    first = stamp.client.post(url, json=aggregates(), headers=admin(stamp))
    assert first.status_code == 201, first.text
    assert first.json()["version"] == 1 and first.json()["hours_to_record"]["median_hours"] == 18.5
    again = stamp.client.post(url, json=aggregates(reports=210), headers=admin(stamp))
    assert again.status_code == 201 and again.json()["version"] == 2
    listed = figures(stamp)
    assert [(f["channel"], f["reports"], f["version"]) for f in listed] == [("front_counter", 210, 2)]
    overlapping = stamp.client.post(url, json=aggregates(**{"from": "2026-11-15", "to": "2026-12-14"}), headers=admin(stamp))
    assert overlapping.status_code == 409 and "overlaps" in overlapping.json()["detail"]
    analyst = stamp.client.post(url, json=aggregates(), headers=stamp.auth(DC, "Police.Analyst"))
    assert analyst.status_code == 403
    assert stamp.client.get(url, headers=stamp.auth(DC, "Police.Analyst")).status_code == 200
    assert stamp.client.get(url, headers=stamp.auth(DC, "Police.Officer")).status_code == 403
    with stamp.container.records.read_only() as uow:
        versions = uow.query(CHANNEL_FIGURES.name, [DC], [], limit=100).items
        audit = [a for a in uow.query(AUDIT.name, [DC], [], limit=500).items if a.get("operation") == "d2p.channel_figures.aggregates"]
    assert sorted(d["id"] for d in versions) == [
        "front_counter.2026-11-01.2026-11-30",
        "front_counter.2026-11-01.2026-11-30.v1",
        "front_counter.2026-11-01.2026-11-30.v2",
    ]
    assert sorted(a["entity"] for a in audit) == [
        "channel-figures/front_counter.2026-11-01.2026-11-30.v1",
        "channel-figures/front_counter.2026-11-01.2026-11-30.v2",
    ]


# ---- D2P's side and the table -----------------------------------------------------------------


def _no_evidence_rules(stamp) -> None:
    # Files need blob storage: where a test needs only dispatches, the force takes reports without them.
    current = stamp.client.get(f"{API}/forces/{DC}/d2p-rules", headers=admin(stamp))
    rules = current.json()["rules"] | {"require_cctv": False, "require_suspect_image": False}
    put = stamp.client.put(f"{API}/forces/{DC}/d2p-rules", json=rules, headers={**admin(stamp), "If-Match": current.headers["etag"]})
    assert put.status_code == 200, put.text


def _d2p_month(stamp, n: int, *, charged: int, outcome_14: int, hours: tuple[int, int] = (5, 7), evidence: bool = True) -> list[dict]:
    """`n` reports sent to the force now, acknowledged half after hours[0], half after
    hours[1]; `charged` of them charged, `outcome_14` with outcome 14, the rest 18."""
    if not evidence:
        _no_evidence_rules(stamp)
    incidents = []
    for _ in range(n):
        incident = eligible_report(stamp) if evidence else report(stamp)
        r = stamp.client.post(f"{API}/incidents/{incident['id']}/d2p", headers=stamp.auth("northwind", "Retailer.Investigator"))
        assert r.status_code == 202, r.text
        incidents.append(incident)
    drain(stamp)
    officer = stamp.auth(DC, "Police.Officer")
    stamp.clock.advance(hours=hours[0])
    for i, incident in enumerate(incidents):
        if i == n // 2:
            stamp.clock.advance(hours=hours[1] - hours[0])
        r = stamp.client.post(f"{API}/d2p/{incident['id']}.{DC}/acknowledge", json={"crime_reference": f"CR/D2P{i}/26"}, headers=officer)
        assert r.status_code == 200, r.text
    # Every report first closed as 18, then some moved on a day later: the latest counts.
    for round_ in ("first", "later"):
        for i, incident in enumerate(incidents):
            code = "18" if round_ == "first" else "1" if i < charged else "14" if i < charged + outcome_14 else None
            if code:
                r = stamp.client.post(f"{API}/incidents/{incident['id']}/outcomes", json={"code": code}, headers=officer)
                assert r.status_code == 201, r.text
        stamp.clock.advance(days=1)
    return incidents


def test_the_seed_forces_published_figures_come_back_exactly(stamp):
    """A synthetic month built to match the force's published evaluation: D2P's charge
    rate 8.9 points higher than online and 101, outcome 14 3.6% against 16.6%, and 6
    hours to record against 53."""
    r = upload_extract(stamp, EXAMPLE.read_bytes())
    assert r.status_code == 201, r.text
    assert sorted(f["channel"] for f in r.json()["items"]) == ["101", "online"]
    _d2p_month(stamp, 28, charged=8, outcome_14=1)
    r = stamp.client.get(f"{API}/kpis/d2p", params={"force": DC, **NOVEMBER}, headers=stamp.auth(DC, "Police.Analyst"))
    assert r.status_code == 200, r.text
    table = r.json()["evaluation"]
    assert table["from"] == "2026-11-01" and table["to"] == "2026-11-30"
    assert [c["channel"] for c in table["channels"]] == ["101", "online"]
    for row in table["channels"]:
        d2p, other, diff = row["d2p"], row["channel_figures"], row["differences"]
        assert row["periods"] == [{"from": "2026-11-01", "to": "2026-11-30"}]
        assert (d2p["reports"], d2p["charged"], d2p["outcomes"]["14"]["count"]) == (28, 8, 1)
        assert (other["reports"], other["charged"], other["outcomes"]["14"]["count"]) == (1000, 197, 166)
        assert diff["charge_rate"]["points_label"] == "8.9 percentage points higher"
        assert f"{d2p['outcomes']['14']['rate']:.1%}" == "3.6%" and f"{other['outcomes']['14']['rate']:.1%}" == "16.6%"
        assert d2p["outcomes"]["14"]["highlighted"] and other["outcomes"]["16"]["highlighted"]
        assert d2p["hours_to_record"] == {"n": 28, "mean_hours": 6.0, "median_hours": 6.0}
        assert other["hours_to_record"] == {"n": 1000, "mean_hours": 53.0, "median_hours": 53.0}
        assert diff["mean_hours_to_record"]["hours_label"] == "47.0 hours sooner"
    # The outcome each report ended with counts, not the 18 it had first.
    assert "18" not in table["channels"][0]["d2p"]["outcomes"] or table["channels"][0]["d2p"]["outcomes"]["18"]["count"] == 19


def _cli_rebuild(stamp, monkeypatch, capsys) -> dict:
    import json

    from functions import cli
    from shared import bootstrap
    from shared.settings import get_settings

    monkeypatch.setenv("VIGIL_DATA_DIR", str(stamp.data_dir))
    get_settings.cache_clear()
    monkeypatch.setattr(bootstrap, "_default", None)
    try:
        assert cli.main(["d2p-counters", "--force", DC, "--from", "2026-11-01", "--to", "2026-11-30"]) == 0
        assert cli.main(["d2p-counters", "--force", DC, "--from", "November", "--to", "2026-11-30"]) == 2
    finally:
        get_settings.cache_clear()
    out, err = capsys.readouterr()
    assert "usage: make d2p-counters" in err
    return json.loads(out.strip().splitlines()[-1])


@both_backends
def test_counters_follow_acknowledgements_and_outcomes_and_rebuild_to_the_same(stamp, monkeypatch, capsys):
    _d2p_month(stamp, 3, charged=1, outcome_14=1, hours=(2, 4), evidence=False)
    with stamp.container.records.read_only() as uow:
        before = {d["id"]: {k: d[k] for k in ("acknowledged", "minutes", "outcomes")} for d in uow.query(D2P_COUNTERS.name, [DC], []).items}
    assert before == {"2026-11-23": {"acknowledged": 3, "minutes": {"120": 1, "240": 2}, "outcomes": {"1": 1, "14": 1, "18": 1}}}
    # Lost counters (a backfill, or a repair) are rebuilt from the dispatches and outcomes.
    with stamp.container.records.unit_of_work() as uow:
        uow.delete(D2P_COUNTERS.name, DC, "2026-11-23")
        # and a day counted wrongly, with nothing behind it
        uow.insert(
            D2P_COUNTERS.name, DC, {"id": "2026-11-05", "day": "2026-11-05", "acknowledged": 4, "minutes": {"60": 4}, "outcomes": {}}
        )
    if stamp.backend == "local":
        # As an operator runs it beside `make run`: `make d2p-counters FORCE= FROM= TO=`.
        assert _cli_rebuild(stamp, monkeypatch, capsys) == {"force": DC, "from": "2026-11-01", "to": "2026-11-30", "days": 1, "reports": 3}
    else:
        assert stamp.container.d2p.counters.rebuild(DC, ev.date(2026, 11, 1), ev.date(2026, 11, 30)) == {"days": 1, "reports": 3}
    with stamp.container.records.read_only() as uow:
        after = {d["id"]: {k: d[k] for k in ("acknowledged", "minutes", "outcomes")} for d in uow.query(D2P_COUNTERS.name, [DC], []).items}
    assert after == before
    r = stamp.client.get(f"{API}/kpis/d2p", params={"force": DC, **NOVEMBER}, headers=stamp.auth(DC, "Police.Analyst"))
    d2p = r.json()["evaluation"]["d2p"]
    assert (d2p["reports"], d2p["charged"], d2p["outcomes"]["14"]["count"]) == (3, 1, 1)
    assert d2p["hours_to_record"] == {"n": 3, "mean_hours": 3.33, "median_hours": 4.0}


def test_other_forces_never_see_the_figures(stamp):
    assert stamp.client.post(f"{API}/forces/{DC}/channel-figures", json=aggregates(), headers=admin(stamp)).status_code == 201
    other = stamp.auth("avon-and-somerset", "Police.Admin")
    assert stamp.client.get(f"{API}/forces/{DC}/channel-figures", headers=other).status_code == 404
    assert upload_extract(stamp, HEADER + "CR/1,online,2026-11-02T10:00:00Z,,\n", headers=other).status_code == 404
    r = stamp.client.get(f"{API}/kpis/d2p", params={"force": "avon-and-somerset", **NOVEMBER}, headers=other)
    assert r.status_code == 200 and r.json()["evaluation"]["channels"] == []


def test_a_unit_that_lost_a_counter_race_runs_again_then_gives_up():
    from shared.domain.errors import PreconditionFailed
    from shared.services.d2p.police import retried

    tries: list[int] = []

    def unit(fail: int):
        tries.append(1)
        if len(tries) <= fail:
            raise PreconditionFailed("another unit moved the day's counter first")
        return "done"

    assert retried(lambda: unit(2)) == "done" and len(tries) == 3
    tries.clear()
    with pytest.raises(PreconditionFailed):
        retried(lambda: unit(3))
    assert len(tries) == 3


def test_the_older_kpis_count_incidents_without_loading_them_and_read_a_stray_outcome(stamp):
    incident = report(stamp, occurred_at="2026-11-20T10:00:00+00:00")
    with stamp.container.records.unit_of_work() as uow:
        # An outcome on an incident never dispatched (none can be recorded so today): read, not assumed away.
        uow.insert(
            "outcomes",
            "northwind",
            {"id": "stray", "incident_id": incident["id"], "force_id": DC, "code": "16", "label": "", "recorded_at": "2026-11-23T12:00:00+00:00",
             "recorded_by": "test", "via_d2p": False, "dispatch_id": None},
        )  # fmt: skip
    r = stamp.client.get(f"{API}/kpis/d2p", params={"force": DC, **NOVEMBER}, headers=stamp.auth(DC, "Police.Analyst"))
    other = r.json()["outcomes"]["other_channels"]
    assert other["reports"] >= 1 and other["with_outcome"] == 1 and other["outcome_16"] == 1
    assert r.json()["times"]["other_channels_reported_to_first_outcome"]["n"] == 1
