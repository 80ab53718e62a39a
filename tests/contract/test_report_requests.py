"""What reporting an incident costs in Cosmos DB round trips, counted at the SDK's transport
(as bench/request_counts.py counts them): nothing is read that a new incident cannot have."""

from __future__ import annotations

import collections
from urllib.parse import urlsplit

import pytest
from azure.core.pipeline.transport import RequestsTransport

from tests.d2p.helpers import report
from tests.fixtures_http import close_stamp, make_cosmos_stamp

pytestmark = pytest.mark.azure


class RequestLog:
    """Every request the Cosmos SDK sends, as (verb, collection)."""

    def __init__(self, monkeypatch):
        self.requests: list[tuple[str, str]] = []
        real = RequestsTransport.send

        def send(transport, request, **kwargs):
            headers = {k.lower(): v for k, v in request.headers.items()}
            if headers.get("x-ms-documentdb-isquery", "").lower() == "true" or "query+json" in headers.get("content-type", ""):
                verb = "query"
            elif headers.get("x-ms-cosmos-is-batch-request", "").lower() == "true":
                verb = "batch"
            else:
                verb = {"POST": "create", "GET": "read", "PUT": "replace", "DELETE": "delete"}.get(request.method, request.method)
            parts = urlsplit(request.url).path.strip("/").split("/")
            self.requests.append((verb, parts[parts.index("colls") + 1] if "colls" in parts[:-1] else "/"))
            return real(transport, request, **kwargs)

        monkeypatch.setattr(RequestsTransport, "send", send)

    def take(self) -> collections.Counter:
        got, self.requests = collections.Counter(self.requests), []
        return got


@pytest.fixture
def cosmos_stamp(cosmos_emulator, tmp_path):
    s = make_cosmos_stamp(tmp_path, cosmos_emulator)
    yield s
    close_stamp(s)


def test_a_report_reads_nothing_a_new_incident_cannot_have(cosmos_stamp, monkeypatch):
    log = RequestLog(monkeypatch)
    report(cosmos_stamp)  # warm: containers, partition key ranges and the force's rules
    log.take()
    incident = report(cosmos_stamp)
    sent = log.take()
    assert incident["d2p"]["rules_version"] == 1
    # Its entries, versions, dispatches, evidence and standing link do not exist yet; the
    # force's rules are held in memory; the sequence and the audit chain head are read.
    reads = {what for (verb, what) in sent if verb in ("read", "query")}
    assert reads <= {"sequences", "chain_heads", "incidents", "offender_standing"}, sent
    assert sent[("read", "incidents")] == 0 and sent[("read", "sequences")] == 1
    assert sum(sent.values()) <= 19, sent
