"""The video pipeline: an uploaded video is probed and given a playable MP4, a poster
and a thumbnail strip, each its own evidence item derived from the untouched original.

An upload of video publishes `EvidenceAdded`; its handler owes a message to the
`evidence_video` queue through the outbox, and the queue job (`process`) does the work
within the job's bounds, showing progress on the original's record and ending `ready`
or `failed` with a named reason, never left `processing`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

from shared.domain.audit import AuditAction
from shared.domain.custody import CustodyEvent
from shared.domain.errors import Conflict, PreconditionFailed
from shared.domain.evidence import EvidenceItem, EvidenceKind
from shared.domain.file_types import ALLOWED
from shared.domain.http_fields import safe_filename
from shared.domain.tenancy import Principal
from shared.domain.timestamps import to_iso
from shared.domain.video import FAILURES, Processing, VideoFailure, check_bounds
from shared.ports import UnitOfWork
from shared.records import EVIDENCE, INCIDENTS
from shared.services import idempotency
from shared.services.evidence import custody, receiving, transcoding
from shared.services.evidence.deps import VIDEO_QUEUE, EvidenceDeps, owe_video_job
from shared.services.evidence.lookup import new_evidence_id
from shared.services.incidents import Located
from shared.services.repository import dump, load

log = logging.getLogger("vigil.evidence.video")

QUEUE = VIDEO_QUEUE
# Progress is written at most this often: each write is a record update.
PROGRESS_EVERY_SECONDS = 2.0
COPY_BYTES = 1024 * 1024
# A job that finds every worker busy goes back on the queue this much later, at most
# WAIT_ROUNDS times (an hour) before it is failed `server-busy`.
BUSY_DELAY_SECONDS = 30
WAIT_ROUNDS = 120


def derived_name(original: EvidenceItem, suffix: str, ext: str) -> str:
    """`<stem>-<suffix>.<ext>`: the copy's name says what it is and what it came from."""
    stem = original.filename.rpartition(".")[0] or original.filename
    return safe_filename(f"{stem}-{suffix}.{ext}")


def spool(deps: EvidenceDeps, item: EvidenceItem, directory: str) -> tuple[str, bool]:
    """Copy the stored original to a local file for FFmpeg, hashing it on the way:
    (path, whether the bytes still match the recorded SHA-256)."""
    path = os.path.join(directory, "original")
    hasher = hashlib.sha256()
    with open(path, "wb") as f:
        for chunk in deps.blobs.open(item.id):
            hasher.update(chunk)
            f.write(chunk)
    return path, hasher.hexdigest() == item.sha256


def spool_intact(deps: EvidenceDeps, item: EvidenceItem, directory: str) -> str:
    """`spool`, refusing (409) an original whose stored bytes no longer match their
    recorded SHA-256: nothing is ever made from damaged evidence."""
    path, intact = spool(deps, item, directory)
    if not intact:
        raise Conflict(f"The stored bytes of evidence {item.id} no longer match their recorded SHA-256; verify it before working from it.")
    return path


def replayed_copy(
    deps: EvidenceDeps, uow: UnitOfWork, principal: Principal, loc: Located, operation: str, key: str | None, print_: str
) -> EvidenceItem | None:
    """The copy a first request with this Idempotency-Key made, if it is still held."""
    again = idempotency.replay(uow, principal, operation, key, print_, now=deps.clock.now())
    if again is None:
        return None
    doc = uow.get(EVIDENCE.name, loc.owner_org, again.record_id)
    return load(EvidenceItem, doc).record if doc is not None else None


def keyed_and_audited(
    deps: EvidenceDeps,
    principal: Principal,
    loc: Located,
    original: EvidenceItem,
    *,
    operation: str,
    key: str | None,
    print_: str,
    reason: str | None,
) -> Callable[[UnitOfWork, str], None]:
    """`store_derived`'s `extra` for a copy a person asked for: the Idempotency-Key and the
    audit entry land with the copy they answer for, never for one that did not land."""

    def remember(uow: UnitOfWork, new_id: str) -> None:
        idempotency.remember(uow, principal, operation, key, print_, f"evidence/{new_id}", now=deps.clock.now())
        deps.audit.record(
            uow,
            owner_org=loc.owner_org,
            principal=principal,
            action=AuditAction.CONSULTATION,
            operation=operation,
            entity=f"evidence/{original.id}",
            subjects=[new_id],
            purpose=reason,
        )

    return remember


