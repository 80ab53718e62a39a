"""Image work (face proposals, redaction renders) admitted one principal budget and one
worker slot at a time, so parallel requests can never need more memory than
`workers` decoded images: a decoded image costs about five bytes a pixel while it is
worked on, whatever its compressed size."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from shared.domain.errors import DomainError
from shared.domain.tenancy import Principal
from shared.services.quotas import Rate, RateLimited, TokenBuckets, principal_key, retry_after

# When a refused request may try again: image work takes seconds, not minutes.
BUSY_RETRY_AFTER_SECONDS = 5


class ImageWorkBusy(DomainError):
    status, slug, title = 503, "image-work-busy", "The server is busy with other image work"
    headers = {"Retry-After": str(BUSY_RETRY_AFTER_SECONDS)}


class ImageWork:
    """At most `workers` images decoded at once in this process; a request waits up to
    `queue_seconds` for a worker, then gets 503. Each principal may start `rate` image
    jobs (429 past it)."""

    def __init__(self, *, workers: int, queue_seconds: float, rate: Rate, clock: Callable[[], float] = time.monotonic):
        if workers < 1:
            raise ValueError("image work needs at least one worker")
        self.workers = workers
        self.queue_seconds = queue_seconds
        self.budget = TokenBuckets(rate, clock=clock)
        self._slots = threading.BoundedSemaphore(workers)

    @classmethod
    def from_settings(cls, s, *, clock: Callable[[], float] = time.monotonic) -> ImageWork:
        return cls(
            workers=s.evidence_image_workers,
            queue_seconds=s.evidence_image_queue_seconds,
            rate=Rate(burst=s.evidence_image_burst, per_minute=s.evidence_image_per_minute),
            clock=clock,
        )

    @contextmanager
    def slot(self, principal: Principal, what: str) -> Iterator[None]:
        """Hold a worker for `what` (e.g. "Face proposals") after charging `principal`'s budget.

        Raises `RateLimited` (429) past the principal's budget and `ImageWorkBusy` (503)
        when no worker frees within the queue time; neither spends anything else."""
        key = principal_key(principal)
        wait = self.budget.take(key)
        if wait:
            seconds = retry_after(wait)
            raise RateLimited(
                f"{what}: you have started more image work than this server accepts from one person "
                f"({self.budget.rate.describe()}); try again in {seconds} s.",
                limit=self.budget.rate.burst,
                per_minute=self.budget.rate.per_minute,
                scope="image-work",
                retry_after=seconds,
            )
        if not self._slots.acquire(timeout=self.queue_seconds):
            # Not served: the attempt should not count against the principal.
            self.budget.give_back(key)
            raise ImageWorkBusy(
                f"{what}: this server is working on {self.workers} images already; try again shortly.",
                limit=self.workers,
            )
        try:
            yield
        finally:
            self._slots.release()
