"""`RecordStore.create_all`: many new documents stored at once, each once however often it is
sent. Both backends; on Cosmos DB the requests are checked at the SDK's transport."""

from __future__ import annotations

import json
import uuid

import pytest

from shared.ports import Where
from shared.records import ANPR_READS
from tests.fixtures_backends import drop_cosmos_store, make_cosmos_store


def _tenant() -> str:
    return "org-" + uuid.uuid4().hex[:12]


def plate_read(n: int, month: str = "2026-11", **extra) -> dict:
    """A plate read as the ingest stores it (its id starts with its capture time, so it fixes its month)."""
    captured = f"{month}-{1 + n % 28:02d}T10:{n % 60:02d}:00.000000+00:00"
    return {
        "id": f"{month.replace('-', '')}{n:06d}-{uuid.uuid4().hex}",
        "plate": f"AB{n:04d}",
        "store_id": "nw-plymouth",
        "camera_id": "cam-1",
        "captured_at": captured,
        "expires_at": "2099-01-01T00:00:00.000000+00:00",
        **extra,
    }


def stored_ids(store, tenant: str) -> set[str]:
    with store.read_only() as uow:
        return {d["id"] for d in uow.query(ANPR_READS.name, [tenant], [Where("store_id", "eq", "nw-plymouth")], limit=1000).items}


def test_a_resent_batch_is_stored_once(record_store):
    tenant = _tenant()
    first = [plate_read(i) for i in range(3)]
    assert record_store.create_all(ANPR_READS.name, tenant, first) == [True, True, True]
    # Re-sent with new reads around the old ones, and one read twice in the same call.
    later = [plate_read(10), plate_read(11)]
    again = [later[0], first[0], later[1], first[2], later[1]]
    assert record_store.create_all(ANPR_READS.name, tenant, again) == [True, False, True, False, False]
    assert record_store.create_all(ANPR_READS.name, tenant, again) == [False] * 5
    assert stored_ids(record_store, tenant) == {d["id"] for d in first + later}


def test_a_batch_spanning_two_months_is_stored_whole(record_store):
    tenant = _tenant()
    docs = [plate_read(i, "2026-10" if i % 2 else "2026-11") for i in range(120)]
    assert record_store.create_all(ANPR_READS.name, tenant, docs) == [True] * 120
    assert record_store.create_all(ANPR_READS.name, tenant, docs[::-1]) == [False] * 120
    assert stored_ids(record_store, tenant) == {d["id"] for d in docs}
    with record_store.read_only() as uow:
        october = uow.query(ANPR_READS.name, [tenant], [Where("captured_at", "lt", "2026-11-01T00:00:00")], limit=1000).items
    assert len(october) == 60


def test_it_refuses_to_run_inside_a_unit_of_work(record_store):
    """Its writes are its own: inside a unit they would not roll back with it."""
    tenant = _tenant()
    with pytest.raises(RuntimeError):
        with record_store.unit_of_work():
            record_store.create_all(ANPR_READS.name, tenant, [plate_read(1)])
    assert stored_ids(record_store, tenant) == set()


class RecordingTransport:
    """A replaced SDK transport (a test fake): every request goes on to the emulator and is
    recorded, so a test sees what the production code sends to Cosmos DB."""

    def __init__(self):
        from azure.core.pipeline.transport import RequestsTransport

        self.inner = RequestsTransport(connection_verify=False)
        self.requests: list = []

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
        response = self.inner.send(request, **kwargs)
        self.requests.append((request, response.status_code))
        return response

    def take(self) -> list[tuple[str, str, int]]:
        """(kind, partition key header, status) of each request to anpr_reads since the last take."""
        got, self.requests = self.requests, []
        out = []
        for request, status in got:
            if "/colls/anpr_reads/" not in request.url + "/":
                continue
            headers = {k.lower(): v for k, v in request.headers.items()}
            if headers.get("x-ms-cosmos-is-batch-request") == "True":
                assert headers["x-ms-cosmos-batch-atomic"] == "True"
                kind = f"batch of {len(json.loads(request.data))}"
            elif headers.get("x-ms-documentdb-isquery") == "True" or "query+json" in headers.get("content-type", ""):
                kind = "query"
            else:
                kind = request.method
            out.append((kind, headers.get("x-ms-documentdb-partitionkey", ""), status))
        return out


