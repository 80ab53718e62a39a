"""The retention timer: daily by default (SCHEDULE_RETENTION), or `make job JOB=retention AS_OF=...`."""

from __future__ import annotations

from datetime import datetime

from functions.jobs import timer
from shared.bootstrap import Container
from shared.ports import JobReport


@timer("retention", "0 30 2 * * *")
def retention(container: Container, as_of: datetime) -> JobReport:
    """Delete what is due at `as_of` and not held, leaving tombstones and counts."""
    return container.retention.sweep.run(as_of)
