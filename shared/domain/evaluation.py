"""The force's evaluation table: D2P reports against the force's other reporting channels
(online, 101, front counter), whose figures the force uploads from its records system.

Pure: the figures a channel upload carries, the row-level CSV extract read into those
figures (rows are aggregated as they stream and never kept), the hours-to-record
histogram both sides share, and the comparison with its differences labelled as what
they are (percentage points against relative change).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.domain.d2p import CHARGE_CODES, OUTCOME_CODES
from shared.domain.errors import Invalid, PayloadTooLarge

# Home Office outcome codes 1 to 22 (with 1A and 2A, the alternative offence and youth
# conditional caution variants a records system also reports).
HOME_OFFICE_CODES: tuple[str, ...] = ("1", "1A", "2", "2A", *(str(n) for n in range(3, 23)))
HIGHLIGHTED = ("14", "16")
CHANNEL_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,31}$"
MAX_PERIOD_DAYS = 366
# A row-level extract: a year of a large force's online reports fits well inside both.
MAX_EXTRACT_BYTES = 32 * 1024 * 1024
MAX_EXTRACT_ROWS = 250_000
EXTRACT_COLUMNS = ("crime_reference", "channel", "reported_at", "recorded_at", "outcome_code")
# Hours to record are kept as whole minutes: a minute is finer than any force reports.
MAX_RECORD_MINUTES = 366 * 24 * 60


def outcome_label(code: str) -> str:
    return OUTCOME_CODES.get(code, f"Home Office outcome {code}")


def normalise_code(value: str) -> str | None:
    """The outcome code as the Home Office writes it, or None when it is not one."""
    code = value.strip().upper()
    return code if code in HOME_OFFICE_CODES else None


# ---- hours to record ------------------------------------------------------------------------


def add_minutes(histogram: dict[str, int], minutes: int, count: int = 1) -> None:
    """Count `count` reports recorded `minutes` after they reached the force."""
    key = str(max(0, min(minutes, MAX_RECORD_MINUTES)))
    histogram[key] = histogram.get(key, 0) + count
    if histogram[key] <= 0:
        del histogram[key]


def merge(into: dict[str, int], other: Mapping[str, int]) -> dict[str, int]:
    """Add one histogram into another (both already bounded, as `add_minutes` keeps them)."""
    get = into.get
    for minutes, count in other.items():
        into[minutes] = get(minutes, 0) + count
    return into


def hours_stats(histogram: Mapping[str, int]) -> dict[str, Any]:
    """Count, mean and median hours of a minutes histogram (median as statistics.median)."""
    n = sum(histogram.values())
    if not n:
        return {"n": 0, "mean_hours": None, "median_hours": None}
    ordered = sorted((int(m), c) for m, c in histogram.items())
    total = sum(m * c for m, c in ordered)

    def nth(k: int) -> int:  # the k-th smallest value, 0-based
        seen = 0
        for minutes, count in ordered:
            seen += count
            if k < seen:
                return minutes
        return ordered[-1][0]

    mid = n // 2
    median = nth(mid) if n % 2 else (nth(mid - 1) + nth(mid)) / 2
    return {"n": n, "mean_hours": round(total / n / 60, 2), "median_hours": round(median / 60, 2)}


# ---- uploaded figures -----------------------------------------------------------------------


class HoursToRecordIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mean: float = Field(ge=0, le=MAX_RECORD_MINUTES / 60, description="Mean hours from report to crime recorded")
    median: float = Field(ge=0, le=MAX_RECORD_MINUTES / 60, description="Median hours from report to crime recorded")
    n: int | None = Field(default=None, ge=0, description="Reports the hours are over (recorded crimes); all reports when absent")


class ChannelFiguresIn(BaseModel):
    """One channel's figures for one period, as the force's records system reports them."""

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        json_schema_extra={
            "examples": [
                {
                    "channel": "101",
                    "from": "2026-10-01",
                    "to": "2026-10-31",
                    "reports": 500,
                    "charged": 98,
                    "outcomes": {"1": 95, "1A": 3, "8": 40, "14": 83, "16": 61, "18": 150},
                    "hours_to_record": {"mean": 53.0, "median": 41.5},
                }
            ]
        },
    )

    channel: str = Field(pattern=CHANNEL_PATTERN, description="The channel, e.g. online, 101, front_counter (not d2p)")
    period_from: date = Field(alias="from", description="First day of the period (UTC days)")
    period_to: date = Field(alias="to", description="Last day of the period, included")
    reports: int = Field(ge=0, le=10_000_000, description="Reports received through the channel in the period")
    charged: int = Field(ge=0, description="Of those, charged or summonsed (outcomes 1 and 1A)")
    outcomes: dict[str, int] = Field(default_factory=dict, description="Reports per Home Office outcome code (1 to 22)")
    hours_to_record: HoursToRecordIn | None = None

    @field_validator("channel")
    @classmethod
    def _not_d2p(cls, v: str) -> str:
        if v == "d2p":
            raise ValueError("d2p is Vigil's own channel: its figures are counted, not uploaded")
        return v

    @field_validator("outcomes")
    @classmethod
    def _codes(cls, v: dict[str, int]) -> dict[str, int]:
        out: dict[str, int] = {}
        for raw, count in v.items():
            code = normalise_code(raw)
            if code is None:
                raise ValueError(f"unknown outcome code {raw!r}: use a Home Office outcome code 1 to 22")
            if count < 0:
                raise ValueError(f"outcome {code}: a count is not negative")
            out[code] = out.get(code, 0) + count
        return out

    @model_validator(mode="after")
    def _consistent(self) -> ChannelFiguresIn:
        if self.period_to < self.period_from:
            raise ValueError("'to' is the period's last day: it cannot be before 'from'")
        if (self.period_to - self.period_from).days >= MAX_PERIOD_DAYS:
            raise ValueError(f"a period is at most {MAX_PERIOD_DAYS} days")
        if self.charged > self.reports:
            raise ValueError("more reports charged than received")
        if sum(self.outcomes.values()) > self.reports:
            raise ValueError("more outcomes than reports")
        from_codes = sum(self.outcomes.get(c, 0) for c in CHARGE_CODES)
        if any(c in self.outcomes for c in CHARGE_CODES) and from_codes != self.charged:
            raise ValueError(f"'charged' ({self.charged}) differs from outcomes 1 and 1A ({from_codes})")
        return self


@dataclass
class ChannelTotals:
    """What is kept of a channel's period: counts and hours, never a report or a reference."""

    channel: str
    period_from: date
    period_to: date
    reports: int = 0
    charged: int = 0
    outcomes: dict[str, int] = field(default_factory=dict)
    minutes: dict[str, int] = field(default_factory=dict)  # histogram, when rows were uploaded
    mean_hours: float | None = None  # as uploaded, for aggregates
    median_hours: float | None = None
    hours_n: int | None = None

    @classmethod
    def of(cls, given: ChannelFiguresIn) -> ChannelTotals:
        h = given.hours_to_record
        return cls(
            channel=given.channel,
            period_from=given.period_from,
            period_to=given.period_to,
            reports=given.reports,
            charged=given.charged,
            outcomes=dict(sorted(given.outcomes.items())),
            mean_hours=h.mean if h else None,
            median_hours=h.median if h else None,
            hours_n=(h.n if h.n is not None else given.reports) if h else None,
        )

    def hours(self) -> dict[str, Any]:
        if self.minutes:
            return hours_stats(self.minutes)
        return {"n": self.hours_n or 0, "mean_hours": self.mean_hours, "median_hours": self.median_hours}

    def figures(self) -> dict[str, Any]:
        """The stored form (no row, no reference)."""
        return {
            "channel": self.channel,
            "period_from": self.period_from.isoformat(),
            "period_to": self.period_to.isoformat(),
            "reports": self.reports,
            "charged": self.charged,
            "outcomes": self.outcomes,
            "minutes": self.minutes,
            "hours_to_record": self.hours(),
        }


