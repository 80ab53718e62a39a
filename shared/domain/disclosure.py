"""Court packages shared with a named recipient outside Vigil (a CPS lawyer, a defence
solicitor): what a force asks for, and the secrets that open the link.

The link's token and the one-time code are random; only their hashes are stored, so a
copy of the records opens nothing. Pure functions, no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.domain.anpr import recipient_problem

DEFAULT_DAYS = 14
MAX_DAYS = 90
CODE_DIGITS = 8
# Wrong codes before the share locks for good: the force makes a new share if its
# recipient mistyped five times, so a guesser has five tries at 10^8.
MAX_CODE_ATTEMPTS = 5
# How long a right code lets the recipient download before asking for it again.
GRANT_MINUTES = 30
# Accesses kept on the share for the force's listing (every one is in the audit trail too).
MAX_ACCESS_LOG = 200


class RecipientKind(StrEnum):
    CPS = "cps"
    DEFENCE = "defence"
    COURT = "court"
    OTHER = "other"


RECIPIENT_KIND_WORDS = {
    RecipientKind.CPS: "Crown Prosecution Service",
    RecipientKind.DEFENCE: "Defence solicitor",
    RecipientKind.COURT: "Court",
    RecipientKind.OTHER: "Other",
}


class ShareStatus(StrEnum):
    ACTIVE = "active"
    LOCKED = "locked"  # too many wrong codes
    REVOKED = "revoked"
    EXPIRED = "expired"


class PackageShareIn(BaseModel):
    """A force shares an incident's court package with one named person outside Vigil."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "recipient_name": "Priya Shah",
                    "recipient_email": "priya.shah@cps.gov.uk",
                    "recipient_organisation": "CPS South West",
                    "recipient_kind": "cps",
                    "purpose": "Charging decision for the CPS",
                    "expires_in_days": 14,
                }
            ]
        },
    )

    recipient_name: str = Field(min_length=2, max_length=120)
    recipient_email: str = Field(min_length=3, max_length=254)
    recipient_organisation: str = Field(min_length=2, max_length=160, description="e.g. CPS South West, or the solicitors' firm")
    recipient_kind: RecipientKind = RecipientKind.CPS
    purpose: str = Field(min_length=3, max_length=500, description="Why the package is disclosed: recorded in the audit trail")
    expires_in_days: int = Field(default=DEFAULT_DAYS, ge=1, le=MAX_DAYS)

    @field_validator("recipient_email")
    @classmethod
    def _one_address(cls, value: str) -> str:
        problem = recipient_problem(value.strip())
        if problem:
            raise ValueError(problem)
        return value.strip()

    @field_validator("recipient_name", "recipient_organisation", "purpose")
    @classmethod
    def _one_line(cls, value: str) -> str:
        # Names go into an email's text and subject: one line, no control characters.
        cleaned = " ".join(value.split())
        if len(cleaned) < 2:
            raise ValueError("must not be blank")
        return cleaned


def new_token() -> str:
    """The link's secret: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    """What is stored and looked up instead of the token."""
    return hashlib.sha256(b"vigil-package-share\0" + token.encode()).hexdigest()


def new_code() -> str:
    """The one-time code, CODE_DIGITS decimal digits."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(code: str, salt: str) -> str:
    """The code keyed with the share's own salt; compared with `code_matches`."""
    return hmac.new(salt.encode(), code.strip().encode(), hashlib.sha256).hexdigest()


def code_matches(code: str, salt: str, stored: str) -> bool:
    """Constant-time comparison, so timing says nothing about how close a guess was."""
    return hmac.compare_digest(code_hash(code, salt), stored)


def status_at(doc: dict[str, Any], now: datetime) -> ShareStatus:
    """The share's status as the recipient meets it now (expiry needs no timer to apply)."""
    stored = ShareStatus(doc["status"])
    if stored is ShareStatus.ACTIVE and datetime.fromisoformat(doc["expires_at"]) <= now:
        return ShareStatus.EXPIRED
    return stored


def expiry(now: datetime, days: int) -> datetime:
    return now + timedelta(days=days)
