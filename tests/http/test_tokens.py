"""Sign-in: the local issuer and `make token`, the Entra ID shape (JWKS over HTTP, issuer
naming the tenant), and how claims become a principal."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest

from functions import cli
from shared import bootstrap
from shared.adapters.tokens import JwtVerifier, LocalJwksSource, RemoteJwksSource
from shared.domain.errors import Unauthorized
from shared.settings import get_settings

API = "/api/v1"


def _claims(stamp, org="northwind", **over):
    now = datetime.now(UTC)
    tid = stamp.container.directory.organisation(org).idp_tenant_id
    base = {
        "sub": "u1",
        "tid": tid,
        "roles": ["Retailer.Investigator"],
        "iss": stamp.container.settings.auth_issuer,
        "aud": stamp.container.settings.auth_audience,
        "nbf": int(now.timestamp()),
        "exp": int((now + timedelta(hours=1)).timestamp()),
    }
    base.update(over)
    return base


def _sign(stamp, claims):
    kid = json.loads(stamp.container.local_keys.jwks_path.read_text())["keys"][0]["kid"]
    return jwt.encode(claims, stamp.container.local_keys.private_path.read_bytes(), algorithm="RS256", headers={"kid": kid})


def test_make_token_mints_what_the_stamp_accepts(stamp, monkeypatch, capsys):
    """`make token` runs `python -m functions.cli token` against the same data dir."""
    monkeypatch.setenv("VIGIL_DATA_DIR", str(stamp.data_dir))
    get_settings.cache_clear()
    monkeypatch.setattr(bootstrap, "_default", None)
    try:
        assert cli.main(["token", "--org", "northwind", "--role", "Retailer.Reporter", "--stores", "nw-exeter"]) == 0
    finally:
        get_settings.cache_clear()
    token = capsys.readouterr().out.strip()
    claims = stamp.container.token_verifier.verify(token)
    assert claims["roles"] == ["Retailer.Reporter"] and claims["stores"] == ["nw-exeter"]
    body = stamp.example("IncidentIn")
    h = {"Authorization": f"Bearer {token}"}
    # Store staff report for their own store only.
    assert stamp.client.post(f"{API}/incidents", json={**body, "store_id": "nw-exeter"}, headers=h).status_code == 201
    assert stamp.client.post(f"{API}/incidents", json=body, headers=h).status_code == 403


def test_roles_of_another_kind_of_organisation_are_not_honoured(stamp):
    # A retailer's tenant cannot grant itself police roles, nor invent roles.
    token = _sign(stamp, _claims(stamp, roles=["Police.Analyst", "Platform.Operator", "Superuser"]))
    r = stamp.client.get(f"{API}/incidents", params={"purpose": "x" * 5}, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 403


def test_stores_claim_as_comma_separated_text(stamp):
    token = _sign(stamp, _claims(stamp, roles=["Retailer.Reporter"], stores="nw-exeter,nw-plymouth"))
    p = stamp.container.directory.principal_from_claims(stamp.container.token_verifier.verify(token))
    assert p.stores == frozenset({"nw-exeter", "nw-plymouth"})


def test_verifier_refuses_symmetric_or_none_algorithms_in_its_settings(stamp):
    source = LocalJwksSource(stamp.container.local_keys.jwks_path)
    for algs in (["HS256"], ["none"], ["RS256", "HS512"]):
        with pytest.raises(ValueError):
            JwtVerifier(source, issuer="x", audience="y", algorithms=algs)


class _Jwks(BaseHTTPRequestHandler):
    body = b""
    hits = 0

    def do_GET(self):  # noqa: N802 - http.server's name
        type(self).hits += 1
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def jwks_server(stamp):
    """Serves the stamp's JWKS over HTTP, as Entra ID publishes its keys."""
    _Jwks.body = stamp.container.local_keys.jwks_path.read_bytes()
    _Jwks.hits = 0
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Jwks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/discovery/v2.0/keys"
    server.shutdown()
    server.server_close()