# ---- the row-level extract ------------------------------------------------------------------


def _row_error(row: int, column: str, message: str) -> Invalid:
    return Invalid(
        f"Row {row}, column {column}: {message}. Nothing was stored.",
        errors=[{"field": f"row {row}, {column}", "row": row, "column": column, "message": message}],
    )


def _timestamp(value: str, row: int, column: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise _row_error(row, column, f"{value.strip()[:40]!r} is not an ISO 8601 date and time") from None
    # The extract's times without an offset are UTC, as the period's days are.
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def lines(chunks: Iterable[bytes], max_bytes: int = MAX_EXTRACT_BYTES) -> Iterator[str]:
    """Text lines from a body arriving in chunks, refused past `max_bytes` as it streams."""
    import codecs

    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    seen, pending = 0, ""
    for chunk in chunks:
        seen += len(chunk)
        if seen > max_bytes:
            raise PayloadTooLarge(f"The extract is over {max_bytes} bytes: split it by period. Nothing was stored.", max_bytes=max_bytes)
        try:
            pending += decoder.decode(chunk)
        except UnicodeDecodeError:
            raise Invalid("The extract is not UTF-8 text. Nothing was stored.", errors=[{"field": "body"}]) from None
        *complete, pending = pending.split("\n")
        for line in complete:
            yield line + "\n"
    pending += decoder.decode(b"", final=True)
    if pending:
        yield pending


def aggregate_extract(
    text_lines: Iterable[str], period_from: date, period_to: date, max_rows: int = MAX_EXTRACT_ROWS
) -> list[ChannelTotals]:
    """One `ChannelTotals` per channel of a row-level extract whose reports fall in the
    period. Each row is read, counted and dropped; crime references are held only while
    reading, to refuse a report listed twice. The first bad row refuses the whole extract
    (Invalid naming its row and column), so nothing half-read is ever stored."""
    reader = csv.reader(text_lines)
    header = next(reader, None)
    if header is None:
        raise _row_error(1, "crime_reference", "the extract is empty")
    names = [h.strip().lower() for h in header]
    for column in EXTRACT_COLUMNS:
        if column not in names:
            raise _row_error(1, column, "the header has no such column")
    at = {c: names.index(c) for c in EXTRACT_COLUMNS}
    start = datetime.combine(period_from, datetime.min.time(), UTC)
    end = datetime.combine(period_to + timedelta(days=1), datetime.min.time(), UTC)
    seen: set[str] = set()
    totals: dict[str, ChannelTotals] = {}
    for number, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if number - 1 > max_rows:
            raise _row_error(number, "crime_reference", f"an extract is limited to {max_rows} rows: split it by period")
        if len(row) < len(names):
            missing = next(c for c in EXTRACT_COLUMNS if at[c] >= len(row))
            raise _row_error(number, missing, "the row has no value for this column")
        reference = row[at["crime_reference"]].strip()
        if not reference:
            raise _row_error(number, "crime_reference", "no crime reference")
        if reference in seen:
            raise _row_error(number, "crime_reference", "this crime reference is listed twice")
        seen.add(reference)
        channel = row[at["channel"]].strip().lower()
        if channel == "d2p" or not _channel_ok(channel):
            raise _row_error(number, "channel", f"{channel[:40]!r} is not a channel name (lower case letters, digits, - and _)")
        reported = _timestamp(row[at["reported_at"]], number, "reported_at")
        if not start <= reported < end:
            raise _row_error(number, "reported_at", f"{reported.isoformat()} is outside the period {period_from} to {period_to}")
        recorded_raw = row[at["recorded_at"]].strip()
        recorded = _timestamp(recorded_raw, number, "recorded_at") if recorded_raw else None
        if recorded is not None and recorded < reported:
            raise _row_error(number, "recorded_at", "recorded before it was reported")
        code_raw = row[at["outcome_code"]].strip()
        code = normalise_code(code_raw) if code_raw else None
        if code_raw and code is None:
            raise _row_error(number, "outcome_code", f"{code_raw[:10]!r} is not a Home Office outcome code (1 to 22)")
        t = totals.setdefault(channel, ChannelTotals(channel=channel, period_from=period_from, period_to=period_to))
        t.reports += 1
        if code is not None:
            t.outcomes[code] = t.outcomes.get(code, 0) + 1
            t.charged += code in CHARGE_CODES
        if recorded is not None:
            add_minutes(t.minutes, int((recorded - reported).total_seconds() // 60))
    if not totals:
        raise _row_error(2, "crime_reference", "the extract has no rows")
    for t in totals.values():
        t.outcomes = dict(sorted(t.outcomes.items()))
    return sorted(totals.values(), key=lambda t: t.channel)


def _channel_ok(channel: str) -> bool:
    import re

    return re.fullmatch(CHANNEL_PATTERN, channel) is not None


# ---- the comparison -------------------------------------------------------------------------


def rate(count: int, of: int) -> float | None:
    return count / of if of else None


def rate_difference(d2p: float | None, other: float | None) -> dict[str, Any] | None:
    """A difference between two rates, as percentage points and as relative change, each
    labelled so a reader cannot take one for the other."""
    if d2p is None or other is None:
        return None
    points = (d2p - other) * 100
    way = "higher" if points > 0 else "lower" if points < 0 else "the same"
    relative = (d2p / other - 1) * 100 if other else None
    return {
        "percentage_points": round(points, 1),
        "relative_percent": round(relative, 1) if relative is not None else None,
        "points_label": f"{abs(points):.1f} percentage points {way}" if points else "no difference",
        "relative_label": (
            f"{abs(relative):.1f}% {'higher' if relative > 0 else 'lower'} (relative)"
            if relative
            else ("no difference" if relative == 0 else "no relative change: the channel's rate is 0")
        ),
    }


def hours_difference(d2p: float | None, other: float | None) -> dict[str, Any] | None:
    """How much sooner (or later) D2P reports are recorded, in hours and relative."""
    if d2p is None or other is None:
        return None
    hours = d2p - other
    relative = (d2p / other - 1) * 100 if other else None
    way = "sooner" if hours < 0 else "later"
    return {
        "hours": round(hours, 1),
        "relative_percent": round(relative, 1) if relative is not None else None,
        "hours_label": f"{abs(hours):.1f} hours {way}" if hours else "no difference",
        "relative_label": f"{abs(relative):.1f}% {'less' if relative < 0 else 'more'} time (relative)" if relative else "no difference",
    }


def side(reports: int, charged: int, outcomes: Mapping[str, int], hours: Mapping[str, Any]) -> dict[str, Any]:
    """One column of the table: every rate with the counts behind it (rates over reports)."""
    with_outcome = sum(outcomes.values())
    codes = {
        code: {
            "label": outcome_label(code),
            "count": count,
            "rate": _round(rate(count, reports)),
            "highlighted": code in HIGHLIGHTED,
        }
        for code, count in sorted(outcomes.items(), key=lambda kv: _code_order(kv[0]))
    }
    for code in HIGHLIGHTED:
        codes.setdefault(code, {"label": outcome_label(code), "count": 0, "rate": _round(rate(0, reports)), "highlighted": True})
    return {
        "reports": reports,
        "with_outcome": with_outcome,
        "charged": charged,
        "charge_rate": _round(rate(charged, reports)),
        "outcomes": dict(sorted(codes.items(), key=lambda kv: _code_order(kv[0]))),
        "hours_to_record": dict(hours),
    }


def compare(d2p: Mapping[str, Any], other: Mapping[str, Any]) -> dict[str, Any]:
    """The differences the table shows: charge rate, outcomes 14 and 16, hours to record."""

    def exact(s: Mapping[str, Any], count: int) -> float | None:
        return rate(count, s["reports"])

    out: dict[str, Any] = {"charge_rate": rate_difference(exact(d2p, d2p["charged"]), exact(other, other["charged"]))}
    for code in HIGHLIGHTED:
        out[f"outcome_{code}_rate"] = rate_difference(
            exact(d2p, d2p["outcomes"][code]["count"]), exact(other, other["outcomes"][code]["count"])
        )
    out["mean_hours_to_record"] = hours_difference(d2p["hours_to_record"]["mean_hours"], other["hours_to_record"]["mean_hours"])
    out["median_hours_to_record"] = hours_difference(d2p["hours_to_record"]["median_hours"], other["hours_to_record"]["median_hours"])
    return out


def _round(value: float | None) -> float | None:
    return round(value, 4) if value is not None and math.isfinite(value) else None


def _code_order(code: str) -> tuple[int, str]:
    digits = "".join(ch for ch in code if ch.isdigit())
    return (int(digits) if digits else 99, code)
