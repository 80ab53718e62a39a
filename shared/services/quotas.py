"""Per-principal rate limits: token buckets kept in this process.

Each function host instance (and each `make run` HTTP process) keeps its own buckets, so
a principal's budget is per instance: enough to stop one caller starving the others on
the instance it reaches, not a global quota. The figures are in docs/limits.md."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from shared.domain.errors import DomainError
from shared.domain.tenancy import Principal, Role


class RateLimited(DomainError):
    """429: the principal spent its budget for this kind of request; `Retry-After` says
    when the next one is allowed."""

    status, slug, title = 429, "rate-limited", "Too many requests"

    def __init__(self, detail: str, *, retry_after: int, **extra):
        super().__init__(detail, retry_after_seconds=retry_after, **extra)
        self.headers = {"Retry-After": str(retry_after)}


@dataclass(frozen=True)
class Rate:
    """`burst` requests at once, refilled at `per_minute` a minute."""

    burst: int
    per_minute: float

    def describe(self) -> str:
        return f"{self.burst} at once, then {self.per_minute:g} a minute"


class TokenBuckets:
    """One token bucket per key (a principal): full at `rate.burst`, refilled continuously.

    `clock` is a monotonic clock in seconds (injectable so tests never sleep). Buckets that
    have refilled completely carry no information and are dropped, so the table only holds
    principals active within the last burst/rate period."""

    def __init__(self, rate: Rate, *, clock: Callable[[], float] = time.monotonic):
        if rate.burst < 1 or rate.per_minute <= 0:
            raise ValueError("a rate needs a burst of at least 1 and a positive refill")
        self.rate = rate
        self.clock = clock
        self._per_second = rate.per_minute / 60.0
        self._lock = threading.Lock()
        # key -> (tokens, when they were counted)
        self._buckets: dict[tuple[str, ...], tuple[float, float]] = {}
        self._last_prune = clock()

    def take(self, key: tuple[str, ...]) -> float:
        """Spend one token of `key`'s bucket: 0.0 if there was one, else the seconds until
        there will be (nothing is spent then)."""
        now = self.clock()
        with self._lock:
            self._prune(now)
            tokens, since = self._buckets.get(key, (float(self.rate.burst), now))
            tokens = min(float(self.rate.burst), tokens + (now - since) * self._per_second)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self._per_second

    def give_back(self, key: tuple[str, ...]) -> None:
        """Return a token spent on a request that was then not served (never above the burst)."""
        now = self.clock()
        with self._lock:
            tokens, since = self._buckets.get(key, (float(self.rate.burst), now))
            tokens = min(float(self.rate.burst), tokens + (now - since) * self._per_second + 1.0)
            self._buckets[key] = (tokens, now)

    def _prune(self, now: float) -> None:
        full_after = self.rate.burst / self._per_second
        if now - self._last_prune < full_after:
            return
        self._last_prune = now
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after}


def principal_key(p: Principal) -> tuple[str, str]:
    """Budgets are per user within their organisation (the same user id in two
    organisations is two principals)."""
    return (p.organisation_id, p.user_id)


def _import_key(name: str) -> tuple[str, str]:
    org, sep, user = name.partition("/")
    if not sep or not org or not user:
        raise ValueError(f"an import principal is <organisation>/<user id>, not {name!r}")
    return (org, user)


def retry_after(wait: float) -> int:
    """Whole seconds for `Retry-After`, never 0 (a client retrying at once would be refused)."""
    return max(1, math.ceil(wait))


WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class WriteQuota:
    """Writes (POST, PUT, PATCH, DELETE) a principal may make: people at `people`, ANPR
    camera systems (role Device.Anpr, which post plate-read batches all day) at `devices`,
    and the identities an operator named for a bulk import (`import_principals`, each
    "<organisation>/<user id>") at `imports`."""

    def __init__(
        self,
        *,
        people: Rate,
        devices: Rate,
        imports: Rate | None = None,
        import_principals: Iterable[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ):
        self.people = TokenBuckets(people, clock=clock)
        self.devices = TokenBuckets(devices, clock=clock)
        self.imports = TokenBuckets(imports or devices, clock=clock)
        self.import_principals = frozenset(_import_key(name) for name in import_principals)

    @classmethod
    def from_settings(cls, s, *, clock: Callable[[], float] = time.monotonic) -> WriteQuota:
        return cls(
            people=Rate(burst=s.http_write_burst, per_minute=s.http_writes_per_minute),
            devices=Rate(burst=s.http_device_write_burst, per_minute=s.http_device_writes_per_minute),
            imports=Rate(burst=s.http_import_write_burst, per_minute=s.http_import_writes_per_minute),
            import_principals=s.http_import_principals,
            clock=clock,
        )

    def charge(self, p: Principal, method: str) -> None:
        """Count one request of `p`; raise `RateLimited` if it is a write past the budget."""
        if method.upper() not in WRITE_METHODS:
            return
        if principal_key(p) in self.import_principals:
            buckets = self.imports
        else:
            buckets = self.devices if p.has(Role.DEVICE_ANPR) else self.people
        wait = buckets.take(principal_key(p))
        if wait:
            seconds = retry_after(wait)
            raise RateLimited(
                f"You have sent more changes than this server accepts from one caller "
                f"({buckets.rate.describe()}); try again in {seconds} s.",
                limit=buckets.rate.burst,
                per_minute=buckets.rate.per_minute,
                scope="writes",
                retry_after=seconds,
            )
