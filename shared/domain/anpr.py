"""ANPR: plate reads, vehicles of interest, hits, access by data age, webhook signing.

Pure rules only: no I/O and no clock (services pass `now` in). Plates are matched
normalised and kept raw; unmatched reads expire from
birth; searches beyond the ordinary window need an analyst, a purpose and an
authorising officer.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.utils import getaddresses
from enum import StrEnum
from functools import lru_cache
from typing import Any, Literal
from urllib.parse import unquote

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from shared.domain.errors import Invalid
from shared.domain.mail import Email
from shared.domain.plates import PlateError, normalise_plate
from shared.domain.timestamps import from_iso, to_iso

# A camera's clock may run a little ahead of ours; a read further in the future than
# this is a bad read (a wrong clock would otherwise keep it past its lawful expiry).
CLOCK_SKEW = timedelta(minutes=5)

Direction = Literal["towards", "away", "unknown"]


class PlateReadIn(BaseModel):
    """One plate read as a camera system sends it."""

    model_config = ConfigDict(extra="forbid")

    camera_id: str = Field(min_length=1, max_length=64, description="The camera's id, unique within its store")
    store_id: str = Field(min_length=1, max_length=64, description="The store the camera belongs to")
    # AwareDatetime and no Python validators: a batch is up to a thousand reads, and the
    # plate is checked (by index) with the rest of the read in `read_problems`.
    captured_at: AwareDatetime = Field(description="When the camera saw the plate (ISO 8601 with offset)")
    plate: str = Field(min_length=1, max_length=20, description="The plate text as read; normalised for matching, kept raw")
    confidence: float = Field(ge=0, le=1, description="The reader's confidence, 0 to 1")
    direction: Direction = "unknown"
    plate_image: str | None = Field(
        default=None,
        max_length=64 * 1024,
        description="Optional plate-patch image (JPEG or PNG), base64; size-capped by the stamp's anpr_max_patch_bytes",
    )


EXAMPLE_BATCH: dict[str, Any] = {
    "reads": [
        {
            "camera_id": "cam-car-park-1",
            "store_id": "nw-plymouth",
            "captured_at": "2026-11-23T11:58:04+00:00",
            "plate": "WR21 XKD",
            "confidence": 0.97,
            "direction": "towards",
        },
        {
            "camera_id": "cam-car-park-1",
            "store_id": "nw-plymouth",
            "captured_at": "2026-11-23T11:58:31+00:00",
            "plate": "KM19 PLY",
            "confidence": 0.91,
            "direction": "away",
        },
    ]
}


class ReadBatchIn(BaseModel):
    """A batch of reads from one camera system. The whole batch is checked first: any bad
    read refuses the batch (422, each bad read named by its index) and nothing is stored."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_BATCH]})

    reads: list[PlateReadIn] = Field(min_length=1, description="The reads; at most the stamp's anpr_max_batch_reads (default 1,000)")


def patch_size(image_b64: str) -> int:
    """Decoded size of a base64 plate patch; raises ValueError when it is not base64."""
    try:
        return len(base64.b64decode(image_b64, validate=True))
    except (binascii.Error, ValueError) as exc:
        raise ValueError("plate_image is not base64") from exc


def read_id(store_id: str, camera_id: str, plate: str, captured_at: datetime | str) -> str:
    """Deterministic id: the same camera seeing the same plate at the same moment is one read,
    so a re-sent batch stores nothing twice. `captured_at` as a datetime or its `to_iso` text.

    The id starts with the capture time (`20261123T115804123456-…`): reads arrive roughly in
    capture order, so new ids land at the end of the store's key index instead of on a
    random page each, which is most of the cost of storing thousands of reads a second."""
    moment = captured_at if isinstance(captured_at, str) else to_iso(captured_at)
    key = f"{store_id}\n{camera_id}\n{plate}\n{moment}"
    stamp = moment[:26].replace("-", "").replace(":", "").replace(".", "")
    return f"{stamp}-{hashlib.sha256(key.encode()).hexdigest()[:32]}"


def read_expiry(captured_at: datetime, retention_days: int) -> datetime:
    """Expiry from birth: a read lives `retention_days` from when it was captured."""
    return captured_at + timedelta(days=retention_days)