@pytest.fixture
def recorded_cosmos(cosmos_emulator):
    """A Cosmos record store whose requests the test sees: (store, transport)."""
    transport = RecordingTransport()
    store = make_cosmos_store(cosmos_emulator, transactional_batch=True)
    store._client_options["transport"] = transport
    store._client = None
    store._database = None
    store._containers.clear()
    store.container(ANPR_READS.name)
    transport.take()
    try:
        yield store, transport
    finally:
        drop_cosmos_store(store)


@pytest.mark.azure
def test_on_cosmos_250_reads_are_three_transactional_batches(recorded_cosmos):
    store, transport = recorded_cosmos
    tenant = _tenant()
    assert store.create_all(ANPR_READS.name, tenant, [plate_read(i) for i in range(250)]) == [True] * 250
    partition = json.dumps([f"{tenant}|2026-11"])
    assert transport.take() == [("batch of 100", partition, 200), ("batch of 100", partition, 200), ("batch of 50", partition, 200)]


@pytest.mark.azure
def test_on_cosmos_a_resent_read_costs_one_query_and_one_more_batch(recorded_cosmos):
    """A batch meeting a stored id writes nothing (409); the stored ids of its partition are
    found with one query and the batch goes again without them."""
    store, transport = recorded_cosmos
    tenant = _tenant()
    old = [plate_read(i) for i in range(3)]
    store.create_all(ANPR_READS.name, tenant, old)
    transport.take()
    new = [plate_read(i) for i in range(10, 15)]
    # The stored read first: cosmosdb-server, which is not atomic, then writes nothing either.
    assert store.create_all(ANPR_READS.name, tenant, [old[1], *new]) == [False] + [True] * 5
    partition = json.dumps([f"{tenant}|2026-11"])
    assert [(kind, pk) for kind, pk, _ in transport.take()] == [("batch of 6", partition), ("query", partition), ("batch of 5", partition)]


@pytest.mark.azure
def test_on_cosmos_large_reads_are_split_under_the_2_mb_batch_limit(recorded_cosmos):
    store, transport = recorded_cosmos
    tenant = _tenant()
    patch = "A" * 30_000  # a plate patch near the largest a read may carry, base64
    assert store.create_all(ANPR_READS.name, tenant, [plate_read(i, plate_image=patch) for i in range(100)]) == [True] * 100
    sizes = [kind for kind, _, status in transport.take() if status == 200]
    assert len(sizes) == 2 and sum(int(k.rsplit(" ", 1)[1]) for k in sizes) == 100


class FakeBatchContainer:
    """A test fake of a Cosmos container: every batch fails with `status`."""

    def __init__(self, status: int):
        self.status = status
        self.batches = 0

    def execute_item_batch(self, operations, partition_key):
        from azure.cosmos.exceptions import CosmosBatchOperationError

        self.batches += 1
        raise CosmosBatchOperationError(error_index=0, headers={}, status_code=self.status, message="refused", operation_responses=[])

    def query_items(self, sql, parameters, partition_key):
        # Each round, another writer has just stored the first id still pending.
        ids = parameters[1]["value"]
        return [{"id": ids[0], "vigilEtag": "theirs"}]


@pytest.mark.parametrize("status", [429, 503])
def test_a_throttled_or_failing_batch_is_unavailable_not_a_conflict(status):
    from shared.adapters.azure.cosmos.bulk import _create_batch
    from shared.domain.errors import Unavailable

    container = FakeBatchContainer(status)
    with pytest.raises(Unavailable):
        _create_batch(container, "t|2026-11", [("a", {"id": "a", "vigilEtag": "mine"})])
    assert container.batches == 1


def test_a_batch_that_keeps_meeting_new_conflicts_gives_up_as_unavailable():
    from shared.adapters.azure.cosmos.bulk import _create_batch
    from shared.domain.errors import Unavailable

    container = FakeBatchContainer(409)
    entries = [(f"r{i}", {"id": f"r{i}", "vigilEtag": "mine"}) for i in range(10)]
    with pytest.raises(Unavailable):
        _create_batch(container, "t|2026-11", entries)
    assert container.batches == 5


def test_a_batch_refused_for_another_reason_is_raised_as_it_is():
    from azure.cosmos.exceptions import CosmosBatchOperationError

    from shared.adapters.azure.cosmos.bulk import _create_batch

    with pytest.raises(CosmosBatchOperationError):
        _create_batch(FakeBatchContainer(400), "t|2026-11", [("a", {"id": "a", "vigilEtag": "mine"})])
