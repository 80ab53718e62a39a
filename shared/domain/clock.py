"""Time on the wire and in records: UTC, ISO 8601 with offset, one fixed format.

One format matters: records are ordered and compared as strings in both backends.
"""

from __future__ import annotations

from datetime import UTC, datetime


def to_iso(moment: datetime) -> str:
    """UTC with microseconds and a +00:00 offset, so string order is time order."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: times must carry an offset")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def from_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("time without an offset")
    return moment.astimezone(UTC)
