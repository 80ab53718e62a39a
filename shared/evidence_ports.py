"""Ports for evidence bytes and the documents made from them: write-once evidence
objects, built court packages, audit checkpoints, archives and rendered documents.

Adapters under `shared/adapters/local` and `shared/adapters/azure` implement them;
`shared/bootstrap.py` chooses which. The record, queue, mail and sign-in ports are in
`shared/ports.py`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

# ---- evidence blobs -------------------------------------------------------------------


class EvidenceWriter(Protocol):
    """One write-once object being written: nothing is visible until `commit`."""

    def write(self, chunk: bytes) -> None:
        """Append bytes (staged, not yet visible)."""

    def commit(self) -> None:
        """Make the object visible, exactly once; raises `Conflict` when the key already exists."""

    def abort(self) -> None:
        """Drop whatever was staged; the key stays absent."""


class EvidenceBlobStore(Protocol):
    """Evidence bytes, written once and keyed by evidence id (never a client file name),
    with a staging area for resumable uploads in progress."""

    def writer(self, key: str, *, content_type: str, retention_until: datetime, legal_hold: bool) -> EvidenceWriter:
        """Start writing the object `key`; it is kept unchanged until `retention_until`."""

    def open(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Stream bytes [start, end) of a committed object; raises `NotFound` when absent."""

    def size(self, key: str) -> int | None:
        """The committed object's size, or None when absent."""

    def set_legal_hold(self, key: str, held: bool) -> None:
        """Set or clear the legal-hold flag; while set, the object cannot be deleted."""

    def delete(self, key: str) -> bool:
        """Remove a committed object; raises `Conflict` while its retention period or a legal
        hold still protects it. False when it was already gone."""

    def objects(self, modified_after: datetime, modified_before: datetime) -> Iterator[str]:
        """Keys of committed objects last written in [modified_after, modified_before), for
        the sweep that looks for objects no record points at."""

    def stage(self, upload_id: str, offset: int, chunks: Iterable[bytes]) -> int:
        """Append `chunks` to the staged upload `upload_id`, which must hold exactly `offset`
        bytes (else `Conflict`). Returns the staged size. All or nothing: when `chunks`
        raises (a refused or cut-off chunk), none of its bytes stay staged."""

    def staged_size(self, upload_id: str) -> int:
        """Bytes staged so far for `upload_id` (0 when none)."""

    def read_staged(self, upload_id: str) -> Iterator[bytes]:
        """Stream the staged bytes of `upload_id`."""

    def discard_staged(self, upload_id: str) -> None:
        """Remove a staged upload (idempotent)."""

    def sweep_staging(self, older_than: datetime) -> int:
        """Remove staged bytes last written before `older_than`; returns how many were removed."""

    def ready(self) -> tuple[bool, str]:
        """Whether the store answers, with a short reason when it does not."""


class PackageStore(Protocol):
    """Built court packages kept for a share (the `packages` container in Azure, files
    locally): written once, read by the recipient, deleted when the share ends."""

    def writer(self, key: str, *, content_type: str, retention_until: datetime, legal_hold: bool) -> EvidenceWriter:
        """Start writing the object `key`."""

    def open(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Stream a committed object; raises `NotFound` when absent."""

    def size(self, key: str) -> int | None:
        """The committed object's size, or None when absent."""

    def delete(self, key: str) -> bool:
        """Remove a committed object; False when it was already gone."""

    def download_url(self, key: str, *, valid_for: timedelta, filename: str, content_type: str) -> str | None:
        """A URL that reads the object straight from storage for `valid_for`, or None
        when the store has none (then the app streams `open`)."""

    # Whether `download_url` gives links (Azure), so large reads need not pass through the app.
    serves_links: bool

    def objects(self, modified_after: datetime, modified_before: datetime) -> Iterator[str]:
        """Keys of committed objects last written in [modified_after, modified_before)."""


class CheckpointStore(Protocol):
    """Write-once storage for published chain checkpoints, apart from the records store: a
    name once written can be neither written again nor changed by the application."""

    def publish(self, name: str, body: bytes) -> None:
        """Write `body` under `name`, once; raises Conflict when the name exists."""

    def read(self, name: str) -> bytes | None:
        """The body published under `name`, or None when nothing is."""


@dataclass(frozen=True)
class ArchiveMember:
    """One file of an archive: small content as `data`, large content as `chunks` (opened
    only when the archive reaches it, so nothing large is held)."""

    path: str
    data: bytes | None = None
    chunks: Callable[[], Iterable[bytes]] | None = None
    compress: bool = True


class ArchiveWriter(Protocol):
    """Archives streamed as they are written (the court package)."""

    def stream(self, members: Iterable[ArchiveMember], modified_at: datetime) -> Iterator[bytes]:
        """The archive's bytes, produced while its members are read; every member dated `modified_at`."""
        ...


class CourtDocumentRenderer(Protocol):
    """Court documents (shared/domain/court.py's CourtDocument) laid out as PDF."""

    def render(self, doc: Any, *, created_at: datetime | None = None) -> bytes:
        """The document as PDF bytes, with "Page X of N" and its footer line on every page;
        `created_at` dates it."""
        ...


class TemplateRenderer(Protocol):
    """Documents (email bodies, case summaries) rendered from named templates."""

    def render(self, name: str, **context: Any) -> str:
        """The document `name` rendered with `context`; HTML templates escape their values."""
        ...
