"""Bearer-token checks with PyJWT against a JWKS: local key file or Entra ID's keys."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jwt
from jwt import PyJWK, PyJWKClient, PyJWKSet

from shared.domain.errors import Unauthorized

# Asymmetric algorithms only: an HMAC algorithm with an RSA public key as the secret is
# the classic key-confusion forgery, and "none" is no signature at all.
_ALLOWED = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"}

# The tenant placeholders of a multi-tenant issuer: "{tid}" in Vigil's settings, and
# "{tenantid}" as Entra's own "organizations" OpenID configuration writes it.
_TENANT_PLACEHOLDERS = ("{tid}", "{tenantid}")
# An Entra tenant id is a GUID: anything else in tid could not have been put in an issuer
# by Entra, so it never fills the placeholder.
_TENANT_ID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _as_list(value: str | Sequence[str]) -> list[str]:
    values = [value] if isinstance(value, str) else list(value)
    return [v for v in values if v]


class LocalJwksSource:
    """Keys from the JWKS file `make run` writes under var/; reloaded when the file changes."""

    def __init__(self, path: Path):
        self._path = Path(path)
        self._lock = threading.Lock()
        self._mtime = 0.0
        self._set: PyJWKSet | None = None

    def key_for(self, kid: str | None) -> PyJWK:
        with self._lock:
            mtime = self._path.stat().st_mtime
            if self._set is None or mtime != self._mtime:
                self._set = PyJWKSet.from_dict(json.loads(self._path.read_text()))
                self._mtime = mtime
            for key in self._set.keys:
                if kid is None or key.key_id == kid:
                    return key
        raise Unauthorized("The token was signed with a key this service does not know.")


class RemoteJwksSource:
    """Entra ID's published keys, cached by PyJWKClient (it fetches synchronously: call
    this from a worker thread, never on the event loop)."""

    def __init__(self, url: str):
        self._client = PyJWKClient(url, cache_keys=True, lifespan=3600)

    def key_for(self, kid: str | None) -> PyJWK:
        try:
            return self._client.get_signing_key(kid) if kid else self._client.get_signing_keys()[0]
        except jwt.PyJWKClientError as exc:
            raise Unauthorized("The token was signed with a key this service does not know.") from exc


class JwtVerifier:
    def __init__(
        self,
        source,
        *,
        issuer: str | Sequence[str],
        audience: str | Sequence[str],
        algorithms: list[str],
        leeway: int = 30,
        max_lifetime: int = 24 * 3600,
        cache_size: int = 10_000,
    ):
        bad = set(algorithms) - _ALLOWED
        if bad:
            raise ValueError(f"algorithms not allowed: {sorted(bad)}")
        self._source = source
        # One value or several: a stamp may accept its API's client id and its
        # application ID URI, or a v1.0 issuer next to the v2.0 one, by configuration only.
        self._issuers = _as_list(issuer)
        self._audiences = _as_list(audience)
        if not self._issuers or not self._audiences:
            raise ValueError("at least one issuer and one audience must be configured")
        self._algorithms = list(algorithms)
        self._leeway = leeway
        self._max_lifetime = max_lifetime
        self._cache_size = cache_size
        self._verified: dict[str, dict[str, Any]] = {}

    def verify(self, token: str) -> dict[str, Any]:
        # A token checked once stays good until it expires: skip the signature work when the
        # same token comes back (clients reuse one token for many calls).
        cached = self._verified.get(token)
        if cached is not None:
            if cached.get("exp", 0) + self._leeway > time.time():
                return dict(cached)
            self._verified.pop(token, None)
        claims = self._verify(token)
        if len(self._verified) >= self._cache_size:
            self._verified.clear()
        self._verified[token] = claims
        return dict(claims)

    def _verify(self, token: str) -> dict[str, Any]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise Unauthorized("The bearer token is not a well-formed JWT.") from exc
        alg = header.get("alg")
        if alg not in self._algorithms:
            raise Unauthorized(f"Tokens signed with {alg!r} are not accepted.")
        key = self._source.key_for(header.get("kid"))
        if key.algorithm_name and key.algorithm_name != alg and not (key.key_type == "RSA" and alg.startswith(("RS", "PS"))):
            raise Unauthorized("The token's algorithm does not match its key.")
        try:
            claims = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                audience=self._audiences,
                leeway=self._leeway,
                options={"require": ["exp", "iss", "aud", "sub"], "verify_iss": False},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthorized("The token has expired.") from exc
        except jwt.ImmatureSignatureError as exc:
            raise Unauthorized("The token is not valid yet (nbf).") from exc
        except jwt.InvalidAudienceError as exc:
            raise Unauthorized("The token is for another audience.") from exc
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthorized(f"The token lacks the {exc.claim} claim.", errors=[{"field": f"token.{exc.claim}"}]) from exc
        except jwt.exceptions.InvalidSubjectError as exc:
            raise Unauthorized("The token's sub claim must be non-empty text.", errors=[{"field": "token.sub"}]) from exc
        except jwt.InvalidIssuedAtError as exc:
            raise Unauthorized("The token's iat claim must be a number.", errors=[{"field": "token.iat"}]) from exc
        except jwt.InvalidSignatureError as exc:
            raise Unauthorized("The token's signature does not verify.") from exc
        except jwt.DecodeError as exc:
            # PyJWT names a time claim that is not a number in its message: "... claim (exp) ...".
            claim = next((c for c in ("exp", "nbf", "iat") if f"({c})" in str(exc)), None)
            if claim:
                raise Unauthorized(f"The token's {claim} claim must be a number.", errors=[{"field": f"token.{claim}"}]) from exc
            raise Unauthorized("The bearer token is not a well-formed JWT.") from exc
        except jwt.PyJWTError as exc:
            raise Unauthorized("The token's signature does not verify.") from exc
        if claims.get("iss") not in self._expected_issuers(claims):
            raise Unauthorized("The token comes from an issuer this service does not trust.")
        self._check_lifetime(claims)
        return claims

    def _expected_issuers(self, claims: dict[str, Any]) -> set[str]:
        """The configured issuers, a multi-tenant one filled with the token's own tid, so
        a tenant's token is accepted only with its own tenant's issuer (as the console's
        ID tokens are checked). Without a tenant id in the token, such an issuer matches
        nothing."""
        tid = claims.get("tid")
        expected = set()
        for issuer in self._issuers:
            if not any(p in issuer for p in _TENANT_PLACEHOLDERS):
                expected.add(issuer)
            elif isinstance(tid, str) and _TENANT_ID.match(tid):
                for placeholder in _TENANT_PLACEHOLDERS:
                    issuer = issuer.replace(placeholder, tid)
                expected.add(issuer)
        return expected

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        """Refuse a token living longer than the maximum: a leaked long-lived token outlasts
        the removal of its holder's roles, so how long one may live is ours to bound, not
        the issuer's. Judged from iat when present, and always from now."""
        exp = claims["exp"]
        if not isinstance(exp, (int, float)) or isinstance(exp, bool):
            raise Unauthorized("The token's exp claim must be a number.", errors=[{"field": "token.exp"}])
        iat = claims.get("iat")
        if iat is not None and (not isinstance(iat, (int, float)) or isinstance(iat, bool)):
            raise Unauthorized("The token's iat claim must be a number.", errors=[{"field": "token.iat"}])
        longest = self._max_lifetime + self._leeway
        if (iat is not None and exp - iat > longest) or exp - time.time() > longest:
            raise Unauthorized(
                f"The token lives longer than the {self._max_lifetime} seconds this service accepts.",
                errors=[{"field": "token.exp"}],
            )
