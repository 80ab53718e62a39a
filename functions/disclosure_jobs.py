"""Disclosure timer: built court packages of expired, revoked or locked shares deleted."""

from __future__ import annotations

from datetime import datetime

from functions.jobs import timer
from shared.bootstrap import Container
from shared.ports import JobReport


@timer("package-share-sweep", "0 10 * * * *")
def package_share_sweep(container: Container, as_of: datetime) -> JobReport:
    """Delete the built package of every share that ended by `as_of` (the link already
    answers 410 from the moment it ends; this removes the bytes)."""
    return container.disclosure.upkeep.sweep(as_of)
