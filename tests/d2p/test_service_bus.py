"""ServiceBusQueue with the real azure-servicebus message types and the client's transport
replaced by an in-memory fake (there is no Service Bus emulator here)."""

from __future__ import annotations

import itertools
import json
import threading
import time
from datetime import UTC, datetime, timedelta

from azure.servicebus import ServiceBusMessage, ServiceBusSubQueue

from shared.adapters.azure.service_bus import ServiceBusQueue
from shared.settings import Settings

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
_tokens = itertools.count(1)


class FakeReceived:
    """What the transport would hand back for a received message (test stand-in)."""

    def __init__(self, message: ServiceBusMessage, delivery_count: int = 0, reason: str | None = None):
        self.message_id = message.message_id
        self.body = str(message).encode()
        self.delivery_count = delivery_count
        self.lock_token = f"lock-{next(_tokens)}"
        self.dead_letter_reason = reason
        self.enqueued_time_utc = NOW
        self.application_properties = message.application_properties

    def __str__(self):
        return self.body.decode()


class FakeNamespace:
    """The wire replaced: queues and dead-letter queues in memory, duplicate detection by id."""

    def __init__(self):
        self.queues: dict[str, list[FakeReceived]] = {}
        self.dlq: dict[str, list[FakeReceived]] = {}
        self.scheduled: list[tuple[str, ServiceBusMessage, datetime]] = []
        self.seen: set[tuple[str, str]] = set()
        self.sent: list[ServiceBusMessage] = []
        self.senders_made: list[str] = []
        self.overlapping_sends = 0

    def release_scheduled(self):
        """Time passes: every scheduled message becomes receivable."""
        for name, message, _ in self.scheduled:
            self.queues.setdefault(name, []).append(FakeReceived(message))
        self.scheduled.clear()

    def get_queue_sender(self, name):
        ns = self
        ns.senders_made.append(name)

        class Sender:
            busy = False
            closed = False

            def __enter__(self):
                return self

            def __exit__(self, *a):
                return False

            def close(self):
                self.closed = True

            def send_messages(self, message):
                assert isinstance(message, ServiceBusMessage) and not self.closed
                # A sender is not thread-safe: count any send that starts while another runs.
                if self.busy:
                    ns.overlapping_sends += 1
                self.busy = True
                time.sleep(0.001)
                self.busy = False
                ns.sent.append(message)
                if (name, message.message_id) not in ns.seen:
                    ns.seen.add((name, message.message_id))
                    ns.queues.setdefault(name, []).append(FakeReceived(message))

            def schedule_messages(self, message, at):
                ns.scheduled.append((name, message, at))

        return Sender()

    def get_queue_receiver(self, name, sub_queue=None, receive_mode=None):
        ns = self
        store = ns.dlq if sub_queue == ServiceBusSubQueue.DEAD_LETTER else ns.queues

        class Receiver:
            locked: dict[str, FakeReceived] = {}

            def __enter__(self):
                return self

            def __exit__(self, *a):
                return False

            def receive_messages(self, max_message_count, max_wait_time):
                items = store.setdefault(name, [])[:max_message_count]
                del store[name][: len(items)]
                return items

            def peek_messages(self, max_message_count):
                return list(store.get(name, []))[:max_message_count]

            def complete_message(self, m):
                pass

            def abandon_message(self, m):
                m.delivery_count += 1
                store.setdefault(name, []).append(m)

            def dead_letter_message(self, m, reason=None, error_description=None):
                m.dead_letter_reason = reason
                ns.dlq.setdefault(name, []).append(m)

            def close(self):
                pass

        return Receiver()

    def close(self):
        pass


def make():
    ns = FakeNamespace()
    return ns, ServiceBusQueue(ns, max_deliveries=3, clock=lambda: NOW)


