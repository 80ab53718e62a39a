"""Keyset paging through the real azure-cosmos SDK with its HTTP transport replaced by a
fake Cosmos gateway (transport replaced, no service) that, like Cosmos for a
cross-partition ORDER BY, refuses the SDK's own continuation token. Page 2 works because
the store resumes from a keyset position, never from the SDK's token."""

from __future__ import annotations

import json

import pytest
import requests
from azure.core.pipeline.transport import RequestsTransport, RequestsTransportResponse
from azure.cosmos import CosmosClient, exceptions

from shared.adapters.azure.cosmos.store import CosmosRecordStore
from shared.ports import Where

TENANT = "org-fake"


class FakeCosmosGatewayTransport(RequestsTransport):
    """Answers the account and container reads and document queries from an in-memory list
    ordered by (captured_at, id), as a gateway running the query itself would; a query
    carrying an SDK continuation token gets the 400 Cosmos gives for a cross-partition
    ORDER BY. Keeps every request it answers."""

    def __init__(self, items):
        super().__init__()
        self.items = sorted(items, key=lambda i: (i["captured_at"], i["id"]))
        self.sent = []

    def _answer(self, request, status, body, headers=None):
        raw = requests.Response()
        raw.status_code = status
        raw.headers.update({"Content-Type": "application/json", "x-ms-request-charge": "1", **(headers or {})})
        raw._content = json.dumps(body).encode()
        raw.url = request.url
        return RequestsTransportResponse(request, raw)

    def send(self, request, **kwargs):
        self.sent.append(request)
        if request.method == "GET" and request.url.rstrip("/").endswith(":8081"):
            return self._answer(
                request,
                200,
                {
                    "id": "fake",
                    "writableLocations": [],
                    "readableLocations": [],
                    "userConsistencyPolicy": {"defaultConsistencyLevel": "Session"},
                },
            )
        if request.method == "GET" and "/colls/" in request.url and request.url.rstrip("/").count("/") == 6:
            container = request.url.rstrip("/").rsplit("/", 1)[1]
            return self._answer(request, 200, {"id": container, "_rid": "fakeRID=", "partitionKey": {"paths": ["/pk"], "kind": "Hash"}})
        if request.method == "POST" and request.url.rstrip("/").endswith("/docs"):
            if request.headers.get("x-ms-continuation"):
                return self._answer(
                    request,
                    400,
                    {"code": "BadRequest", "message": "The continuation token is not supported for cross-partition ORDER BY queries."},
                )
            query = json.loads(request.body)
            keyset = [p["value"] for p in query.get("parameters", []) if p["name"].startswith("@k")]
            rows = self.items
            if keyset:
                # The position's last two values are captured_at then id (see after_clause).
                at, id_ = keyset[-2], keyset[-1]
                rows = [r for r in rows if (r["captured_at"], r["id"]) > (at, id_)]
            size = int(request.headers.get("x-ms-max-item-count", "100"))
            headers = {"x-ms-continuation": "sdk-token"} if len(rows) > size else {}
            return self._answer(request, 200, {"Documents": rows[:size], "_count": len(rows[:size])}, headers)
        if request.method == "GET" and "/docs/" in request.url:
            id_ = request.url.rstrip("/").rsplit("/", 1)[1]
            found = [i for i in self.items if i["id"] == id_]
            if found:
                return self._answer(request, 200, {**found[0], "_etag": '"1"'})
        return self._answer(request, 404, {"code": "NotFound", "message": f"fake: {request.method} {request.url}"})


def _reads(n):
    return [
        {
            "id": f"read-{i:02d}",
            "tenantId": TENANT,
            "pk": f"{TENANT}|2026-{1 + i // 2:02d}",
            "plate": "AB12CDE",
            "captured_at": f"2026-{1 + i // 2:02d}-05T10:00:00.000000+00:00",
            "store_id": "s1",
            "vigilEtag": "e",
        }
        for i in range(n)
    ]


def _store(fake):
    store = CosmosRecordStore("https://fake.documents.azure.com:8081/", region="uks", key="a2V5", create_if_missing=False)
    store._client = CosmosClient(store.endpoint, credential="a2V5", transport=fake, enable_endpoint_discovery=False)
    return store


def test_sdk_continuation_is_refused_but_keyset_page_two_works_transport_replaced():
    fake = FakeCosmosGatewayTransport(_reads(5))
    store = _store(fake)
    container = store.container("anpr_reads")
    sdk_pages = container.query_items(
        "SELECT * FROM c ORDER BY c.captured_at", enable_cross_partition_query=True, max_item_count=2
    ).by_page()
    next(sdk_pages)
    with pytest.raises(exceptions.CosmosHttpResponseError) as refused:
        list(next(sdk_pages))  # the SDK sends its own token: refused
    assert refused.value.status_code == 400

    where = [Where("plate", "eq", "AB12CDE")]
    mark = len(fake.sent)
    got, token = [], None
    while True:
        with store.read_only() as uow:
            page = uow.query("anpr_reads", [TENANT], where, order_by="captured_at", limit=2, continuation=token)
        got.append([d["id"] for d in page.items])
        token = page.continuation
        if token is None:
            break
    assert got == [["read-00", "read-01"], ["read-02", "read-03"], ["read-04"]]
    queries = [r for r in fake.sent[mark:] if r.method == "POST"]
    assert len(queries) == 3  # one query a page
    assert not any(r.headers.get("x-ms-continuation") for r in queries)


def test_get_by_id_is_one_point_read_transport_replaced():
    incident = {"id": "inc-1", "tenantId": TENANT, "pk": TENANT, "store_id": "s1", "captured_at": "", "vigilEtag": "e"}
    fake = FakeCosmosGatewayTransport([incident])
    store = _store(fake)
    with store.read_only() as uow:
        # The SDK reads the container's partition key definition once per client.
        assert uow.get("incidents", TENANT, "inc-0") is None
    mark = len(fake.sent)
    with store.read_only() as uow:
        got = uow.get("incidents", TENANT, "inc-1")
    assert got is not None and got["store_id"] == "s1"
    calls = fake.sent[mark:]
    assert [(r.method, r.url.rstrip("/").rsplit("/", 2)[-2:]) for r in calls] == [("GET", ["docs", "inc-1"])]
    assert calls[0].headers["x-ms-documentdb-partitionkey"] == json.dumps([TENANT])
