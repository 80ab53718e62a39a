"""The one backoff formula, with the figures each of its callers relies on."""

from __future__ import annotations

import random

import pytest

from shared.domain.backoff import backoff_seconds


def test_doubles_from_the_base_up_to_the_cap():
    assert [backoff_seconds(a, base=2, cap=30) for a in range(1, 7)] == [2, 4, 8, 16, 30, 30]


def test_the_first_attempt_and_below_wait_the_base():
    assert backoff_seconds(1, base=2, cap=30) == backoff_seconds(0, base=2, cap=30) == 2


def test_full_jitter_is_that_fraction_of_the_delay():
    assert backoff_seconds(3, base=1, cap=300, jitter=0.0) == 0.0
    assert backoff_seconds(3, base=1, cap=300, jitter=0.5) == 2.0
    assert backoff_seconds(20, base=1, cap=300, jitter=0.25) == 75.0


@pytest.mark.parametrize(
    "attempt,base,cap,expected",
    [
        (8, 2.0, 3600.0, 256.0),  # ANPR alert webhooks (the settings' defaults)
        (10, 1.0, 300.0, 300.0),  # queue redeliveries on the local runner
        (1, 0.005, 0.2, 0.005),  # Cosmos DB sequence and chain-head races
        (6, 0.005, 0.2, 0.16),
        (50, 0.005, 0.2, 0.2),
    ],
)
def test_callers_figures(attempt, base, cap, expected):
    assert backoff_seconds(attempt, base=base, cap=cap) == pytest.approx(expected)


def test_the_same_draw_gives_the_same_delay_as_random_uniform():
    """The queue runner's delay before this helper: random.uniform(0, min(cap, base * 2^(n-1)))."""
    for n in range(1, 12):
        assert backoff_seconds(n, base=1.0, cap=300.0, jitter=random.Random(n).random()) == random.Random(n).uniform(
            0, min(300.0, 2.0 ** (n - 1))
        )
