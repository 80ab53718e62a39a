"""The D2P email as the control room reads it (the .eml the local outbox holds, text and
HTML parts): links into the console at the stamp's public address, times in the force's
own zone, priority first in the subject, plates as written, suspects never called
offenders, and replies going to the store."""

from __future__ import annotations

import email
import re
from email import policy
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from shared.adapters.local.outbox_mail import OutboxMail
from shared.adapters.templates import JinjaTemplates
from shared.domain.d2p_email import HTML_TEMPLATE, TEXT_TEMPLATE, compose_email, local_time, plate_as_written
from shared.domain.tenancy import Store
from tests.d2p.helpers import add_evidence, drain, outbox_files, report
from tests.d2p.test_dispatch_domain import incident as incident_doc
from tests.d2p.test_dispatch_domain import opened

INV = ("northwind", "Retailer.Investigator")
BASE = "http://127.0.0.1:7071"  # the uk stamp's public base URL in the test settings


def read_eml(stamp) -> tuple[EmailMessage, str, str]:
    [path] = outbox_files(stamp)
    msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    # The .eml is SMTP wire format (CRLF line ends); the reader's client shows lines.
    return msg, text.get_content().replace("\r\n", "\n"), html.get_content().replace("\r\n", "\n")


def dispatched(stamp, **overrides) -> tuple[dict, list[dict], EmailMessage, str, str]:
    """Report (with CCTV and a suspect image), send to the force, run the queue; the
    incident, its evidence and the email the control room got."""
    incident = report(stamp, **overrides)
    evidence = add_evidence(stamp, incident, "cctv", "suspect_image")
    r = stamp.client.post(f"/api/v1/incidents/{incident['id']}/d2p", headers=stamp.auth(*INV))
    assert r.status_code == 202, r.text
    assert drain(stamp) == ["ok"]
    return incident, evidence, *read_eml(stamp)


def test_links_open_console_pages_at_the_stamp_address_and_never_the_api(stamp):
    incident, evidence, _, text, html = dispatched(stamp)
    case = f"{BASE}/cases/{incident['id']}"
    assert f"    Open the case: {case}\n" in text and f'<a href="{case}">Open the case</a>' in html
    assert f"    Acknowledge: {case}/acknowledge\n" in text and f'<a href="{case}/acknowledge">Acknowledge</a>' in html
    for item in evidence:
        viewer = f"{case}/evidence/{item['id']}"
        assert f"{item['filename']} [" in text and f"    View in Vigil: {viewer}\n" in text
        assert f'<a href="{viewer}">View in Vigil</a>' in html
    assert "/api/v1" not in text and "/api/v1" not in html


def test_times_are_the_force_s_local_time_with_the_zone_abbreviation(stamp):
    # The fake clock reports on 23 Nov (GMT); the incident happened in summer (BST).
    _, _, _, text, html = dispatched(stamp, occurred_at="2026-07-20T13:32:00+00:00")
    assert "  Occurred: Mon 20 Jul 2026, 14:32 BST\n" in text and "  Reported: Mon 23 Nov 2026, 12:00 GMT\n" in text
    assert "<li>Occurred: Mon 20 Jul 2026, 14:32 BST</li>" in html
    assert "2026-07-20T" not in text


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("uk", "Fri 20 Nov 2026, 14:32 GMT"),
        ("au", "Sat 21 Nov 2026, 01:32 AEDT"),
        ("nz", "Sat 21 Nov 2026, 03:32 NZDT"),
        ("us", "Fri 20 Nov 2026, 09:32 EST"),
        ("ca", "Fri 20 Nov 2026, 09:32 EST"),
    ],
)
def test_each_region_reads_times_in_its_own_zone(region, expected):
    content = compose(incident_doc(occurred_at="2026-11-20T14:32:00+00:00"), region=region)
    assert f"Occurred: {expected}" in render(content)[0]


def test_a_time_reads_the_same_whatever_offset_it_was_stored_with():
    london = ZoneInfo("Europe/London")
    assert local_time("2026-11-28T14:05:00Z", london) == local_time("2026-11-28T15:05:00+01:00", london) == "Sat 28 Nov 2026, 14:05 GMT"
    assert local_time(None, london) == "not recorded"


def test_violence_and_a_detained_suspect_put_priority_first_in_the_subject(stamp):
    incident, _, msg, text, html = dispatched(stamp, flags={"violence": True, "offender_detained": True})
    assert msg["Subject"].startswith("PRIORITY (violence, suspect detained) [Vigil D2P] Devon and Cornwall Police: ")
    assert msg["Subject"].endswith(incident["reference"])
    assert "\nREPORT\n  PRIORITY: violence, suspect detained\n" in text and "<li>PRIORITY: violence, suspect detained</li>" in html


