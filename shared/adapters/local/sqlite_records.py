"""Records on SQLite (WAL): one file per region, one table per collection.

The tables are described in `sqlite_schema`. A unit of work is a SAVEPOINT on the store's
one writer connection, so a request's writes land together or not at all. Units run one
at a time; units that queue behind each other share one `BEGIN IMMEDIATE` transaction and
one COMMIT (group commit): a unit that fails rolls back to its savepoint alone, and every
unit's caller gets its answer only after the COMMIT that carries its writes.

The audit journal (entries of reads, see `SqliteRecordStore.journal`) is a second SQLite
file beside the store, `<name>.audit-journal`, with its own lock: appending to it never waits
for a unit that writes. Each chain keeps in CHAIN_HEADS (`journal:<chain>`) the journal
row it has linked up to, moved in the unit that links, so a row is linked exactly once
whatever fails; rows at or below a committed mark are removed by the next link.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

try:
    import fcntl
except ImportError:  # Windows: one process per store, the thread lock is enough
    fcntl = None  # type: ignore[assignment]

from shared.adapters.local.sqlite_schema import create_or_migrate
from shared.adapters.local.sqlite_unit_of_work import SqliteUnitOfWork, dump_document
from shared.domain.errors import Unavailable
from shared.ports import Linker, ReadOnlyUnitError

log = logging.getLogger("vigil.sqlite")


class _Group:
    """Units of work sharing one write transaction: answered together once it commits."""

    __slots__ = ("after_commit", "done", "error", "size")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: BaseException | None = None
        self.size = 0
        self.after_commit: list[Callable[[], None]] = []


class SqliteRecordStore:
    """A region's records in one SQLite file. Thread-safe: reads on a connection per
    thread, writes on one writer connection that units take in turn (group commit)."""

    def __init__(self, path: Path, *, busy_timeout_ms: int = 10_000, checkpoint_seconds: float = 1.0, group_commit_max: int = 32):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        # Writers in this process queue on a lock rather than on SQLite's sleep-and-retry
        # busy handler, which would add milliseconds of jitter under load.
        self._write_lock = threading.Lock()
        # Group commit: how many units are queued for the lock, the open transaction's
        # group, and the most units one COMMIT may carry (1: a transaction per unit).
        self._queue_mutex = threading.Lock()
        self._waiting = 0
        self._group: _Group | None = None
        self._group_commit_max = max(1, group_commit_max)
        self._writer_conn: sqlite3.Connection | None = None
        self._connections: list[sqlite3.Connection] = []
        self._connections_lock = threading.Lock()
        # Writers in other processes (`make run` with several HTTP processes, a `make job`
        # beside it) queue on an advisory file lock for the same reason.
        self._lock_file = open(self.path.with_name(self.path.name + ".writelock"), "a+b")  # noqa: SIM115 - held for the store's life
        self._journal_path = self.path.with_name(self.path.name + ".audit-journal")
        self._journal_connections: list[sqlite3.Connection] = []
        with self._writer():
            create_or_migrate(self._connection())
        self._journal_connection().execute(_JOURNAL_TABLE)
        self._journal_connection().execute(_JOURNAL_INDEX)
        self._stop = threading.Event()
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop, args=(checkpoint_seconds,), name="sqlite-checkpoint", daemon=True
        )
        self._checkpointer.start()

    @contextmanager
    def _writer(self) -> Iterator[None]:
        with self._write_lock:
            self._lock_other_processes()
            try:
                yield
            finally:
                self._unlock_other_processes()

    def _lock_other_processes(self) -> None:
        if fcntl is None:
            return
        if self._lock_file.closed:  # used again after close(), as connections are
            self._lock_file = open(self._lock_file.name, "a+b")  # noqa: SIM115
        fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_EX)

    def _unlock_other_processes(self) -> None:
        if fcntl is not None and not self._lock_file.closed:
            fcntl.flock(self._lock_file.fileno(), fcntl.LOCK_UN)

    def _checkpoint_loop(self, interval: float) -> None:
        """Copy the WAL into the database file every `interval` seconds (PASSIVE: never
        blocks writers), so commits stay cheap and the WAL stays small."""
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        try:
            while not self._stop.wait(interval):
                if not self.path.exists():
                    return
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error as exc:
                    log.warning("checkpoint failed", extra={"error": type(exc).__name__})
        finally:
            conn.close()

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
        conn.execute("PRAGMA foreign_keys=OFF")
        conn.execute("PRAGMA cache_size=-65536")
        # Checkpoints (which fsync) run on the background thread, not inside a request's commit.
        conn.execute("PRAGMA wal_autocheckpoint=0")
        with self._connections_lock:
            self._connections.append(conn)
        return conn

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._open()
        return conn

    def _writer_connection(self) -> sqlite3.Connection:
        # One connection for every unit that writes, used by one thread at a time (under
        # _write_lock): units of a group are savepoints in its one open transaction.
        if self._writer_conn is None:
            self._writer_conn = self._open()
        return self._writer_conn

    def _journal_connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "journal", None)
        if conn is None:
            conn = sqlite3.connect(self._journal_path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute(f"PRAGMA busy_timeout={self._busy_timeout_ms}")
            self._local.journal = conn
            with self._connections_lock:
                self._journal_connections.append(conn)
        return conn

    def journal(self, collection: str, tenant: str, chain: str, entry: dict[str, Any], linker: Linker) -> None:
        """One autocommitted insert into the journal file: its lock is held only by other
        journal inserts and by the clean-up of linked rows, never by a unit of work."""
        if "id" not in entry:
            raise ValueError("a journaled entry needs an id")
        self._journal_connection().execute(
            "INSERT INTO journal (collection, tenant, chain, doc) VALUES (?,?,?,?)", (collection, tenant, chain, dump_document(entry))
        )

    def create_all(self, collection: str, tenant: str, docs: Sequence[dict[str, Any]]) -> list[bool]:
        """Store each new document in one transaction (one executemany, see
        `SqliteUnitOfWork.insert_many`); returns which were new. Not inside a unit of work:
        Cosmos DB cannot make it part of one, so neither does this store."""
        if getattr(self._local, "uow", None) is not None or getattr(self._local, "reading", None) is not None:
            raise RuntimeError("create_all writes on its own: call it outside a unit of work")
        with self.unit_of_work() as uow:
            return uow.insert_many(collection, tenant, docs)

    @contextmanager
    def unit_of_work(self) -> Iterator[SqliteUnitOfWork]:
        current: SqliteUnitOfWork | None = getattr(self._local, "uow", None)
        if current is not None:  # join this thread's open unit (see RecordStore)
            if current.read_only:
                raise ReadOnlyUnitError("a unit of work cannot be opened inside a read-only unit")
            yield current
            return
        if getattr(self._local, "reading", None) is not None:
            raise RuntimeError("a unit that writes cannot open inside this thread's read-only unit")
        with self._queue_mutex:
            self._waiting += 1
        self._write_lock.acquire()
        with self._queue_mutex:
            self._waiting -= 1
        try:
            conn = self._writer_connection()
            group = self._join_group(conn)
        except BaseException:
            self._write_lock.release()
            raise
        try:
            conn.execute("SAVEPOINT unit")
            # The unit's own after-commit actions join the group's only if the unit succeeds.
            after_commit: list[Callable[[], None]] = []
            uow = SqliteUnitOfWork(conn, journal=self._journal_connection, after_commit=after_commit)
            self._local.uow = uow
            try:
                yield uow
            finally:
                self._local.uow = None
            conn.execute("RELEASE unit")
            group.after_commit.extend(after_commit)
        except BaseException:
            self._undo_unit(conn, group)
            self._finish(conn, group)
            raise
        self._finish(conn, group)
        if group.error is not None:
            # An earlier or later unit of the group broke the shared transaction, or its
            # COMMIT failed: none of the group's writes are stored, so a retry is safe.
            raise Unavailable("The record store could not commit this change; nothing was saved. Try again.") from group.error

    def _join_group(self, conn: sqlite3.Connection) -> _Group:
        """The open transaction's group, or a new transaction and group (under _write_lock)."""
        group = self._group
        if group is None:
            self._lock_other_processes()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except BaseException:
                self._unlock_other_processes()
                raise
            group = self._group = _Group()
        group.size += 1
        return group

    def _undo_unit(self, conn: sqlite3.Connection, group: _Group) -> None:
        """Roll back one failed unit's writes, leaving the rest of its group's."""
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK TO unit")
                conn.execute("RELEASE unit")
                return
            except sqlite3.Error:
                pass
        # SQLite ended the whole transaction itself (an I/O error, a full disk): the
        # group's other units are lost with it, and are told so.
        group.error = group.error or sqlite3.OperationalError("the shared write transaction was rolled back")
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except sqlite3.Error:
                pass

    def _finish(self, conn: sqlite3.Connection, group: _Group) -> None:
        """Hand the open transaction to the next queued unit, or commit the group; return
        once the group's COMMIT (or its failure) is known."""
        with self._queue_mutex:
            hand_off = group.error is None and self._waiting > 0 and group.size < self._group_commit_max
        if hand_off:
            # A unit is queued for the lock: it joins this transaction, and the last unit
            # of the group commits for all. The queued thread is blocked in acquire(), so
            # it will take the lock and end the group.
            self._write_lock.release()
            group.done.wait()
            return
        try:
            if group.error is None:
                try:
                    conn.execute("COMMIT")
                except BaseException as exc:
                    group.error = exc
                    if conn.in_transaction:
                        try:
                            conn.execute("ROLLBACK")
                        except sqlite3.Error:
                            pass
            elif conn.in_transaction:
                conn.execute("ROLLBACK")
        finally:
            self._group = None
            self._unlock_other_processes()
            self._write_lock.release()
            group.done.set()
        if group.error is None:
            for action in group.after_commit:
                try:
                    action()
                except Exception:  # noqa: BLE001 - tidy-ups after a commit: the next one retries them
                    log.warning("after-commit action failed", exc_info=True)

    @contextmanager
    def read_only(self) -> Iterator[SqliteUnitOfWork]:
        """A snapshot (a deferred transaction, fixed at its first read) without the write lock."""
        current: SqliteUnitOfWork | None = getattr(self._local, "uow", None)
        if current is not None:  # join this thread's open unit, read-only
            yield current if current.read_only else SqliteUnitOfWork(current.conn, read_only=True, journal=self._journal_connection)
            return
        conn = self._connection()
        conn.execute("BEGIN")
        uow = SqliteUnitOfWork(conn, read_only=True, journal=self._journal_connection)
        self._local.uow = uow
        try:
            yield uow
        finally:
            self._local.uow = None
            conn.execute("ROLLBACK")

    def recover_commits(self, older_than: datetime) -> int:
        """Nothing to recover: a SQLite commit is one transaction, which a dead process never half-applies."""
        return 0

    def ready(self) -> tuple[bool, str]:
        try:
            self._connection().execute("SELECT 1").fetchone()
            return True, "ok"
        except sqlite3.Error as exc:
            return False, type(exc).__name__

    def close(self) -> None:
        self._stop.set()
        if self._checkpointer.is_alive() and self._checkpointer is not threading.current_thread():
            self._checkpointer.join(timeout=5)
        with self._connections_lock:
            if self._connections and self.path.exists():
                try:
                    self._connections[0].execute("PRAGMA wal_checkpoint(TRUNCATE)")
                except sqlite3.Error:
                    pass  # a reader elsewhere holds the WAL: the next opener checkpoints it
            for conn in self._connections + self._journal_connections:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._connections.clear()
            self._journal_connections.clear()
            self._writer_conn = None
        self._local = threading.local()
        self._lock_file.close()


_JOURNAL_TABLE = (
    "CREATE TABLE IF NOT EXISTS journal (n INTEGER PRIMARY KEY AUTOINCREMENT, collection TEXT NOT NULL, tenant TEXT NOT NULL,"
    " chain TEXT NOT NULL, doc TEXT NOT NULL)"
)
_JOURNAL_INDEX = "CREATE INDEX IF NOT EXISTS journal_chain ON journal (tenant, chain, n)"