@lru_cache(maxsize=4096)
def _days_later(day: str, days: int) -> str:
    return (date.fromisoformat(day) + timedelta(days=days)).isoformat()


def read_expiry_text(captured_iso: str, retention_days: int) -> str:
    """`to_iso(read_expiry(...))` from the capture time's `to_iso` text: UTC has no clock
    changes, so only the date moves. Ingest stores thousands of reads a second and most
    share a capture day, so the date arithmetic is done once per day, not per read."""
    return _days_later(captured_iso[:10], retention_days) + captured_iso[10:]


@dataclass(frozen=True)
class ReadWindow:
    """The times and sizes a batch's reads are checked against, worked out once per batch.

    Times are `to_iso` text: that format orders as time does, and comparing text costs a
    fraction of comparing datetimes with different tzinfo objects, a thousand times a batch."""

    latest: str  # captured after this is in the future beyond the camera clock skew
    too_old: str  # captured at or before this has already passed its retention
    retention_days: int
    max_patch_bytes: int

    @classmethod
    def at(cls, now: datetime, *, retention_days: int, max_patch_bytes: int) -> ReadWindow:
        return cls(
            latest=to_iso(now + CLOCK_SKEW),
            # read_expiry(captured) <= now  <=>  captured <= now - retention
            too_old=to_iso(now - timedelta(days=retention_days)),
            retention_days=retention_days,
            max_patch_bytes=max_patch_bytes,
        )


def read_problems(read: PlateReadIn, captured_iso: str, window: ReadWindow) -> list[str]:
    """What is wrong with a read beyond its shape (plate, time window, image size).
    `captured_iso` is `to_iso(read.captured_at)`."""
    problems: list[str] = []
    try:
        normalise_plate(read.plate)
    except PlateError as exc:
        problems.append(f"plate: {exc}")
    if captured_iso > window.latest:
        problems.append("captured_at: in the future (check the camera's clock)")
    elif captured_iso <= window.too_old:
        problems.append(f"captured_at: older than the {window.retention_days}-day retention for reads, so it may not be stored")
    if read.plate_image is not None:
        try:
            size = patch_size(read.plate_image)
        except ValueError as exc:
            problems.append(f"plate_image: {exc}")
        else:
            if size > window.max_patch_bytes:
                problems.append(f"plate_image: {size} bytes is over the {window.max_patch_bytes}-byte bound for plate patches")
    return problems


# ---- vehicles of interest ------------------------------------------------------------------


class VehicleOfInterestIn(BaseModel):
    """Why a vehicle is of interest, and until when. A person adds it; nothing is listed automatically."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "reason": "Used by a group stealing spirits from Plymouth and Exeter stores (three incidents since October).",
                    "incident_ids": [],
                    "until": "2027-02-23T00:00:00+00:00",
                    "make": "Ford",
                    "model": "Focus",
                    "colour": "silver",
                }
            ]
        },
    )

    reason: str = Field(min_length=3, max_length=1000, description="Why the vehicle is of interest")
    incident_ids: list[str] = Field(default_factory=list, max_length=50, description="Incidents that support the reason")
    until: datetime | None = Field(
        default=None, description="Interest ends then (default: the stamp's anpr_vehicle_interest_days from now)"
    )
    make: str | None = Field(default=None, max_length=60)
    model: str | None = Field(default=None, max_length=60)
    colour: str | None = Field(default=None, max_length=40)

    @field_validator("until")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("until needs a UTC offset")
        return v

    @field_validator("incident_ids")
    @classmethod
    def _ids(cls, v: list[str]) -> list[str]:
        for i in v:
            if not 1 <= len(i) <= 64:
                raise ValueError("incident ids are 1 to 64 characters")
        return sorted(set(v))


class PromoteIn(BaseModel):
    """Optional details when promoting an incident's vehicle to a vehicle of interest."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"reason": "Seen leaving the Plymouth store after the theft.", "until": "2027-02-23T00:00:00+00:00"}]
        },
    )

    reason: str | None = Field(default=None, min_length=3, max_length=1000, description="Default: names the incident")
    until: datetime | None = None

    @field_validator("until")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("until needs a UTC offset")
        return v


