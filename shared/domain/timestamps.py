"""Time on the wire and in records: UTC, ISO 8601 with offset, one fixed format.

One format matters: records are ordered and compared as strings in both backends.
"""

from __future__ import annotations

from datetime import UTC, datetime


def to_iso(moment: datetime) -> str:
    """UTC with microseconds and a +00:00 offset, so string order is time order."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: times must carry an offset")
    # isoformat, not strftime: this runs several times per stored record (a 500-read ANPR
    # batch calls it a thousand times) and strftime costs twice as much for the same text.
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


def from_iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError("time without an offset")
    return moment.astimezone(UTC)
