"""The dispatch pipeline under failure: redelivery, worker death, relay re-queues, mail
outages, permanent refusals, poison messages and dead-letter replay. One report reaches
one force once."""

from __future__ import annotations

import random

from shared.ports import PermanentMailError, TransientMailError
from shared.records import OUTBOX
from shared.services.d2p import QUEUE
from tests.d2p.helpers import drain, eligible_report, outbox_files

INV = ("northwind", "Retailer.Investigator")


class CountingMailFake:
    """A provider stand-in that is NOT idempotent (as SendGrid is not): every accepted
    call is one more email in the inbox. Can be made to fail."""

    def __init__(self):
        self.accepted: list[str] = []
        self.transient_failures = 0
        self.permanent = False

    def send(self, message) -> str:
        if self.permanent:
            raise PermanentMailError("550 5.1.1 mailbox does not exist")
        if self.transient_failures > 0:
            self.transient_failures -= 1
            raise TransientMailError("503 service unavailable")
        self.accepted.append(message.custom_args["dispatch_id"])
        return f"sg-{len(self.accepted)}"

    def ready(self):
        return True, ""


class WorkerDied(BaseException):
    """Stands for the process dying: nothing after it runs, nothing is completed."""


def send(stamp, incident):
    r = stamp.client.post(f"/api/v1/incidents/{incident['id']}/d2p", headers=stamp.auth(*INV))
    assert r.status_code == 202, r.text
    return r.json()


def status(stamp, incident):
    return stamp.client.get(f"/api/v1/incidents/{incident['id']}/d2p", headers=stamp.auth(*INV)).json()["dispatches"][0]


def test_handler_run_twice_on_the_same_message_sends_once(stamp):
    from functions import jobs

    mail = CountingMailFake()
    stamp.container.d2p.deps.mail = mail
    dispatch = send(stamp, eligible_report(stamp))
    jobs.load_all()
    body = {"dispatch_id": dispatch["id"], "owner_org": "northwind"}
    jobs.QUEUE_HANDLERS[QUEUE](stamp.container, body, 1)
    jobs.QUEUE_HANDLERS[QUEUE](stamp.container, body, 2)
    assert stamp.container.d2p.delivery.handle(body, 3) == "already_sent"
    assert mail.accepted == [dispatch["id"]]


def test_worker_dies_after_recording_sent_and_the_redelivery_does_not_resend(stamp):
    mail = CountingMailFake()
    stamp.container.d2p.deps.mail = mail
    incident = eligible_report(stamp)
    send(stamp, incident)
    original = stamp.container.d2p.delivery.handle

    def handle_then_die(body, delivery_count):
        original(body, delivery_count)  # `sent` is committed here
        raise WorkerDied()  # ...and the process dies before completing the message

    stamp.container.d2p.delivery.handle = handle_then_die
    assert drain(stamp, rounds=1, crash=WorkerDied) == ["crash"]
    stamp.container.d2p.delivery.handle = original
    assert drain(stamp) == ["ok"]
    assert len(mail.accepted) == 1 and status(stamp, incident)["status"] == "sent"


def test_relay_requeueing_the_same_dispatch_sends_once(stamp):
    incident = eligible_report(stamp)
    dispatch = send(stamp, incident)
    drain(stamp)
    # The outbox entry comes back (a relay that crashed before deleting it) and is relayed again,
    # after the queue's duplicate window too (a direct send with the same message id).
    with stamp.container.records.unit_of_work() as uow:
        uow.insert(
            OUTBOX.name,
            "northwind",
            {
                "id": dispatch["id"],
                "queue": QUEUE,
                "message_id": dispatch["id"],
                "dispatch_id": dispatch["id"],
                "body": {"dispatch_id": dispatch["id"], "owner_org": "northwind"},
                "created_at": "2026-11-23T12:00:00.000000+00:00",
            },
        )
    stamp.container.queue._conn().execute("DELETE FROM seen")
    assert stamp.container.outbox.relay(stamp.clock.now()).counts["relayed"] == 1
    assert drain(stamp) == ["ok"]
    assert len(outbox_files(stamp)) == 1


def test_mail_down_for_a_while_then_up_everything_sent_once_nothing_lost(stamp):
    mail = CountingMailFake()
    mail.transient_failures = 7
    stamp.container.d2p.deps.mail = mail
    incidents = [eligible_report(stamp) for _ in range(3)]
    ids = [send(stamp, i)["id"] for i in incidents]
    outcomes = drain(stamp, rounds=20)
    assert outcomes.count("DispatchRetry") == 7
    assert sorted(mail.accepted) == sorted(ids)
    s = status(stamp, incidents[0])
    assert s["status"] == "sent" and s["last_error"] is None
    assert stamp.container.queue.dead_letters(QUEUE) == []