def store_derived(
    deps: EvidenceDeps,
    principal: Principal | None,
    loc: Located,
    original: EvidenceItem,
    *,
    path: str,
    type_id: str,
    kind: EvidenceKind,
    filename: str,
    operation: str,
    parameters: dict[str, Any],
    reason: str | None,
    retention_until: Any = None,
    describe: dict[str, Any] | None = None,
    extra: Callable[[UnitOfWork, str], None] | None = None,
) -> EvidenceItem:
    """Store a file made from `original` as a new item `derived_from` it, with its
    derivation and custody events on both items (the original's `derived`, the copy's
    `received` naming the original and its hash). `extra(uow, new_id)` runs in the unit
    that marks the copy stored."""
    file_type = ALLOWED[type_id]
    new_id = new_evidence_id(loc.owner_org)
    # A copy is protected as long as its original unless its kind has its own period.
    until = retention_until or original.retention_until
    writer = deps.blobs.writer(new_id, content_type=file_type.content_type, retention_until=until, legal_hold=False)
    derivation = {"operation": operation, "source_sha256": original.sha256, "parameters": parameters}
    try:
        hasher = hashlib.sha256()
        size = 0
        with open(path, "rb") as f:
            while chunk := f.read(COPY_BYTES):
                hasher.update(chunk)
                size += len(chunk)
                writer.write(chunk)
        digest = hasher.hexdigest()

        def mark_original(uow: UnitOfWork) -> None:
            custody.record_event(
                uow,
                deps.chain_keys,
                loc.owner_org,
                original.id,
                CustodyEvent.DERIVED,
                principal,
                at=deps.clock.now(),
                details={
                    "derived_id": new_id,
                    "operation": operation,
                    "derived_sha256": digest,
                    "parameters": parameters,
                    "reason": reason,
                },
                system_actor="video-pipeline",
            )
            if extra is not None:
                extra(uow, new_id)

        return receiving.record_new(
            deps,
            principal,
            loc,
            new_id,
            receiving.Received(sha256=digest, size=size, file_type=file_type),
            kind=kind,
            filename=filename,
            received_at=deps.clock.now(),
            retention_until=until,
            derived_from=original.id,
            writer=writer,
            extra=mark_original,
            received_details={
                "derived_from": original.id,
                "original_sha256": original.sha256,
                "via": operation,
                "parameters": parameters,
                "reason": reason,
            },
            describe={"derivation": derivation, **(describe or {})},
        )
    except BaseException:
        writer.abort()
        raise


