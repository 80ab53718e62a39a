"""Witness statements: store staff add them to the reports they filed (D2P needs the
reporter's own), never to a colleague's, and nobody changes an existing one by adding."""

from __future__ import annotations

RR = "Retailer.Reporter"


def _staff(stamp, user, stores=("nw-plymouth",)):
    return stamp.auth("northwind", RR, user=user, stores=list(stores))


def _report(stamp, auth) -> dict:
    body = stamp.example("IncidentIn")
    body["witnesses"] = [{"name": "Sam Taylor", "kind": "customer", "statement": "I saw him leave without paying."}]
    r = stamp.client.post("/api/v1/incidents", json=body, headers=auth)
    assert r.status_code == 201, r.text
    return r.json()


def _add(stamp, incident_id, auth, **statement):
    body = {"name": "Alice Till", "kind": "staff", "statement": "I watched him fill the bag at aisle 4.", **statement}
    return stamp.client.post(f"/api/v1/incidents/{incident_id}/statements", json=body, headers=auth)


def test_reporter_adds_statements_to_own_report_only(stamp):
    alice, bob = _staff(stamp, "till-alice"), _staff(stamp, "till-bob")
    mine = _report(stamp, alice)
    r = _add(stamp, mine["id"], alice, is_reporter=True)
    assert r.status_code == 201, r.text
    # Appended: the statement already there is untouched.
    assert [(w["name"], w["statement"]) for w in r.json()["witnesses"]] == [
        ("Sam Taylor", "I saw him leave without paying."),
        ("Alice Till", "I watched him fill the bag at aisle 4."),
    ]
    assert r.json()["witnesses"][1]["is_reporter"] is True and r.json()["version"] == mine["version"] + 1
    # A colleague can read the report but not add to it, nor rewrite its statements.
    assert stamp.client.get(f"/api/v1/incidents/{mine['id']}", headers=bob).status_code == 200
    refused = _add(stamp, mine["id"], bob)
    assert refused.status_code == 403 and refused.headers["content-type"] == "application/problem+json"
    etag = stamp.client.get(f"/api/v1/incidents/{mine['id']}", headers=alice).headers["etag"]
    for who in (bob, alice):
        patch = stamp.client.patch(f"/api/v1/incidents/{mine['id']}", json={"witnesses": []}, headers={**who, "If-Match": etag})
        assert patch.status_code == 403
    # Staff of another store do not see the report at all.
    assert _add(stamp, mine["id"], _staff(stamp, "till-carol", stores=("nw-exeter",))).status_code == 404
    # An investigator's report is not staff's to add to; investigators add to any.
    theirs = _report(stamp, stamp.auth("northwind", "Retailer.Investigator"))
    assert _add(stamp, theirs["id"], alice).status_code == 403
    assert _add(stamp, mine["id"], stamp.auth("northwind", "Retailer.Investigator")).status_code == 201
    final = stamp.client.get(f"/api/v1/incidents/{mine['id']}", headers=alice).json()
    assert [w["name"] for w in final["witnesses"]] == ["Sam Taylor", "Alice Till", "Alice Till"]
    history = stamp.client.get(f"/api/v1/incidents/{mine['id']}/history", headers=stamp.auth("northwind", "Retailer.Investigator"))
    assert any("reporter's own statement" in v["note"] for v in history.json()["items"])


def test_a_bad_statement_is_a_clear_problem_and_changes_nothing(stamp):
    alice = _staff(stamp, "till-alice")
    mine = _report(stamp, alice)
    r = _add(stamp, mine["id"], alice, statement="")
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert _add(stamp, mine["id"], alice, signature="x").status_code == 422
    after = stamp.client.get(f"/api/v1/incidents/{mine['id']}", headers=alice).json()
    assert after["version"] == mine["version"] and len(after["witnesses"]) == 1


def test_an_mg11_needs_the_section_9_declaration_and_is_signed_by_the_server(stamp):
    import hashlib

    from shared.domain.statements import signature_holds, signature_record

    inv = stamp.auth("northwind", "Retailer.Investigator")
    mine = _report(stamp, inv)
    refused = _add(stamp, mine["id"], inv, mg11=True, occupation="Security officer")
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    assert "section 9" in refused.text
    after = stamp.client.get(f"/api/v1/incidents/{mine['id']}", headers=inv).json()
    assert after["version"] == mine["version"] and len(after["witnesses"]) == 1  # nothing half-written
    # The signing time is the server's, never the client's.
    assert _add(stamp, mine["id"], inv, mg11=True, declaration_accepted=True, signed_at="2020-01-01T00:00:00Z").status_code == 422

    r = _add(
        stamp,
        mine["id"],
        inv,
        name="Łukasz Zoë Brown",
        mg11=True,
        declaration_accepted=True,
        occupation="Security officer",
        age_if_under_18=17,
    )
    assert r.status_code == 201, r.text
    signed = r.json()["witnesses"][1]
    assert signed["signed_at"] == r.json()["updated_at"] and signed["occupation"] == "Security officer"
    assert signed["signature_sha256"] == hashlib.sha256(signature_record(signed, signed["signed_at"])).hexdigest()
    assert signature_holds(signed)

    # A change elsewhere keeps the signature; a change of the signed words signs again, later.
    etag = stamp.client.get(f"/api/v1/incidents/{mine['id']}", headers=inv).headers["etag"]
    p = stamp.client.patch(f"/api/v1/incidents/{mine['id']}", json={"narrative": "Updated narrative."}, headers={**inv, "If-Match": etag})
    assert p.status_code == 200, p.text
    assert p.json()["witnesses"][1]["signature_sha256"] == signed["signature_sha256"]
    witnesses = [{k: v for k, v in w.items() if k not in ("signed_at", "signature_sha256")} for w in p.json()["witnesses"]]
    witnesses[1]["statement"] = "I watched him fill the bag at aisle 5."
    etag = p.headers["etag"]
    p = stamp.client.patch(f"/api/v1/incidents/{mine['id']}", json={"witnesses": witnesses}, headers={**inv, "If-Match": etag})
    assert p.status_code == 200, p.text
    resigned = p.json()["witnesses"][1]
    assert resigned["signature_sha256"] != signed["signature_sha256"] and resigned["signed_at"] == p.json()["updated_at"]
    assert signature_holds(resigned) and p.json()["witnesses"][0]["signed_at"] is None  # not under the declaration
