"""Six-field NCRONTAB (seconds first, UTC): when the local runner fires a timer next."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from functions.ncrontab import next_after, parse
from shared.names import TIMERS


def at(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    "expr,after,expected",
    [
        ("0 */5 * * * *", at(2026, 11, 23, 12, 3, 10), at(2026, 11, 23, 12, 5, 0)),
        ("0 */5 * * * *", at(2026, 11, 23, 12, 5, 0), at(2026, 11, 23, 12, 10, 0)),  # strictly after
        ("*/30 * * * * *", at(2026, 11, 23, 12, 0, 29, 999999), at(2026, 11, 23, 12, 0, 30)),
        ("0 0 2 * * *", at(2026, 11, 23, 2, 0, 0), at(2026, 11, 24, 2, 0, 0)),
        ("0 0 2 * * *", at(2026, 12, 31, 3, 0, 0), at(2027, 1, 1, 2, 0, 0)),  # over the year end
        ("0 30 9 * * 1-5", at(2026, 11, 27, 10, 0, 0), at(2026, 11, 30, 9, 30, 0)),  # Friday -> Monday
        ("0 0 0 * * 0", at(2026, 11, 23, 0, 0, 0), at(2026, 11, 29, 0, 0, 0)),  # Sunday is 0
        ("0 0 0 29 2 *", at(2026, 11, 23), at(2028, 2, 29)),  # next leap day
        ("0 15,45 * * * *", at(2026, 11, 23, 12, 16), at(2026, 11, 23, 12, 45)),
        ("0 0 0 1 1,7 *", at(2026, 2, 1), at(2026, 7, 1)),
        # Names, as Azure accepts them: weekdays at 09:30, Friday evening -> Monday morning.
        ("0 30 9 * * MON-FRI", at(2026, 11, 27, 10, 0, 0), at(2026, 11, 30, 9, 30, 0)),
        ("0 30 9 * * MON-FRI", at(2026, 11, 30, 8, 0, 0), at(2026, 11, 30, 9, 30, 0)),
        ("0 0 6 * JAN,JUL SUN", at(2026, 11, 23), at(2027, 1, 3, 6, 0, 0)),
        ("0 0 0 13 * 5", at(2026, 1, 1), at(2026, 2, 13)),  # day and weekday must both match
    ],
)
def test_next_fire(expr, after, expected):
    assert next_after(expr, after) == expected


@pytest.mark.parametrize(
    "expr",
    [
        "0 */5 * * *",
        "* * * * * * *",
        "60 * * * * *",
        "0 0 24 * * *",
        "0 0 0 32 * *",
        "0 0 0 * 13 *",
        "0 0 0 * * 7",
        "*/0 * * * * *",
        "a * * * * *",
        "0 0 0 L * *",  # croniter reads these; NCRONTAB does not
        "0 0 0 ? * *",
        "0 0 0 * * 5#3",
        "H 0 0 * * *",
        "0 0 0 * * 5-7",
    ],
)
def test_invalid_expressions_are_refused(expr):
    with pytest.raises(ValueError):
        parse(expr)


def test_parse_gives_each_fields_values_seconds_first():
    assert parse("0 30 9 * * MON-FRI") == [{0}, {30}, {9}, set(range(1, 32)), set(range(1, 13)), {1, 2, 3, 4, 5}]


def test_an_expression_that_never_fires_is_refused():
    with pytest.raises(ValueError):
        next_after("0 0 0 31 2 *", at(2026, 11, 23))


def test_every_default_schedule_parses_and_fires_within_a_day():
    from functions import jobs

    jobs.load_all()
    start = at(2026, 11, 23, 12, 0, 0)
    for name, timer in jobs.TIMER_JOBS.items():
        assert name in TIMERS
        fire = next_after(timer.default_schedule, start)
        assert start < fire <= at(2026, 11, 30, 12, 0, 0), (name, timer.default_schedule)
