"""Six-field NCRONTAB (seconds first, UTC), as the Functions host reads timer schedules,
so the local runner fires jobs on the same expressions Azure does."""

from __future__ import annotations

from datetime import datetime, timedelta

_RANGES = [(0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 6)]


def _field(expr: str, lo: int, hi: int) -> set[int]:
    values: set[int] = set()
    for part in expr.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = int(step_text)
        if part in ("*", ""):
            start, end = lo, hi
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = int(a), int(b)
        else:
            start = end = int(part)
        if start < lo or end > hi or step < 1:
            raise ValueError(f"{expr!r} is outside {lo}-{hi}")
        values.update(range(start, end + 1, step))
    return values


def parse(expression: str) -> list[set[int]]:
    parts = expression.split()
    if len(parts) != 6:
        raise ValueError(f"NCRONTAB needs six fields (seconds first): {expression!r}")
    return [_field(p, lo, hi) for p, (lo, hi) in zip(parts, _RANGES, strict=True)]


def next_after(expression: str, after: datetime) -> datetime:
    """The first moment strictly after `after` that the expression names."""
    sec, minute, hour, day, month, dow = parse(expression)
    t = after.replace(microsecond=0) + timedelta(seconds=1)
    for _ in range(400 * 24 * 60):  # bounded: at most a year and a bit of minutes
        if t.month not in month or t.day not in day or (t.weekday() + 1) % 7 not in dow:
            t = (t + timedelta(days=1)).replace(hour=0, minute=0, second=0)
            continue
        if t.hour not in hour:
            t = (t + timedelta(hours=1)).replace(minute=0, second=0)
            continue
        if t.minute not in minute:
            t = (t + timedelta(minutes=1)).replace(second=0)
            continue
        later = [s for s in sorted(sec) if s >= t.second]
        if later:
            return t.replace(second=later[0])
        t = (t + timedelta(minutes=1)).replace(second=0)
    raise ValueError(f"{expression!r} never fires")