def test_service_bus_transport_replaced_send_uses_dispatch_id_and_duplicates_are_dropped():
    ns, q = make()
    body = {"dispatch_id": "i1.devon-and-cornwall", "owner_org": "northwind"}
    assert q.send("d2p_dispatch", body, message_id="i1.devon-and-cornwall")
    q.send("d2p_dispatch", body, message_id="i1.devon-and-cornwall")
    assert ns.sent[0].message_id == "i1.devon-and-cornwall" and ns.sent[0].content_type == "application/json"
    got = q.receive("d2p_dispatch")
    assert len(got) == 1 and got[0].body == body and got[0].delivery_count == 1 and got[0].queue == "d2p_dispatch"
    q.complete(got[0])
    assert q.receive("d2p_dispatch") == []


def test_service_bus_transport_replaced_delayed_abandon_schedules_a_distinct_copy():
    ns, q = make()
    q.send("d2p_dispatch", {"dispatch_id": "d"}, message_id="d")
    m = q.receive("d2p_dispatch")[0]
    q.abandon(m, delay_seconds=8)
    name, copy, at = ns.scheduled[0]
    assert name == "d2p-dispatch" and copy.message_id == "d#retry1" and at == NOW + timedelta(seconds=8)
    assert json.loads(str(copy)) == {"dispatch_id": "d"}


def test_service_bus_transport_replaced_dead_letter_after_max_deliveries_and_replay():
    ns, q = make()
    q.send("d2p_dispatch", {"dispatch_id": "d"}, message_id="d")
    for _ in range(3):
        m = q.receive("d2p_dispatch")[0]
        q.abandon(m)
    assert q.receive("d2p_dispatch") == []
    dead = q.dead_letters("d2p_dispatch")
    assert [(d["message_id"], d["body"], d["reason"]) for d in dead] == [("d", {"dispatch_id": "d"}, "MaxDeliveryCountExceeded (3)")]
    assert q.replay_dead_letters("d2p_dispatch", message_ids=["other"]) == 0
    assert q.replay_dead_letters("d2p_dispatch") == 1
    again = q.receive("d2p_dispatch")
    assert [m.body for m in again] == [{"dispatch_id": "d"}] and again[0].message_id.startswith("d#replay")
    assert q.dead_letters("d2p_dispatch") == []


def test_service_bus_transport_replaced_each_queue_dead_letters_at_its_own_setting():
    """The webhook queue's limit comes from its own setting: dead-lettering it at the D2P
    limit would take the message away before the alert handler's last-delivery check."""
    settings = Settings(d2p_max_deliveries=3, webhook_queue_max_deliveries=2)
    ns = FakeNamespace()
    q = ServiceBusQueue(
        ns, max_deliveries=settings.d2p_max_deliveries, queue_max_deliveries=settings.queue_max_deliveries(), clock=lambda: NOW
    )
    q.send("webhook_deliveries", {"delivery_id": "w"}, message_id="w")
    for _ in range(2):
        q.abandon(q.receive("webhook_deliveries")[0])
    assert [d["reason"] for d in q.dead_letters("webhook_deliveries")] == ["MaxDeliveryCountExceeded (2)"]


def test_service_bus_transport_replaced_retries_go_on_counting_deliveries_to_the_queues_limit():
    """A delayed retry is a new message: without the deliveries it carries, its count would
    start again and the retries would never end."""
    ns, q = make()  # max deliveries 3
    q.send("d2p_dispatch", {"dispatch_id": "d"}, message_id="d")
    for expected in (1, 2):
        m = q.receive("d2p_dispatch")[0]
        assert m.delivery_count == expected
        q.abandon(m, delay_seconds=5)
        ns.release_scheduled()
    last = q.receive("d2p_dispatch")[0]
    assert (last.message_id, last.delivery_count) == ("d#retry2", 3)
    q.abandon(last, delay_seconds=5)
    assert ns.scheduled == [] and [d["reason"] for d in q.dead_letters("d2p_dispatch")] == ["MaxDeliveryCountExceeded (3)"]


def test_service_bus_transport_replaced_one_sender_per_queue_reused_and_never_shared_at_once():
    ns, q = make()

    def send_many(worker):
        for i in range(20):
            q.send("d2p_dispatch", {"n": i}, message_id=f"{worker}-{i}")

    threads = [threading.Thread(target=send_many, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ns.sent) == 160
    assert ns.senders_made == ["d2p-dispatch"]
    assert ns.overlapping_sends == 0
    q.close()
