"""Run by tests/contract/test_outbox_crash.py in a process of its own: commit a D2P
dispatch and the outbox message it owes in one unit of work, and die by SIGKILL at the
point the test names. Nothing after the kill runs: no undo, no relay, no cleanup.

    python -m tests.contract.outbox_crash_child <after_commit|mid_commit> <queue.sqlite> local <records.sqlite>
    python -m tests.contract.outbox_crash_child <after_commit|mid_commit> <queue.sqlite> azure <endpoint> <key> <prefix>
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from shared.adapters.clock import SystemClock
from shared.adapters.local.sqlite_queue import SqliteQueue
from shared.records import DISPATCHES
from shared.services.d2p import QUEUE
from shared.services.messagebus import MessageBus
from shared.services.outbox import Outbox

TENANT = "northwind"
DISPATCH_ID = "inc-1.devon-and-cornwall"


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def open_store(args: list[str]):
    if args[0] == "local":
        from shared.adapters.local.sqlite_records import SqliteRecordStore

        return SqliteRecordStore(Path(args[1]))
    from shared.adapters.azure.cosmos import CosmosRecordStore

    return CosmosRecordStore(args[1], key=args[2], region="uk", database_prefix=args[3])


def main(mode: str, queue_path: str, store_args: list[str]) -> None:
    store = open_store(store_args)
    outbox = Outbox(records=store, queue=SqliteQueue(Path(queue_path)), clock=SystemClock(), bus=MessageBus(None, {}))
    if mode == "after_commit":
        outbox.relay_now = lambda tenant, ids: die()  # type: ignore[method-assign]
    elif store_args[0] == "azure":
        from shared.adapters.azure.cosmos import unit_of_work

        # Every write has landed; the commit point (the intent's delete) is next.
        unit_of_work.intents.commit = lambda store, intent: die()
    with store.unit_of_work() as uow:
        uow.insert(
            DISPATCHES.name, TENANT, {"id": DISPATCH_ID, "incident_id": "inc-1", "force_id": "devon-and-cornwall", "status": "queued"}
        )
        outbox.put(uow, TENANT, queue=QUEUE, message_id=DISPATCH_ID, body={"dispatch_id": DISPATCH_ID, "owner_org": TENANT})
        if mode == "mid_commit" and store_args[0] == "local":
            die()  # inside the open SQLite transaction
    outbox.relay_now(TENANT, [DISPATCH_ID])


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
