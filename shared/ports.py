"""Ports: what the services need from the outside world, as Protocols.

Adapters under `shared/adapters/local` and `shared/adapters/azure` implement them;
`shared/bootstrap.py` chooses which. Services import only this module and
`shared/evidence_ports.py` (evidence bytes and documents), never an SDK.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

Op = Literal["eq", "ne", "in", "ge", "gt", "le", "lt", "contains"]


@dataclass(frozen=True)
class Where:
    """One condition on an indexed field of a collection (see `shared/records.py`)."""

    field: str
    op: Op
    value: Any


@dataclass(frozen=True)
class Branch:
    """One alternative of a query's `any_of`: an item of one of `tenants` matching every
    condition of `where`. A branch without tenants (None) is for every tenant that no other
    branch of the query names, so one query can apply a different condition to a few
    tenants and a common one to the rest (the retention sweep's per-organisation periods)."""

    where: tuple[Where, ...]
    tenants: tuple[str, ...] | None = None


def named_tenants(any_of: Sequence[Branch]) -> set[str]:
    """The tenants some branch names: a branch without tenants is for every other one."""
    return {t for b in any_of if b.tenants is not None for t in b.tenants}


@dataclass
class Page:
    items: list[dict[str, Any]]
    continuation: str | None = None


@dataclass(frozen=True)
class ChainLink:
    """Where an appended entry sits in its hash chain."""

    seq: int
    prev_hash: str
    hash: str


Linker = Callable[[str, int, dict[str, Any]], str]
"""(previous hash, sequence number, entry) -> this entry's hash. Pure; from the domain."""


class UnitOfWork(Protocol):
    """One request's reads and writes, committed together when the block that opened it ends.

    Documents are dicts with an `id`. Reads return them with `_etag` and `_tenant`
    (the partition they live in) added; writes ignore both. Every
    operation names the tenant (organisation id) whose partition it touches; queries
    name the set of tenants they may see.

    What every store guarantees:

    - Nothing a unit writes is visible to other units before it commits, and a unit left
      by an exception writes nothing.
    - A unit reads its own writes: `get`, `query`, `count` and `delete_where` see the
      unit's inserts, replaces, upserts and deletes (with their new `_etag`) as if they
      were committed. Paging through a query while writing to the same collection is
      unspecified: what the unit writes between pages may be missed or returned again.
    - Once a unit has read a document, `get` returns that same version until the unit
      writes it (others' commits do not show through).
    - `insert` (`Conflict`) and `replace` with `if_match` (`PreconditionFailed`) are
      checked at the call against what the unit sees, and again at commit against what
      others committed meanwhile, so leaving the block can raise them too. Writes
      without a precondition (`upsert`, `delete`, `replace(if_match=None)`): the last
      unit to commit wins.
    """

    def get(self, collection: str, tenant: str, id: str) -> dict[str, Any] | None:
        """Point read; None when absent."""

    def query(
        self,
        collection: str,
        tenants: Sequence[str] | None,
        where: Sequence[Where] = (),
        *,
        order_by: str | None = None,
        descending: bool = False,
        limit: int = 100,
        continuation: str | None = None,
        any_of: Sequence[Branch] = (),
    ) -> Page:
        """Filter on indexed fields, ordered, paged by an opaque continuation token.

        `tenants=None` (every tenant) is for platform timer jobs only. With `any_of`, an
        item must also match one of its branches (see `Branch`).
        """

    def count(self, collection: str, tenants: Sequence[str] | None, where: Sequence[Where] = ()) -> int:
        """How many documents match."""

    def insert(self, collection: str, tenant: str, doc: dict[str, Any], *, fresh: bool = False) -> str:
        """Create; raises Conflict when the id exists. Returns the new ETag.

        `fresh`: the caller has just made the id itself (a random id, or the first version
        of a record created in this unit), so a store may skip the look-up at the call and
        raise Conflict at commit only, for the clash that cannot happen in practice.
        """

    def replace(self, collection: str, tenant: str, doc: dict[str, Any], if_match: str | None) -> str:
        """Replace; raises PreconditionFailed when `if_match` is stale. Returns the new ETag."""

    def upsert(self, collection: str, tenant: str, doc: dict[str, Any]) -> str:
        """Create or replace without a precondition. Returns the new ETag."""

    def delete(self, collection: str, tenant: str, id: str) -> bool:
        """Remove; False when it was already gone."""

    def insert_many(self, collection: str, tenant: str, docs: Sequence[dict[str, Any]]) -> list[bool]:
        """Insert each document whose id is new (once, if repeated); returns which were new."""

    def delete_many(self, collection: str, keys: Sequence[tuple[str, str]]) -> int:
        """Remove (tenant, id) pairs; returns how many existed."""

    def delete_where(self, collection: str, where: Sequence[Where], *, order_by: str, limit: int) -> list[tuple[str, str]]:
        """Remove up to `limit` documents of any tenant matching `where`, first by `order_by`,
        without loading them; returns the (tenant, id) keys removed. For timer sweeps."""

    def append_chained(
        self, collection: str, tenant: str, chain: str, entry: dict[str, Any], linker: Linker, *, shards: int = 1
    ) -> ChainLink | None:
        """Append `entry` to the hash chain `chain` of `tenant`.

        The adapter serialises appends per chain and fills `chain`, `seq`, `prev_hash` and
        `hash` from `linker`. May return None when the link is only fixed at commit.

        With `shards` > 1 the entry goes to one of the first `shards` shards of `chain`
        (`shared.domain.audit.shard_chain`; shard 0 is `chain` itself): every entry this
        unit appends to `chain` lands in the same shard, one whose head no concurrent unit
        is moving where the store can tell (it tries another shard on a lost race).
        """

    def link_journal(self, collection: str, tenant: str, chain: str, linker: Linker, *, shards: int = 1) -> int:
        """Append to `chain` of `tenant` every entry `RecordStore.journal` kept for it and not
        yet linked, in the order journaled, exactly once (the link lands with this unit's
        commit or not at all), into one of its `shards` shards as `append_chained` does.
        Returns how many. Writes: not in a read-only unit."""

    def journal_pending(self, collection: str, tenant: str, chain: str) -> int:
        """How many journaled entries of `chain` of `tenant` wait to be linked (any unit)."""

    def next_sequence(self, tenant: str, name: str) -> int:
        """A number unique and increasing within (tenant, name). Gaps are allowed."""

    def commit(self) -> None:
        """Make every write of this unit visible at once (or as near as the store allows).

        The store calls it when the outermost block ends; services never do."""


class ReadOnlyUnitError(RuntimeError):
    """A write, or a unit of work, attempted inside a read-only unit."""


class RecordStore(Protocol):
    """Opens units of work. Thread-safe; a unit belongs to the thread that opened it.

    Nesting: a unit opened on a thread that already has a unit of this store open joins
    it instead of starting another (services read the directory and other reference
    data while a request's unit is open). A joined `unit_of_work()` is the outer unit
    itself: what it writes commits or rolls back with the outer unit, and leaving the
    inner block does neither, so an exception that the outer block catches undoes
    nothing. A joined `read_only()` sees what the outer unit sees, its uncommitted
    writes included, and refuses writes. `unit_of_work()` inside a read-only unit raises
    `ReadOnlyUnitError`.
    """

    def read_only(self) -> AbstractContextManager[UnitOfWork]:
        """A unit that only reads: its writes (and `next_sequence`) raise `ReadOnlyUnitError`.

        It takes no write lock, so it neither waits for nor holds up a unit that writes.
        It sees committed data only, at least everything committed before it opened;
        once it has read a document, `get` returns that same version for the rest of the
        unit. Queries may or may not see what others commit while it is open.
        """

    def unit_of_work(self) -> AbstractContextManager[UnitOfWork]:
        """Open a unit of work (or join this thread's): it commits when the outermost block ends
        without error, else rolls back."""

    def create_all(self, collection: str, tenant: str, docs: Sequence[dict[str, Any]]) -> list[bool]:
        """Store each document whose id is new (a repeated id once), outside any unit of work
        (RuntimeError inside one); returns which were new. For content-derived ids (plate reads):
        atomic per write, not per call (Cosmos: a transactional batch per partition key and 100
        documents), so a caller failing part-way re-sends and each is stored once."""

    def journal(self, collection: str, tenant: str, chain: str, entry: dict[str, Any], linker: Linker, *, shards: int = 1) -> None:
        """Keep `entry` (with an `id`) for the hash chain `chain` of `tenant`, durably when this
        returns, outside any unit of work and without waiting for one that writes: the audit
        entry of a read. It reaches the chain (one of its `shards` shards, see
        `UnitOfWork.append_chained`) after everything appended before this call, in journal
        order, through `UnitOfWork.link_journal` (or at once where an append takes no
        store-wide lock)."""

    def recover_commits(self, older_than: datetime) -> int:
        """Finish what a process that died mid-commit left before `older_than`: roll its writes
        back so nothing stays half-written; returns how many units were rolled back. A store
        whose commit is one transaction has nothing to do."""

    def ready(self) -> tuple[bool, str]:
        """Whether the store answers, with a short reason when it does not."""

    def close(self) -> None:
        """Release connections."""


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""


@dataclass(frozen=True)
class WebhookResult:
    """What a receiver answered: `status` 0 when it could not be reached."""

    status: int
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return 200 <= self.status < 300


class WebhookSender(Protocol):
    def post(self, url: str, body: bytes, headers: dict[str, str], *, timeout: float) -> WebhookResult:
        """POST `body` to `url` once; never raises for the receiver's failures."""

    def destination_problem(self, url: str) -> str | None:
        """Why alerts may not go to `url`'s host (e.g. it is not a public address), or None."""


class TokenVerifier(Protocol):
    def verify(self, token: str) -> dict[str, Any]:
        """Check signature, issuer, audience, expiry, not-before and algorithm; return claims.

        Raises `shared.domain.errors.Unauthorized` with a reason otherwise.
        """


@dataclass(frozen=True)
class SignInStart:
    """The first leg of a console sign-in: where to send the browser, and what to keep
    until it comes back."""

    url: str
    """The identity provider's authorize URL (a 302 target)."""
    flow_state: dict[str, Any]
    """Small JSON-able state (a few hundred bytes) to keep, signed, in a cookie of its own
    until the callback, and give back unchanged to `ConsoleSignIn.complete`. The answer
    comes back as a cross-site form POST, which a SameSite=Lax cookie does not accompany:
    this cookie is HttpOnly, Secure, SameSite=None, Path=/signin/callback, and lives no
    longer than the flow (docs/tenancy.md). `flow_state["next"]` is the console path to go
    to once signed in, already checked to be a path on this site."""


class ConsoleSignIn(Protocol):
    """The console's OpenID Connect sign-in (authorization code flow with PKCE, the answer
    posted back to the redirect URI: response_mode form_post).

    Only the azure backend has one (`container.console_signin`); locally the console lists
    the seeded organisations instead. Whatever signs a person in, the claims it returns go
    through `Directory.principal_from_claims`, exactly as an API token's claims do.
    """

    def begin(self, redirect_uri: str, next_path: str) -> SignInStart:
        """Start a sign-in that will come back to `redirect_uri` (the console's
        `https://<host>/signin/callback`, registered on its app registration) and then go
        on to `next_path` (a path on this site; anything else becomes "/")."""

    def complete(self, flow_state: dict[str, Any], callback_params: dict[str, str]) -> dict[str, Any]:
        """Finish the sign-in `flow_state` began, with the form fields the browser posted to
        the redirect URI (`code`, `state`, or `error`). Returns Vigil's claims for the
        signed-in person: `{"sub": <Entra object id>, "tid": ..., "roles": [...]}`, plus
        `stores` when the tenant issues it.

        The callback needs no CSRF token: the `state` it carries, matched here against the
        signed flow cookie, is its CSRF defence. Raises `shared.domain.errors.Unauthorized`
        with a plain reason when the answer is not for this flow (state), the person
        declined, the code is refused (PKCE, redirect URI, client credential), or the ID
        token is not for this app (signature, issuer, audience, nonce, expiry);
        `Unavailable` when the identity provider cannot be reached.
        """


class DeliveryEventVerifier(Protocol):
    def verify(
        self, payload: bytes, signature: str | None, timestamp: str | None, *, public_key: str, now: datetime, max_age_seconds: int
    ) -> None:
        """Check that the mail provider signed this event webhook body at `timestamp`, with
        the private half of `public_key`, no more than `max_age_seconds` from `now`.

        Raises `shared.domain.errors.Unauthorized` with a reason otherwise, and always when
        `public_key` is empty: an unsigned webhook is never trusted.
        """


@dataclass
class JobReport:
    """What a timer or queue job did, for logs and for `make job`."""

    job: str
    as_of: datetime
    counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def iterate_all(
    uow: UnitOfWork, collection: str, tenants: Sequence[str] | None, where: Sequence[Where] = (), **kw: Any
) -> Iterator[dict[str, Any]]:
    """Every matching document, following continuations page by page."""
    continuation = None
    while True:
        page = uow.query(collection, tenants, where, continuation=continuation, **kw)
        yield from page.items
        continuation = page.continuation
        if not continuation:
            return


class PoisonMessage(Exception):
    """A queue message that can never succeed (it names nothing that exists, it cannot be
    read): dead-lettered at once with this reason, never redelivered."""


@dataclass
class QueueMessage:
    """A received message. `delivery_count` starts at 1."""

    queue: str
    message_id: str
    body: dict[str, Any]
    delivery_count: int
    receipt: str = ""


class MessageQueue(Protocol):
    """At-least-once queues with duplicate detection on message id, visibility timeout,
    a delivery limit and a dead-letter queue (Service Bus semantics)."""

    def send(self, queue: str, body: dict[str, Any], *, message_id: str, delay_seconds: float = 0, prior_deliveries: int = 0) -> bool:
        """Enqueue; returns False when a message with this id was already accepted (duplicate).
        `prior_deliveries`: a retry's copy carries the deliveries made before it, so its
        delivery_count goes on from there."""

    def receive(self, queue: str, *, max_messages: int = 10, visibility_seconds: float = 30) -> list[QueueMessage]:
        """Lock up to `max_messages` visible messages for `visibility_seconds`."""

    def complete(self, message: QueueMessage) -> None:
        """Remove a handled message."""

    def abandon(self, message: QueueMessage, *, delay_seconds: float = 0) -> None:
        """Give a message back for another delivery (after `delay_seconds`), or dead-letter
        it when its deliveries reached the limit."""

    def dead_letter(self, message: QueueMessage, *, reason: str) -> None:
        """Move a message that can never succeed to the dead-letter queue."""

    def dead_letters(self, queue: str, *, limit: int = 100) -> list[dict[str, Any]]:
        """Dead-lettered messages of a queue, with reason and delivery count."""

    def replay_dead_letters(self, queue: str, *, message_ids: Sequence[str] | None = None) -> int:
        """Put dead-lettered messages back on their queue with a fresh delivery count."""


class TransientMailError(Exception):
    """The mail provider could not take the message now (timeout, 429, 5xx): try again later."""


class PermanentMailError(Exception):
    """The mail provider will never take this message (e.g. an invalid address): do not retry."""


class MailSender(Protocol):
    """Sends one rendered email (`shared.domain.mail.Email`): local `.eml` outbox or SendGrid."""

    def send(self, message: Any) -> str:
        """Hand the message to the provider; returns the provider's message id.

        Raises TransientMailError or PermanentMailError.
        """

    def ready(self) -> tuple[bool, str]:
        """Whether the provider can be reached, with a short reason when not."""
