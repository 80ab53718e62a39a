"""Console sessions: a signed cookie holding the verified sign-in claims and a CSRF token.

The cookie carries no server-side state, so any instance of the stamp can serve the next
page. It is signed (HMAC-SHA256 through PyJWT) with the console session key, `HttpOnly`,
`Secure` and `SameSite=Lax`, and it ends after `console_idle_minutes` without a request
and `console_absolute_hours` after sign-in, whichever comes first. The claims are the ones
the API reads from a token (`sub`, `tid`, `roles`, `stores`): the principal behind a page
is built from them by the same directory call as the API's, so there is one
authorization path.

Before sign-in a session is anonymous (no claims): it still carries a CSRF token, for the
sign-in form, and the sign-in flow's state while the browser is at the identity provider.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import jwt

log = logging.getLogger("vigil.console")

COOKIE = "vigil_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_ALGORITHM = "HS256"
_AUDIENCE = "vigil-console"
# An unresolved Key Vault reference arrives as its own text: a key everyone could read.
_UNRESOLVED_REFERENCE = "@Microsoft.KeyVault("


@dataclass(frozen=True)
class Session:
    """One browser's session. `claims` is empty until sign-in."""

    csrf: str
    started: int  # epoch seconds of sign-in (or of the anonymous session's start)
    seen: int  # epoch seconds of the last request
    claims: dict[str, Any] = field(default_factory=dict)
    # The sign-in flow's state while the browser is at the identity provider (Azure only).
    flow: dict[str, Any] | None = None

    @property
    def signed_in(self) -> bool:
        return bool(self.claims)

    def csrf_matches(self, given: str | None) -> bool:
        """Whether `given` is this session's CSRF token (compared in constant time)."""
        return bool(given) and hmac.compare_digest(str(given).encode(), self.csrf.encode())


class Sessions:
    """Seals sessions into cookie values and opens them again."""

    def __init__(self, key: bytes, *, idle_seconds: int, absolute_seconds: int):
        if len(key) < 32:
            raise ValueError("the console session key needs at least 32 bytes")
        self._key = key
        self.idle_seconds = idle_seconds
        self.absolute_seconds = absolute_seconds

    def new(self, now: int, *, claims: dict[str, Any] | None = None, flow: dict[str, Any] | None = None) -> Session:
        """A fresh session (a new CSRF token): at sign-in, so a token seen before it is worthless after."""
        return Session(csrf=secrets.token_urlsafe(32), started=now, seen=now, claims=dict(claims or {}), flow=flow)

    def touched(self, session: Session, now: int) -> Session:
        return replace(session, seen=now)

    def seal(self, session: Session) -> str:
        body: dict[str, Any] = {"aud": _AUDIENCE, "csrf": session.csrf, "started": session.started, "seen": session.seen}
        if session.claims:
            body["claims"] = session.claims
        if session.flow is not None:
            body["flow"] = session.flow
        return jwt.encode(body, self._key, algorithm=_ALGORITHM)

    def open(self, value: str | None, now: int) -> Session | None:
        """The session in a cookie value, or None when it is missing, forged, or past either timeout."""
        if not value:
            return None
        try:
            body = jwt.decode(value, self._key, algorithms=[_ALGORITHM], audience=_AUDIENCE)
            session = Session(
                csrf=str(body["csrf"]),
                started=int(body["started"]),
                seen=int(body["seen"]),
                claims=dict(body.get("claims") or {}),
                flow=body.get("flow"),
            )
        except (jwt.PyJWTError, KeyError, TypeError, ValueError):
            return None
        if now - session.seen > self.idle_seconds or now - session.started > self.absolute_seconds:
            return None
        return session

    def cookie_args(self) -> dict[str, Any]:
        """How the cookie is set: the browser keeps it no longer than the absolute timeout."""
        return {
            "key": COOKIE,
            "max_age": self.absolute_seconds,
            "path": "/",
            "httponly": True,
            "secure": True,
            "samesite": "lax",
        }


def sessions_from_settings(settings: Any, *, key_dir: Path) -> Sessions:
    """Sessions signed with `VIGIL_CONSOLE_SESSION_KEY` (any text, hashed to 32 bytes). Without
    one: on the local backend a key generated once under `key_dir`; on Azure a key for this
    process only, with a warning (sessions then end at a restart or on another instance)."""
    secret = settings.console_session_key
    idle, absolute = settings.console_idle_minutes * 60, settings.console_absolute_hours * 3600
    if secret and not secret.startswith(_UNRESOLVED_REFERENCE):
        return Sessions(hashlib.sha256(secret.encode()).digest(), idle_seconds=idle, absolute_seconds=absolute)
    if settings.backend == "local":
        path = key_dir / "console-session.key"
        if not path.exists():
            key_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as f:
                f.write(secrets.token_bytes(32))
            # link() fails if another process made the key first: every process reads one key.
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        return Sessions(path.read_bytes(), idle_seconds=idle, absolute_seconds=absolute)
    log.warning("VIGIL_CONSOLE_SESSION_KEY is not set: console sessions hold only within this process")
    return Sessions(secrets.token_bytes(32), idle_seconds=idle, absolute_seconds=absolute)
