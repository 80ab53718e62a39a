"""Incident ids, and the partition bucket each names.

A national retailer records millions of incidents a year: more than one 20 GB Cosmos DB
logical partition holds in a few years. Incidents are read by id on almost every request,
so the bucket must come from the id alone for that read to stay a point read:

- an incident reported without an external reference gets a UUID version 7 (RFC 9562):
  its first 48 bits are the time it was recorded, so the id names its month, "2026-11";
- one reported with an external reference gets a UUID version 8 derived from the
  organisation and the reference (a re-sent report finds the same id); its bucket is one
  of 32 hash buckets, "h07";
- any other id (a version 4 or 5 UUID made before ids carried a bucket) names none, and
  such an incident stays in its organisation's own partition.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime

HASH_BUCKETS = 32


def new_incident_id(now: datetime) -> str:
    """A fresh incident id: a UUID version 7 carrying `now` (milliseconds) and 74 random bits."""
    ms = int(now.timestamp() * 1000) & ((1 << 48) - 1)
    rand_a = secrets.randbits(12)
    rand_b = secrets.randbits(62)
    value = (ms << 80) | (0x7 << 76) | (rand_a << 64) | (0b10 << 62) | rand_b
    return str(uuid.UUID(int=value))


def external_incident_id(organisation_id: str, external_reference: str) -> str:
    """The id an incident reported with this external reference has: a UUID version 8
    from a SHA-256 of the organisation and the reference."""
    digest = int.from_bytes(hashlib.sha256(f"{organisation_id}\n{external_reference}".encode()).digest()[:16], "big")
    # Set the version (8) and the RFC 9562 variant bits; the other 122 bits are the digest's.
    value = (digest & ~(0xF << 76) & ~(0b11 << 62)) | (0x8 << 76) | (0b10 << 62)
    return str(uuid.UUID(int=value))


def incident_bucket(incident_id: str) -> str | None:
    """The partition bucket an incident id names, or None (see the module docstring)."""
    try:
        parsed = uuid.UUID(incident_id)
    except ValueError:
        return None
    if str(parsed) != incident_id or parsed.variant != uuid.RFC_4122:
        return None
    if parsed.version == 7:
        ms = parsed.int >> 80
        return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m")
    if parsed.version == 8:
        return f"h{(parsed.int & 0xFFFF) % HASH_BUCKETS:02d}"
    return None