class Video:
    """The video pipeline's queue job and what owes it."""

    def __init__(self, deps: EvidenceDeps):
        self.deps = deps
        # One per process (the container is): bounds the cores and memory video takes.
        self._workers = threading.BoundedSemaphore(deps.video.workers)

    def enqueue(self, uow: UnitOfWork, owner_org: str, evidence_id: str) -> None:
        """Owe the video job for an uploaded video from the upload's unit of work."""
        owe_video_job(self.deps, uow, owner_org, evidence_id)

    def process(self, body: dict[str, Any], delivery_count: int, *, max_deliveries: int) -> str:
        """Run the job for one uploaded video; returns the outcome (ready, failed, skipped).

        A named failure ends the job `failed`. Anything else is retried by the queue;
        the last delivery is kept for saying so, so an item whose job keeps dying (the
        host killed it, the machine went away) ends `failed: interrupted`, never stuck."""
        owner, evidence_id = str(body.get("owner_org", "")), str(body.get("evidence_id", ""))
        item = self._get(owner, evidence_id)
        if item is None or item.processing is None or item.processing.finished or item.pending:
            return "skipped"
        if delivery_count >= max_deliveries and item.processing.attempts >= max_deliveries - 1:
            self._fail(owner, evidence_id, VideoFailure("interrupted", f"Processing stopped unfinished {item.processing.attempts} times."))
            return "failed"
        if not self._workers.acquire(timeout=1):
            return self._wait(body, owner, evidence_id)
        try:
            self._run(owner, item)
        except VideoFailure as failure:
            self._fail(owner, evidence_id, failure)
            return "failed"
        except Exception:
            if delivery_count >= max_deliveries:
                self._fail(owner, evidence_id, VideoFailure("interrupted", f"Processing failed on each of {delivery_count} attempts."))
                log.exception("video job failed on its last delivery", extra={"evidence_id": evidence_id})
                return "failed"
            raise
        finally:
            self._workers.release()
        return "ready"

    def _wait(self, body: dict[str, Any], owner: str, evidence_id: str) -> str:
        """Every worker is busy: send the job again a little later as a new message, so
        waiting spends none of the deliveries kept for real failures."""
        rounds = int(body.get("waits", 0)) + 1
        if rounds > WAIT_ROUNDS:
            self._fail(owner, evidence_id, VideoFailure("server-busy", f"No worker was free after {WAIT_ROUNDS} tries."))
            return "failed"
        again = {**body, "waits": rounds}
        self.deps.outbox.queue.send(QUEUE, again, message_id=f"video-{evidence_id}-wait-{rounds}", delay_seconds=BUSY_DELAY_SECONDS)
        return "deferred"

    # ---- the work ----------------------------------------------------------------------

    def _run(self, owner: str, item: EvidenceItem) -> None:
        deps = self.deps
        started = self._update(
            owner,
            item.id,
            lambda i: self._with(i, state="processing", percent=0, attempts=i.processing.attempts + 1 if i.processing else 1),
        )
        if started is None:
            return
        with deps.records.read_only() as uow:
            incident = uow.get(INCIDENTS.name, owner, item.incident_id)
        if incident is None:
            raise VideoFailure("not-a-video", "The incident the video belongs to no longer exists.")
        loc = Located(doc=incident, owner_org=owner)
        with tempfile.TemporaryDirectory(prefix="vigil-video-") as work:
            path, intact = spool(deps, item, work)
            if not intact:
                raise VideoFailure("damaged-original", FAILURES["damaged-original"])
            info = transcoding.probe(path)
            check_bounds(info, deps.video)
            self._update(owner, item.id, lambda i: i.model_copy(update={"video": info}))

            last_write = [time.monotonic()]

            def progress(percent: int) -> None:
                now = time.monotonic()
                if now - last_write[0] >= PROGRESS_EVERY_SECONDS:
                    last_write[0] = now
                    self._update(owner, item.id, lambda i: self._with(i, percent=percent))

            out = os.path.join(work, "playable.mp4")
            encoded = transcoding.encode(
                path, out, deps.video, poster_and_thumbnails=True, on_progress=progress, known_duration=info.duration_seconds
            )
            if info.duration_seconds is None:
                counted = info.model_copy(update={"duration_seconds": encoded.duration_seconds})
                self._update(owner, item.id, lambda i: i.model_copy(update={"video": counted}))
            done = dict(started.processing.outputs) if started.processing else {}
            made: list[tuple[str, str, str, EvidenceKind, str, dict[str, Any], dict[str, Any] | None]] = []
            playable_info = transcoding.probe(out)
            made.append(
                ("playable", out, "mp4", item.kind, derived_name(item, "playable", "mp4"), encoded.parameters, {"video": playable_info})
            )
            if encoded.poster is not None:
                poster = os.path.join(work, "poster.jpg")
                with open(poster, "wb") as f:
                    f.write(encoded.poster)
                params = {
                    "format": "jpeg",
                    "quality": transcoding.POSTER_QUALITY,
                    "size": f"{encoded.width}x{encoded.height}",
                    **transcoding.versions(),
                }
                made.append(("poster", poster, "jpeg", EvidenceKind.PHOTO, derived_name(item, "poster", "jpg"), params, None))
            if encoded.thumbnails is not None:
                strip = os.path.join(work, "thumbnails.jpg")
                with open(strip, "wb") as f:
                    f.write(encoded.thumbnails)
                params = {
                    "format": "jpeg sprite",
                    "tiles": encoded.thumbnail_count,
                    "tile_width": transcoding.THUMB_WIDTH,
                    **transcoding.versions(),
                }
                made.append(("thumbnails", strip, "jpeg", EvidenceKind.OTHER, derived_name(item, "thumbnails", "jpg"), params, None))
            for role, file, type_id, kind, name, params, describe in made:
                if role in done:
                    continue  # an earlier attempt stored it
                derived = store_derived(
                    deps,
                    None,
                    loc,
                    item,
                    path=file,
                    type_id=type_id,
                    kind=kind,
                    filename=name,
                    operation=role,
                    parameters=params,
                    reason="Made on upload so the video plays anywhere",
                    describe=describe,
                )
                done[role] = derived.id
                so_far = dict(done)
                self._update(owner, item.id, lambda i: self._with(i, outputs=so_far))  # noqa: B023 - used at once
        self._update(owner, item.id, lambda i: self._with(i, state="ready", percent=100, outputs=done))

    # ---- the record --------------------------------------------------------------------

    def _with(self, item: EvidenceItem, **changes: Any) -> EvidenceItem:
        current = item.processing or Processing.queued()
        processing = current.model_copy(update={**changes, "updated_at": to_iso(self.deps.clock.now())})
        return item.model_copy(update={"processing": processing})

    def _fail(self, owner: str, evidence_id: str, failure: VideoFailure) -> None:
        log.warning("video processing failed", extra={"evidence_id": evidence_id, "reason": failure.reason})
        self._update(owner, evidence_id, lambda i: self._with(i, state="failed", failure=failure.reason, detail=failure.detail))

    def _get(self, owner: str, evidence_id: str) -> EvidenceItem | None:
        with self.deps.records.read_only() as uow:
            doc = uow.get(EVIDENCE.name, owner, evidence_id) if owner and evidence_id else None
        return load(EvidenceItem, doc).record if doc else None

    def _update(self, owner: str, evidence_id: str, change: Callable[[EvidenceItem], EvidenceItem]) -> EvidenceItem | None:
        """Apply `change` to the stored record, again on a fresh read if someone else (a
        hold, a verification) wrote it meanwhile. None when the item is gone."""
        for _ in range(5):
            try:
                with self.deps.records.unit_of_work() as uow:
                    doc = uow.get(EVIDENCE.name, owner, evidence_id)
                    if doc is None:
                        return None
                    stored = load(EvidenceItem, doc)
                    changed = change(stored.record)
                    uow.replace(EVIDENCE.name, owner, dump(changed), if_match=stored.etag)
                    return changed
            except PreconditionFailed:
                continue
        raise PreconditionFailed(f"Evidence {evidence_id} kept changing while its video state was written.")
