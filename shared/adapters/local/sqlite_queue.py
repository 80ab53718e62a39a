"""Queues on SQLite: visibility timeout, delivery count, duplicate detection by message
id, dead-letter after the delivery limit. The local stand-in for Service Bus."""

from __future__ import annotations

import json
import secrets
import sqlite3
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shared.ports import QueueMessage

_SCHEMA = [
    """CREATE TABLE IF NOT EXISTS messages (
        queue TEXT NOT NULL, message_id TEXT NOT NULL, body TEXT NOT NULL,
        visible_at REAL NOT NULL, delivery_count INTEGER NOT NULL DEFAULT 0,
        receipt TEXT, enqueued_at REAL NOT NULL,
        dead INTEGER NOT NULL DEFAULT 0, dead_reason TEXT,
        PRIMARY KEY (queue, message_id))""",
    "CREATE INDEX IF NOT EXISTS messages_ready ON messages (queue, dead, visible_at)",
    # Ids seen within the duplicate-detection window, kept after completion (as Service Bus does).
    "CREATE TABLE IF NOT EXISTS seen (queue TEXT NOT NULL, message_id TEXT NOT NULL, at REAL NOT NULL, PRIMARY KEY (queue, message_id))",
    "CREATE INDEX IF NOT EXISTS seen_at ON seen (at)",
]


class SqliteQueue:
    def __init__(
        self,
        path: Path,
        *,
        max_deliveries: int = 10,
        queue_max_deliveries: Mapping[str, int] | None = None,
        duplicate_window_seconds: float = 600,
        clock=time.time,
    ):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Service Bus sets maxDeliveryCount per queue; `max_deliveries` is for the others.
        self.max_deliveries = max_deliveries
        self._queue_max_deliveries = dict(queue_max_deliveries or {})
        self.duplicate_window = duplicate_window_seconds
        self._clock = clock
        self._local = threading.local()
        self._lock = threading.Lock()
        conn = self._conn()
        for stmt in _SCHEMA:
            conn.execute(stmt)

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=10000")
            self._local.conn = conn
        return conn

    def _tx(self):
        return _Tx(self._conn(), self._lock)

    def send(self, queue: str, body: dict[str, Any], *, message_id: str, delay_seconds: float = 0, prior_deliveries: int = 0) -> bool:
        now = self._clock()
        with self._tx() as conn:
            conn.execute("DELETE FROM seen WHERE at < ?", (now - self.duplicate_window,))
            if conn.execute("SELECT 1 FROM seen WHERE queue=? AND message_id=?", (queue, message_id)).fetchone():
                return False
            conn.execute("INSERT INTO seen (queue, message_id, at) VALUES (?,?,?)", (queue, message_id, now))
            conn.execute(
                "INSERT OR IGNORE INTO messages (queue, message_id, body, visible_at, enqueued_at, delivery_count) VALUES (?,?,?,?,?,?)",
                (queue, message_id, json.dumps(body), now + delay_seconds, now, max(0, prior_deliveries)),
            )
        return True

    def receive(self, queue: str, *, max_messages: int = 10, visibility_seconds: float = 30) -> list[QueueMessage]:
        now = self._clock()
        out: list[QueueMessage] = []
        with self._tx() as conn:
            rows = conn.execute(
                "SELECT message_id, body, delivery_count FROM messages WHERE queue=? AND dead=0 AND visible_at<=? ORDER BY visible_at LIMIT ?",
                (queue, now, max_messages),
            ).fetchall()
            for message_id, body, count in rows:
                receipt = secrets.token_hex(8)
                conn.execute(
                    "UPDATE messages SET visible_at=?, delivery_count=?, receipt=? WHERE queue=? AND message_id=?",
                    (now + visibility_seconds, count + 1, receipt, queue, message_id),
                )
                out.append(
                    QueueMessage(queue=queue, message_id=message_id, body=json.loads(body), delivery_count=count + 1, receipt=receipt)
                )
        return out

    def complete(self, message: QueueMessage) -> None:
        with self._tx() as conn:
            conn.execute(
                "DELETE FROM messages WHERE queue=? AND message_id=? AND receipt=?", (message.queue, message.message_id, message.receipt)
            )

    def max_deliveries_of(self, queue: str) -> int:
        """Deliveries of a message on `queue` before it is dead-lettered."""
        return self._queue_max_deliveries.get(queue, self.max_deliveries)

    def abandon(self, message: QueueMessage, *, delay_seconds: float = 0) -> None:
        limit = self.max_deliveries_of(message.queue)
        if message.delivery_count >= limit:
            self.dead_letter(message, reason=f"MaxDeliveryCountExceeded ({limit})")
            return
        with self._tx() as conn:
            conn.execute(
                "UPDATE messages SET visible_at=?, receipt=NULL WHERE queue=? AND message_id=? AND receipt=?",
                (self._clock() + delay_seconds, message.queue, message.message_id, message.receipt),
            )

    def dead_letter(self, message: QueueMessage, *, reason: str) -> None:
        with self._tx() as conn:
            conn.execute(
                "UPDATE messages SET dead=1, dead_reason=?, receipt=NULL WHERE queue=? AND message_id=?",
                (reason[:500], message.queue, message.message_id),
            )

    def dead_letters(self, queue: str, *, limit: int = 100) -> list[dict[str, Any]]:
        rows = (
            self._conn()
            .execute(
                "SELECT message_id, body, delivery_count, dead_reason, enqueued_at FROM messages WHERE queue=? AND dead=1 ORDER BY enqueued_at LIMIT ?",
                (queue, limit),
            )
            .fetchall()
        )
        return [{"message_id": m, "body": json.loads(b), "delivery_count": c, "reason": r, "enqueued_at": e} for m, b, c, r, e in rows]

    def replay_dead_letters(self, queue: str, *, message_ids: Sequence[str] | None = None) -> int:
        with self._tx() as conn:
            if message_ids is None:
                cur = conn.execute(
                    "UPDATE messages SET dead=0, dead_reason=NULL, delivery_count=0, visible_at=? WHERE queue=? AND dead=1",
                    (self._clock(), queue),
                )
            else:
                cur = conn.executemany(
                    "UPDATE messages SET dead=0, dead_reason=NULL, delivery_count=0, visible_at=? WHERE queue=? AND dead=1 AND message_id=?",
                    [(self._clock(), queue, m) for m in message_ids],
                )
            return cur.rowcount

    def depth(self, queue: str) -> int:
        return self._conn().execute("SELECT COUNT(*) FROM messages WHERE queue=? AND dead=0", (queue,)).fetchone()[0]


class _Tx:
    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock):
        self.conn = conn
        self.lock = lock

    def __enter__(self) -> sqlite3.Connection:
        self.lock.acquire()
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.lock.release()
            raise
        return self.conn

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self.lock.release()
