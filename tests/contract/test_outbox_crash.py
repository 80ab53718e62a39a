"""A process killed (SIGKILL) around the commit of a D2P dispatch: the message goes exactly
once, or, when the commit never completed, nothing stays and nothing is sent. Both backends."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from shared.adapters.clock import SystemClock
from shared.adapters.local.sqlite_queue import SqliteQueue
from shared.records import DISPATCHES, OUTBOX
from shared.services.d2p import QUEUE
from shared.services.messagebus import MessageBus
from shared.services.outbox import Outbox
from tests.contract.outbox_crash_child import DISPATCH_ID, TENANT
from tests.fixtures_backends import BACKENDS, drop_cosmos_store, make_cosmos_store

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path):
    """(record store, the child's arguments to open the same store)."""
    if request.param == "local":
        from shared.adapters.local.sqlite_records import SqliteRecordStore

        path = tmp_path / "records.sqlite"
        store = SqliteRecordStore(path)
        yield store, ["local", str(path)]
        store.close()
    else:
        emulator = request.getfixturevalue("cosmos_emulator")
        store = make_cosmos_store(emulator)
        prefix = store.database_name.rsplit("-", 1)[0]
        yield store, ["azure", emulator.endpoint, emulator.key, prefix]
        drop_cosmos_store(store)


def run_child(mode: str, queue_path: Path, store_args: list[str]) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run(
        [sys.executable, "-m", "tests.contract.outbox_crash_child", mode, str(queue_path), *store_args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == -signal.SIGKILL, proc.stderr


def delivered(queue: SqliteQueue) -> list[str]:
    return [m.message_id for m in queue.receive(QUEUE, max_messages=50, visibility_seconds=600)]


def test_killed_between_commit_and_relay_the_safety_net_sends_once(backend, tmp_path):
    store, store_args = backend
    run_child("after_commit", tmp_path / "queue.sqlite", store_args)
    queue = SqliteQueue(tmp_path / "queue.sqlite")
    outbox = Outbox(records=store, queue=queue, clock=SystemClock(), bus=MessageBus(None, {}))
    now = SystemClock().now()
    first = outbox.relay(now + timedelta(seconds=30))
    second = outbox.relay(now + timedelta(seconds=60))
    assert (first.counts["relayed"], second.counts["relayed"], first.counts["rolled_back"]) == (1, 0, 0)
    assert delivered(queue) == [DISPATCH_ID]
    with store.read_only() as uow:
        assert uow.get(DISPATCHES.name, TENANT, DISPATCH_ID)["status"] == "queued"


def test_killed_mid_commit_leaves_nothing_and_sends_nothing(backend, tmp_path):
    store, store_args = backend
    run_child("mid_commit", tmp_path / "queue.sqlite", store_args)
    queue = SqliteQueue(tmp_path / "queue.sqlite")
    outbox = Outbox(records=store, queue=queue, clock=SystemClock(), bus=MessageBus(None, {}))
    now = SystemClock().now()
    # A relay run while the unit could still be committing holds its message back...
    assert outbox.relay(now).counts["relayed"] == 0
    # ...and once the unit is surely dead, rolls back what it wrote.
    later = outbox.relay(now + timedelta(minutes=1))
    assert later.counts["relayed"] == 0
    assert later.counts["rolled_back"] == (1 if store_args[0] == "azure" else 0)
    assert delivered(queue) == []
    with store.read_only() as uow:
        assert uow.get(DISPATCHES.name, TENANT, DISPATCH_ID) is None
        assert uow.query(OUTBOX.name, None, limit=10).items == []


class BatchRecordingTransport:
    """A replaced SDK transport (a test fake): every request goes to the emulator except a
    transactional batch, which cosmosdb-server cannot run; that one is recorded and answered
    as Cosmos answers a batch that succeeded."""

    def __init__(self):
        from azure.core.pipeline.transport import RequestsTransport

        self.inner = RequestsTransport(connection_verify=False)
        self.batches: list = []

    def __enter__(self):
        self.inner.__enter__()
        return self

    def __exit__(self, *args):
        self.inner.__exit__(*args)

    def open(self):
        self.inner.open()

    def close(self):
        self.inner.close()

    def send(self, request, **kwargs):
        if request.headers.get("x-ms-cosmos-is-batch-request") != "True":
            return self.inner.send(request, **kwargs)
        import json

        from azure.core.pipeline.transport import HttpResponse

        ops = json.loads(request.data)
        self.batches.append((request, ops))
        body = json.dumps([{"statusCode": 204 if op["operationType"] == "Delete" else 201, "requestCharge": 1} for op in ops]).encode()

        class Answer(HttpResponse):
            def body(self):
                return body

        answer = Answer(request, None)
        answer.status_code = 200
        answer.headers = {"Content-Type": "application/json", "x-ms-request-charge": str(len(ops))}
        answer.reason = "OK"
        return answer


@pytest.mark.azure
def test_on_azure_the_outbox_entry_commits_in_one_transactional_batch_with_the_commit_point(cosmos_emulator, tmp_path):
    transport = BatchRecordingTransport()
    store = make_cosmos_store(cosmos_emulator, transactional_batch=True)
    store._client_options["transport"] = transport
    store._client = None
    store._database = None
    store._containers.clear()
    try:
        outbox = Outbox(records=store, queue=SqliteQueue(tmp_path / "queue.sqlite"), clock=SystemClock(), bus=MessageBus(None, {}))
        with store.unit_of_work() as uow:
            uow.insert(DISPATCHES.name, TENANT, {"id": DISPATCH_ID, "status": "queued"})
            outbox.put(uow, TENANT, queue=QUEUE, message_id=DISPATCH_ID, body={"dispatch_id": DISPATCH_ID})
        [(request, ops)] = transport.batches
        assert request.url.rstrip("/").endswith("/colls/outbox/docs")
        assert request.headers["x-ms-cosmos-batch-atomic"] == "True"
        assert request.headers["x-ms-documentdb-partitionkey"] == '["northwind"]'
        assert [op["operationType"] for op in ops] == ["Delete", "Create"]
        assert ops[0]["id"].startswith("intent-") and ops[0]["ifMatch"]
        assert ops[1]["resourceBody"]["id"] == DISPATCH_ID and ops[1]["resourceBody"]["pk"] == TENANT
        assert "commit" not in ops[1]["resourceBody"]  # in the batch, nothing to hold it back
    finally:
        drop_cosmos_store(store)
