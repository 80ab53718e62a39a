"""Group commit in the embedded record store: units that queue for the writer share one
transaction and one COMMIT, a failing unit rolls back alone, and no caller gets its
answer before the COMMIT that carries its writes."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from shared.adapters.local.sqlite_records import SqliteRecordStore
from shared.domain.errors import Invalid, Unavailable

TENANT = "northwind"


@pytest.fixture
def store(tmp_path):
    s = SqliteRecordStore(tmp_path / "records.sqlite")
    yield s
    s.close()


def _queued(store: SqliteRecordStore, n: int) -> None:
    """Wait until n units are queued for the writer behind the one holding it."""
    deadline = time.monotonic() + 10
    while store._waiting < n:
        assert time.monotonic() < deadline, "units did not queue"
        time.sleep(0.005)


def _stored(store: SqliteRecordStore, id: str) -> bool:
    with store.read_only() as uow:
        return uow.get("sequences", TENANT, id) is not None


def _write(store: SqliteRecordStore, id: str, *, fail: bool = False, hold: threading.Event | None = None, outcome: dict) -> None:
    try:
        with store.unit_of_work() as uow:
            uow.insert("sequences", TENANT, {"id": id, "value": 1})
            if hold is not None:
                hold.wait(10)
            if fail:
                raise Invalid(f"{id} is refused")
        outcome[id] = "stored"
    except Invalid:
        outcome[id] = "refused"


def test_units_queued_together_share_one_commit_and_a_failing_one_rolls_back_alone(store):
    commits: list[str] = []
    store._writer_connection().set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    outcome: dict[str, str] = {}
    hold = threading.Event()
    first = threading.Thread(target=_write, args=(store, "first"), kwargs={"hold": hold, "outcome": outcome})
    first.start()
    while store._group is None:
        time.sleep(0.005)
    queued = [
        threading.Thread(target=_write, args=(store, id), kwargs={"fail": id == "refused", "outcome": outcome})
        for id in ("second", "refused", "third")
    ]
    for t in queued:
        t.start()
    _queued(store, 3)
    hold.set()
    for t in [first, *queued]:
        t.join(10)

    assert outcome == {"first": "stored", "second": "stored", "refused": "refused", "third": "stored"}
    assert [_stored(store, id) for id in ("first", "second", "refused", "third")] == [True, True, False, True]
    # Four units, one transaction: one COMMIT carried the three that succeeded.
    assert commits == ["COMMIT"]


def test_an_answer_waits_for_the_commit_that_carries_it(store):
    outcome: dict[str, str] = {}
    hold_first, hold_second = threading.Event(), threading.Event()
    first = threading.Thread(target=_write, args=(store, "first"), kwargs={"hold": hold_first, "outcome": outcome})
    first.start()
    while store._group is None:
        time.sleep(0.005)
    second = threading.Thread(target=_write, args=(store, "second"), kwargs={"hold": hold_second, "outcome": outcome})
    second.start()
    _queued(store, 1)
    hold_first.set()  # the first unit ends and hands the open transaction to the second
    time.sleep(0.2)
    # The first unit's body is done, but its COMMIT has not happened: no answer yet, and
    # no reader sees its write.
    assert "first" not in outcome
    assert not _stored(store, "first")
    hold_second.set()
    first.join(10)
    second.join(10)
    assert outcome == {"first": "stored", "second": "stored"}
    assert _stored(store, "first") and _stored(store, "second")


def test_a_unit_alone_commits_at_once(store):
    outcome: dict[str, str] = {}
    _write(store, "alone", outcome=outcome)
    assert outcome == {"alone": "stored"}
    assert _stored(store, "alone")
    assert store._group is None


def test_group_commit_off_commits_each_unit(tmp_path):
    store = SqliteRecordStore(tmp_path / "records.sqlite", group_commit_max=1)
    try:
        commits: list[str] = []
        store._writer_connection().set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
        outcome: dict[str, str] = {}
        hold = threading.Event()
        first = threading.Thread(target=_write, args=(store, "first"), kwargs={"hold": hold, "outcome": outcome})
        first.start()
        while store._group is None:
            time.sleep(0.005)
        second = threading.Thread(target=_write, args=(store, "second"), kwargs={"outcome": outcome})
        second.start()
        _queued(store, 1)
        hold.set()
        first.join(10)
        second.join(10)
        assert outcome == {"first": "stored", "second": "stored"}
        assert commits == ["COMMIT", "COMMIT"]
    finally:
        store.close()


class _FailingCommit:
    """The writer connection, except that its COMMIT fails as on a full disk (test fake)."""

    def __init__(self, conn):
        self._conn = conn

    def execute(self, sql, *args):
        if sql == "COMMIT":
            raise sqlite3.OperationalError("database or disk is full")
        return self._conn.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._conn, name)


def test_a_failed_group_commit_answers_every_unit_unavailable_and_stores_none(store):
    real = store._writer_connection()
    store._writer_conn = _FailingCommit(real)
    errors: dict[str, Exception] = {}
    hold = threading.Event()

    def write(id: str, held: threading.Event | None = None) -> None:
        try:
            _write(store, id, hold=held, outcome={})
        except Unavailable as exc:
            errors[id] = exc

    first = threading.Thread(target=write, args=("first", hold))
    first.start()
    while store._group is None:
        time.sleep(0.005)
    second = threading.Thread(target=write, args=("second",))
    second.start()
    _queued(store, 1)
    hold.set()
    first.join(10)
    second.join(10)

    assert set(errors) == {"first", "second"}
    assert all(exc.status == 503 for exc in errors.values())
    store._writer_conn = real
    assert not _stored(store, "first") and not _stored(store, "second")
    # The store goes on: the next unit starts a transaction of its own.
    outcome: dict[str, str] = {}
    _write(store, "after", outcome=outcome)
    assert outcome == {"after": "stored"} and _stored(store, "after")
