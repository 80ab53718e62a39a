"""The audit trail: every read and change recorded, and tampering named."""

from __future__ import annotations

import json
import sqlite3

from tests.http.test_incidents import report


def test_every_action_is_audited_and_chain_verifies(stamp):
    incident = report(stamp).json()
    inv = stamp.auth("northwind", "Retailer.Investigator")
    stamp.client.get(f"/api/v1/incidents/{incident['id']}", headers=inv)
    stamp.client.get("/api/v1/incidents", headers=inv)
    police = stamp.auth("devon-and-cornwall", "Police.Officer")
    stamp.client.get(f"/api/v1/incidents/{incident['id']}", params={"purpose": "crime report follow-up"}, headers=police)
    admin = stamp.auth("northwind", "Retailer.Admin")
    r = stamp.client.get("/api/v1/audit", params={"entity": f"incident/{incident['id']}"}, headers=admin).json()
    ops = [(e["operation"], e["action"]) for e in r["items"]]
    assert ("incident.create", "collection") in ops
    assert ("incident.read", "consultation") in ops
    disclosure = [e for e in r["items"] if e["action"] == "disclosure"][0]
    assert disclosure["recipient_org"] == "devon-and-cornwall" and disclosure["purpose"] == "crime report follow-up"
    assert r["chain"]["verified"] is True


def test_hand_edited_audit_row_is_named(stamp):
    incident = report(stamp).json()
    inv = stamp.auth("northwind", "Retailer.Investigator")
    for _ in range(3):
        stamp.client.get(f"/api/v1/incidents/{incident['id']}", headers=inv)
    db = sqlite3.connect(stamp.data_dir / "uk" / "records.sqlite")
    row = db.execute("SELECT id, doc FROM c_audit WHERE tenant='northwind' AND f_seq=2").fetchone()
    doc = json.loads(row[1])
    doc["actor_user"] = "someone-else"
    db.execute("UPDATE c_audit SET doc=? WHERE tenant='northwind' AND id=?", (json.dumps(doc), row[0]))
    db.commit()
    db.close()
    chain = stamp.client.get("/api/v1/audit", headers=stamp.auth("northwind", "Retailer.Admin")).json()["chain"]
    assert chain["verified"] is False
    assert chain["first_broken"]["seq"] == 2 and chain["first_broken"]["id"] == row[0]
