"""Offline store-and-forward for tills and handhelds.

Reports and evidence are written to a local SQLite file, each with the Idempotency-Key it
will be sent with, and sent in the order they were queued once the API answers again.
An entry is marked sent only after the API accepted it (2xx), or failed after a refusal
that will not change by sending again (a 4xx other than 408/425/429); the key makes a
resend after a lost answer land once. Evidence keeps its upload session id as soon as the
session is open, so a drain interrupted mid-file resumes it rather than starting again.

Evidence may wait on a report queued before it (`after=`): it is sent to the incident that
report became."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigil_client.client import VigilClient, file_sha256, guess_content_type, new_idempotency_key
from vigil_client.errors import IntegrityError, VigilNetworkError, VigilProblem

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL CHECK (kind IN ('report', 'evidence')),
    idempotency_key TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    after_seq INTEGER REFERENCES outbox(seq),
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    upload_id TEXT,
    result TEXT,
    last_error TEXT,
    queued_at REAL NOT NULL,
    sent_at REAL
);
CREATE TABLE IF NOT EXISTS upload_sessions (
    incident_id TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    upload_id TEXT NOT NULL,
    PRIMARY KEY (incident_id, path, sha256)
);
CREATE TABLE IF NOT EXISTS imported (
    idempotency_key TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    line INTEGER NOT NULL,
    incident_id TEXT NOT NULL,
    at REAL NOT NULL
);
"""


@dataclass
class Entry:
    """One queued item."""

    seq: int
    kind: str
    idempotency_key: str
    payload: dict[str, Any]
    after_seq: int | None
    state: str
    attempts: int
    upload_id: str | None
    result: dict[str, Any] | None
    last_error: str | None


@dataclass
class DrainReport:
    """What one drain did: entries sent, entries refused for good, entries still waiting."""

    sent: list[Entry] = field(default_factory=list)
    failed: list[Entry] = field(default_factory=list)
    waiting: int = 0
    offline: bool = False


def _retryable(problem: VigilProblem) -> bool:
    # 401/403 wait too: a token or role fixed on the device must not lose the report.
    return problem.status in (401, 403, 408, 425, 429) or problem.status >= 500


