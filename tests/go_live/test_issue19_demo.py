"""Issue 19's done-when, replayed on `make run`'s demo seed in one go: devon-and-cornwall's
admin uploads the example month of online-home and 101 figures over HTTP and the table sets
D2P against each channel with the counts behind every rate; its ranges refuse (and audit) a
request from outside while one from inside works; D2P cannot be switched on for a force
whose DPIA stage is open; northwind's DPIA states its agreements and retention periods as
configured, and a change shows as a difference from the approved version."""

from __future__ import annotations

from shared.domain.retention import RecordType, rule_text
from shared.services.seed import seed_demo
from tests.d2p.test_evaluation import EXAMPLE, NOVEMBER, _d2p_month, upload_extract
from tests.go_live.test_go_live import NEW_FORCE, RULES, _approve_latest, _generate, _share
from tests.network.test_network_ranges import from_address, refusals, set_ranges

API = "/api/v1"
DC = "devon-and-cornwall"
RA, PA = "Retailer.Admin", "Police.Admin"


def _rates_show_their_counts(column: dict) -> None:
    assert column["reports"] > 0
    assert column["charge_rate"] == round(column["charged"] / column["reports"], 4)
    for outcome in column["outcomes"].values():
        assert outcome["rate"] == round(outcome["count"] / column["reports"], 4)


def test_issue_19_done_when_on_the_demo_seed(stamp):
    seed_demo(stamp.container)  # what `make run` adds to the directory: the demo incidents
    admin = stamp.auth(DC, PA)

    # 1. The evaluation table, from the example month of the force's other channels.
    uploaded = upload_extract(stamp, EXAMPLE.read_bytes())
    assert uploaded.status_code == 201, uploaded.text
    # The demo seed's series already reached the force's inbox this month: count on from it.
    before = stamp.client.get(f"{API}/kpis/d2p", params={"force": DC, **NOVEMBER}, headers=admin).json()["evaluation"]
    seeded = before["channels"][0]["d2p"]["reports"]
    _d2p_month(stamp, 4, charged=1, outcome_14=1, evidence=False)
    kpis = stamp.client.get(f"{API}/kpis/d2p", params={"force": DC, **NOVEMBER}, headers=admin)
    assert kpis.status_code == 200, kpis.text
    table = kpis.json()["evaluation"]
    assert [row["channel"] for row in table["channels"]] == ["101", "online"]
    for row in table["channels"]:
        assert row["d2p"]["reports"] == seeded + 4 and row["channel_figures"]["reports"] == 1000
        _rates_show_their_counts(row["d2p"])
        _rates_show_their_counts(row["channel_figures"])
        assert row["differences"]["charge_rate"]["points_label"].endswith(("higher", "lower", "no difference"))

    # 2. Only from the force's network: refused and audited outside, working inside.
    set_ranges(stamp, DC, PA, ["127.0.0.0/8", "192.0.2.0/24"])
    inbox = f"{API}/forces/{DC}/d2p-inbox"
    officer = stamp.auth(DC, "Police.Officer")
    assert from_address(stamp, "192.0.2.10").get(inbox, headers=officer).status_code == 200
    outside = from_address(stamp, "203.0.113.9").get(inbox, headers=officer)
    assert outside.status_code == 403 and outside.json()["type"].endswith("/outside-network")
    [refused] = refusals(stamp)
    assert "address:203.0.113.9" in refused["fields"]

    # 3. No D2P for a force whose DPIA stage is open.
    ops = stamp.auth("vigil-platform", "Platform.Operator")
    assert stamp.client.put(f"{API}/organisations/dorset-police", json=NEW_FORCE, headers=ops).status_code == 201
    switched = stamp.client.put(f"{API}/forces/dorset-police/d2p-rules", json=RULES, headers=stamp.auth("dorset-police", PA))
    assert switched.status_code == 409 and switched.json()["stage"] == "dpia_approved"

    # 4. Northwind's DPIA states its agreements and periods as configured; a change is a difference.
    agreements = stamp.client.get(f"{API}/organisations/northwind/sharing", headers=stamp.auth("northwind", RA)).json()["agreements"]
    approved = _approve_latest(stamp, "northwind", RA)
    assert approved["facts"]["Sharing"] == {f"with {a['partner_id']}": a["level"] for a in agreements if a.get("partner_id")}
    principal = stamp.container.directory.principal_from_claims(
        {"sub": "nw-admin", "tid": "6f1c1a52-0b1e-4c7e-9a0e-2f5d7c1b0a01", "roles": [RA]}
    )
    months = stamp.container.retention.schedules.organisation(principal).schedule.months
    assert set(approved["facts"]["Retention"]) == {t.value for t in RecordType}
    for record_type, n in months.items():
        assert approved["facts"]["Retention"][record_type.value].startswith(rule_text(record_type, n).split(": ", 1)[1])
    kept = [{k: a[k] for k in ("partner_id", "level", "anpr") if k in a} for a in agreements]
    _share(stamp, [*kept, {"partner_id": "avon-and-somerset", "level": "counts"}])
    changes = _generate(stamp, "northwind", RA).json()["differences_from_approved"]["changes"]
    assert [c["text"] for c in changes] == ["Sharing with avon-and-somerset: (none) → counts"]
