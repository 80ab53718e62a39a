"""Admins' pages, as a person uses them: a force's D2P rules, a retailer's sharing and D2P
settings, retention schedules with a second approver, and who may open them."""

from __future__ import annotations

import html
import re

import pytest

from shared.domain.retention import RecordType
from shared.services.seed import approve_dpia
from tests.console.test_investigate_pages import signed_in
from tests.fixtures_http import both_backends

API = "/api/v1"


def text(answer) -> str:
    return html.unescape(answer.text)


def signed_in_operator(stamp, browser, user: str):
    """A browser signed in as one named platform operator (the local sign-in page signs in
    one operator per organisation; the four-eyes rule needs two people)."""
    return signed_in(stamp, browser, "vigil-platform", "Platform.Operator", user=user)


@both_backends
def test_a_force_admin_changes_a_d2p_threshold_and_the_api_shows_it(stamp, browser):
    signed_in(stamp, browser, "devon-and-cornwall", "Police.Admin")
    form = browser.get("/admin/d2p-rules")
    assert form.status_code == 200 and 'id="min_theft_value"' in form.text
    etag = re.search(r'name="etag" value="([^"]+)"', form.text).group(1)
    before = stamp.client.get(f"{API}/forces/devon-and-cornwall/d2p-rules", headers=stamp.auth("devon-and-cornwall", "Police.Admin")).json()

    saved = browser.post(
        "/admin/d2p-rules",
        {
            "etag": etag,
            "control_room_email": before["rules"]["control_room_email"],
            "min_theft_value": "150.00",
            "acknowledge_within_hours": "12",
            "require_cctv": "on",
        },
    )
    assert saved.status_code == 303
    assert f"Saved as version {before['version'] + 1}" in browser.get(saved.headers["location"]).text
    after = stamp.client.get(f"{API}/forces/devon-and-cornwall/d2p-rules", headers=stamp.auth("devon-and-cornwall", "Police.Admin")).json()
    assert after["rules"]["min_theft_value"] == {"amount_minor": 15000, "currency": "GBP"}
    assert after["rules"]["acknowledge_within_hours"] == 12
    assert after["rules"]["require_cctv"] is True and after["rules"]["require_suspect_image"] is False
    # What the form does not edit stays as it was.
    assert after["rules"]["enrolled_retailers"] == before["rules"]["enrolled_retailers"]
    assert after["rules"]["always_send_categories"] == before["rules"]["always_send_categories"]


def test_bad_threshold_is_shown_next_to_the_field_with_values_kept_and_nothing_saved(stamp, browser):
    browser.sign_in("devon-and-cornwall", "Police.Admin")
    form = browser.get("/admin/d2p-rules")
    etag = re.search(r'name="etag" value="([^"]+)"', form.text).group(1)
    before = stamp.client.get(f"{API}/forces/devon-and-cornwall/d2p-rules", headers=stamp.auth("devon-and-cornwall", "Police.Admin")).json()
    answer = browser.post(
        "/admin/d2p-rules",
        {"etag": etag, "control_room_email": "not an address", "min_theft_value": "lots", "acknowledge_within_hours": "12"},
    )
    assert answer.status_code == 422
    assert 'id="min_theft_value-error"' in answer.text and 'value="lots"' in answer.text
    after = stamp.client.get(f"{API}/forces/devon-and-cornwall/d2p-rules", headers=stamp.auth("devon-and-cornwall", "Police.Admin")).json()
    assert after["version"] == before["version"]

    invalid_email = browser.post(
        "/admin/d2p-rules", {"etag": etag, "control_room_email": "not an address", "min_theft_value": "", "acknowledge_within_hours": "12"}
    )
    assert invalid_email.status_code == 422 and 'id="control_room_email-error"' in invalid_email.text
    assert 'value="not an address"' in invalid_email.text


