"""Investigators' pages, as a person uses them: search, an incident's history and revert,
its legal holds and its audit trail."""

from __future__ import annotations

import html
import json
import sqlite3

import pytest

from shared.adapters.console_sessions import COOKIE
from tests.fixtures_http import both_backends

API = "/api/v1"


def report(stamp, **overrides) -> dict:
    body = {**stamp.example("IncidentIn"), **overrides}
    answer = stamp.client.post(f"{API}/incidents", json=body, headers=stamp.auth("northwind", "Retailer.Investigator"))
    assert answer.status_code == 201, answer.text
    return answer.json()


def signed_in(stamp, browser, org: str, role: str, *, user: str | None = None):
    """`browser` holding a session for `org`'s `role`, sealed as the sign-in would seal it:
    on the Azure backend the local sign-in page is refused, and the pages must still work."""
    c = stamp.container
    tenant = c.directory.organisation(org).idp_tenant_id
    claims = {"sub": user or f"{org}-{role.split('.')[-1].lower()}", "tid": tenant, "roles": [role], "name": role}
    session = c.console_sessions.new(int(c.clock.now().timestamp()), claims=claims)
    browser.client.cookies.set(COOKIE, c.console_sessions.seal(session))
    return browser


def text(answer) -> str:
    return html.unescape(answer.text)


def test_search_by_reference_finds_the_incident_and_links_to_its_page(stamp, browser):
    wanted = report(stamp)
    other = report(stamp, narrative="Someone else entirely took a bottle of gin.")
    browser.sign_in("northwind", "Retailer.Investigator")
    answer = browser.get("/search", params={"reference": wanted["reference"]})
    assert answer.status_code == 200
    assert f'href="/incidents/{wanted["id"]}"' in answer.text
    assert wanted["reference"] in answer.text and other["reference"] not in answer.text
    assert "Northwind Plymouth" in answer.text


def test_search_by_plate_as_written_and_by_local_dates(stamp, browser):
    with_plate = report(stamp, occurred_at="2026-11-20T14:32:00+00:00")
    without = report(stamp, vehicles=[], occurred_at="2026-11-18T10:00:00+00:00")
    browser.sign_in("northwind", "Retailer.Investigator")
    by_plate = browser.get("/search", params={"plate": "wr21xkd"})
    assert with_plate["reference"] in by_plate.text and without["reference"] not in by_plate.text
    assert "WR21 XKD" in by_plate.text

    by_date = browser.get("/search", params={"from": "2026-11-18", "to": "2026-11-18"})
    assert without["reference"] in by_date.text and with_plate["reference"] not in by_date.text
    # Shown in the viewer's local time (GMT in November), not as a raw UTC stamp.
    assert "18 Nov 2026, 10:00 GMT" in by_date.text


def test_plate_reads_search_needs_a_purpose_and_is_audited_with_it(stamp, browser):
    from tests.anpr.helpers import post_reads, read

    assert post_reads(stamp, [read(stamp, "WR21 XKD"), read(stamp, "AB12 CDE", camera="cam-door")]).status_code == 200
    browser.sign_in("northwind", "Retailer.Investigator")
    prompt = browser.get("/search/plate-reads", params={"plate": "wr21xkd"})
    assert prompt.status_code == 422 and "State why you are searching" in prompt.text

    purpose = "Spirits thefts at Plymouth, November"
    found = browser.get("/search/plate-reads", params={"plate": "wr21xkd", "purpose": purpose})
    assert found.status_code == 200
    assert "WR21 XKD" in found.text and "AB12 CDE" not in found.text and "Northwind Plymouth" in found.text
    trail = stamp.client.get(f"{API}/audit", headers=stamp.auth("northwind", "Retailer.Admin")).json()
    assert [e["purpose"] for e in trail["items"] if e["operation"] == "anpr.read.search"] == [purpose]


def test_a_blank_search_lists_the_newest_incidents_and_a_police_one_asks_why(stamp, browser, browser_for):
    older = report(stamp, occurred_at="2026-11-18T10:00:00+00:00")
    newer = report(stamp, occurred_at="2026-11-20T14:32:00+00:00")
    browser.sign_in("northwind", "Retailer.Investigator")
    assert "Incidents found" not in browser.get("/search").text
    listed = browser.get("/search", params={"reference": "", "plate": ""})
    assert listed.status_code == 200
    assert listed.text.index(newer["reference"]) < listed.text.index(older["reference"])

    officer = browser_for()
    officer.sign_in("devon-and-cornwall", "Police.Officer")
    assert officer.get("/search", params={"reference": ""}).status_code == 422
    found = officer.get("/search", params={"reference": "", "purpose": "Weekly review of retail crime reports"})
    assert newer["reference"] in found.text and older["reference"] in found.text


