"""Token buckets: the arithmetic behind the write and image budgets (docs/limits.md)."""

from __future__ import annotations

import pytest

from shared.services.quotas import Rate, TokenBuckets
from tests.fakes import FakeMonotonic


def test_a_bucket_refills_continuously_up_to_its_burst():
    clock = FakeMonotonic()
    buckets = TokenBuckets(Rate(burst=2, per_minute=30), clock=clock)
    assert [buckets.take(("org", "a")) for _ in range(2)] == [0.0, 0.0]
    assert buckets.take(("org", "a")) == pytest.approx(2.0)
    clock.advance(1)
    assert buckets.take(("org", "a")) == pytest.approx(1.0)
    clock.advance(3600)
    assert [buckets.take(("org", "a")) for _ in range(3)][:2] == [0.0, 0.0]


def test_a_token_given_back_never_lifts_a_bucket_past_its_burst():
    clock = FakeMonotonic()
    buckets = TokenBuckets(Rate(burst=1, per_minute=1), clock=clock)
    buckets.give_back(("org", "a"))
    assert buckets.take(("org", "a")) == 0.0 and buckets.take(("org", "a")) > 0


def test_refilled_buckets_are_forgotten():
    clock = FakeMonotonic()
    buckets = TokenBuckets(Rate(burst=2, per_minute=60), clock=clock)
    buckets.take(("org", "a"))
    clock.advance(1)
    buckets.take(("org", "b"))
    assert set(buckets._buckets) == {("org", "a"), ("org", "b")}
    clock.advance(1.5)  # "a" untouched for 2.5 s, so full again; "b" for 1.5 s, still short of its burst
    buckets.take(("org", "c"))
    assert set(buckets._buckets) == {("org", "b"), ("org", "c")}


def test_a_rate_needs_a_burst_and_a_refill():
    with pytest.raises(ValueError):
        TokenBuckets(Rate(burst=0, per_minute=10))
    with pytest.raises(ValueError):
        TokenBuckets(Rate(burst=1, per_minute=0))
