"""Each principal's writes are budgeted per process: past the budget, 429 problem details
with Retry-After; reads, other people and camera systems are not affected."""

from __future__ import annotations

import pytest

from shared.services.quotas import WriteQuota
from tests.anpr.helpers import post_reads, read
from tests.evidence.conftest import upload
from tests.fakes import FakeMonotonic
from tests.fixtures_http import make_stamp

REPORTER = ("northwind", "Retailer.Reporter")


@pytest.fixture
def quota_stamp(tmp_path):
    """Three writes at once per person, refilled at one a second; camera systems six."""
    stamp = make_stamp(tmp_path, http_write_burst=3, http_writes_per_minute=60, http_device_write_burst=6, http_device_writes_per_minute=60)
    clock = FakeMonotonic()
    stamp.container.__dict__["write_quota"] = WriteQuota.from_settings(stamp.container.settings, clock=clock)
    stamp.quota_clock = clock  # type: ignore[attr-defined]
    yield stamp
    stamp.container.close()


def report(stamp, **auth):
    h = stamp.auth(*REPORTER, stores=["nw-plymouth"], **auth)
    return stamp.client.post("/api/v1/incidents", json=stamp.example("IncidentIn"), headers=h)


def test_writes_past_a_persons_budget_get_429_with_retry_after(quota_stamp):
    s = quota_stamp
    assert [report(s).status_code for _ in range(3)] == [201, 201, 201]
    refused = report(s)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "1"
    assert refused.headers["content-type"] == "application/problem+json"
    problem = refused.json()
    assert problem["type"].endswith("/rate-limited") and problem["scope"] == "writes"
    assert (problem["limit"], problem["per_minute"], problem["retry_after_seconds"]) == (3, 60, 1)
    assert "3 at once, then 60 a minute" in problem["detail"]
    # Nothing was written by the refused request.
    listed = s.client.get("/api/v1/incidents", headers=s.auth(*REPORTER, stores=["nw-plymouth"])).json()
    assert len(listed["items"]) == 3
    # Reads are not writes: still served.
    assert s.client.get("/api/v1/incidents", headers=s.auth(*REPORTER, stores=["nw-plymouth"])).status_code == 200
    # Another person of the same organisation has a budget of their own.
    assert report(s, user="colleague@northwind.example").status_code == 201
    s.quota_clock.advance(1)
    assert [report(s).status_code for _ in range(2)] == [201, 429]


def test_camera_systems_have_their_own_higher_budget(quota_stamp):
    s = quota_stamp
    for _ in range(3):
        report(s)
    assert report(s).status_code == 429
    posted = [post_reads(s, [read(s)]).status_code for _ in range(7)]
    assert posted == [200] * 6 + [429]


def test_requests_without_a_token_are_not_counted(quota_stamp):
    s = quota_stamp
    for _ in range(5):
        assert s.client.post("/api/v1/incidents", json=s.example("IncidentIn")).status_code == 401
    assert report(s).status_code == 201


def test_an_evidence_upload_is_one_write(quota_stamp):
    s = quota_stamp
    incident = report(s).json()["id"]
    assert [upload(s, incident).status_code for _ in range(2)] == [201, 201]
    refused = upload(s, incident)
    assert refused.status_code == 429 and refused.json()["scope"] == "writes"


def test_the_api_document_names_the_budgets(tmp_path):
    stamp = make_stamp(tmp_path)
    try:
        paths = stamp.client.get("/api/v1/openapi.json").json()["paths"]
    finally:
        stamp.container.close()
    writes = [
        (m, p, op) for p, ops in paths.items() for m, op in ops.items() if m in ("post", "put", "patch", "delete") and op.get("x-roles")
    ]
    assert writes and all("429" in op["responses"] and "300 changes at once" in op["description"] for _, _, op in writes)
    # Signed by SendGrid, not by a person's token: never charged, so no budget is promised.
    sendgrid = paths["/api/v1/webhooks/sendgrid"]["post"]
    assert "401" in sendgrid["responses"] and "429" not in sendgrid["responses"] and "changes at once" not in sendgrid["description"]
    for method, path in (("get", "/api/v1/evidence/{evidence_id}/face-proposals"), ("post", "/api/v1/evidence/{evidence_id}/redactions")):
        op = paths[path][method]
        assert {"413", "429", "503"} <= set(op["responses"]) and "36000000 pixels" in op["description"]


def test_an_identity_the_operator_named_for_an_import_has_the_import_budget(tmp_path):
    stamp = make_stamp(
        tmp_path,
        http_write_burst=2,
        http_writes_per_minute=60,
        http_import_principals=["northwind/lp-migration-app"],
        http_import_write_burst=8,
        http_import_writes_per_minute=60,
    )
    try:
        stamp.container.__dict__["write_quota"] = WriteQuota.from_settings(stamp.container.settings, clock=FakeMonotonic())

        def post(user: str, org: str = "northwind", store: str = "nw-plymouth"):
            body = {**stamp.example("IncidentIn"), "store_id": store}
            return stamp.client.post(
                "/api/v1/incidents", json=body, headers=stamp.auth(org, "Retailer.Investigator", user=user)
            ).status_code

        assert [post("lp-migration-app") for _ in range(9)] == [201] * 8 + [429]
        # A person keeps a person's budget, and the same user id in another organisation is not named.
        assert [post("lp-analyst") for _ in range(3)] == [201, 201, 429]
        assert [post("lp-migration-app", "contoso", "ct-bristol") for _ in range(3)] == [201, 201, 429]
    finally:
        stamp.container.close()


def test_an_import_principal_must_name_its_organisation():
    from pydantic import ValidationError

    from shared.settings import Settings

    with pytest.raises(ValidationError):
        Settings(http_import_principals=["lp-migration-app"])
