"""The force's evaluation page: its admin uploads the channels' figures and sees D2P against
them as a table, a briefing chart and downloads; its analysts read; no one else does."""

from __future__ import annotations

from pathlib import Path

DC = "devon-and-cornwall"
EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "d2p-evaluation-2026-11.csv"
NOVEMBER = "from=2026-11-01&to=2026-11-30"


def test_admin_pastes_a_month_and_sees_the_table_chart_and_downloads(browser):
    browser.sign_in(DC, "Police.Admin", next_path="/evaluation")
    first = browser.get("/evaluation")
    assert first.status_code == 200 and "nothing to compare D2P with yet" in first.text
    r = browser.post("/evaluation/extract", {"from": "2026-11-01", "to": "2026-11-30", "extract": EXAMPLE.read_text()})
    assert r.status_code == 303 and r.headers["location"] == f"/evaluation?{NOVEMBER}&saved=extract"
    page = browser.get(r.headers["location"])
    assert page.status_code == 200
    text = page.text
    assert "its rows dropped" in text
    assert "D2P against online: 2026-11-01 to 2026-11-30" in text and "D2P against 101" in text
    assert "19.7%" in text and "(197 of 1,000)" in text and "16.6%" in text
    assert "Outcome 14 (highlighted)" in text and "53 hours" in text
    assert (
        text.count('<svg role="img"') == 2
        and '<title id="eval-hours-title">' in text
        and '<title id="eval-rates-title">' in text
        and '<desc id="eval-rates-desc">' in text
    )
    assert "style=" not in text and "<script>" not in text
    assert "script-src 'self'" in page.headers["content-security-policy"]
    # With no period asked for, the page opens on the latest one uploaded.
    assert "D2P against online" in browser.get("/evaluation").text

    csv = browser.get(f"/evaluation/table.csv?{NOVEMBER}")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.splitlines()
    assert lines[0].startswith("comparison,series,period,reports,charged,charge_rate_percent")
    assert any(",online,2026-11-01 to 2026-11-30,1000,197,19.7,166,16.6," in line for line in lines)
    assert any("difference (D2P minus channel)" in line and "not comparable" in line for line in lines)
    pdf = browser.get(f"/evaluation/table.pdf?{NOVEMBER}")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF") and "attachment" in pdf.headers["content-disposition"]


def test_a_bad_paste_names_row_and_column_and_stores_nothing(browser):
    browser.sign_in(DC, "Police.Admin", next_path="/evaluation")
    browser.get("/evaluation")
    bad = "crime_reference,channel,reported_at,recorded_at,outcome_code\nCR/1,online,2026-11-02T10:00:00Z,,\nCR/2,online,yesterday,,\n"
    r = browser.post("/evaluation/extract", {"from": "2026-11-01", "to": "2026-11-30", "extract": bad})
    assert r.status_code == 422 and "Row 3, column reported_at" in r.text and "Nothing was stored" in r.text
    assert "nothing to compare D2P with yet" in r.text


def test_aggregates_form_saves_or_says_what_is_wrong(browser):
    browser.sign_in(DC, "Police.Admin", next_path="/evaluation")
    browser.get("/evaluation")
    fields = {"channel": "101", "from": "2026-10-01", "to": "2026-10-31", "reports": "500", "charged": "98",
              "outcomes": "1=95, 1A=3, 14=83, 16=61", "mean": "53", "median": "41.5"}  # fmt: skip
    wrong = browser.post("/evaluation/figures", fields | {"outcomes": "fourteen"})
    assert wrong.status_code == 422 and "code=count" in wrong.text
    browser.get("/evaluation")
    too_many = browser.post("/evaluation/figures", fields | {"charged": "600"})
    assert too_many.status_code == 422 and "more reports charged than received" in too_many.text
    browser.get("/evaluation")
    ok = browser.post("/evaluation/figures", fields)
    assert ok.status_code == 303, ok.text
    page = browser.get(ok.headers["location"])
    assert "D2P against 101: 2026-10-01 to 2026-10-31" in page.text and "41.5 hours" in page.text


def test_analysts_read_others_are_refused(browser_for):
    analyst = browser_for()
    analyst.sign_in(DC, "Police.Analyst", next_path="/evaluation")
    page = analyst.get("/evaluation")
    assert page.status_code == 200 and "Upload a channel's figures" not in page.text
    assert analyst.post("/evaluation/figures", {"channel": "online"}).status_code == 403
    for org, role in ((DC, "Police.Officer"), ("northwind", "Retailer.Admin")):
        other = browser_for()
        other.sign_in(org, role)
        assert other.get("/evaluation").status_code == 403
        assert other.get(f"/evaluation/table.csv?{NOVEMBER}").status_code == 403
