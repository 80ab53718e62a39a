"""Continuation tokens on every paged route, on both backends: a client can only hand back
a token this stamp gave it for the same listing (route, organisation, user, filters).
Anything else is 422 problem details naming `continuation`, never 500, and writes nothing."""

from __future__ import annotations

import base64
import json

import pytest

from shared.adapters.page_tokens import binding
from tests.fixtures_http import both_backends

API = "/api/v1"
ORG = "northwind"

# Every route that pages, with a role that may list it and the filters it needs.
# `test_the_table_holds_every_paged_route` keeps it complete.
PAGED_ROUTES = [
    ("/incidents", "Retailer.Investigator", {}),
    ("/audit", "Retailer.Investigator", {}),
    ("/subject-tasks", "Retailer.Admin", {}),
    ("/retention/tombstones", "Retailer.Investigator", {}),
    ("/anpr/reads", "Retailer.Investigator", {"plate": "WR21XKD", "purpose": "loss prevention review"}),
    ("/anpr/hits", "Retailer.Investigator", {}),
    ("/vehicles", "Retailer.Investigator", {}),
    ("/alert-subscriptions", "Retailer.Investigator", {}),
    ("/alert-subscriptions/{subscription_id}/deliveries", "Retailer.Investigator", {}),
    ("/footage-requests", "Retailer.Investigator", {}),
    # Lookouts: those the investigator's organisation issued.
    ("/lookouts", "Retailer.Investigator", {}),
    ("/referrals", "Retailer.Investigator", {}),
    # A force's D2P inbox: listed by the force's own people (ORG_OF names whose token lists it).
    ("/forces/{force_id}/d2p-inbox", "Police.Officer", {}),
    # Persons of interest.
    ("/offenders", "Retailer.Investigator", {}),
    ("/offenders/suggestions", "Retailer.Investigator", {}),
    # Intelligence: the repeat-offending ranking.
    ("/intel/repeat-offending", "Retailer.Investigator", {}),
    ("/groups", "Retailer.Investigator", {}),
]
# The organisation whose token lists a route, when it is not ORG.
ORG_OF = {"/forces/{force_id}/d2p-inbox": "devon-and-cornwall"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _user(role: str, org: str = ORG) -> str:
    # The subject `stamp.auth` gives a seeded organisation's role (functions/cli.py demo_token).
    return f"{org}-{role.split('.')[-1].lower()}"


def _paths_in_openapi(stamp) -> set[str]:
    doc = stamp.client.get(f"{API}/openapi.json").json()
    return {
        path.removeprefix(API)
        for path, ops in doc["paths"].items()
        for op in ops.values()
        if isinstance(op, dict) and any(p.get("name") == "continuation" for p in op.get("parameters", []))
    }


def test_the_table_holds_every_paged_route(stamp):
    assert _paths_in_openapi(stamp) == {path for path, _, _ in PAGED_ROUTES}


def _genuine_incidents_token(stamp) -> str:
    inv = stamp.auth(ORG, "Retailer.Investigator")
    for _ in range(2):
        assert stamp.client.post(f"{API}/incidents", json=stamp.example("IncidentIn"), headers=inv).status_code == 201
    token = stamp.client.get(f"{API}/incidents", params={"limit": 1}, headers=inv).json()["continuation"]
    assert token
    return token


def _genuine_audit_token(stamp) -> str:
    token = stamp.client.get(f"{API}/audit", params={"limit": 1}, headers=stamp.auth(ORG, "Retailer.Investigator")).json()["continuation"]
    assert token
    return token


def _crafted(stamp, path: str, role: str, params: dict, incidents_token: str, audit_token: str, org: str = ORG) -> dict[str, str]:
    """Every kind of token a client may send that this listing never gave it."""
    seal = stamp.container.page_tokens.seal
    route = f"GET {API}{path}"
    query = list(params.items())
    right = binding(route, org, _user(role, org), query)
    good_looking = seal("c3RvcmUtdG9rZW4", right)
    assert good_looking
    head, body, mac = good_looking.split(".")
    return {
        "not base64": "%%%not-base64%%%",
        "base64 of junk": _b64(b"\x00\x9fjunk\xff"),
        "base64 of json": _b64(json.dumps({"q": "x", "c": "y"}).encode()),
        "a store's own token": _b64(json.dumps(["2026-11-20T14:32:00.000000+00:00", ORG, "inc-1"]).encode()),
        "a store's token holding an object": _b64(json.dumps([{"$gt": ""}, ORG, "inc-1"]).encode()),
        "the right shape, a wrong seal": f"p1.{_b64(b'store-token')}.{_b64(b'x' * 32)}",
        "edited after sealing": f"{head}.{_b64(b'other-store-token')}.{mac}",
        "another route's": audit_token if path == "/incidents" else incidents_token,
        "another query's": seal("c3RvcmUtdG9rZW4", binding(route, org, _user(role, org), [*query, ("store", "nw-exeter")])),
        "another organisation's": seal("c3RvcmUtdG9rZW4", binding(route, "contoso" if org == ORG else ORG, _user(role, org), query)),
        "another user's": seal("c3RvcmUtdG9rZW4", binding(route, org, "someone-else", query)),
        # As if the sealing key had leaked: the store still refuses what it never wrote.
        "sealed junk": seal("garbage!", right),
        "sealed json of the wrong shape": seal(_b64(json.dumps([{"a": 1}, [2], 3]).encode()), right),
    }


@both_backends
def test_crafted_continuation_tokens_are_422_on_every_paged_route(stamp):
    incidents_token = _genuine_incidents_token(stamp)
    audit_token = _genuine_audit_token(stamp)
    inv = stamp.auth(ORG, "Retailer.Investigator")
    created = stamp.client.post(
        f"{API}/alert-subscriptions", json={"stores": ["nw-plymouth"], "email": ["lp@northwind.example"]}, headers=inv
    )
    assert created.status_code == 201, created.text
    failures = []
    for template, role, params in PAGED_ROUTES:
        org = ORG_OF.get(template, ORG)
        path = template.format(subscription_id=created.json()["id"], force_id=org)
        headers = stamp.auth(org, role)
        first = stamp.client.get(API + path, params=params, headers=headers)
        assert first.status_code == 200, f"{path}: {first.status_code} {first.text[:300]}"
        for case, token in _crafted(stamp, path, role, params, incidents_token, audit_token, org).items():
            r = stamp.client.get(API + path, params={**params, "continuation": token}, headers=headers)
            ok = (
                r.status_code == 422
                and r.headers["content-type"] == "application/problem+json"
                and any("continuation" in e["field"] for e in r.json()["errors"])
            )
            if not ok:
                failures.append(f"{path} {case}: {r.status_code} {r.text[:200]}")
    assert not failures, "\n".join(failures)


@both_backends
def test_a_token_continues_only_its_own_listing(stamp):
    """The genuine token goes on with the same filters, and any page size; with other
    filters, or for another user of the same organisation, it is refused."""
    inv = stamp.auth(ORG, "Retailer.Investigator")
    for _ in range(3):
        assert stamp.client.post(f"{API}/incidents", json=stamp.example("IncidentIn"), headers=inv).status_code == 201
    store = stamp.example("IncidentIn")["store_id"]
    first = stamp.client.get(f"{API}/incidents", params={"store": store, "limit": 1}, headers=inv).json()
    token = first["continuation"]
    more = stamp.client.get(f"{API}/incidents", params={"store": store, "limit": 5, "continuation": token}, headers=inv)
    assert more.status_code == 200 and len(more.json()["items"]) == 2
    assert {i["id"] for i in more.json()["items"]}.isdisjoint({i["id"] for i in first["items"]})
    unfiltered = stamp.client.get(f"{API}/incidents", params={"limit": 1, "continuation": token}, headers=inv)
    assert unfiltered.status_code == 422
    colleague = stamp.auth(ORG, "Retailer.Investigator", user="a-colleague")
    assert stamp.client.get(f"{API}/incidents", params={"store": store, "continuation": token}, headers=colleague).status_code == 422


@pytest.mark.parametrize("secret", ["a-long-shared-secret-of-the-stamp"])
def test_instances_sharing_the_key_accept_each_others_tokens(tmp_path, secret):
    """Every instance of a stamp seals with the key from settings: a next page may be asked of any."""
    from shared.adapters.page_tokens import page_tokens_from_settings

    one = page_tokens_from_settings(secret, backend="azure", key_dir=tmp_path / "a")
    two = page_tokens_from_settings(secret, backend="azure", key_dir=tmp_path / "b")
    bound = binding("GET /api/v1/incidents", ORG, "u", [])
    assert two.open(one.seal("inner", bound), bound) == "inner"
    # Without a key, local instances share the one generated under the data directory.
    local = page_tokens_from_settings("", backend="local", key_dir=tmp_path / "keys")
    again = page_tokens_from_settings("", backend="local", key_dir=tmp_path / "keys")
    assert again.open(local.seal("inner", bound), bound) == "inner"
    assert (tmp_path / "keys" / "page-token.key").stat().st_mode & 0o077 == 0