def interest_until(requested: datetime | None, now: datetime, default_days: int) -> datetime:
    """Until when a vehicle stays of interest: as asked, or `default_days` from now; never
    in the past, since a vehicle of interest needs a reason that still holds."""
    until = requested or now + timedelta(days=default_days)
    if until <= now:
        raise Invalid(
            "until is in the past: a vehicle of interest needs a reason that still holds.",
            errors=[{"field": "until", "message": "must be in the future"}],
        )
    return until


def interest_holds(vehicle: dict[str, Any], at: datetime) -> bool:
    """A vehicle alerts only while its reason still holds (before its `until`)."""
    until = vehicle.get("until")
    return until is None or from_iso(until) > at


# ---- access by data age ----------------------------------------------------------------------


class Tier(StrEnum):
    ORDINARY = "ordinary"  # within the last N days: any permitted role, with a purpose
    AUTHORISED = "authorised"  # older: Police.Analyst, purpose and an authorising officer


def search_tier(searched_from: datetime, now: datetime, ordinary_days: int) -> Tier:
    """The tier a search needs, from the oldest moment it reaches back to."""
    return Tier.AUTHORISED if searched_from < now - timedelta(days=ordinary_days) else Tier.ORDINARY


# ---- alerts and webhook signatures -------------------------------------------------------------

SIGNATURE_HEADER = "Vigil-Signature"
TIMESTAMP_HEADER = "Vigil-Timestamp"
IDEMPOTENCY_HEADER = "Idempotency-Key"
SIGNATURE_SCHEME = "v1"


MAX_ALERT_RECIPIENTS = 10

# Line breaks a header could be split with, as sent or encoded: percent (%0D), quoted-
# printable (=0D), HTML entities (&#13; &#x0a;), escapes (\r) and MIME encoded words (=?).
_ENCODED_BREAK = re.compile(r"%0[ad]|=0[ad]|&#(?:x0*[ad]|0*1[03]);?|\\[rn]|=\?", re.IGNORECASE)
# Characters a plain address (addr-spec without display name, comment or quoting) never needs.
_NOT_IN_ADDRESS = set(',;<>"()[]\\')


def recipient_problem(entry: str) -> str | None:
    """Why `entry` is not one plain email address, or None. Parsed with the standard
    library's address parser, so `a@x, b@y` or `a@x;b@y` count as several addresses."""
    decoded = entry
    for _ in range(3):  # %250D decodes to %0D, then to CR
        decoded = unquote(decoded)
    decoded = html.unescape(decoded)
    if _ENCODED_BREAK.search(entry) or any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in entry + decoded):
        return "contains a line break or control character (sent or encoded)"
    found = [address for _, address in getaddresses([entry]) if address]
    if len(found) > 1 or ";" in entry or "," in entry:
        return f"holds {max(len(found), 2)} addresses: give each address as its own entry"
    local, at, domain = entry.partition("@")
    if (
        found != [entry]
        or not at
        or not local
        or "@" in domain
        or "." not in domain.strip(".")
        or len(entry) > 254
        or any(c.isspace() or c in _NOT_IN_ADDRESS for c in entry)
    ):
        return "is not a plain email address (name@example.org)"
    return None


def alert_recipients(entries: list[str]) -> list[str]:
    """The addresses an alert subscription emails: each entry exactly one plain address,
    no line breaks in any form, at most MAX_ALERT_RECIPIENTS distinct addresses.
    Raises ValueError naming the first bad entry."""
    seen: dict[str, str] = {}
    for i, entry in enumerate(entries):
        problem = recipient_problem(entry)
        if problem:
            raise ValueError(f"email.{i} {problem}")
        seen.setdefault(entry.lower(), entry)
    if len(seen) > MAX_ALERT_RECIPIENTS:
        raise ValueError(f"at most {MAX_ALERT_RECIPIENTS} addresses")
    return list(seen.values())


