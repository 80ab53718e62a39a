"""Bad input: every kind is refused with the right problem, and nothing is written.

Malformed JSON 400; wrong types and unknown fields 422; bodies past the bound 413
naming it; bad tokens 401 with a Bearer challenge; page sizes past the bound and
garbage continuation tokens 422. After each, every collection holds what it held before.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from shared.records import ALL
from tests.fixtures_http import make_stamp

API = "/api/v1"
PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def s(tmp_path_factory):
    stamp = make_stamp(tmp_path_factory.mktemp("bad-input"))
    yield stamp
    stamp.container.close()


@pytest.fixture(scope="module")
def incident(s):
    r = s.client.post(f"{API}/incidents", json=s.example("IncidentIn"), headers=s.auth("northwind", "Retailer.Investigator"))
    assert r.status_code == 201
    return r.json()


def counts(stamp) -> dict[str, int]:
    with stamp.container.records.unit_of_work() as uow:
        return {name: uow.count(name, None) for name in ALL}


@pytest.fixture
def unchanged(s, incident):
    """Asserts after the test that no collection gained or lost a record."""
    before = counts(s)
    yield
    assert counts(s) == before


def _problem(r, status):
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM
    body = r.json()
    assert body["status"] == status and body["type"].startswith("/api/v1/problems/") and body["detail"]
    assert "Traceback" not in r.text
    return body


# ---- bodies ----------------------------------------------------------------------


@pytest.mark.parametrize("raw", [b"{", b'{"store_id": "nw-plymouth",}', b"\xff\xfe not json", b"[1, 2", b"nul"])
def test_malformed_json_is_400(s, unchanged, raw):
    h = {**s.auth("northwind", "Retailer.Investigator"), "Content-Type": "application/json"}
    body = _problem(s.client.post(f"{API}/incidents", content=raw, headers=h), 400)
    assert body["type"].endswith("/malformed-json")


def test_malformed_json_on_patch_and_revert_is_400(s, unchanged, incident):
    h = {**s.auth("northwind", "Retailer.Investigator"), "Content-Type": "application/json", "If-Match": incident["etag"]}
    _problem(s.client.patch(f"{API}/incidents/{incident['id']}", content=b'{"narrative": ', headers=h), 400)
    _problem(s.client.post(f"{API}/incidents/{incident['id']}/revert", content=b"{version: 1}", headers=h), 400)


@pytest.mark.parametrize(
    "change,field",
    [
        ({"category": 5}, "category"),
        ({"category": "shoplifting-ish"}, "category"),
        ({"occurred_at": "yesterday afternoon"}, "occurred_at"),
        ({"occurred_at": "2026-11-20T14:32:00"}, "occurred_at"),  # no offset
        ({"narrative": ["a", "list"]}, "narrative"),
        ({"narrative": ""}, "narrative"),
        (
            {"goods": [{"description": "Whisky", "quantity": "six", "unit_value": {"amount_minor": 2899, "currency": "GBP"}}]},
            "goods.0.quantity",
        ),
        (
            {"goods": [{"description": "Whisky", "unit_value": {"amount_minor": 28.99, "currency": "GBP"}}]},
            "goods.0.unit_value.amount_minor",
        ),
        ({"goods": [{"description": "Whisky", "unit_value": {"amount_minor": -1, "currency": "GBP"}}]}, "goods.0.unit_value.amount_minor"),
        ({"goods": [{"description": "Whisky", "unit_value": {"amount_minor": 1, "currency": "pounds"}}]}, "goods.0.unit_value.currency"),
        ({"vehicles": [{"plate": "<script>"}]}, "vehicles.0.plate"),
        ({"prosecution_supported": "maybe"}, "prosecution_supported"),
        ({"reporter": "Sam"}, "reporter"),
        ({"persons": [{"role": "suspect", "date_of_birth": "31/02/2010"}]}, "persons.0.date_of_birth"),
    ],
)
def test_wrong_types_are_422_naming_the_field(s, unchanged, change, field):
    body = {**s.example("IncidentIn"), **change}
    problem = _problem(s.client.post(f"{API}/incidents", json=body, headers=s.auth("northwind", "Retailer.Investigator")), 422)
    assert any(e["field"] == field for e in problem["errors"]), problem["errors"]


@pytest.mark.parametrize(
    "change,field",
    [
        ({"severity": "high"}, "severity"),
        ({"flags": {"violence": True, "dog": True}}, "flags.dog"),
        ({"reporter": {"name": "Sam", "shoe_size": 9}}, "reporter.shoe_size"),
        (
            {"persons": [{"role": "suspect", "description": {"build": "slim", "tattoo_colour": "blue"}}]},
            "persons.0.description.tattoo_colour",
        ),
    ],
)
def test_unknown_fields_are_422_not_ignored(s, unchanged, change, field):
    body = {**s.example("IncidentIn"), **change}
    problem = _problem(s.client.post(f"{API}/incidents", json=body, headers=s.auth("northwind", "Retailer.Investigator")), 422)
    assert any(e["field"] == field for e in problem["errors"]), problem["errors"]


def test_unknown_fields_in_patch_and_revert_are_422(s, unchanged, incident):
    h = {**s.auth("northwind", "Retailer.Investigator"), "If-Match": incident["etag"]}
    _problem(s.client.patch(f"{API}/incidents/{incident['id']}", json={"narrative": "x", "status": "closed"}, headers=h), 422)
    _problem(s.client.post(f"{API}/incidents/{incident['id']}/revert", json={"version": 1, "force": True}, headers=h), 422)


def test_body_over_the_bound_is_413_naming_it(s, unchanged):
    bound = s.container.settings.max_json_body_bytes
    body = {**s.example("IncidentIn"), "narrative": "x" * (bound + 10)}
    problem = _problem(s.client.post(f"{API}/incidents", json=body, headers=s.auth("northwind", "Retailer.Investigator")), 413)
    assert str(bound) in problem["detail"] and problem["max_bytes"] == bound


def test_streamed_body_over_the_bound_is_413_without_content_length(s, unchanged):
    bound = s.container.settings.max_json_body_bytes

    def chunks():
        yield b'{"narrative": "'
        for _ in range(bound // 8192 + 2):
            yield b"x" * 8192
        yield b'"}'

    h = {**s.auth("northwind", "Retailer.Investigator"), "Content-Type": "application/json"}
    r = s.client.post(f"{API}/incidents", content=chunks(), headers=h)
    assert "content-length" not in r.request.headers
    assert str(bound) in _problem(r, 413)["detail"]


def test_declared_length_over_the_bound_is_413_before_reading(s, unchanged):
    bound = s.container.settings.max_json_body_bytes
    h = {**s.auth("northwind", "Retailer.Investigator"), "Content-Type": "application/json", "Content-Length": str(bound + 1)}
    r = s.client.post(f"{API}/incidents", content=b"{" + b" " * bound, headers=h)
    _problem(r, 413)


def test_lists_past_their_bound_are_422(s, unchanged):
    body = {**s.example("IncidentIn"), "vehicles": [{"plate": f"AB{i:02d} CDE"} for i in range(21)]}
    problem = _problem(s.client.post(f"{API}/incidents", json=body, headers=s.auth("northwind", "Retailer.Investigator")), 422)
    assert "20" in problem["detail"]


# ---- tokens ----------------------------------------------------------------------


def _claims(s, **over):
    org = s.container.directory.organisation("northwind")
    now = datetime.now(UTC)
    base = {
        "sub": "nw-user-1",
        "tid": org.idp_tenant_id,
        "roles": ["Retailer.Investigator"],
        "iss": s.container.settings.auth_issuer,
        "aud": s.container.settings.auth_audience,
        "iat": int(now.timestamp()),
        "nbf": int(now.timestamp()),
        "exp": int((now + timedelta(hours=1)).timestamp()),
    }
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def _kid(s):
    return json.loads(s.container.local_keys.jwks_path.read_text())["keys"][0]["kid"]


def _signed(s, claims, *, key=None, alg="RS256", kid=True):
    key = key if key is not None else s.container.local_keys.private_path.read_bytes()
    return jwt.encode(claims, key, algorithm=alg, headers={"kid": _kid(s)} if kid else None)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256_with_public_key(s, claims):
    """The key-confusion forgery: HMAC over the token with the RSA public key as the secret."""
    jwk = json.loads(s.container.local_keys.jwks_path.read_text())["keys"][0]
    public_pem = jwt.PyJWK(jwk).key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = _b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": jwk["kid"]}).encode()) + "." + _b64(json.dumps(claims).encode())
    sig = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(sig)


def _alg_none(claims):
    return _b64(json.dumps({"alg": "none", "typ": "JWT"}).encode()) + "." + _b64(json.dumps(claims).encode()) + "."


def _forged(s, claims):
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = other_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return _signed(s, claims, key=pem)


def _tampered(s, claims):
    header, payload, sig = _signed(s, claims).split(".")
    richer = _b64(json.dumps({**claims, "roles": ["Retailer.Admin"]}).encode())
    return f"{header}.{richer}.{sig}"


BAD_TOKENS = {
    "missing": lambda s: None,
    "not-bearer": lambda s: "Basic " + base64.b64encode(b"sam:secret").decode(),
    "empty-bearer": lambda s: "Bearer ",
    "garbage": lambda s: "Bearer not.a.jwt",
    "expired": lambda s: "Bearer " + _signed(s, _claims(s, iat=1_700_000_000, nbf=1_700_000_000, exp=1_700_003_600)),
    "not-yet-valid": lambda s: (
        "Bearer "
        + _signed(
            s,
            _claims(
                s,
                nbf=int((datetime.now(UTC) + timedelta(hours=2)).timestamp()),
                exp=int((datetime.now(UTC) + timedelta(hours=3)).timestamp()),
            ),
        )
    ),
    "forged-signature": lambda s: "Bearer " + _forged(s, _claims(s)),
    "tampered-payload": lambda s: "Bearer " + _tampered(s, _claims(s)),
    "alg-none": lambda s: "Bearer " + _alg_none(_claims(s)),
    "hs256-with-public-key": lambda s: "Bearer " + _hs256_with_public_key(s, _claims(s)),
    "wrong-audience": lambda s: "Bearer " + _signed(s, _claims(s, aud="api://someone-else")),
    "wrong-issuer": lambda s: "Bearer " + _signed(s, _claims(s, iss="https://evil.example/")),
    "no-expiry": lambda s: "Bearer " + _signed(s, _claims(s, exp=None)),
    "no-subject": lambda s: "Bearer " + _signed(s, _claims(s, sub=None)),
    "no-tenant": lambda s: "Bearer " + _signed(s, _claims(s, tid=None)),
}


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
def test_bad_tokens_are_401_with_bearer_challenge(s, unchanged, kind):
    value = BAD_TOKENS[kind](s)
    headers = {"Authorization": value} if value is not None else {}
    posted = s.client.post(f"{API}/incidents", json=s.example("IncidentIn"), headers=headers)
    read = s.client.get(f"{API}/incidents", headers=headers)
    for r in (posted, read):
        _problem(r, 401)
        assert r.headers["www-authenticate"].startswith("Bearer")


def test_the_good_token_of_the_same_shape_is_accepted(s):
    """The bad-token cases differ from a working token in one thing each."""
    r = s.client.get(f"{API}/incidents", headers={"Authorization": "Bearer " + _signed(s, _claims(s))})
    assert r.status_code == 200, r.text


def test_token_of_unknown_tenant_is_421_and_writes_nothing(s, unchanged):
    """The same answer as an organisation homed elsewhere (docs/tenancy.md), less its home."""
    token = _signed(s, _claims(s, tid="00000000-0000-0000-0000-000000000000"))
    p = _problem(s.client.post(f"{API}/incidents", json=s.example("IncidentIn"), headers={"Authorization": "Bearer " + token}), 421)
    assert "home_base_url" not in p


# ---- paging and queries ------------------------------------------------------------


@pytest.mark.parametrize("path", ["/incidents", "/audit"])
@pytest.mark.parametrize(
    "params",
    [
        {"limit": 101},
        {"limit": 0},
        {"limit": -5},
        {"limit": "ten"},
        {"continuation": "garbage!"},
        {"continuation": "eyJub3QiOiAiYSB0b2tlbiJ9"},
        {"continuation": "x" * 2001},
    ],
)
def test_page_size_and_continuation_bounds_are_422(s, unchanged, path, params):
    problem = _problem(s.client.get(API + path, params=params, headers=s.auth("northwind", "Retailer.Investigator")), 422)
    if params.get("limit") == 101:
        assert "100" in problem["detail"]


@pytest.mark.parametrize(
    "params", [{"from": "2026-11-01T00:00:00"}, {"from": "last week"}, {"category": "not-a-category"}, {"plate": "<>"}]
)
def test_bad_search_filters_are_422(s, unchanged, params):
    _problem(s.client.get(f"{API}/incidents", params=params, headers=s.auth("northwind", "Retailer.Investigator")), 422)


def test_bad_audit_entity_is_422(s, unchanged):
    _problem(s.client.get(f"{API}/audit", params={"entity": "no-slash"}, headers=s.auth("northwind", "Retailer.Admin")), 422)


def test_overlong_incident_id_is_422_naming_the_path_parameter(s, unchanged):
    """An id longer than the documented 64 characters is refused as invalid, before any look-up."""
    r = s.client.get(f"{API}/incidents/" + "a" * 65, headers=s.auth("northwind", "Retailer.Investigator"))
    problem = _problem(r, 422)
    assert [e["field"] for e in problem["errors"]] == ["path.incident_id"]
    assert "64" in problem["detail"]


# ---- changes (PATCH) -----------------------------------------------------------------

_GBP = {"description": "Whisky 70cl", "quantity": 1, "unit_value": {"amount_minor": 2899, "currency": "GBP"}}
_EUR = {"description": "Gin 70cl", "quantity": 1, "unit_value": {"amount_minor": 2500, "currency": "EUR"}}


@pytest.mark.parametrize(
    "change,field",
    [
        ({"flags": {"ethnicity": True}}, "flags.ethnicity"),
        ({"flags": {"violence": True, "Religion": False}}, "flags.Religion"),
        ({"flags": {"health": True}}, "flags.health"),
        ({"goods": [_GBP, _EUR]}, "goods"),
        ({"flags": {"violence": "very"}}, "flags.violence"),
        ({"flags": ["violence"]}, "flags"),
        ({"narrative": None}, "narrative"),
        ({"reporter": None}, "reporter"),
        ({"store_id": None}, "store_id"),
        ({"category": None}, "category"),
        ({"occurred_at": None}, "occurred_at"),
        ({"prosecution_supported": None}, "prosecution_supported"),
        ({"goods": [None]}, "goods.0"),
        ({"persons": [{"role": "suspect", "description": None}]}, "persons.0.description"),
    ],
)
def test_bad_changes_are_422_naming_the_field(s, unchanged, incident, change, field):
    h = {**s.auth("northwind", "Retailer.Investigator"), "If-Match": incident["etag"]}
    problem = _problem(s.client.patch(f"{API}/incidents/{incident['id']}", json=change, headers=h), 422)
    assert any(e["field"] == field for e in problem["errors"]), problem["errors"]
    if field.startswith("flags.") and field != "flags.violence":
        assert "special category" in problem["detail"].lower()
    if change.get(field, ...) is None:
        assert problem["detail"] == f"{field} cannot be removed."


@pytest.mark.parametrize(
    "change,field",
    [
        ({"flags": {"violence": True, "ethnicity": "white"}}, "flags.ethnicity"),
        ({"persons": [{"role": "suspect", "description": {"build": "slim", "religion": "x"}}]}, "persons.0.description.religion"),
        ({"goods": [_GBP, _EUR]}, "goods"),
    ],
)
def test_special_categories_and_mixed_currencies_in_a_report_are_422_naming_the_field(s, unchanged, change, field):
    body = {**s.example("IncidentIn"), **change}
    problem = _problem(s.client.post(f"{API}/incidents", json=body, headers=s.auth("northwind", "Retailer.Investigator")), 422)
    assert any(e["field"] == field for e in problem["errors"]), problem["errors"]
    if field != "goods":
        assert "special category" in problem["detail"].lower()
    else:
        assert "GBP" in problem["detail"] and "EUR" in problem["detail"]
