"""The intelligence pages: the ranking an analyst reads and a person's network drawing."""

from __future__ import annotations

from functions.console.intel import layout
from tests.intel.helpers import DC, list_person, person_ids, report


def _series(stamp):
    first = report(stamp, offender_ids=(None, None))
    a, b = person_ids(first)
    report(stamp, offender_ids=(a,), occurred_at="2026-11-21T10:00:00+00:00", store_id="nw-exeter")
    list_person(stamp, "northwind", a)
    list_person(stamp, "northwind", b, name="Robin Vale")
    return first, a, b


def test_the_force_analyst_says_why_then_sees_the_ranking_with_reasons(stamp, browser):
    first, a, b = _series(stamp)
    browser.sign_in(DC, "Police.Analyst")
    prompt = browser.get("/intel")
    assert prompt.status_code == 200 and "Why are you looking" in prompt.text
    r = browser.get("/intel", params={"purpose": "Identifying the suspect"})
    assert r.status_code == 200, r.text
    assert "Jamie Doyle" in r.text and "Robin Vale" in r.text
    assert "Violence" in r.text and first["reference"] in r.text
    assert f"/offenders/{a}/network?purpose=Identifying+the+suspect" in r.text
    assert f'href="/offenders/{a}"' not in r.text  # the profile page is northwind's own
    assert "style=" not in r.text and "<script>" not in r.text


def test_the_investigator_sees_their_own_ranking_with_profile_links(stamp, browser):
    first, a, b = _series(stamp)
    browser.sign_in("northwind", "Retailer.Investigator")
    r = browser.get("/intel")
    assert r.status_code == 200 and f'href="/offenders/{a}"' in r.text


def test_the_network_page_draws_the_graph_and_lists_it(stamp, browser):
    first, a, b = _series(stamp)
    browser.sign_in("northwind", "Retailer.Investigator")
    r = browser.get(f"/offenders/{a}/network")
    assert r.status_code == 200, r.text
    assert "<svg" in r.text and 'role="img"' in r.text and "<title" in r.text
    assert "Robin Vale" in r.text and "Vehicle WR21XKD" in r.text
    assert "offended together" in r.text and first["reference"] in r.text
    assert "style=" not in r.text


def test_others_see_nothing_of_it(stamp, browser):
    first, a, b = _series(stamp)
    browser.sign_in("contoso", "Retailer.Investigator")
    assert browser.get(f"/offenders/{a}/network").status_code == 404
    r = browser.get("/intel")
    assert r.status_code == 200 and "Jamie Doyle" not in r.text


def test_store_staff_may_not_open_the_pages(stamp, browser):
    browser.sign_in("northwind", "Retailer.Reporter", stores=["nw-plymouth"])
    assert browser.get("/intel").status_code == 403


def test_the_layout_is_the_same_every_time():
    nodes = [{"id": "p:a", "hop": 0}, {"id": "p:b", "hop": 1}, {"id": "v:c", "hop": 1}, {"id": "p:d", "hop": 2}]
    first = layout(nodes)
    assert first == layout(list(reversed(nodes)))
    assert first["p:a"] == (320.0, 320.0)
    assert len(set(first.values())) == 4