class SubscriptionIn(BaseModel):
    """Who gets told about hits: stores (a retailer's own) or a force area (the caller's force)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "stores": ["nw-plymouth", "nw-exeter"],
                    "email": ["lp-team@northwind.example"],
                    "webhook_url": "http://127.0.0.1:8787/alerts",
                    "description": "Loss-prevention control room",
                }
            ]
        },
    )

    stores: list[str] = Field(default_factory=list, max_length=500, description="Stores whose hits alert (retailers)")
    force_area: str | None = Field(default=None, max_length=64, description="A force whose area's hits alert (that force only)")
    email: list[str] = Field(
        default_factory=list,
        max_length=MAX_ALERT_RECIPIENTS,
        description=f"Addresses to email on a hit: one plain address per entry, at most {MAX_ALERT_RECIPIENTS}",
    )
    webhook_url: str | None = Field(default=None, max_length=2000, description="Where to POST signed alerts")
    description: str | None = Field(default=None, max_length=200)

    @field_validator("email")
    @classmethod
    def _emails(cls, v: list[str]) -> list[str]:
        return alert_recipients(v)


def signing_payload(timestamp: str, body: bytes) -> bytes:
    """What is signed: the timestamp, a dot, then the exact body bytes."""
    return timestamp.encode() + b"." + body


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`v1=<hex HMAC-SHA256>` over `timestamp.body` with the subscription's secret."""
    digest = hmac.new(secret.encode(), signing_payload(timestamp, body), hashlib.sha256).hexdigest()
    return f"{SIGNATURE_SCHEME}={digest}"


class SignatureError(ValueError):
    pass


def verify(secret: str, timestamp: str, signature: str, body: bytes, *, now: float, tolerance_seconds: int = 300) -> None:
    """Check a webhook's signature and freshness; raises SignatureError saying why not.

    `now` is seconds since the epoch (the receiver's clock). Several `v1=` values may be
    sent, comma-separated, while a secret is rotated: any match passes.
    """
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        raise SignatureError("timestamp missing or not an integer") from None
    if abs(now - sent) > tolerance_seconds:
        raise SignatureError(f"timestamp is more than {tolerance_seconds} s from now (stale or replayed)")
    expected = sign(secret, timestamp, body)
    offered = [s.strip() for s in (signature or "").split(",") if s.strip()]
    if not any(hmac.compare_digest(expected, s) for s in offered):
        raise SignatureError("signature does not match the body")


def alert_content(delivery: dict[str, Any]) -> dict[str, str]:
    """What the email for one alert delivery says: the hit in a few lines and where to sign
    in to see it, no image (rendered by the `anpr/alert` templates)."""
    hit = delivery["payload"]["hit"]
    return {
        "plate": hit["plate"],
        "where": f"store {hit['store_id']}, camera {hit['camera_id']}",
        "when": hit["captured_at"],
        "direction": str(hit.get("direction") or "unknown"),
        "hits_path": f"/api/v1/anpr/hits?plate={hit['plate']}",
        "alert_id": delivery["id"],
    }


def alert_email(delivery: dict[str, Any], *, to: str, sender: str, text: str, html: str) -> Email:
    """The email for one alert delivery, with its rendered bodies.

    The Message-ID is the delivery id, so a retried send is recognisable as the same alert.
    """
    hit = delivery["payload"]["hit"]
    return Email(
        to=to,
        sender=sender,
        subject=f"Vigil ANPR alert: {hit['plate']} at {hit['store_id']}",
        text=text,
        html=html,
        message_id=f"{delivery['id']}@anpr.vigil",
        custom_args={"alert_id": delivery["id"]},
    )


class AuthorisingOfficer(BaseModel):
    """An officer the force's admin has appointed to authorise searches of reads older than
    the ordinary window; `authorised_by` on such a search must name one of them."""

    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(
        min_length=2, max_length=100, description="The officer's sign-in id (the token subject): what `authorised_by` names"
    )
    name: str = Field(min_length=1, max_length=200)
    rank: str = Field(min_length=1, max_length=60, description="e.g. Superintendent")


class AuthorisingOfficersIn(BaseModel):
    """A force's whole register of authorising officers (replaces the one held)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"officers": [{"user_id": "dc-supt-4471", "name": "Priya Patel", "rank": "Superintendent"}]}]},
    )

    officers: list[AuthorisingOfficer] = Field(max_length=200)

    @field_validator("officers")
    @classmethod
    def _once_each(cls, v: list[AuthorisingOfficer]) -> list[AuthorisingOfficer]:
        ids = [o.user_id for o in v]
        if len(set(ids)) != len(ids):
            raise ValueError("each officer is listed once (user_id)")
        return v