def test_entra_shape_remote_jwks_and_issuer_naming_the_tenant(stamp, jwks_server):
    verifier = JwtVerifier(
        RemoteJwksSource(jwks_server), issuer="https://login.microsoftonline.com/{tid}/v2.0", audience="api://vigil", algorithms=["RS256"]
    )
    tid = stamp.container.directory.organisation("northwind").idp_tenant_id
    good = _sign(stamp, _claims(stamp, iss=f"https://login.microsoftonline.com/{tid}/v2.0"))
    assert verifier.verify(good)["tid"] == tid
    assert verifier.verify(good)["sub"] == "u1"
    assert _Jwks.hits == 1  # keys are cached
    # A token from another Entra tenant's issuer, claiming northwind's tid, is refused.
    other = _sign(stamp, _claims(stamp, iss="https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/v2.0"))
    with pytest.raises(Unauthorized, match="issuer"):
        verifier.verify(other)
    unknown_kid = jwt.encode(
        _claims(stamp), stamp.container.local_keys.private_path.read_bytes(), algorithm="RS256", headers={"kid": "not-published"}
    )
    with pytest.raises(Unauthorized):
        verifier.verify(unknown_kid)


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("roles", 7),
        ("roles", "Retailer.Investigator"),
        ("roles", {"Retailer.Investigator": True}),
        ("roles", ["Retailer.Investigator", ["Retailer.Admin"]]),
        ("roles", [{"value": "Retailer.Admin"}]),
        ("stores", 42),
        ("stores", {"nw-exeter": 1}),
        ("stores", ["nw-exeter", 3]),
        ("stores", [["nw-exeter"]]),
        ("sub", 12345),
        ("sub", {"oid": "u1"}),
        ("tid", ["x"]),
    ],
)
def test_claims_of_the_wrong_shape_are_401_naming_the_claim(stamp, claim, value):
    token = _sign(stamp, _claims(stamp, **{claim: value}))
    r = stamp.client.get(f"{API}/incidents", params={"purpose": "x" * 5}, headers=_bearer(token))
    assert r.status_code == 401, r.text[:300]
    p = r.json()
    assert claim in p["detail"] and p["errors"][0]["field"] == f"token.{claim}"


def test_token_living_longer_than_the_maximum_is_401(stamp):
    longest = stamp.container.settings.auth_max_token_lifetime_seconds
    now = int(datetime.now(UTC).timestamp())
    # Issued long ago but expiring soon: its lifetime (exp - iat) is too long.
    old = _sign(stamp, _claims(stamp, iat=now - longest, exp=now + 3600))
    # No iat, but expiring a year from now.
    distant = _sign(stamp, _claims(stamp, exp=now + 365 * 86400))
    for token in (old, distant):
        r = stamp.client.get(f"{API}/incidents", params={"purpose": "x" * 5}, headers=_bearer(token))
        assert r.status_code == 401, r.text[:300]
        assert str(longest) in r.json()["detail"]
    # Within the maximum it is answered.
    fine = _sign(stamp, _claims(stamp, iat=now, exp=now + longest - 60))
    assert stamp.client.get(f"{API}/incidents", params={"purpose": "x" * 5}, headers=_bearer(fine)).status_code == 200


@pytest.mark.parametrize("exp", [None, "tomorrow", True])
def test_token_without_a_numeric_exp_is_401(stamp, exp):
    claims = _claims(stamp)
    if exp is None:
        del claims["exp"]
    else:
        claims["exp"] = exp
    r = stamp.client.get(f"{API}/incidents", params={"purpose": "x" * 5}, headers=_bearer(_sign(stamp, claims)))
    assert r.status_code == 401, r.text[:300]
    if not isinstance(exp, bool):  # true is read as 1: expired in 1970
        assert "exp" in r.json()["detail"] and r.json()["errors"][0]["field"] == "token.exp"


def test_unknown_and_foreign_tenants_get_the_same_answer(stamp):
    """Neither status nor wording tells a caller whether a tenant is a Vigil organisation
    homed elsewhere or none at all; only the caller's own home region is named."""
    unknown = _sign(stamp, _claims(stamp, tid="00000000-0000-0000-0000-00000000beef"))
    foreign = _sign(stamp, _claims(stamp, org="koala-mart"))
    answers = [stamp.client.get(f"{API}/incidents", params={"purpose": "x" * 5}, headers=_bearer(t)) for t in (unknown, foreign)]
    assert [r.status_code for r in answers] == [421, 421]
    first, second = (r.json() for r in answers)
    assert first["type"] == second["type"] and first["title"] == second["title"]
    assert first["detail"].split(".")[0] == second["detail"].split(".")[0]
    assert "home_base_url" not in first and second["home_base_url"].startswith("https://au.")
    assert "koala" not in second["detail"]


def test_entra_object_id_not_the_pairwise_sub_is_the_user(stamp):
    """Entra gives one person a different `sub` in each app's tokens; their `oid` is the
    same everywhere. What they write is theirs under the oid, whichever token they used."""
    body = stamp.example("IncidentIn")
    made = []
    for pairwise_sub in ("sub-as-seen-by-the-api", "sub-as-seen-by-the-console"):
        token = _sign(stamp, _claims(stamp, sub=pairwise_sub, oid="person-object-id", roles=["Retailer.Investigator"]))
        r = stamp.client.post(f"{API}/incidents", json=body, headers=_bearer(token))
        assert r.status_code == 201, r.text[:300]
        made.append(r.json()["created_by"])
    assert made == ["person-object-id", "person-object-id"]
    # The local issuer's tokens carry no oid: their sub stays the user.
    plain = _sign(stamp, _claims(stamp, sub="local-user"))
    assert stamp.client.post(f"{API}/incidents", json=body, headers=_bearer(plain)).json()["created_by"] == "local-user"
    # An oid of the wrong shape is refused like any other claim, not replaced by sub.
    bad = _sign(stamp, _claims(stamp, oid=["x"]))
    r = stamp.client.post(f"{API}/incidents", json=body, headers=_bearer(bad))
    assert r.status_code == 401 and r.json()["errors"][0]["field"] == "token.oid"
