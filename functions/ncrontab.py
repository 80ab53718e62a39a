"""Six-field NCRONTAB (seconds first, UTC), as the Functions host reads timer schedules,
so the local runner fires jobs on the same expressions Azure does.

croniter reads and steps the expression. It reads more than NCRONTAB does (a seventh
field for the year, `L`, `W`, `#`, `?`, `H`, and 7 for Sunday), so those are refused
here first: a schedule that runs locally must also run in Azure. Day of month and day of
week must both match, as in NCRONTAB (croniter's default is either)."""

from __future__ import annotations

import re
from datetime import datetime

from croniter import CroniterError, croniter

_RANGES = [(0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 6)]
# One comma-separated part of a field: `*`, a number or a three-letter name, an optional
# range end, an optional step.
_TERM = r"(\*|[0-9]+|[A-Za-z]{3})"
_PART = re.compile(rf"{_TERM}(-{_TERM})?(/[0-9]+)?")
_DAY_OF_WEEK = 5


def _check_syntax(expression: str) -> None:
    fields = expression.split()
    if len(fields) != 6:
        raise ValueError(f"NCRONTAB needs six fields (seconds first): {expression!r}")
    for field in fields:
        if not all(_PART.fullmatch(part) for part in field.split(",")):
            raise ValueError(f"{expression!r}: {field!r} is not NCRONTAB syntax")
    for part in fields[_DAY_OF_WEEK].split(","):
        if any(int(n) > 6 for n in re.findall(r"[0-9]+", part.split("/")[0])):
            raise ValueError(f"{expression!r}: days of the week are 0 (Sunday) to 6")


def parse(expression: str) -> list[set[int]]:
    """Check `expression` as NCRONTAB; the values of its six fields, seconds first."""
    _check_syntax(expression)
    try:
        expanded, _ = croniter.expand(expression, second_at_beginning=True)
    except CroniterError as exc:
        raise ValueError(f"{expression!r}: {exc}") from exc
    minute, hour, day, month, dow, second = expanded
    return [
        set(range(lo, hi + 1)) if values == ["*"] else {int(v) for v in values}
        for values, (lo, hi) in zip([second, minute, hour, day, month, dow], _RANGES, strict=True)
    ]


def next_after(expression: str, after: datetime) -> datetime:
    """The first moment strictly after `after` that the expression names."""
    _check_syntax(expression)
    try:
        return croniter(expression, after, day_or=False, second_at_beginning=True).get_next(datetime)
    except CroniterError as exc:
        raise ValueError(f"{expression!r} never fires or is not valid: {exc}") from exc
