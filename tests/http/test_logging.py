"""One access line per request with a request id, the id on every log line made while the
request is handled and in the answer, the fields of `extra=` printed, no personal data."""

from __future__ import annotations

import logging

import pytest

from functions.http.observability import KeyValueFormatter

API = "/api/v1"


@pytest.fixture
def lines(caplog):
    caplog.set_level(logging.DEBUG)
    formatter = KeyValueFormatter()
    return lambda: [formatter.format(r) for r in caplog.records]


def access_records(caplog):
    return [r for r in caplog.records if r.name == "vigil.http.access"]


def test_one_access_line_per_request_with_the_callers_request_id(stamp, caplog, lines):
    inv = stamp.auth("northwind", "Retailer.Investigator")
    r = stamp.client.get(f"{API}/incidents", headers={**inv, "X-Request-Id": "gw-7f3a.42:1"})
    assert r.status_code == 200 and r.headers["x-request-id"] == "gw-7f3a.42:1"
    [access] = access_records(caplog)
    assert (access.method, access.route, access.status, access.request_id) == ("GET", "/api/v1/incidents", 200, "gw-7f3a.42:1")
    [line] = [x for x in lines() if " access " in x]
    assert "request_id=gw-7f3a.42:1" in line and "route=/api/v1/incidents" in line and "status=200" in line


@pytest.mark.parametrize("sent", [None, "", "has space", "new\nline", "x" * 129, 'quote"d', "ünï"])
def test_a_missing_or_malformed_request_id_is_replaced(stamp, caplog, sent):
    headers = {} if sent is None else {"X-Request-Id": sent.encode()}
    r = stamp.client.get(f"{API}/healthz", headers=headers)
    rid = r.headers["x-request-id"]
    assert rid and rid != sent and len(rid) == 32 and rid.isalnum()
    assert [a.request_id for a in access_records(caplog)] == [rid]


def test_every_line_of_a_request_carries_its_id_even_from_the_thread_pool(stamp, caplog, lines, monkeypatch):
    """Handlers run in worker threads; a line they log still names the request."""
    search = stamp.container.incidents.search
    real = search.find

    def find(*args, **kwargs):
        logging.getLogger("vigil.incidents").info("searching", extra={"filters": 2})
        return real(*args, **kwargs)

    monkeypatch.setattr(search, "find", find)
    r = stamp.client.get(f"{API}/incidents", headers={**stamp.auth("northwind", "Retailer.Investigator"), "X-Request-Id": "req-1"})
    assert r.status_code == 200
    [inside] = [x for x in lines() if "searching" in x]
    assert inside.endswith("searching filters=2 organisation=northwind request_id=req-1"), inside


def test_an_unexpected_error_is_logged_and_answered_with_the_request_id(stamp, caplog, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(stamp.container.incidents.search, "find", boom)
    r = stamp.client.get(f"{API}/incidents", headers={**stamp.auth("northwind", "Retailer.Investigator"), "X-Request-Id": "req-500"})
    assert r.status_code == 500 and r.headers["x-request-id"] == "req-500"
    assert "disk on fire" not in r.text and r.headers["content-type"] == "application/problem+json"
    [error] = [x for x in caplog.records if x.getMessage() == "unhandled error"]
    assert error.request_id == "req-500" and error.exc_info
    assert [(a.status, a.request_id) for a in access_records(caplog)] == [(500, "req-500")]


def test_make_run_logging_quiets_http_client_libraries():
    from functions.http.observability import configure_logging

    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        configure_logging("INFO")
        assert isinstance(root.handlers[0].formatter, KeyValueFormatter)
        for name in ("httpx", "httpcore", "azure"):
            assert logging.getLogger(name).getEffectiveLevel() == logging.WARNING
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)


def test_extra_fields_are_printed_as_key_value():
    record = logging.LogRecord("vigil.jobs", logging.INFO, __file__, 1, "job finished", None, None)
    record.__dict__.update(job="retention", counts={"incidents_deleted": 2}, note="two words", request_id=None)
    line = KeyValueFormatter().format(record)
    assert line.endswith('INFO vigil.jobs job finished job=retention counts={"incidents_deleted":2} note="two words"'), line


def test_no_personal_data_in_logs(stamp, caplog, lines):
    """A report with names, a narrative and a plate, then searches by plate: the lines name
    routes and ids, never what was reported or searched for."""
    body = stamp.example("IncidentIn")
    reporter = stamp.auth("northwind", "Retailer.Reporter", stores=["nw-plymouth"])
    assert stamp.client.post(f"{API}/incidents", json=body, headers=reporter).status_code == 201
    inv = stamp.auth("northwind", "Retailer.Investigator")
    assert stamp.client.get(f"{API}/incidents", params={"plate": "WR21 XKD"}, headers=inv).status_code == 200
    assert stamp.client.put(f"{API}/vehicles/WR21XKD", json={"reason": "Used in thefts at nw-plymouth"}, headers=inv).status_code in (
        200,
        201,
    )
    # The test client's own httpx lines name its URLs; `make run` keeps httpx at WARNING.
    text = "\n".join(x for x, r in zip(lines(), caplog.records, strict=True) if not r.name.startswith(("httpx", "httpcore")))
    assert "route=/api/v1/vehicles/{plate}" in text
    personal = ["WR21XKD", "WR21 XKD", "WR21%20XKD", body["narrative"][:30]]
    personal += [p["name"] for p in body.get("persons", []) if p.get("name")]
    personal += [body["reporter"]["name"]] if body.get("reporter", {}).get("name") else []
    for value in personal:
        assert value not in text, f"{value!r} was logged"
