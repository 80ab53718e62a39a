"""Continuation tokens as clients see them: the record store's token, sealed with an HMAC
bound to who paged what (route, organisation, user, filters).

A client can only hand back a token this stamp gave it for the same listing: anything
else (garbage, a token edited by hand, one from another route, organisation, user or
filter) is refused as invalid before the store ever parses it, on either backend.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

from shared.domain.errors import Invalid

log = logging.getLogger("vigil.paging")

_VERSION = "p1"
_MAC_BYTES = 32
# An unresolved Key Vault reference arrives as its own text: a key everyone can read.
_UNRESOLVED_REFERENCE = "@Microsoft.KeyVault("
_B64_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def bad_continuation() -> Invalid:
    """The one answer to any token this listing did not give: it says nothing of why."""
    return Invalid(
        "The continuation token is not valid: pass back, unchanged, the one the previous page of this same listing gave you.",
        errors=[{"field": "query.continuation", "message": "not a continuation token of this listing"}],
    )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    if not text or any(ch not in _B64_ALPHABET for ch in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def binding(route: str, organisation_id: str, user_id: str, query: Iterable[tuple[str, str]]) -> bytes:
    """What a token is bound to: the route (method and path), who pages, and the listing's
    filters (every query parameter but the token and the page size)."""
    filters = sorted((k, v) for k, v in query if k not in ("continuation", "limit"))
    parts = [route, organisation_id, user_id, *(f"{k}={v}" for k, v in filters)]
    return b"\x00".join(p.encode() for p in parts)


class PageTokens:
    """Seals and opens continuation tokens with one HMAC-SHA256 key."""

    def __init__(self, key: bytes):
        if len(key) < 32:
            raise ValueError("the page token key needs at least 32 bytes")
        self._key = key

    def _mac(self, bound_to: bytes, inner: bytes) -> bytes:
        return hmac.new(self._key, _VERSION.encode() + b"\x00" + bound_to + b"\x01" + inner, hashlib.sha256).digest()

    def seal(self, inner: str | None, bound_to: bytes) -> str | None:
        """The client's token for the store's `inner` token (None on the last page)."""
        if inner is None:
            return None
        raw = inner.encode()
        return f"{_VERSION}.{_b64(raw)}.{_b64(self._mac(bound_to, raw))}"

    def open(self, token: str | None, bound_to: bytes) -> str | None:
        """The store's token inside a client's token; Invalid (422) unless this key sealed
        it for the same binding."""
        if token is None:
            return None
        version, _, rest = token.partition(".")
        body, _, mac = rest.partition(".")
        try:
            raw, given = _unb64(body), _unb64(mac)
            inner = raw.decode()
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise bad_continuation() from None
        if version != _VERSION or len(given) != _MAC_BYTES or not hmac.compare_digest(given, self._mac(bound_to, raw)):
            raise bad_continuation()
        return inner


def page_tokens_from_settings(secret: str, *, backend: str, key_dir: Path) -> PageTokens:
    """The key from `VIGIL_PAGE_TOKEN_KEY` (any text, hashed to 32 bytes). Without one: on the
    local backend a key generated once under `key_dir`; on Azure a key for this process only,
    with a warning (tokens then fail across instances and restarts: set the secret)."""
    if secret and not secret.startswith(_UNRESOLVED_REFERENCE):
        return PageTokens(hashlib.sha256(secret.encode()).digest())
    if backend == "local":
        path = key_dir / "page-token.key"
        if not path.exists():
            key_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_bytes(32))
            tmp.replace(path)
        return PageTokens(path.read_bytes())
    log.warning("VIGIL_PAGE_TOKEN_KEY is not set: continuation tokens hold only within this process")
    return PageTokens(secrets.token_bytes(32))
