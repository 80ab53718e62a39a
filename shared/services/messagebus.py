"""The in-process message bus: publishes domain events to the handlers the handler
table names, inside the publisher's unit of work, so whatever a handler writes commits
or rolls back with the change that caused it.

Handlers are plain functions `(event, uow, services) -> result`. `services` is the
composition root's container, so a handler reaches the capability it belongs to
without any service holding a callable another service injected. Results come back to
the publisher in table order: an incident's answer gathers the fields its handlers
return, and an erasure counts what its handlers removed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from shared.domain.events import Event
from shared.ports import UnitOfWork

Handler = Callable[[Any, UnitOfWork, Any], Any]


class MessageBus:
    def __init__(self, services: Any, handlers: Mapping[type[Event], Sequence[Handler]]):
        self.services = services
        self.handlers = handlers

    def publish(self, uow: UnitOfWork, event: Event) -> list[Any]:
        """Run every handler of the event's type in `uow`; their results, in table order.

        An exception from a handler propagates to the publisher, whose unit of work then
        rolls back everything the change and its handlers wrote.
        """
        return [handler(event, uow, self.services) for handler in self.handlers.get(type(event), ())]

    def gather(self, uow: UnitOfWork, event: Event) -> dict[str, Any]:
        """Publish and merge the fields handlers return (for events that shape an answer)."""
        merged: dict[str, Any] = {}
        for result in self.publish(uow, event):
            merged.update(result or {})
        return merged