def test_a_stale_rules_form_shows_changed_first(stamp, browser):
    browser.sign_in("devon-and-cornwall", "Police.Admin")
    form = browser.get("/admin/d2p-rules")
    etag = re.search(r'name="etag" value="([^"]+)"', form.text).group(1)
    fields = {"etag": etag, "control_room_email": "control-room@devon-cornwall.police.example", "acknowledge_within_hours": "20"}
    assert browser.post("/admin/d2p-rules", fields).status_code == 303
    stale = browser.post("/admin/d2p-rules", {**fields, "acknowledge_within_hours": "30"})
    assert stale.status_code == 412 and "Someone changed this first" in stale.text
    after = stamp.client.get(f"{API}/forces/devon-and-cornwall/d2p-rules", headers=stamp.auth("devon-and-cornwall", "Police.Admin")).json()
    assert after["rules"]["acknowledge_within_hours"] == 20


@both_backends
def test_a_retailer_admin_changes_a_sharing_level(stamp, browser):
    signed_in(stamp, browser, "northwind", "Retailer.Admin")
    form = browser.get("/admin/sharing")
    assert form.status_code == 200 and "Devon and Cornwall Police" in form.text
    etag = re.search(r'name="etag" value="([^"]+)"', form.text).group(1)
    saved = browser.post(
        "/admin/sharing",
        {
            "etag": etag,
            "level.devon-and-cornwall": "descriptions",
            "anpr.devon-and-cornwall": "on",
            "level.avon-and-somerset": "counts",
            "level.contoso": "none",
        },
    )
    assert saved.status_code == 303
    agreements = stamp.client.get(f"{API}/organisations/northwind/sharing", headers=stamp.auth("northwind", "Retailer.Admin")).json()
    levels = {a["partner_id"]: (a["level"], a["anpr_status"]) for a in agreements["agreements"]}
    assert levels == {"devon-and-cornwall": ("descriptions", "accepted"), "avon-and-somerset": ("counts", "none")}


def test_anpr_offered_to_a_retailer_is_shown_next_to_it_and_nothing_changes(stamp, browser):
    browser.sign_in("northwind", "Retailer.Admin")
    form = browser.get("/admin/sharing")
    etag = re.search(r'name="etag" value="([^"]+)"', form.text).group(1)
    before = stamp.client.get(f"{API}/organisations/northwind/sharing", headers=stamp.auth("northwind", "Retailer.Admin")).json()
    answer = browser.post(
        "/admin/sharing", {"etag": etag, "level.devon-and-cornwall": "full", "anpr.devon-and-cornwall": "on", "level.contoso": "nonsense"}
    )
    assert answer.status_code == 422 and 'id="level-contoso-error"' in answer.text
    after = stamp.client.get(f"{API}/organisations/northwind/sharing", headers=stamp.auth("northwind", "Retailer.Admin")).json()
    assert after == before


def test_a_force_admin_accepts_and_declines_anpr_sharing(stamp, browser):
    browser.sign_in("devon-and-cornwall", "Police.Admin")
    page = browser.get("/admin/sharing")
    assert "Who shares with your force" in page.text and "Northwind Stores" in page.text
    declined = browser.post("/admin/sharing/northwind/anpr", {"answer": "decline"})
    assert declined.status_code == 303
    assert "Accept plate reads from Northwind Stores" in browser.get("/admin/sharing").text


def test_a_retailer_admin_turns_automatic_sending_on(stamp, browser):
    approve_dpia(stamp.container, "northwind")  # automatic sending waits for the retailer's DPIA (docs/go-live.md)
    browser.sign_in("northwind", "Retailer.Admin")
    browser.get("/admin/d2p-settings")
    assert browser.post("/admin/d2p-settings", {"auto_send": "on"}).status_code == 303
    settings = stamp.client.get(f"{API}/organisations/northwind/d2p-settings", headers=stamp.auth("northwind", "Retailer.Admin")).json()
    assert settings["auto_send"] is True