@pytest.mark.parametrize(
    ("overrides", "prefix"),
    [
        ({"flags": {}}, "[Vigil D2P] "),
        ({"flags": {"offender_detained": True}}, "PRIORITY (suspect detained) [Vigil D2P] "),
        ({"flags": {}, "category": "robbery"}, "PRIORITY (violence) [Vigil D2P] "),
        ({"flags": {}, "category": "violence_against_staff"}, "PRIORITY (violence) [Vigil D2P] "),
    ],
)
def test_priority_only_for_violence_or_a_detained_suspect(overrides, prefix):
    content = compose(incident_doc(**overrides))
    assert content.subject.startswith(prefix)
    assert ("PRIORITY" in render(content)[0]) == prefix.startswith("PRIORITY")


def test_plates_as_written_and_suspects_never_called_offenders(stamp):
    persons = [
        {"role": "offender", "description": {"build": "slim"}},
        {"role": "suspect", "description": {"hair": "short, dark"}},
    ]
    vehicles = [{"plate": "wr21xkd", "make": "Ford"}, {"plate": "A123 BCD", "colour": "red"}]
    _, _, msg, text, html = dispatched(stamp, persons=persons, vehicles=vehicles, flags={"offender_detained": True})
    assert "\nVEHICLES\n  WR21 XKD Ford\n  A123BCD red\n" in text and "<li>WR21 XKD Ford</li>" in html
    record = "; linked to the retailer's known-person record [a-z0-9-]+"  # each person is linked to one as reported
    assert re.search(f"\nSUSPECTS\n  suspect; slim build{record}\n  suspect; hair: short, dark{record}\n", text)
    assert "<h2>Suspects</h2>" in html and "suspect detained by security" in text
    for part in (msg["Subject"], text, html):
        assert "offender" not in part.lower()


def test_a_known_person_link_is_not_called_an_offender_either():
    content = compose(incident_doc(persons=[{"role": "offender", "offender_id": "known-17"}]))
    text, html = render(content)
    assert "\nSUSPECTS\n  suspect; linked to the retailer's known-person record known-17\n" in text
    assert "offender" not in text.lower() and "offender" not in html.lower()


def test_only_current_uk_plates_are_split():
    assert plate_as_written("WR21XKD", "uk") == "WR21 XKD"
    assert [plate_as_written(p, "uk") for p in ("A123BCD", "K7", "WR21XK")] == ["A123BCD", "K7", "WR21XK"]
    assert plate_as_written("AB12CDE", "us") == "AB12CDE"  # another country's plate is not a UK one


def test_a_reply_goes_to_the_store_s_contact(stamp):
    _, _, msg, _, _ = dispatched(stamp)  # nw-plymouth has a contact mailbox in the directory
    assert msg["Reply-To"] == "plymouth.security@northwind.example"
    assert msg["From"] == "d2p@vigil.example.net"


def test_no_reply_to_when_the_store_has_no_contact(tmp_path):
    content = compose(incident_doc(), store={"name": "Contoso Bristol", "address": "8 Broadmead, Bristol", "postcode": "BS1 3HA"})
    assert content.reply_to is None
    outbox = OutboxMail(tmp_path)
    outbox.send(content.with_bodies(*render(content)))
    [path] = outbox.messages()
    msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert msg["Reply-To"] is None and msg["From"] == "d2p@vigil.example.net"


def test_a_store_contact_must_be_a_mail_address():
    store = {"id": "s", "organisation_id": "o", "name": "n", "address": "a", "postcode": "p", "force_id": "f"}
    assert Store(**store).contact_email is None
    for bad in ("not an address", "a@b.example\r\nBcc: x@y.example", "<a@b.example>"):
        with pytest.raises(ValidationError, match="contact_email"):
            Store(**store, contact_email=bad)


# ---- helpers ---------------------------------------------------------------------


def compose(incident, *, region="uk", store=None):
    return compose_email(
        dispatch=opened(),
        incident=incident,
        evidence=[],
        force_name="Devon and Cornwall Police",
        store=store or {"name": "Northwind Plymouth", "address": "1 Royal Parade", "postcode": "PL1 1DS"},
        retailer_name="Northwind Stores",
        to="control-room@example.police.uk",
        sender="d2p@vigil.example.net",
        base_url="https://uk.vigil.example.net",
        region=region,
    )


def render(content) -> tuple[str, str]:
    templates = JinjaTemplates()
    context = {"subject": content.subject, "sections": content.sections}
    return templates.render(TEXT_TEMPLATE, **context), templates.render(HTML_TEMPLATE, **context)
