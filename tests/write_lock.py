"""Holding the record store's write lock from another thread, to show a read does not wait for it."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def write_held(stamp) -> Iterator[threading.Thread]:
    """Another thread holds an open write unit on the store for the duration of the block."""
    holding, release = threading.Event(), threading.Event()

    def long_write():
        with stamp.container.records.unit_of_work() as uow:
            uow.next_sequence("northwind", "held-by-test")
            holding.set()
            release.wait(20)

    writer = threading.Thread(target=long_write)
    writer.start()
    try:
        assert holding.wait(10)
        yield writer
    finally:
        release.set()
        writer.join(20)
