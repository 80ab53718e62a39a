"""Store staff pages: a reporter on a phone reports an incident, sees whether the police
will take it as the form fills, adds photos and CCTV through the resumable upload routes,
and follows the report until the force gives its crime reference."""

from __future__ import annotations

import re
from html import unescape

import pytest

from shared.domain.d2p import AcknowledgeIn
from shared.domain.tenancy import OrgKind, Principal, Role
from shared.records import INCIDENTS
from tests.d2p.helpers import CCTV_CLIP, STILL_IMAGE, drain

REPORTER = "Retailer.Reporter"
KEY = re.compile(r'name="idempotency_key" value="([^"]+)"')
OFFICER = Principal(
    user_id="dc-officer",
    organisation_id="devon-and-cornwall",
    organisation_kind=OrgKind.POLICE_FORCE,
    roles=frozenset({Role.POLICE_OFFICER}),
)


def _text(html: str) -> str:
    """What a person reads: the page without its tags, whitespace collapsed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _form(browser, **changes) -> list[tuple[str, str]]:
    """A filled report form, as drawn for this reporter (its own Idempotency-Key)."""
    page = browser.get("/report")
    assert page.status_code == 200, page.text
    key = KEY.search(page.text).group(1)
    fields = {
        "idempotency_key": key,
        "store_id": "nw-plymouth",
        "category": "shop_theft",
        "occurred_at": "2026-11-20T14:30",
        "narrative": "Man filled a bag with razor blades at aisle 4 and left without paying.",
        "goods_count": "1",
        "goods-0-description": "Razor blades",
        "goods-0-quantity": "2",
        "goods-0-value": "12.50",
        "person_count": "1",
        "person-0-role": "suspect",
        "person-0-build": "slim",
        "person-0-height_min": "175",
        "person-0-height_max": "185",
        "person-0-hair": "short, dark",
        "person-0-clothing": "grey hoodie",
        "vehicle_count": "1",
        "vehicle-0-plate": "WR21 XKD",
        "vehicle-0-make": "Ford",
        "vehicle-0-colour": "silver",
        "reporter_name": "Sam Taylor",
        "reporter_job_title": "Duty manager",
        "statement": "I saw him take the blades and walk past the tills.",
        "prosecution_supported": "yes",
        "action": "send",
    }
    fields.update(changes)
    return [(k, v) for k, v in fields.items() if v is not None]


def _incidents(stamp) -> list[dict]:
    with stamp.container.records.read_only() as uow:
        return list(uow.query(INCIDENTS.name, ["northwind"], [], limit=100).items)


def _reported(browser, **changes) -> str:
    answer = browser.post("/report", _form(browser, **changes))
    assert answer.status_code == 303, answer.text
    location = answer.headers["location"]
    assert location.startswith("/reports/")
    return location.split("?")[0].rsplit("/", 1)[1]


def test_a_reporter_picks_only_from_their_own_stores(browser):
    browser.sign_in("northwind", REPORTER, next_path="/report", stores=["nw-exeter"])
    page = browser.get("/report")
    assert page.status_code == 200
    picker = re.search(r'<select id="store_id".*?</select>', page.text, re.S).group(0)
    assert "Northwind Exeter" in picker
    assert "Northwind Plymouth" not in picker and "Contoso" not in picker
    assert 'accept="image/*,video/*"' not in page.text  # the camera comes once the report exists


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("2026-07-15T14:30", "2026-07-15T13:30:00"),  # British Summer Time: UTC+1
        ("2026-01-15T14:30", "2026-01-15T14:30:00"),  # winter: UTC+0
    ],
)
def test_the_time_is_read_as_the_stores_local_time(browser, stamp, typed, stored):
    browser.sign_in("northwind", REPORTER, stores=["nw-plymouth"])
    incident_id = _reported(browser, occurred_at=typed)
    (doc,) = [d for d in _incidents(stamp) if d["id"] == incident_id]
    assert doc["occurred_at"].startswith(stored) and doc["occurred_at"].endswith("+00:00")
    page = browser.get(f"/reports/{incident_id}")
    # Shown back in the store's wall-clock time, as it was typed.
    assert "14:30" in _text(page.text)


def test_a_reported_incident_is_stored_as_typed_and_listed(browser, stamp):
    browser.sign_in("northwind", REPORTER, stores=["nw-plymouth"])
    incident_id = _reported(browser)
    (doc,) = [d for d in _incidents(stamp) if d["id"] == incident_id]
    assert doc["goods"][0]["unit_value"] == {"amount_minor": 1250, "currency": "GBP"}
    assert doc["goods"][0]["quantity"] == 2
    assert doc["persons"][0]["description"]["height_min_cm"] == 175
    assert doc["vehicles"][0]["plate"] == "WR21 XKD"
    assert doc["witnesses"][0]["is_reporter"] is True
    assert doc["prosecution_supported"] is True

    made = browser.get(f"/reports/{incident_id}?made=1")
    assert made.status_code == 200
    assert "Your report was made. Add photos and CCTV below." in _text(made.text)

    listing = _text(browser.get("/reports").text)
    assert doc["reference"] in listing
    assert "Northwind Plymouth" in listing
    assert "Not sent to police" in listing
    assert "Attach CCTV covering the whole incident." in listing


def test_a_refused_form_keeps_what_was_typed_with_the_problem_by_the_field(browser, stamp):
    browser.sign_in("northwind", REPORTER, stores=["nw-plymouth"])
    answer = browser.post("/report", _form(browser, **{"goods-0-value": "twelve", "narrative": "Took the blades; ran <fast>."}))
    assert answer.status_code == 422
    assert "Enter the value in pounds and pence" in answer.text
    assert 'aria-describedby="err-goods-0-value"' in answer.text
    assert 'value="twelve"' in answer.text
    assert "Took the blades; ran &lt;fast&gt;." in answer.text
    assert 'value="Razor blades"' in answer.text
    assert _incidents(stamp) == []


def test_a_time_in_the_future_is_refused_on_its_field(browser, stamp):
    browser.sign_in("northwind", REPORTER, stores=["nw-plymouth"])
    answer = browser.post("/report", _form(browser, occurred_at="2026-12-25T10:00"))
    assert answer.status_code == 422
    assert 'id="err-occurred_at"' in answer.text
    assert 'value="2026-12-25T10:00"' in answer.text
    assert _incidents(stamp) == []


def test_a_time_the_clocks_skipped_is_refused(browser, stamp):
    browser.sign_in("northwind", REPORTER, stores=["nw-plymouth"])
    answer = browser.post("/report", _form(browser, occurred_at="2026-03-29T01:30"))
    assert answer.status_code == 422
    assert "the clocks went forward" in answer.text
    assert _incidents(stamp) == []


def test_adding_a_goods_line_without_javascript_keeps_the_form(browser, stamp):
    browser.sign_in("northwind", REPORTER, stores=["nw-plymouth"])
    answer = browser.post("/report", _form(browser, action="add-goods"))
    assert answer.status_code == 200
    assert 'id="goods-1-description"' in answer.text
    assert 'value="Razor blades"' in answer.text
    assert _incidents(stamp) == []


def test_more_lines_than_a_report_holds_are_refused_not_cut_short(browser, stamp):
    browser.sign_in("northwind", REPORTER, stores=["nw-plymouth"])
    lines = [(f"goods-{i}-{name}", value) for i in range(51) for name, value in (("description", f"Item {i}"), ("value", "1.00"))]
    fields = [(k, v) for k, v in _form(browser) if not k.startswith("goods")] + [("goods_count", "51"), *lines]
    answer = browser.post("/report", fields)
    assert answer.status_code == 422
    assert "A report holds at most 50 items" in answer.text
    assert 'value="Item 50"' in answer.text
    assert _incidents(stamp) == []


def test_the_same_form_sent_twice_makes_one_report(browser, stamp):
    browser.sign_in("northwind", REPORTER, stores=["nw-plymouth"])
    fields = _form(browser)
    first = browser.post("/report", fields)
    second = browser.post("/report", fields)
    assert first.status_code == second.status_code == 303
    assert first.headers["location"] == second.headers["location"]
    assert len(_incidents(stamp)) == 1


def test_a_sent_form_changed_after_going_back_is_not_a_second_report(browser, stamp):
    browser.sign_in("northwind", REPORTER, stores=["nw-plymouth"])
    fields = _form(browser)
    assert browser.post("/report", fields).status_code == 303
    changed = [(k, "He came back for more." if k == "narrative" else v) for k, v in fields]
    again = browser.post("/report", changed)
    assert again.status_code == 422
    assert "This form was already sent as a report." in _text(again.text)
    assert "He came back for more." in again.text
    assert len(_incidents(stamp)) == 1


def test_eligibility_changes_as_the_draft_fills(browser, stamp):
    browser.sign_in("northwind", REPORTER, stores=["nw-plymouth"])
    form = _form(browser)
    fragment = browser.post("/report/eligibility", form)
    assert fragment.status_code == 200
    text = _text(fragment.text)
    assert "Attach CCTV covering the whole incident." in text
    # £25 of goods is below Devon and Cornwall's £100 minimum for theft...
    assert "below the force's minimum of £100.00" in text
    # ...a suspect detained by security is always worth sending.
    detained = _text(browser.post("/report/eligibility", form + [("flag_offender_detained", "yes")]).text)
    assert "below the force's minimum" not in detained
    assert "Attach CCTV covering the whole incident." in detained
    # So is £125 of goods.
    valued = [(k, "62.50" if k == "goods-0-value" else v) for k, v in form]
    assert "below the force's minimum" not in _text(browser.post("/report/eligibility", valued).text)
    # Without the reporter's statement the reasons say so.
    unsigned = [(k, "" if k == "statement" else v) for k, v in form]
    assert "Add your own witness statement" in _text(browser.post("/report/eligibility", unsigned).text)
    # The draft page itself carries the live region the script fills.
    page = browser.get("/report")
    assert 'id="eligibility" class="eligibility" aria-live="polite"' in page.text
    assert _incidents(stamp) == []


def test_eligibility_needs_the_forms_csrf_token(browser):
    browser.sign_in("northwind", REPORTER, stores=["nw-plymouth"])
    assert browser.post("/report/eligibility", _form(browser), csrf=False).status_code == 403


def test_another_organisations_report_is_not_found(browser, browser_for):
    browser.sign_in("northwind", REPORTER, stores=["nw-plymouth"])
    incident_id = _reported(browser)
    other = browser_for()
    other.sign_in("contoso", REPORTER)
    assert other.get(f"/reports/{incident_id}").status_code == 404
    assert incident_id not in other.get("/reports").text
    colleague = browser_for()
    colleague.sign_in("northwind", REPORTER, stores=["nw-exeter"])
    assert colleague.get(f"/reports/{incident_id}").status_code == 404


def test_a_narrative_holding_script_shows_as_text(browser):
    browser.sign_in("northwind", REPORTER, stores=["nw-plymouth"])
    incident_id = _reported(browser, narrative="<script>alert('x')</script> took blades")
    page = browser.get(f"/reports/{incident_id}")
    assert "<script>alert" not in page.text
    assert "&lt;script&gt;alert(" in page.text


def test_a_reporter_adds_a_statement_to_their_own_report(browser, browser_for):
    browser.sign_in("northwind", REPORTER, stores=["nw-plymouth"])
    incident_id = _reported(browser)
    browser.get(f"/reports/{incident_id}")
    refused = browser.post(f"/reports/{incident_id}/statements", {"name": "Alex Guard", "kind": "security", "statement": ""})
    assert refused.status_code == 422
    assert 'value="Alex Guard"' in refused.text and "Write the statement." in refused.text
    added = browser.post(
        f"/reports/{incident_id}/statements", {"name": "Alex Guard", "kind": "security", "statement": "I followed him to the car park."}
    )
    assert added.status_code == 303
    shown = _text(browser.get(added.headers["location"]).text)
    assert "The statement was added." in shown
    assert "I followed him to the car park." in shown


def _api_upload(browser, incident_id: str, data: bytes, *, kind: str, content_type: str, csrf: bool = True):
    """What upload.js does: open a session, send the file in two chunks, commit."""
    headers = {"X-CSRF-Token": browser.csrf} if csrf else {}
    opened = browser.client.post(
        f"/api/v1/incidents/{incident_id}/evidence/uploads",
        json={"filename": f"{kind}.bin", "content_type": content_type, "size": len(data), "kind": kind},
        headers=headers,
    )
    if opened.status_code != 201:
        return opened
    session = opened.json()
    half = len(data) // 2
    first = browser.client.put(
        session["chunks_url"], content=data[:half], headers={**headers, "Content-Range": f"bytes 0-{half - 1}/{len(data)}"}
    )
    assert first.status_code == 200, first.text
    # The connection drops: the page asks how much arrived, and carries on from there.
    status = browser.client.get(f"/api/v1/evidence/uploads/{session['id']}")
    assert status.json()["received"] == half
    rest = browser.client.put(
        session["chunks_url"], content=data[half:], headers={**headers, "Content-Range": f"bytes {half}-{len(data) - 1}/{len(data)}"}
    )
    assert rest.status_code == 200, rest.text
    return browser.client.post(session["commit_url"], headers=headers)


def test_upload_routes_take_the_session_cookie_with_the_csrf_header(browser):
    browser.sign_in("northwind", REPORTER, stores=["nw-plymouth"])
    incident_id = _reported(browser)
    page = browser.get(f"/reports/{incident_id}")
    assert 'accept="image/*,video/*" capture' in page.text
    # Without JavaScript the page offers a plain form (one capped file); upload.js hides it.
    assert f'action="/reports/{incident_id}/evidence" enctype="multipart/form-data" data-upload-fallback' in page.text
    assert '<script src="/assets/upload.js" defer>' in page.text
    refused = _api_upload(browser, incident_id, STILL_IMAGE, kind="suspect_image", content_type="image/jpeg", csrf=False)
    assert refused.status_code == 403
    stored = _api_upload(browser, incident_id, STILL_IMAGE, kind="suspect_image", content_type="image/jpeg")
    assert stored.status_code == 201, stored.text
    assert "suspect_image.bin" in browser.get(f"/reports/{incident_id}").text


def test_with_photo_and_cctv_the_report_goes_to_police_and_shows_the_crime_reference(browser, stamp):
    browser.sign_in("northwind", REPORTER, stores=["nw-plymouth"])
    incident_id = _reported(browser)
    browser.get(f"/reports/{incident_id}")
    assert _api_upload(browser, incident_id, STILL_IMAGE, kind="suspect_image", content_type="image/jpeg").status_code == 201
    assert _api_upload(browser, incident_id, CCTV_CLIP, kind="cctv", content_type="video/mp4").status_code == 201
    # £25 of goods is below the minimum; the guard detained the suspect, so the force takes it.
    page = browser.get(f"/reports/{incident_id}")
    assert "Attach CCTV" not in page.text
    assert "below the force's minimum" in _text(page.text)
    assert "Send to Devon" not in page.text

    detained = _reported(browser, flag_offender_detained="yes")
    browser.get(f"/reports/{detained}")
    _api_upload(browser, detained, STILL_IMAGE, kind="suspect_image", content_type="image/jpeg")
    _api_upload(browser, detained, CCTV_CLIP, kind="cctv", content_type="video/mp4")
    page = browser.get(f"/reports/{detained}")
    assert "This report meets Devon and Cornwall Police's rules." in _text(page.text)
    sent = browser.post(f"/reports/{detained}/send", {})
    assert sent.status_code == 303
    assert "The report is on its way to the police." in _text(browser.get(sent.headers["location"]).text)
    assert drain(stamp)
    listing = _text(browser.get("/reports").text)
    assert "Sent to police" in listing

    with stamp.container.records.read_only() as uow:
        (ref,) = [d["reference"] for d in uow.query(INCIDENTS.name, ["northwind"], [], limit=10).items if d["id"] == detained]
    dispatch_id = next(d.id for d in stamp.container.d2p.police.dispatches(OFFICER, "devon-and-cornwall", None, 10) if d.reference == ref)
    stamp.container.d2p.police.acknowledge(OFFICER, dispatch_id, AcknowledgeIn(crime_reference="CR/012345/26"))
    listing = _text(browser.get("/reports").text)
    assert "Acknowledged by police" in listing
    assert "Crime reference: CR/012345/26" in listing
    assert "CR/012345/26" in _text(browser.get(f"/reports/{detained}").text)


def test_reports_are_paged_newest_first(browser, stamp):
    browser.sign_in("northwind", REPORTER, stores=["nw-plymouth"])
    for day in range(1, 23):
        _reported(browser, occurred_at=f"2026-11-{day:02d}T09:00")
    first = browser.get("/reports")
    text = _text(first.text)
    assert text.index("Sun 22 Nov 2026") < text.index("Sat 21 Nov 2026")
    older = re.search(r'href="(/reports\?after=[^"]+)"', first.text).group(1)
    second = _text(browser.get(unescape(older)).text)
    assert "Mon 2 Nov 2026" in second and "Sun 22 Nov 2026" not in second


def test_local_times_and_pounds_are_read_as_people_type_them():
    from zoneinfo import ZoneInfo

    from functions.console.report_form import local_to_aware, pounds_to_minor

    london = ZoneInfo("Europe/London")
    # 01:30 on the last Sunday of October happens twice: the first (still BST) is taken.
    assert local_to_aware("2026-10-25T01:30", london).utcoffset().total_seconds() == 3600
    assert local_to_aware("2026-10-25T02:30", london).utcoffset().total_seconds() == 0
    with pytest.raises(ValueError, match="clocks went forward"):
        local_to_aware("2026-03-29T01:15", london)
    assert [pounds_to_minor(t) for t in ("12.50", "12.5", "£1,250", " 7 ")] == [1250, 1250, 125000, 700]
    for bad in ("12.505", "-1", "1e3", "twelve", ""):
        with pytest.raises(ValueError):
            pounds_to_minor(bad)
