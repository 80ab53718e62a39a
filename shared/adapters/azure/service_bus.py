"""Queues in Azure: Service Bus through azure-servicebus, implementing `MessageQueue`.

Message id = the caller's stable key (the dispatch id), so a queue created with duplicate
detection drops a second send within its window. Peek-lock receive; complete, abandon
(with a delay: a scheduled copy, then complete) and dead-letter; replay from the DLQ.
In Azure the Functions host receives messages for the trigger; this adapter serves the
relay (send), the trigger's delayed retries, operators (dead letters, replay) and any
worker that polls itself.

A delayed retry is a new message, whose broker delivery count starts again: the
deliveries before it travel in the application property `vigil-deliveries`, so the
backoff keeps growing and the queue's limit still ends the retries.

Thread safety: `ServiceBusClient` and its senders and receivers are not thread-safe,
and a sender is an AMQP link worth keeping. One sender per queue is made once and used
under that queue's lock; the client is touched under the adapter's lock.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.servicebus import ServiceBusClient, ServiceBusMessage, ServiceBusReceiveMode, ServiceBusSubQueue

from shared.names import QUEUES
from shared.ports import QueueMessage

# Application property carrying the deliveries made before a delayed copy was scheduled.
DELIVERIES_PROPERTY = "vigil-deliveries"


def prior_deliveries(application_properties: Mapping[Any, Any] | None) -> int:
    """Deliveries made before this copy of a message (0 for an original): the
    `vigil-deliveries` property, whose key the SDK may hand back as bytes."""
    props = application_properties or {}
    value = props.get(DELIVERIES_PROPERTY, props.get(DELIVERIES_PROPERTY.encode(), 0))
    try:
        return max(0, int(value.decode() if isinstance(value, bytes) else value))
    except (TypeError, ValueError):
        return 0


class ServiceBusQueue:
    def __init__(
        self,
        client: Any,
        *,
        queue_names: dict[str, str] | None = None,
        max_deliveries: int = 10,
        queue_max_deliveries: Mapping[str, int] | None = None,
        clock=lambda: datetime.now(UTC),
    ):
        self._client = client
        self._names = queue_names or dict(QUEUES)
        # Each queue's maxDeliveryCount (app/messaging.bicep); `max_deliveries` for the others.
        self.max_deliveries = max_deliveries
        self._queue_max_deliveries = dict(queue_max_deliveries or {})
        self._clock = clock
        self._lock = threading.Lock()
        self._receivers: dict[str, Any] = {}
        self._senders: dict[str, tuple[Any, threading.Lock]] = {}
        self._locked: dict[tuple[str, str], Any] = {}  # (queue, receipt) -> received message

    @classmethod
    def from_settings(cls, settings) -> ServiceBusQueue:
        """DefaultAzureCredential (the user-assigned identity) and the namespace setting."""
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential(managed_identity_client_id=settings.azure_client_id or None)
        client = ServiceBusClient(fully_qualified_namespace=settings.service_bus_namespace, credential=credential)
        return cls(client, max_deliveries=settings.d2p_max_deliveries, queue_max_deliveries=settings.queue_max_deliveries())

    def _name(self, queue: str) -> str:
        return self._names.get(queue, queue)

    def _receiver(self, queue: str):
        with self._lock:
            if queue not in self._receivers:
                self._receivers[queue] = self._client.get_queue_receiver(self._name(queue), receive_mode=ServiceBusReceiveMode.PEEK_LOCK)
            return self._receivers[queue]

    def _sender(self, queue: str) -> tuple[Any, threading.Lock]:
        with self._lock:
            if queue not in self._senders:
                self._senders[queue] = (self._client.get_queue_sender(self._name(queue)), threading.Lock())
            return self._senders[queue]

    @staticmethod
    def _message(body: dict[str, Any], message_id: str, prior: int = 0) -> ServiceBusMessage:
        return ServiceBusMessage(
            json.dumps(body, separators=(",", ":")),
            message_id=message_id,
            content_type="application/json",
            application_properties={DELIVERIES_PROPERTY: prior} if prior else None,
        )

    def send(self, queue: str, body: dict[str, Any], *, message_id: str, delay_seconds: float = 0, prior_deliveries: int = 0) -> bool:
        """Enqueue (at now + `delay_seconds`, scheduled, when positive). `prior_deliveries`
        marks a retry's copy with the deliveries before it. Service Bus drops a duplicate id
        silently, so this always answers True."""
        message = self._message(body, message_id, prior_deliveries)
        sender, lock = self._sender(queue)
        with lock:
            if delay_seconds > 0:
                sender.schedule_messages(message, self._clock() + timedelta(seconds=delay_seconds))
            else:
                sender.send_messages(message)
        return True

    def receive(self, queue: str, *, max_messages: int = 10, visibility_seconds: float = 30) -> list[QueueMessage]:
        """Peek-lock up to `max_messages`; the lock duration is the queue's (set in Bicep)."""
        received = self._receiver(queue).receive_messages(max_message_count=max_messages, max_wait_time=1)
        out = []
        for m in received:
            receipt = str(m.lock_token)
            with self._lock:
                self._locked[(queue, receipt)] = m
            try:
                body = json.loads(b"".join(m.body) if not isinstance(m.body, (bytes, str)) else m.body)
            except ValueError:
                body = {"_unreadable": True}
            deliveries = prior_deliveries(getattr(m, "application_properties", None)) + int(m.delivery_count or 0) + 1
            out.append(QueueMessage(queue=queue, message_id=str(m.message_id), body=body, delivery_count=deliveries, receipt=receipt))
        return out

    def _take(self, message: QueueMessage):
        with self._lock:
            return self._locked.pop((message.queue, message.receipt), None)

    def complete(self, message: QueueMessage) -> None:
        m = self._take(message)
        if m is not None:
            self._receiver(message.queue).complete_message(m)

    def max_deliveries_of(self, queue: str) -> int:
        """Deliveries of a message on `queue` before it is dead-lettered."""
        return self._queue_max_deliveries.get(queue, self.max_deliveries)

    def abandon(self, message: QueueMessage, *, delay_seconds: float = 0) -> None:
        """Redeliver (after `delay_seconds`: a scheduled copy, since Service Bus abandons
        at once), or dead-letter once deliveries reached the limit."""
        limit = self.max_deliveries_of(message.queue)
        if message.delivery_count >= limit:
            self.dead_letter(message, reason=f"MaxDeliveryCountExceeded ({limit})")
            return
        m = self._take(message)
        if m is None:
            return
        receiver = self._receiver(message.queue)
        if delay_seconds > 0:
            # A distinct id: the original is still inside the duplicate-detection window.
            self.send(
                message.queue,
                message.body,
                message_id=f"{message.message_id.split('#retry')[0]}#retry{message.delivery_count}",
                delay_seconds=delay_seconds,
                prior_deliveries=message.delivery_count,
            )
            receiver.complete_message(m)
        else:
            receiver.abandon_message(m)

    def dead_letter(self, message: QueueMessage, *, reason: str) -> None:
        m = self._take(message)
        if m is not None:
            self._receiver(message.queue).dead_letter_message(m, reason=reason[:200], error_description=reason[:1000])

    def _dlq_receiver(self, queue: str):
        return self._client.get_queue_receiver(
            self._name(queue), sub_queue=ServiceBusSubQueue.DEAD_LETTER, receive_mode=ServiceBusReceiveMode.PEEK_LOCK
        )

    def dead_letters(self, queue: str, *, limit: int = 100) -> list[dict[str, Any]]:
        """Peek the dead-letter queue (nothing is locked or removed)."""
        with self._dlq_receiver(queue) as receiver:
            peeked = receiver.peek_messages(max_message_count=limit)
        out = []
        for m in peeked:
            try:
                body = json.loads(str(m))
            except ValueError:
                body = None
            out.append(
                {
                    "message_id": m.message_id,
                    "body": body,
                    "delivery_count": m.delivery_count,
                    "reason": m.dead_letter_reason,
                    "enqueued_at": m.enqueued_time_utc.isoformat() if m.enqueued_time_utc else None,
                }
            )
        return out

    def replay_dead_letters(self, queue: str, *, message_ids: Sequence[str] | None = None) -> int:
        """Send a fresh copy of each dead-lettered message to its queue, then remove it from the DLQ."""
        wanted = set(message_ids) if message_ids is not None else None
        replayed = 0
        seen: set[str] = set()
        stamp = self._clock().strftime("%Y%m%d%H%M%S")
        with self._dlq_receiver(queue) as receiver:
            done = False
            while not done:
                batch = receiver.receive_messages(max_message_count=100, max_wait_time=1)
                if not batch:
                    break
                for m in batch:
                    if m.message_id in seen:  # came round again: every message has been looked at
                        receiver.abandon_message(m)
                        done = True
                        continue
                    seen.add(m.message_id)
                    if wanted is not None and m.message_id not in wanted:
                        receiver.abandon_message(m)
                        continue
                    body = json.loads(str(m))
                    self.send(queue, body, message_id=f"{m.message_id}#replay{stamp}")
                    receiver.complete_message(m)
                    replayed += 1
                if wanted is not None and replayed >= len(wanted):
                    break
        return replayed

    def close(self) -> None:
        with self._lock:
            for r in self._receivers.values():
                r.close()
            self._receivers.clear()
            for sender, _ in self._senders.values():
                sender.close()
            self._senders.clear()
        self._client.close()
