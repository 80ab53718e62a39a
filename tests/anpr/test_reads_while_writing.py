"""ANPR reads do not queue behind writes: they answer while another unit of work holds the
store's write lock, and their audit entries join the chain afterwards."""

from __future__ import annotations

import time

from tests.anpr.helpers import API, list_vehicle, post_reads, read
from tests.write_lock import write_held

PURPOSE = {"purpose": "Op Spirits: tracing a theft suspect"}


def test_anpr_reads_answer_while_a_write_holds_the_store_and_are_audited(stamp):
    list_vehicle(stamp)
    post_reads(stamp, [read(stamp)])
    inv = stamp.auth("northwind", "Retailer.Investigator")
    police = stamp.auth("devon-and-cornwall", "Police.Officer")
    [found] = stamp.client.get(f"{API}/anpr/reads", params={"plate": "WR21XKD", **PURPOSE}, headers=inv).json()["items"]
    sub = stamp.client.post(f"{API}/alert-subscriptions", json={"stores": ["nw-plymouth"], "email": ["alerts@example.org"]}, headers=inv)
    assert sub.status_code == 201, sub.text

    with write_held(stamp) as writer:
        started = time.monotonic()
        answers = {
            "search": stamp.client.get(f"{API}/anpr/reads", params={"plate": "WR21XKD", **PURPOSE}, headers=police),
            "read": stamp.client.get(f"{API}/anpr/reads/{found['id']}", params=PURPOSE, headers=police),
            "hits": stamp.client.get(f"{API}/anpr/hits", headers=inv),
            "vehicles": stamp.client.get(f"{API}/vehicles", headers=inv),
            "subscriptions": stamp.client.get(f"{API}/alert-subscriptions", headers=inv),
            "deliveries": stamp.client.get(f"{API}/alert-subscriptions/{sub.json()['id']}/deliveries", headers=inv),
            "settings": stamp.client.get(f"{API}/anpr/settings", headers=stamp.auth("northwind", "Retailer.Admin")),
        }
        elapsed = time.monotonic() - started
        writer_still_open = writer.is_alive()
    assert {name: r.status_code for name, r in answers.items()} == dict.fromkeys(answers, 200)
    assert writer_still_open and elapsed < 10
    assert answers["hits"].json()["items"] and answers["vehicles"].json()["items"]

    admin = stamp.auth("northwind", "Retailer.Admin")
    trail = stamp.client.get("/api/v1/audit", params={"limit": 100}, headers=admin).json()
    ops = {(e["operation"], e["action"], e.get("recipient_org")) for e in trail["items"]}
    assert ("anpr.read.search", "disclosure", "devon-and-cornwall") in ops
    assert ("anpr.read.read", "disclosure", "devon-and-cornwall") in ops
    assert ("anpr.hit.search", "consultation", None) in ops
    assert ("vehicle.list", "consultation", None) in ops
    assert trail["chain"]["verified"] is True
    # A force's search is also kept in its own trail.
    own = stamp.client.get("/api/v1/audit", params={"limit": 100}, headers=stamp.auth("devon-and-cornwall", "Police.Admin")).json()
    assert {"anpr.read.search", "anpr.read.read"} <= {e["operation"] for e in own["items"]}
    assert own["chain"]["verified"] is True
