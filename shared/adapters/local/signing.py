"""The local stamp's own token issuer: an RSA key pair made on first run under var/keys,
its JWKS beside it, and a minter for `make token` and tests."""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm


class LocalSigningKeys:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.private_path = self.directory / "signing-key.pem"
        self.jwks_path = self.directory / "jwks.json"

    def ensure(self) -> LocalSigningKeys:
        """Create the key pair and JWKS once; later runs reuse them."""
        if self.private_path.exists() and self.jwks_path.exists():
            return self
        self.directory.mkdir(parents=True, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        tmp = self.private_path.with_suffix(".tmp")
        tmp.write_bytes(pem)
        os.chmod(tmp, 0o600)
        tmp.replace(self.private_path)
        jwk = json.loads(RSAAlgorithm.to_jwk(key.public_key()))
        jwk.update({"kid": uuid.uuid4().hex[:16], "use": "sig", "alg": "RS256"})
        tmp = self.jwks_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"keys": [jwk]}, indent=2))
        tmp.replace(self.jwks_path)
        return self

    def mint(
        self, claims: dict[str, Any], *, issuer: str, audience: str, lifetime: timedelta = timedelta(hours=8), now: datetime | None = None
    ) -> str:
        self.ensure()
        now = now or datetime.now(UTC)
        kid = json.loads(self.jwks_path.read_text())["keys"][0]["kid"]
        body = {
            "iss": issuer,
            "aud": audience,
            "iat": int(now.timestamp()),
            "nbf": int(now.timestamp()),
            "exp": int((now + lifetime).timestamp()),
            **claims,
        }
        return jwt.encode(body, self.private_path.read_bytes(), algorithm="RS256", headers={"kid": kid})