def test_bad_search_input_is_shown_next_to_the_field_with_values_kept(stamp, browser):
    browser.sign_in("northwind", "Retailer.Investigator")
    answer = browser.get("/search", params={"plate": "WR21 XKD", "from": "2026-11-20", "to": "2026-11-01"})
    assert answer.status_code == 422
    assert 'id="date_to-error"' in answer.text and "before the first day" in answer.text
    assert 'value="WR21 XKD"' in answer.text


@both_backends
def test_results_are_paged_with_a_continuation(stamp, browser):
    from functions.console import investigate

    for _ in range(3):
        report(stamp)
    signed_in(stamp, browser, "northwind", "Retailer.Investigator")
    original = investigate.PAGE_SIZE
    investigate.PAGE_SIZE = 2
    try:
        first = browser.get("/search", params={"plate": "WR21XKD"})
        assert first.text.count('href="/incidents/') == 2
        assert "Next page of results" in first.text
        following = text(first).split('href="/search?')[1].split('"')[0]
        second = browser.get("/search?" + following)
        assert second.status_code == 200
        assert second.text.count('href="/incidents/') == 1
        assert "Next page of results" not in second.text
    finally:
        investigate.PAGE_SIZE = original


def test_police_search_needs_a_stated_purpose_which_is_audited(stamp, browser):
    incident = report(stamp)
    browser.sign_in("devon-and-cornwall", "Police.Officer")
    prompt = browser.get("/search", params={"reference": incident["reference"]})
    assert prompt.status_code == 422
    assert "State why you are searching" in prompt.text and 'id="purpose"' in prompt.text
    assert incident["id"] not in prompt.text

    purpose = "Linked theft enquiry 2026-DC-4471"
    found = browser.get("/search", params={"reference": incident["reference"], "purpose": purpose})
    assert found.status_code == 200
    assert f'href="/cases/{incident["id"]}"' in found.text

    trail = stamp.client.get(f"{API}/audit", headers=stamp.auth("devon-and-cornwall", "Police.Admin")).json()
    searches = [e for e in trail["items"] if e["operation"] == "incident.search"]
    assert [e["purpose"] for e in searches] == [purpose]
    assert incident["id"] in searches[0]["subjects"]


@both_backends
def test_revert_through_the_page_makes_the_earlier_version_current(stamp, browser):
    incident = report(stamp)
    inv = stamp.auth("northwind", "Retailer.Investigator")
    changed = stamp.client.patch(
        f"{API}/incidents/{incident['id']}",
        json={"narrative": "Changed in error"},
        headers={**inv, "If-Match": incident["etag"], "content-type": "application/merge-patch+json"},
    )
    assert changed.status_code == 200, changed.text
    signed_in(stamp, browser, "northwind", "Retailer.Investigator")
    page = browser.get(f"/incidents/{incident['id']}")
    assert page.status_code == 200 and "Changed in error" in page.text
    assert "What version 1 said" in page.text and html.escape(incident["narrative"]) in page.text
    assert "Make current" in page.text

    done = browser.post(f"/incidents/{incident['id']}/revert", {"version": 1, "etag": changed.json()["etag"]})
    assert done.status_code == 303
    shown = browser.get(done.headers["location"])
    assert "Version 1 is current again" in shown.text
    now = stamp.client.get(f"{API}/incidents/{incident['id']}", headers=inv).json()
    assert now["narrative"] == incident["narrative"] and now["version"] == 3


@both_backends
def test_a_stale_revert_shows_changed_first_and_changes_nothing(stamp, browser):
    incident = report(stamp)
    inv = stamp.auth("northwind", "Retailer.Investigator")
    signed_in(stamp, browser, "northwind", "Retailer.Investigator")
    opened = browser.get(f"/incidents/{incident['id']}")
    stale = text(opened).split('name="etag" value="')[1].split('"')[0] if 'name="etag"' in opened.text else incident["etag"]
    changed = stamp.client.patch(
        f"{API}/incidents/{incident['id']}",
        json={"narrative": "A colleague's correction"},
        headers={**inv, "If-Match": incident["etag"], "content-type": "application/merge-patch+json"},
    ).json()

    answer = browser.post(f"/incidents/{incident['id']}/revert", {"version": 1, "etag": stale})
    assert answer.status_code == 412
    assert "Someone changed this first" in answer.text and "Nothing has been changed" in answer.text
    now = stamp.client.get(f"{API}/incidents/{incident['id']}", headers=inv).json()
    assert now["version"] == changed["version"] and now["narrative"] == "A colleague's correction"


