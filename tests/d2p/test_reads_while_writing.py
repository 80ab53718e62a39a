"""D2P reads do not queue behind writes: they answer while another unit of work holds the
store's write lock. A retailer's eligibility read records its evaluation, so it stays a write."""

from __future__ import annotations

import time

from tests.d2p.helpers import eligible_report
from tests.write_lock import write_held

DC = "devon-and-cornwall"


def test_d2p_reads_answer_while_a_write_holds_the_store(stamp):
    incident = eligible_report(stamp)
    inv = stamp.auth("northwind", "Retailer.Investigator")
    sent = stamp.client.post(f"/api/v1/incidents/{incident['id']}/d2p", headers=inv)
    assert sent.status_code == 202, sent.text
    police_admin = stamp.auth(DC, "Police.Admin")
    kpi_period = {"force": DC, "from": "2020-01-01T00:00:00+00:00", "to": "2021-12-31T00:00:00+00:00"}

    with write_held(stamp) as writer:
        started = time.monotonic()
        answers = {
            "rules": stamp.client.get(f"/api/v1/forces/{DC}/d2p-rules", headers=police_admin),
            "versions": stamp.client.get(f"/api/v1/forces/{DC}/d2p-rules/versions", headers=police_admin),
            "dispatches": stamp.client.get(f"/api/v1/forces/{DC}/d2p-dispatches", headers=police_admin),
            "kpis": stamp.client.get("/api/v1/kpis/d2p", params=kpi_period, headers=police_admin),
            "settings": stamp.client.get("/api/v1/organisations/northwind/d2p-settings", headers=stamp.auth("northwind", "Retailer.Admin")),
            "force eligibility": stamp.client.get(
                f"/api/v1/incidents/{incident['id']}/d2p",
                params={"purpose": "Triage while writing"},
                headers=stamp.auth(DC, "Police.Officer"),
            ),
        }
        elapsed = time.monotonic() - started
        writer_still_open = writer.is_alive()
    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(answers, 200), {
        n: r.text for n, r in answers.items() if r.status_code != 200
    }
    assert writer_still_open and elapsed < 10
    assert [d["incident_id"] for d in answers["dispatches"].json()["items"]] == [incident["id"]]
    assert [d["force_id"] for d in answers["force eligibility"].json()["dispatches"]] == [DC]

    # The retailer's eligibility read still records its evaluation, and both trails verify.
    assert stamp.client.get(f"/api/v1/incidents/{incident['id']}/d2p", headers=inv).status_code == 200
    for org, role in [("northwind", "Retailer.Admin"), (DC, "Police.Admin")]:
        trail = stamp.client.get("/api/v1/audit", params={"limit": 100}, headers=stamp.auth(org, role)).json()
        assert trail["chain"]["verified"] is True
