"""Every route refuses query parameters it does not declare: 422 problem details naming
the parameter, before anything is read or changed."""

from __future__ import annotations

import pytest

from tests.fixtures_http import make_stamp
from tests.http.test_authz_matrix import MATRIX, OWN, ROUTES, Ctx
from tests.http.test_openapi import PREFERENCE


@pytest.fixture(scope="module")
def ctx(tmp_path_factory):
    stamp = make_stamp(tmp_path_factory.mktemp("query"))
    yield Ctx(stamp)
    stamp.container.close()


@pytest.mark.parametrize("method,path", ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_unknown_query_parameter_is_refused(ctx, method, path):
    row = MATRIX[(method, path)]
    role = next((r for r in PREFERENCE if r in row.allowed), PREFERENCE[0])
    call = row.call(ctx, OWN[role])
    params = {**(call.params or {}), "unexpected_filter": "1"}
    r = ctx.stamp.client.request(
        call.method, call.url, json=call.json, params=params, content=call.content, headers={**call.headers, **ctx.auth(OWN[role], role)}
    )
    assert r.status_code == 422, f"{method} {path}: {r.status_code} {r.text[:300]}"
    assert r.headers["content-type"] == "application/problem+json"
    assert {"field": "query.unexpected_filter", "message": "unknown query parameter"} in r.json()["errors"], r.text
