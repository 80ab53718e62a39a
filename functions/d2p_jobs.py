"""D2P queue handler and timers, as plain functions over the D2P service (called by the
Azure triggers, the local runner and `make job`), and `make replay-dead-letters`."""

from __future__ import annotations

import logging
import sys
from datetime import datetime
from typing import Any

from functions.jobs import queue_handler, timer
from shared.bootstrap import Container
from shared.ports import JobReport

log = logging.getLogger("vigil.d2p")


@queue_handler("d2p_dispatch")
def dispatch(container: Container, body: dict[str, Any], delivery_count: int) -> None:
    """Render and send one dispatch. A transient failure raises, so the queue redelivers
    with backoff and dead-letters after the maximum deliveries."""
    outcome = container.d2p.delivery.handle(body, delivery_count)
    log.info("dispatch handled", extra={"dispatch_id": body.get("dispatch_id"), "outcome": outcome, "delivery": delivery_count})


# The safety net only: every change that writes an outbox message relays it right after
# its commit (OutboxRelay.relay_now), so this timer moves only what that missed (a queue
# outage, an instance recycled in between). Every 30 seconds, not every second: Flex
# Consumption bills each execution at least a second of the instance's memory, so a
# one-second timer alone would cost about $130 a month per stamp (docs/deploy.md, cost
# table). No schedule monitor: a missed run's work is simply the next run's.
@timer("outbox-relay", "*/30 * * * * *", use_monitor=False)
def outbox_relay(container: Container, as_of: datetime) -> JobReport:
    """Move outbox messages (D2P dispatches, ANPR alerts: written with their change) to their queues."""
    return container.outbox.relay(as_of)


@timer("d2p-unacknowledged", "0 0 * * * *")
def unacknowledged(container: Container, as_of: datetime) -> JobReport:
    """Report dispatches the force has not acknowledged within its set time."""
    return container.d2p.police.unacknowledged(as_of)


def main(argv: list[str] | None = None) -> int:
    """`make replay-dead-letters [IDS=a,b]`: list the dead-lettered dispatch messages (those
    the Azure trigger recorded and those in the queue's dead-letter queue) and put them back."""
    from shared.bootstrap import default_container

    args = argv if argv is not None else sys.argv[1:]
    ids = [i for i in args[0].split(",") if i] if args and args[0] else None
    container = default_container()
    try:
        before = container.d2p.delivery.dead_letters()
        for d in before:
            print(f"{d.source:8} {d.message_id} deliveries={d.delivery_count} at={d.dead_lettered_at} reason={d.reason}")
        n = container.d2p.delivery.replay_dead_letters(ids)
        print(f"replayed {n} of {len(before)} dead-lettered d2p dispatch message(s)")
    finally:
        container.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
