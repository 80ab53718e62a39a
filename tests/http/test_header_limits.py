"""Request headers are bounded: too many fields, or too many bytes in all, is 431 problem
details before any handler (or token check) runs; `make run`'s uvicorn bounds its buffer."""

from __future__ import annotations

import pytest

API = "/api/v1"


def _problem(r, status):
    assert r.status_code == status, r.text[:300]
    assert r.headers["content-type"] == "application/problem+json"
    return r.json()


def test_too_many_header_fields_is_431(stamp):
    bound = stamp.container.settings.max_header_count
    headers = {f"x-filler-{i}": "1" for i in range(bound)}
    p = _problem(stamp.client.get(f"{API}/healthz", headers=headers), 431)
    assert p["type"].endswith("/request-header-fields-too-large") and str(bound) in p["detail"]
    assert p["errors"][0]["field"] == "headers"
    # At the bound (counting the client's own few) it is answered as usual.
    assert stamp.client.get(f"{API}/healthz", headers={f"x-filler-{i}": "1" for i in range(bound - 10)}).status_code == 200


def test_repeated_header_fields_each_count_towards_the_bound(stamp):
    """The same name many times is many fields: each repeat is a field the server parses."""
    bound = stamp.container.settings.max_header_count
    headers = [("x-repeated", "1")] * (bound + 1)
    p = _problem(stamp.client.get(f"{API}/healthz", headers=headers), 431)
    assert str(bound) in p["detail"] and p["max_header_count"] == bound


@pytest.mark.parametrize("shape", ["one large", "many medium"])
def test_too_many_header_bytes_is_431(stamp, shape):
    bound = stamp.container.settings.max_header_bytes
    if shape == "one large":
        headers = {"x-large": "a" * (bound + 1)}
    else:
        headers = {f"x-medium-{i}": "b" * 1000 for i in range(bound // 1000 + 1)}
    auth = stamp.auth("northwind", "Retailer.Investigator")
    r = stamp.client.get(f"{API}/incidents", headers={**auth, **headers})
    p = _problem(r, 431)
    assert str(bound) in p["detail"] and p["max_header_bytes"] == bound
    assert r.headers["x-content-type-options"] == "nosniff" and r.headers["x-request-id"]


def test_make_run_bounds_what_uvicorn_buffers(tmp_path):
    from functions.local_runner import uvicorn_config
    from shared.bootstrap import Container
    from shared.settings import Settings

    container = Container(Settings(data_dir=tmp_path))
    try:
        config = uvicorn_config(container)
    finally:
        container.close()
    assert config.h11_max_incomplete_event_size == container.settings.max_header_bytes + 8 * 1024
    assert config.access_log is False  # the app writes its own access line
