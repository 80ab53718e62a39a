"""The Dispatch aggregate's state machine and the email's composition and templates,
without a store or a queue."""

from __future__ import annotations

import pytest

from shared.adapters.templates import JinjaTemplates
from shared.domain.d2p import DELIVERY_EVENTS_LIMIT, HISTORY_LIMIT, Delivery, Dispatch, DispatchStatus, IllegalTransition
from shared.domain.d2p_email import HTML_TEMPLATE, TEXT_TEMPLATE, compose_email
from shared.domain.errors import Conflict
from shared.services.repository import dump, load
from tests.d2p.helpers import example

NOW = "2026-11-23T12:00:00.000000+00:00"


def incident(**over):
    doc = {
        **example(),
        "id": "i1",
        "organisation_id": "northwind",
        "reference": "NW-2026-000001",
        "reported_at": NOW,
    }
    doc.update(over)
    return doc


def opened() -> Dispatch:
    return Dispatch.open(incident(), force_id="devon-and-cornwall", rules_version=1, by="u1", auto=False, now=NOW)


def sent() -> Dispatch:
    d = opened()
    d.start_sending(to="control-room@example.police.uk", delivery=1, now=NOW)
    d.mark_sent(provider_message_id="sg-1", email={"subject": "s"}, now=NOW)
    return d


def test_a_dispatch_moves_queued_enqueued_sending_sent_and_records_each_step():
    d = opened()
    assert d.id == "i1.devon-and-cornwall" and d.status == DispatchStatus.QUEUED and d.message_id == d.id
    assert d.mark_enqueued(NOW) and not d.mark_enqueued(NOW)
    d.start_sending(to="inbox@example.police.uk", delivery=2, now=NOW)
    assert d.attempts == 1 and d.to == "inbox@example.police.uk" and d.history[-1].note == "attempt 1 (delivery 2)"
    d.mark_sent(provider_message_id="sg-1", email={"subject": "s"}, now=NOW)
    assert d.is_sent and d.sent_at == NOW and d.email_body_kept is True and d.last_error is None
    assert [h.status for h in d.history] == ["queued", "enqueued", "sending", "sent"]


def test_transient_failures_retry_then_dead_letter_and_a_refusal_can_be_rearmed():
    d = opened()
    d.start_sending(to="x@example.police.uk", delivery=1, now=NOW)
    d.retry_later("503 " + "x" * 400, exhausted=False, now=NOW)
    assert d.status == DispatchStatus.RETRYING and len(d.last_error) == 300
    d.start_sending(to="x@example.police.uk", delivery=10, now=NOW)
    d.retry_later("503", exhausted=True, now=NOW)
    assert d.status == DispatchStatus.DEAD_LETTERED
    d.start_sending(to="x@example.police.uk", delivery=1, now=NOW)
    d.fail("550 no such mailbox", now=NOW)
    assert d.status == DispatchStatus.FAILED and d.failure_reason == "550 no such mailbox"
    d.rearm(by="u2", rules_version=2, now=NOW)
    assert d.status == DispatchStatus.QUEUED and d.message_id == f"{d.id}#2" and d.rules_version == 2


def test_acknowledge_once_with_one_crime_reference():
    with pytest.raises(Conflict, match="only a sent report"):
        opened().acknowledge("CR/1", by="officer", now=NOW)
    d = sent()
    assert d.acknowledge("CR/1", by="officer", now=NOW) is True
    assert d.status == DispatchStatus.ACKNOWLEDGED and d.crime_reference == "CR/1" and d.acknowledged_by == "officer"
    assert d.acknowledge("CR/1", by="officer", now=NOW) is False
    with pytest.raises(Conflict, match="already acknowledged with crime reference CR/1"):
        d.acknowledge("CR/2", by="officer", now=NOW)
    with pytest.raises(IllegalTransition):
        d.start_sending(to="x@example.police.uk", delivery=1, now=NOW)


def test_delivery_events_keep_the_latest_apart_from_the_history_and_stored_fields_of_others_survive():
    d = sent()
    history = list(d.history)
    for n in range(DELIVERY_EVENTS_LIMIT + 5):
        d.record_delivery(Delivery(state="deferred", at=NOW, reason=str(n)))
    d.record_delivery(Delivery(state="delivered", at="2026-11-23T11:00:00+00:00"))  # arrived late, happened earlier
    assert d.history == history and len(history) < HISTORY_LIMIT
    assert len(d.deliveries) == DELIVERY_EVENTS_LIMIT and d.deliveries[0].reason == "6"
    assert d.delivery is not None and d.delivery.reason == str(DELIVERY_EVENTS_LIMIT + 4)
    doc = dump(d) | {"_etag": "e1", "_tenant": "northwind", "email_body_rule": "d2p_email_body"}
    stored = load(Dispatch, doc)
    assert stored.etag == "e1" and dump(stored.record)["email_body_rule"] == "d2p_email_body"


def test_the_email_lists_everything_in_text_and_escapes_what_a_reporter_typed_in_html():
    content = compose_email(
        dispatch=opened(),
        incident=incident(narrative="<script>alert(1)</script> took 6 bottles"),
        evidence=[{"id": "e1", "kind": "cctv", "filename": "cctv.mp4", "content_type": "video/mp4", "size": 2048, "sha256": "ab" * 32}],
        force_name="Devon and Cornwall Police",
        store={"name": "Northwind Plymouth", "address": "1 Royal Parade", "postcode": "PL1 1DS"},
        retailer_name="Northwind Stores",
        to="control-room@example.police.uk",
        sender="d2p@vigil.example.net",
        base_url="https://uk.vigil.example.net",
    )
    templates = JinjaTemplates()
    context = {"subject": content.subject, "sections": content.sections}
    text = templates.render(TEXT_TEMPLATE, **context)
    html = templates.render(HTML_TEMPLATE, **context)
    assert text.startswith(content.subject + "\n\nREPORT\n  PRIORITY: violence\n  Force: Devon and Cornwall Police\n")
    assert text.endswith("    Acknowledge: https://uk.vigil.example.net/cases/i1/acknowledge\n")
    assert "\n\nEVIDENCE HELD IN VIGIL (NOT ATTACHED)\n  cctv.mp4 [cctv, video/mp4] 2.0 KB, SHA-256 " in text
    assert "<script>" not in html and "&lt;script&gt;" in html and "\n" not in html
    assert '<a href="https://uk.vigil.example.net/cases/i1">Open the case</a>' in html
    email = content.with_bodies(text, html)
    assert email.message_id == "i1.devon-and-cornwall@vigil.d2p" and email.custom_args["owner_org"] == "northwind"