class OfflineQueue:
    """The queue in one SQLite file (created with its folder, readable by the user only)."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fresh = not self.path.exists()
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None, check_same_thread=False)
        if fresh:
            # Reports hold personal data: the file is the user's alone.
            os.chmod(self.path, 0o600)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> OfflineQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # ---- queueing -----------------------------------------------------------------------
    def enqueue_report(self, incident: dict[str, Any], *, idempotency_key: str | None = None) -> int:
        """Queue a report; its sequence number (for evidence that should follow it)."""
        key = idempotency_key or new_idempotency_key()
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO outbox (kind, idempotency_key, payload, queued_at) VALUES ('report', ?, ?, ?)",
                (key, json.dumps(incident), time.time()),
            )
            return int(cur.lastrowid or 0)

    def enqueue_evidence(
        self,
        path: str | os.PathLike[str],
        *,
        incident_id: str | None = None,
        after: int | None = None,
        content_type: str | None = None,
        kind: str | None = None,
        idempotency_key: str | None = None,
        upload_id: str | None = None,
    ) -> int:
        """Queue a file as evidence of `incident_id`, or of the incident the queued report
        `after` becomes. Its SHA-256 is taken now: a file changed before it is sent is
        refused at commit rather than stored as something else. `upload_id` is a session
        an interrupted upload of the file already opened: the drain resumes it."""
        if (incident_id is None) == (after is None):
            raise ValueError("name the incident, or the queued report (after=) the evidence belongs to")
        file = Path(path).resolve()
        payload = {
            "path": str(file),
            "incident_id": incident_id,
            "content_type": content_type or guess_content_type(file),
            "kind": kind,
            "size": file.stat().st_size,
            "sha256": file_sha256(file),
        }
        with self._tx() as db:
            cur = db.execute(
                "INSERT INTO outbox (kind, idempotency_key, payload, after_seq, upload_id, queued_at) VALUES ('evidence', ?, ?, ?, ?, ?)",
                (idempotency_key or new_idempotency_key(), json.dumps(payload), after, upload_id, time.time()),
            )
            return int(cur.lastrowid or 0)

    # ---- reading --------------------------------------------------------------------------
    def _entries(self, where: str = "", args: tuple[Any, ...] = ()) -> list[Entry]:
        rows = self._db.execute(
            "SELECT seq, kind, idempotency_key, payload, after_seq, state, attempts, upload_id, result, last_error FROM outbox "
            + where
            + " ORDER BY seq",
            args,
        ).fetchall()
        return [Entry(r[0], r[1], r[2], json.loads(r[3]), r[4], r[5], r[6], r[7], json.loads(r[8]) if r[8] else None, r[9]) for r in rows]

    def entries(self, state: str | None = None) -> list[Entry]:
        """Every entry (or those in `state`), oldest first."""
        return self._entries("WHERE state = ?", (state,)) if state else self._entries()

    def get(self, seq: int) -> Entry | None:
        """One entry by its sequence number."""
        found = self._entries("WHERE seq = ?", (seq,))
        return found[0] if found else None

    def counts(self) -> dict[str, int]:
        """How many entries are pending, sent and failed."""
        found = dict(self._db.execute("SELECT state, COUNT(*) FROM outbox GROUP BY state").fetchall())
        return {s: int(found.get(s, 0)) for s in ("pending", "sent", "failed")}

    # ---- sending --------------------------------------------------------------------------
    def _mark(self, seq: int, state: str, *, result: Any = None, error: str | None = None) -> None:
        # Once the API holds a report, the device keeps no copy of its personal data: only
        # the key, the id it became and when (what a later drain or an audit needs).
        kept = {"id": result.get("id"), "reference": result.get("reference")} if isinstance(result, dict) else None
        with self._tx() as db:
            db.execute(
                "UPDATE outbox SET state = ?, result = ?, last_error = ?, sent_at = ? WHERE seq = ?",
                (state, json.dumps(kept) if kept else None, error, time.time() if state == "sent" else None, seq),
            )
            if state == "sent":
                db.execute("UPDATE outbox SET payload = '{}' WHERE seq = ?", (seq,))

    def discard(self, seq: int) -> bool:
        """Delete a failed or pending entry (e.g. a refused report re-entered by hand); True
        when there was one. Sent entries hold no personal data and stay as the record."""
        with self._tx() as db:
            cur = db.execute("DELETE FROM outbox WHERE seq = ? AND state != 'sent'", (seq,))
            return cur.rowcount > 0

    def _attempted(self, seq: int, error: str | None) -> None:
        with self._tx() as db:
            db.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE seq = ?", (error, seq))

    def _remember_upload(self, seq: int, upload_id: str) -> None:
        with self._tx() as db:
            db.execute("UPDATE outbox SET upload_id = ? WHERE seq = ?", (upload_id, seq))

    def _send(self, client: VigilClient, entry: Entry, progress: Callable[[int, int], None] | None) -> Any:
        if entry.kind == "report":
            return client.report_incident(entry.payload, idempotency_key=entry.idempotency_key)
        p = entry.payload
        incident_id = p["incident_id"]
        if incident_id is None:
            parent = self.get(entry.after_seq or 0)
            if parent is None or parent.state == "failed" or not parent.result:
                raise VigilProblem(
                    424, "about:blank", "Report not sent", f"the report this evidence belongs to (#{entry.after_seq}) was refused"
                )
            incident_id = parent.result["id"]

        def upload(upload_id: str | None) -> Any:
            return client.upload_evidence(
                incident_id,
                p["path"],
                content_type=p["content_type"],
                kind=p["kind"],
                sha256=p["sha256"],
                upload_id=upload_id,
                on_session=lambda s: self._remember_upload(entry.seq, s["id"]),
                progress=progress,
            )

        try:
            return upload(entry.upload_id)
        except VigilProblem as problem:
            # A session that expired while the till was offline: open a new one.
            if problem.status != 404 or entry.upload_id is None:
                raise
            return upload(None)

    def drain(self, client: VigilClient, *, progress: Callable[[Entry, int, int], None] | None = None) -> DrainReport:
        """Send every pending entry, oldest first. Stops at the first entry the API cannot
        take now (offline, rate limited, signed out), so order is kept: the rest wait for
        the next drain. An entry refused for good is marked failed with the problem and the
        drain goes on."""
        report = DrainReport()
        # One drain at a time per file (a timer and a person may both start one).
        lock_path = self.path.with_name(self.path.name + ".lock")
        with _file_lock(lock_path):
            for entry in self.entries("pending"):
                if entry.after_seq is not None:
                    parent = self.get(entry.after_seq)
                    if parent is not None and parent.state == "pending":
                        report.waiting += 1
                        continue
                try:
                    each = (lambda a, b, e=entry: progress(e, a, b)) if progress else None
                    result = self._send(client, entry, each)
                except VigilNetworkError as exc:
                    self._attempted(entry.seq, str(exc))
                    report.offline = True
                    break
                except VigilProblem as problem:
                    if _retryable(problem):
                        self._attempted(entry.seq, str(problem))
                        break
                    self._mark(entry.seq, "failed", error=str(problem))
                    report.failed.append(self.get(entry.seq) or entry)
                    continue
                except (IntegrityError, OSError) as exc:
                    self._mark(entry.seq, "failed", error=str(exc))
                    report.failed.append(self.get(entry.seq) or entry)
                    continue
                self._mark(entry.seq, "sent", result=dict(result))
                report.sent.append(self.get(entry.seq) or entry)
        report.waiting = self.counts()["pending"]
        return report

    # ---- `vigil upload` sessions, so a re-run resumes ----------------------------------------
    def upload_session(self, incident_id: str, path: str, sha256: str) -> str | None:
        """The open upload session of this file (by content) to this incident, if any."""
        row = self._db.execute(
            "SELECT upload_id FROM upload_sessions WHERE incident_id = ? AND path = ? AND sha256 = ?", (incident_id, path, sha256)
        ).fetchone()
        return str(row[0]) if row else None

    def remember_upload_session(self, incident_id: str, path: str, sha256: str, upload_id: str) -> None:
        """Record the session a file's upload opened, before its first byte is sent."""
        with self._tx() as db:
            db.execute("INSERT OR REPLACE INTO upload_sessions VALUES (?, ?, ?, ?)", (incident_id, path, sha256, upload_id))

    def forget_upload_session(self, incident_id: str, path: str, sha256: str) -> None:
        """Drop a finished or expired session."""
        with self._tx() as db:
            db.execute("DELETE FROM upload_sessions WHERE incident_id = ? AND path = ? AND sha256 = ?", (incident_id, path, sha256))

    # ---- the import ledger ------------------------------------------------------------------
    def imported(self, key: str) -> str | None:
        """The incident a historical row with this key became, when it was imported."""
        row = self._db.execute("SELECT incident_id FROM imported WHERE idempotency_key = ?", (key,)).fetchone()
        return str(row[0]) if row else None

    def record_import(self, key: str, source: str, line: int, incident_id: str) -> None:
        """Remember that the row with `key` became `incident_id` (a re-run skips it)."""
        with self._tx() as db:
            db.execute(
                "INSERT OR IGNORE INTO imported (idempotency_key, source, line, incident_id, at) VALUES (?, ?, ?, ?, ?)",
                (key, source, line, incident_id, time.time()),
            )


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        if sys.platform == "win32":
            import msvcrt

            msvcrt.locking(fd, msvcrt.LK_LOCK, 1)
        else:
            import fcntl

            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