def test_a_retailer_admin_chooses_a_retention_period_within_the_bounds(stamp, browser):
    browser.sign_in("northwind", "Retailer.Admin")
    form = browser.get("/admin/retention")
    etag = re.search(r'name="etag" value="([^"]+)"', form.text).group(1)
    too_short = browser.post("/admin/retention/organisation", {"etag": etag, "months.incident": "1", "reason": "Board decision 2026-11"})
    assert too_short.status_code == 422 and 'id="months.incident-error"' in too_short.text and 'value="1"' in too_short.text
    saved = browser.post("/admin/retention/organisation", {"etag": etag, "months.incident": "36", "reason": "Board decision 2026-11"})
    assert saved.status_code == 303
    schedule = stamp.client.get(f"{API}/retention/schedules/organisation", headers=stamp.auth("northwind", "Retailer.Admin")).json()
    assert schedule["overrides"] == {"incident": 36}


@both_backends
def test_a_retention_proposal_needs_a_second_operator(stamp, browser_for):
    alice = signed_in_operator(stamp, browser_for(), "ops-alice")
    form = alice.get("/admin/retention")
    assert form.status_code == 200 and "Propose a change" in form.text
    fields = dict(re.findall(r'name="((?:months|min_months|max_months)\.[a-z0-9_]+)" min="1" max="1200" value="(\d+)"', form.text))
    assert len(fields) == 3 * len(RecordType)  # default, shortest and longest for every record type
    fields["months.poi_image"] = str(int(fields["min_months.poi_image"]))
    proposed = alice.post("/admin/retention/proposals", {**fields, "reason": "Annual review against MoPI guidance"})
    assert proposed.status_code == 303

    own = alice.post("/admin/retention/proposals/1/approval", {})
    assert own.status_code == 403
    assert "you cannot approve your own proposal" in text(own)
    operators = stamp.auth("vigil-platform", "Platform.Operator")
    assert stamp.client.get(f"{API}/retention/schedules/region/proposals", headers=operators).json()[0]["status"] == "proposed"

    bob = signed_in_operator(stamp, browser_for(), "ops-bob")
    bob.get("/admin/retention")
    approved = bob.post("/admin/retention/proposals/1/approval", {})
    assert approved.status_code == 303
    proposal = stamp.client.get(f"{API}/retention/schedules/region/proposals", headers=operators).json()[0]
    assert proposal["status"] == "approved" and proposal["approved_by"] == "ops-bob"


@pytest.mark.parametrize("path", ["/admin", "/admin/d2p-settings", "/admin/sharing", "/admin/retention", "/admin/d2p-rules"])
def test_a_reporter_gets_403_on_admin_pages(stamp, browser, path):
    browser.sign_in("northwind", "Retailer.Reporter")
    answer = browser.get(path)
    assert answer.status_code == 403 and "Not allowed" in answer.text


@pytest.mark.parametrize(
    "org,role,path,fields",
    [
        ("northwind", "Retailer.Admin", "/admin/d2p-settings", {"auto_send": "on"}),
        ("northwind", "Retailer.Admin", "/admin/sharing", {"etag": "x", "level.contoso": "full"}),
        ("northwind", "Retailer.Admin", "/admin/retention/organisation", {"etag": "x", "months.incident": "36", "reason": "r"}),
        ("devon-and-cornwall", "Police.Admin", "/admin/d2p-rules", {"etag": "x", "acknowledge_within_hours": "5"}),
        ("devon-and-cornwall", "Police.Admin", "/admin/sharing/northwind/anpr", {"answer": "decline"}),
        ("vigil-platform", "Platform.Operator", "/admin/retention/proposals", {"reason": "no token"}),
        ("vigil-platform", "Platform.Operator", "/admin/retention/proposals/1/approval", {}),
    ],
)
def test_every_form_post_without_csrf_is_refused(stamp, browser, org, role, path, fields):
    browser.sign_in(org, role)
    browser.get("/admin")
    answer = browser.post(path, fields, csrf=False)
    assert answer.status_code == 403
    assert "did not come from this Vigil page" in text(answer)
