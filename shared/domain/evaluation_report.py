"""The evaluation table as a chief officer's downloads: a CSV (one line per column of the
table, the counts beside every rate) and a briefing document rendered as PDF with the
court documents' renderer. Pure: from the table the service answers."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

from shared.domain.court import CourtDocument, Heading, Para, Table

CSV_COLUMNS = (
    "comparison",
    "series",
    "period",
    "reports",
    "charged",
    "charge_rate_percent",
    "outcome_14",
    "outcome_14_rate_percent",
    "outcome_16",
    "outcome_16_rate_percent",
    "other_outcomes",
    "crimes_recorded",
    "mean_hours_to_record",
    "median_hours_to_record",
)


def _pct(rate: float | None) -> str:
    return f"{rate * 100:.1f}" if rate is not None else ""


def _num(value: float | None) -> str:
    return f"{value:g}" if value is not None else ""


def _periods(row: dict[str, Any]) -> str:
    return "; ".join(f"{p['from']} to {p['to']}" for p in row["periods"])


def _line(comparison: str, series: str, period: str, side: dict[str, Any]) -> list[str]:
    o = side["outcomes"]
    others = "; ".join(f"{code}: {v['count']}" for code, v in o.items() if code not in ("14", "16"))
    h = side["hours_to_record"]
    return [
        comparison,
        series,
        period,
        str(side["reports"]),
        str(side["charged"]),
        _pct(side["charge_rate"]),
        str(o["14"]["count"]),
        _pct(o["14"]["rate"]),
        str(o["16"]["count"]),
        _pct(o["16"]["rate"]),
        others,
        str(h["n"]),
        _num(h["mean_hours"]),
        _num(h["median_hours"]),
    ]


def _label(diff: dict[str, Any] | None, key: str = "points_label") -> str:
    return f"{diff[key]}; {diff['relative_label']}" if diff else "not comparable"


def as_csv(force_name: str, table: dict[str, Any]) -> str:
    """The table as CSV: for each channel, D2P's line, the channel's line and the differences."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for row in table["channels"]:
        comparison = f"D2P against {row['channel']} ({force_name})"
        period = _periods(row)
        w.writerow(_line(comparison, "D2P", period, row["d2p"]))
        w.writerow(_line(comparison, row["channel"], period, row["channel_figures"]))
        d = row["differences"]
        w.writerow(
            [comparison, "difference (D2P minus channel)", period, "", "", _label(d["charge_rate"]), "", _label(d["outcome_14_rate"]), "",
             _label(d["outcome_16_rate"]), "", "", _label(d["mean_hours_to_record"], "hours_label"),
             _label(d["median_hours_to_record"], "hours_label")]
        )  # fmt: skip
    return out.getvalue()


def _cell(count: int, rate: float | None) -> str:
    return f"{rate * 100:.1f}% ({count})" if rate is not None else f"- ({count})"


def _hours(h: dict[str, Any], key: str) -> str:
    return f"{h[key]:g} h" if h[key] is not None else "not known"


def briefing(force_name: str, table: dict[str, Any], generated: str) -> CourtDocument:
    """The table as a briefing document: one table per channel, differences in words."""
    blocks: list[Any] = [
        Para(
            "Rates are shares of the reports received in the period, with the number of reports behind each in brackets. "
            "Differences in rates are given as percentage points (the gap between two percentages) and, separately, as "
            "relative change (how much larger or smaller one rate is than the other). D2P hours to record run from the "
            "report reaching the force's inbox to the crime reference being recorded; the channels' hours are as the "
            "force's records system reported them."
        )
    ]
    if not table["channels"]:
        blocks.append(Para("No channel's figures have been uploaded for this period: there is nothing to compare D2P with.", bold=True))
    for row in table["channels"]:
        d2p, other, d = row["d2p"], row["channel_figures"], row["differences"]
        ch = row["channel"]
        blocks.append(Heading(f"D2P against {ch}: {_periods(row)}"))
        rows = [
            ("Reports", str(d2p["reports"]), str(other["reports"]), ""),
            ("Charged or summonsed", _cell(d2p["charged"], d2p["charge_rate"]), _cell(other["charged"], other["charge_rate"]),
             _label(d["charge_rate"])),
            ("Outcome 14 (victim does not support)", _cell(d2p["outcomes"]["14"]["count"], d2p["outcomes"]["14"]["rate"]),
             _cell(other["outcomes"]["14"]["count"], other["outcomes"]["14"]["rate"]), _label(d["outcome_14_rate"])),
            ("Outcome 16 (named suspect, victim does not support)", _cell(d2p["outcomes"]["16"]["count"], d2p["outcomes"]["16"]["rate"]),
             _cell(other["outcomes"]["16"]["count"], other["outcomes"]["16"]["rate"]), _label(d["outcome_16_rate"])),
            ("Mean hours to record", _hours(d2p["hours_to_record"], "mean_hours"), _hours(other["hours_to_record"], "mean_hours"),
             _label(d["mean_hours_to_record"], "hours_label")),
            ("Median hours to record", _hours(d2p["hours_to_record"], "median_hours"), _hours(other["hours_to_record"], "median_hours"),
             _label(d["median_hours_to_record"], "hours_label")),
        ]  # fmt: skip
        blocks.append(Table(headers=("Measure", "D2P", ch, "Difference"), rows=tuple(rows), widths=(5, 3, 3, 6)))
    return CourtDocument(
        title=f"D2P evaluation: {force_name}",
        subtitle=(f"Reports received {table['from']} to {table['to']} (UTC days)", f"Generated {generated} by Vigil from live figures"),
        blocks=tuple(blocks),
        footer="Aggregate figures: no personal data. D2P is counted in Vigil; other channels are as the force uploaded them.",
        marking="OFFICIAL",
        keywords=("D2P", "evaluation", force_name),
    )


def default_period(today: date) -> tuple[date, date]:
    """The month to show when none is asked for: the current one."""
    first = today.replace(day=1)
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, following - timedelta(days=1)
