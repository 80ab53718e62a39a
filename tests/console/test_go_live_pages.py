"""The go-live pages, as an admin uses them: the checklist with who completed each stage,
the DPIA generated, its differences from the approved version read, approved and
downloaded; the operator's view of every organisation; nobody else's."""

from __future__ import annotations

import html

from tests.console.test_investigate_pages import signed_in

API = "/api/v1"


def text(answer) -> str:
    return html.unescape(answer.text)


def _share(stamp, level: str) -> None:
    admin = stamp.auth("northwind", "Retailer.Admin")
    url = f"{API}/organisations/northwind/sharing"
    etag = stamp.client.get(url, headers=admin).headers["etag"]
    body = {"agreements": [{"partner_id": "devon-and-cornwall", "level": level, "anpr": True}]}
    assert stamp.client.put(url, json=body, headers={**admin, "If-Match": etag}).status_code == 200


def test_a_retailer_admin_sees_the_checklist_generates_reads_the_difference_and_approves(stamp, browser):
    signed_in(stamp, browser, "northwind", "Retailer.Admin")
    index = browser.get("/admin")
    assert 'href="/admin/go-live"' in index.text

    page = text(browser.get("/admin/go-live"))
    assert "Northwind Stores: stages" in page and "Next: <strong>DPIA approved</strong>" in page
    assert "No version yet." in page
    first = browser.post("/admin/go-live/dpia")
    assert first.status_code == 303 and "No version is approved yet." in text(browser.get(first.headers["location"]))
    assert browser.post(first.headers["location"] + "/approval").status_code == 303

    page = text(browser.get("/admin/go-live"))
    assert "northwind-admin" in page  # who approved: the signed-in admin
    assert "Next: <strong>First report received and acknowledged</strong>" in page
    assert "/api/v1/organisations/northwind/dpia/versions/1?format=pdf" in page

    _share(stamp, "descriptions")
    assert "differs from the approved DPIA in 1 fact" in text(browser.get("/admin/go-live"))
    made = browser.post("/admin/go-live/dpia")
    assert made.status_code == 303
    version = text(browser.get(made.headers["location"]))
    assert "Sharing with devon-and-cornwall: full → descriptions" in version
    assert "Approve version" in version

    approved = browser.post(made.headers["location"] + "/approval")
    assert approved.status_code == 303 and approved.headers["location"] == "/admin/go-live?saved=approved"
    after = text(browser.get("/admin/go-live?saved=approved"))
    assert "DPIA approved. Later changes" in after and "differs from the approved DPIA" not in after
    pdf = browser.get(
        made.headers["location"].replace("/admin/go-live/dpia", f"{API}/organisations/northwind/dpia/versions") + "?format=pdf"
    )
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"


def test_the_operator_sees_every_organisations_stages(stamp, browser):
    signed_in(stamp, browser, "vigil-platform", "Platform.Operator")
    page = text(browser.get("/admin/go-live"))
    assert "Every organisation of this region" in page
    for name in ("Northwind Stores", "Contoso Retail", "Devon and Cornwall Police", "Avon and Somerset Police"):
        assert name in page
    # The operator reads; the organisation's admin generates and approves.
    assert browser.post("/admin/go-live/dpia").status_code == 403


def test_people_who_are_not_admins_cannot_open_the_go_live_page(stamp, browser):
    signed_in(stamp, browser, "devon-and-cornwall", "Police.Officer")
    assert browser.get("/admin/go-live").status_code == 403
    assert browser.get("/admin/go-live/dpia/1").status_code == 403