def test_permanent_refusal_is_recorded_visible_and_can_be_sent_again(stamp):
    mail = CountingMailFake()
    mail.permanent = True
    stamp.container.d2p.deps.mail = mail
    incident = eligible_report(stamp)
    dispatch = send(stamp, incident)
    assert drain(stamp) == ["ok"]
    s = status(stamp, incident)
    assert s["status"] == "failed" and "mailbox does not exist" in s["failure_reason"]
    admin_view = stamp.client.get(
        "/api/v1/forces/devon-and-cornwall/d2p-dispatches",
        params={"status": "failed"},
        headers=stamp.auth("devon-and-cornwall", "Police.Admin"),
    )
    assert [d["id"] for d in admin_view.json()["items"]] == [dispatch["id"]]
    mail.permanent = False
    again = stamp.client.post(f"/api/v1/incidents/{incident['id']}/d2p", headers=stamp.auth(*INV))
    assert again.status_code == 202 and again.json()["id"] == dispatch["id"]
    drain(stamp)
    assert mail.accepted == [dispatch["id"]] and status(stamp, incident)["status"] == "sent"


def test_poison_message_goes_to_dead_letter_and_replays(stamp):
    mail = CountingMailFake()
    mail.transient_failures = 1000
    stamp.container.d2p.deps.mail = mail
    incident = eligible_report(stamp)
    dispatch = send(stamp, incident)
    stamp.container.queue.send(QUEUE, {"something": "else"}, message_id="garbage-1")
    drain(stamp, rounds=30)
    dead = {d.message_id: d for d in stamp.container.d2p.delivery.dead_letters()}
    assert set(dead) == {dispatch["id"], "garbage-1"}
    assert status(stamp, incident)["status"] == "dead_lettered"
    op = stamp.auth("vigil-platform", "Platform.Operator")
    listed = stamp.client.get("/api/v1/operations/dead-letters/d2p", headers=op)
    assert listed.status_code == 200 and {d["message_id"] for d in listed.json()["items"]} == set(dead)
    assert stamp.client.get("/api/v1/operations/dead-letters/d2p", headers=stamp.auth("northwind", "Retailer.Admin")).status_code == 403
    mail.transient_failures = 0
    r = stamp.client.post("/api/v1/operations/dead-letters/d2p/replay", json={"message_ids": [dispatch["id"]]}, headers=op)
    assert r.json() == {"replayed": 1}
    drain(stamp)
    assert mail.accepted == [dispatch["id"]] and status(stamp, incident)["status"] == "sent"


def test_fault_window_between_provider_accept_and_record(stamp):
    """How often a crash produces a duplicate: only a crash that falls after the provider
    accepted and before `sent` is recorded does (docs/d2p.md). Crashes elsewhere never do."""
    rng = random.Random(7)
    mail = CountingMailFake()
    real_send = mail.send
    crashes = {"before_send": 0, "after_accept": 0, "after_record": 0}

    def send_maybe_dying(message):
        point = rng.random()
        if point < 0.15:
            crashes["before_send"] += 1
            raise WorkerDied()
        provider_id = real_send(message)
        if point < 0.3:
            crashes["after_accept"] += 1
            raise WorkerDied()
        return provider_id

    mail.send = send_maybe_dying
    stamp.container.d2p.deps.mail = mail
    original = stamp.container.d2p.delivery.handle

    def handle_maybe_dying(body, delivery_count):
        outcome = original(body, delivery_count)
        if outcome == "sent" and rng.random() < 0.15:
            crashes["after_record"] += 1
            raise WorkerDied()  # after `sent` committed, before the message is completed
        return outcome

    stamp.container.d2p.delivery.handle = handle_maybe_dying
    incidents = [eligible_report(stamp) for _ in range(20)]
    ids = [send(stamp, i)["id"] for i in incidents]
    drain(stamp, rounds=60, crash=WorkerDied)
    duplicates = len(mail.accepted) - len(set(mail.accepted))
    assert set(mail.accepted) == set(ids)  # nothing lost
    assert duplicates == crashes["after_accept"]  # exactly the crashes inside the window
    assert crashes["before_send"] > 0 and crashes["after_record"] > 0 and crashes["after_accept"] > 0
    print(f"fault window: {crashes} over {len(ids)} dispatches -> {duplicates} duplicate(s)")


def test_local_outbox_closes_the_window_by_message_id(stamp):
    """The .eml adapter names files by the dispatch's Message-ID, so even a crash after the
    file is written and before `sent` is recorded leaves one email."""
    incident = eligible_report(stamp)
    send(stamp, incident)
    real = stamp.container.d2p.deps.mail
    calls = []

    class DieAfterWrite:
        def send(self, message):
            calls.append(1)
            real.send(message)
            if len(calls) == 1:
                raise WorkerDied()
            return real.send(message)

        def ready(self):
            return True, ""

    stamp.container.d2p.deps.mail = DieAfterWrite()
    drain(stamp, crash=WorkerDied)
    assert len(calls) == 2 and len(outbox_files(stamp)) == 1
    assert status(stamp, incident)["status"] == "sent"
