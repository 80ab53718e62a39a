"""Exponential backoff, the one formula every retry uses: alert deliveries, queue
redeliveries and optimistic-concurrency retries against Cosmos DB.

Pure: a caller that wants jitter draws the random number itself and passes it in."""

from __future__ import annotations


def backoff_seconds(attempt: int, *, base: float, cap: float, jitter: float | None = None) -> float:
    """The delay after the `attempt`-th failure (counting from 1): base * 2^(attempt - 1),
    at most `cap`.

    With `jitter`, a draw from [0, 1) such as `random.random()`, the delay is that fraction
    of it ("full jitter"), which spreads the retries of many callers over the interval
    instead of bunching them at its end.
    """
    ceiling = min(cap, base * 2.0 ** max(0, attempt - 1))
    return ceiling if jitter is None else ceiling * jitter
