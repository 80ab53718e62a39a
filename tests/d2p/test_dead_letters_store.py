"""Dead letters recorded by the Azure trigger, on both record stores, read and replayed
together with those the queue holds itself: one list for operators, replay removes the
record, and an unreplayed record expires."""

from __future__ import annotations

import logging
from datetime import timedelta

from shared.records import DEAD_LETTERS
from shared.services.d2p import QUEUE
from shared.services.dead_letters import KEPT_FOR
from shared.services.expiry import sweep_expired
from tests.retention.helpers import container_on


def _dead_letter_on_the_queue(c, message_id: str, body: dict) -> None:
    c.queue.send(QUEUE, body, message_id=message_id)
    [message] = [m for m in c.queue.receive(QUEUE, max_messages=10, visibility_seconds=0) if m.message_id == message_id]
    c.queue.dead_letter(message, reason="the worker gave up")


def test_recorded_and_queue_dead_letters_are_one_list_and_replay_once(record_store, tmp_path):
    c = container_on(record_store, tmp_path)
    c.dead_letters.record(QUEUE, message_id="d1", body={"dispatch_id": "d1", "owner_org": "northwind"}, deliveries=1, reason="poison")
    c.clock.advance(seconds=5)
    c.dead_letters.record(QUEUE, message_id="d2#retry9", body={"dispatch_id": "d2", "owner_org": "northwind"}, deliveries=10, reason="x")
    # The completion of a recorded delivery was lost and the queue delivered it again: still one record.
    c.dead_letters.record(QUEUE, message_id="d2#retry9", body={"dispatch_id": "d2", "owner_org": "northwind"}, deliveries=10, reason="x")
    c.dead_letters.record("footage_mail", message_id="footage-1", body={"request_id": "f1"}, deliveries=1, reason="y")
    _dead_letter_on_the_queue(c, "d3", {"dispatch_id": "d3", "owner_org": "northwind"})

    listed = c.d2p.delivery.dead_letters()
    assert [(d.message_id, d.dispatch_id, d.source) for d in listed] == [
        ("d1", "d1", "recorded"),
        ("d2#retry9", "d2", "recorded"),
        ("d3", "d3", "queue"),
    ]
    assert listed[0].reason == "poison" and listed[1].delivery_count == 10 and listed[2].reason == "the worker gave up"
    assert all(d.dead_lettered_at for d in listed)
    assert c.dead_letters.depths([QUEUE, "footage_mail", "anpr_alerts"]) == {QUEUE: 3, "footage_mail": 1, "anpr_alerts": 0}

    # A recorded one and one the queue holds, by id: both go back once, with fresh deliveries.
    assert c.d2p.delivery.replay_dead_letters(["d2#retry9", "d3"]) == 2
    assert [d.message_id for d in c.d2p.delivery.dead_letters()] == ["d1"]
    back = sorted((m.body["dispatch_id"], m.delivery_count) for m in c.queue.receive(QUEUE, max_messages=10))
    assert back == [("d2", 1), ("d3", 1)]
    assert c.d2p.delivery.replay_dead_letters(["d2#retry9"]) == 0

    # Everything left, then nothing: another queue's records are not touched.
    assert c.d2p.delivery.replay_dead_letters() == 1
    assert c.d2p.delivery.dead_letters() == []
    assert [e.message_id for e in c.dead_letters.entries("footage_mail")] == ["footage-1"]


def test_an_unreplayed_record_expires_with_the_logs_that_explain_it(record_store, tmp_path):
    c = container_on(record_store, tmp_path)
    c.dead_letters.record(QUEUE, message_id="d1", body={"dispatch_id": "d1", "owner_org": "northwind"}, deliveries=1, reason="poison")
    with c.records.read_only() as uow:
        [doc] = uow.query(DEAD_LETTERS.name, [QUEUE], []).items
    assert doc["reason"] == "poison" and doc["body"] == {"dispatch_id": "d1", "owner_org": "northwind"}
    assert sweep_expired(c.records, c.clock.now() + KEPT_FOR - timedelta(seconds=1)).counts[DEAD_LETTERS.name] == 0
    assert sweep_expired(c.records, c.clock.now() + KEPT_FOR).counts[DEAD_LETTERS.name] == 1
    assert c.d2p.delivery.dead_letters() == []


def test_a_long_reason_is_cut_short_and_logged_once_for_the_alert(record_store, tmp_path, caplog):
    c = container_on(record_store, tmp_path)
    with caplog.at_level(logging.ERROR, logger="vigil.dead_letters"):
        c.dead_letters.record(QUEUE, message_id="d1", body={"dispatch_id": "d1"}, deliveries=1, reason="RuntimeError: " + "x" * 5000)
    [entry] = c.dead_letters.recorded(QUEUE)
    assert len(entry.reason or "") == 1000
    # The stamp's log alert (infra/app/operations.bicep, recordedDeadLetterQuery) matches this line.
    [line] = [r for r in caplog.records if r.name == "vigil.dead_letters"]
    assert line.getMessage().startswith("message dead-lettered") and line.levelno == logging.ERROR