def test_audit_trail_page_shows_the_chain_verdict(stamp, browser):
    incident = report(stamp)
    browser.sign_in("northwind", "Retailer.Investigator")
    browser.get(f"/incidents/{incident['id']}")
    answer = browser.get(f"/incidents/{incident['id']}/audit")
    assert answer.status_code == 200
    assert "Chain intact." in answer.text
    assert "Collection: Incident create" in answer.text and "Consultation: Incident history" in answer.text


def test_legal_hold_placed_and_released_from_the_incident_page(stamp, browser):
    incident = report(stamp)
    browser.sign_in("northwind", "Retailer.Investigator")
    browser.get(f"/incidents/{incident['id']}")
    short = browser.post(f"/incidents/{incident['id']}/legal-hold", {"reason": "trial"})
    assert short.status_code == 422 and 'id="reason-error"' in short.text and ">trial</textarea>" in short.text
    placed = browser.post(f"/incidents/{incident['id']}/legal-hold", {"reason": "Crown Court trial listed for March 2027"})
    assert placed.status_code == 303
    holds = stamp.client.get(f"{API}/incidents/{incident['id']}/legal-hold", headers=stamp.auth("northwind", "Retailer.Investigator"))
    assert holds.json()["held"] is True
    page = browser.get(f"/incidents/{incident['id']}")
    assert "Crown Court trial listed for March 2027" in page.text and "Release our hold" in page.text
    assert '<th scope="row">Northwind Stores</th>' in page.text
    released = browser.post(f"/incidents/{incident['id']}/legal-hold/release", {"reason": "Trial concluded; no appeal lodged"})
    assert released.status_code == 303
    holds = stamp.client.get(f"{API}/incidents/{incident['id']}/legal-hold", headers=stamp.auth("northwind", "Retailer.Investigator"))
    assert holds.json()["held"] is False


def test_another_retailers_investigator_gets_not_found(stamp, browser):
    incident = report(stamp)
    browser.sign_in("contoso", "Retailer.Investigator")
    for path in (f"/incidents/{incident['id']}", f"/incidents/{incident['id']}/audit"):
        answer = browser.get(path)
        if path.endswith("/audit"):
            # Contoso's own trail has nothing about another retailer's incident.
            assert incident["narrative"] not in answer.text and incident["reference"] not in answer.text
        else:
            assert answer.status_code == 404
            assert incident["narrative"] not in answer.text


def test_a_reporter_cannot_open_the_investigator_pages(stamp, browser):
    incident = report(stamp)
    browser.sign_in("northwind", "Retailer.Reporter")
    assert browser.get("/search", params={"plate": "WR21XKD"}).status_code == 403
    assert browser.get(f"/incidents/{incident['id']}").status_code == 403
    assert browser.get(f"/incidents/{incident['id']}/audit").status_code == 403


@pytest.mark.parametrize(
    "path,fields",
    [
        ("/revert", {"version": 1, "etag": "x"}),
        ("/legal-hold", {"reason": "Crown Court trial"}),
        ("/legal-hold/release", {"reason": "Trial ended now"}),
    ],
)
def test_every_form_post_without_csrf_is_refused(stamp, browser, path, fields):
    incident = report(stamp)
    browser.sign_in("northwind", "Retailer.Investigator")
    browser.get(f"/incidents/{incident['id']}")
    answer = browser.post(f"/incidents/{incident['id']}{path}", fields, csrf=False)
    assert answer.status_code == 403
    holds = stamp.client.get(f"{API}/incidents/{incident['id']}/legal-hold", headers=stamp.auth("northwind", "Retailer.Investigator"))
    assert holds.json()["holds"] == []
    now = stamp.client.get(f"{API}/incidents/{incident['id']}", headers=stamp.auth("northwind", "Retailer.Investigator")).json()
    assert now["version"] == incident["version"]


def test_an_organisation_admin_sees_its_audit_trail_and_a_break_in_it(stamp, browser):
    incident = report(stamp)
    browser.sign_in("northwind", "Retailer.Admin")
    intact = browser.get("/admin/audit")
    assert intact.status_code == 200 and "Chain intact." in intact.text and "Incident create" in intact.text
    # Search is not offered to an admin: the API's incident search does not admit them.
    assert 'href="/search"' not in intact.text.split("</nav>")[0]

    db = sqlite3.connect(stamp.data_dir / "uk" / "records.sqlite")
    row = db.execute("SELECT id, doc FROM c_audit WHERE tenant='northwind' AND f_seq=1").fetchone()
    doc = json.loads(row[1])
    doc["actor_user"] = "someone-else"
    db.execute("UPDATE c_audit SET doc=? WHERE tenant='northwind' AND id=?", (json.dumps(doc), row[0]))
    db.commit()
    db.close()
    broken = browser.get("/admin/audit")
    assert "Chain broken." in broken.text and "Chain intact." not in broken.text
    assert incident["id"] not in broken.text.split("<main")[0]
