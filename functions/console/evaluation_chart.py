"""The evaluation's briefing chart, drawn on the server as SVG: horizontal bars, each with
its series and value written beside it (never colour alone), a title and a description
for screen readers, and classes instead of inline style (the console's CSP)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WIDTH = 780
LABEL_W = 170  # the series name left of each bar
BAR_AREA = 300
BAR_H = 18
GAP = 6
GROUP_GAP = 30


@dataclass(frozen=True)
class Bar:
    y: int
    width: int
    series: str
    value_text: str
    css: str


@dataclass(frozen=True)
class Group:
    y: int
    title: str
    bars: list[Bar]


@dataclass(frozen=True)
class Chart:
    id: str
    title: str
    description: str
    height: int
    groups: list[Group]
    label_w: int = LABEL_W
    width: int = WIDTH


def series_of(table: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The chart's series: D2P (once per distinct set of days) and each channel's figures."""
    out: list[tuple[str, dict[str, Any]]] = []
    seen: list[dict[str, Any]] = []
    for row in table["channels"]:
        if row["d2p"] not in seen:
            seen.append(row["d2p"])
            same_days = all(r["d2p"] == row["d2p"] for r in table["channels"])
            out.append(("D2P" if same_days else f"D2P ({row['channel']} days)", row["d2p"]))
    for row in table["channels"]:
        out.append((row["channel"], row["channel_figures"]))
    return out


def _pct(count: int, of: int) -> str:
    return f"{count / of:.1%} ({count} of {of})" if of else "no reports"


def rates_chart(table: dict[str, Any]) -> Chart | None:
    """Charge rate and outcome 14 and 16 rates, percent of reports, per series."""
    series = series_of(table)
    if not series:
        return None
    measures = [
        ("Charged or summonsed (outcomes 1 and 1A)", lambda s: s["charged"]),
        ("Outcome 14: evidential difficulties, victim does not support", lambda s: s["outcomes"]["14"]["count"]),
        ("Outcome 16: named suspect, victim does not support", lambda s: s["outcomes"]["16"]["count"]),
    ]
    top = max((m(s) / s["reports"] for _, m in measures for _, s in series if s["reports"]), default=0) or 1
    groups, y = [], 0
    for title, measure in measures:
        y += 22
        title_y, y = y, y + 8
        bars = []
        for i, (name, s) in enumerate(series):
            value = measure(s) / s["reports"] if s["reports"] else 0
            width = round(BAR_AREA * value / top)
            bars.append(Bar(y=y, width=width, series=name, value_text=_pct(measure(s), s["reports"]), css=f"eval-bar eval-series-{i % 6}"))
            y += BAR_H + GAP
        groups.append(Group(y=title_y, title=title, bars=bars))
    y += 10
    return Chart(
        id="eval-rates",
        title="Outcomes as a share of reports: D2P against each channel",
        description=_describe(series, measures),
        height=y,
        groups=groups,
    )


def hours_chart(table: dict[str, Any]) -> Chart | None:
    """Mean hours from the report reaching the force to the crime being recorded."""
    # Each series keeps its place (and so its fill) from the rates chart.
    series = [(i, n, s) for i, (n, s) in enumerate(series_of(table)) if s["hours_to_record"]["mean_hours"] is not None]
    if not series:
        return None
    top = max(s["hours_to_record"]["mean_hours"] for _, _, s in series) or 1
    bars, y = [], 30
    for i, name, s in series:
        h = s["hours_to_record"]
        median = f", median {h['median_hours']:g}" if h["median_hours"] is not None else ""
        text = f"{h['mean_hours']:g} hours mean{median} ({h['n']} recorded)"
        bars.append(
            Bar(y=y, width=round(BAR_AREA * h["mean_hours"] / top), series=name, value_text=text, css=f"eval-bar eval-series-{i % 6}")
        )
        y += BAR_H + GAP
    description = "; ".join(f"{b.series}: {b.value_text}" for b in bars)
    return Chart(
        id="eval-hours",
        title="Hours from the report reaching the force to the crime being recorded (mean)",
        description=description,
        height=y + 10,
        groups=[Group(y=20, title="Mean hours to record", bars=bars)],
    )


def _describe(series: list[tuple[str, dict[str, Any]]], measures: list[Any]) -> str:
    parts = []
    for title, measure in measures:
        parts.append(title + ": " + "; ".join(f"{name} {_pct(measure(s), s['reports'])}" for name, s in series))
    return ". ".join(parts) + "."
