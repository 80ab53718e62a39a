"""Stills and clips from CCTV: a picture at a time offset (by default the suspect image
D2P asks for) and the part between two offsets as a playable MP4, each a new item
derived from the untouched original.

Clips are re-encoded from the original, not stream-copied: a copy can only start at a
keyframe, which on DVR footage is often seconds before the moment asked for, and many
DVR codecs (MPEG-4 part 2, MJPEG, H.265) do not play in a browser's MP4 anyway. The
re-encoded clip starts at the frame asked for and plays everywhere; its length is
bounded (`VIGIL_EVIDENCE_VIDEO_CLIP_MAX_SECONDS`) so the request stays short.
"""

from __future__ import annotations

import os
import tempfile

from shared.domain.errors import Invalid, PayloadTooLarge
from shared.domain.evidence import EvidenceItem, EvidenceKind
from shared.domain.file_types import Media
from shared.domain.tenancy import Principal
from shared.domain.video import ClipIn, StillIn, VideoFailure
from shared.services import idempotency
from shared.services.evidence import transcoding
from shared.services.evidence.deps import EvidenceDeps
from shared.services.evidence.lookup import locate_item
from shared.services.evidence.video import derived_name, keyed_and_audited, replayed_copy, spool_intact, store_derived
from shared.services.incidents import Located


def _refused(exc: VideoFailure) -> Invalid | PayloadTooLarge:
    if exc.reason == "resolution-too-high":
        return PayloadTooLarge(exc.detail, errors=[{"field": "evidence"}], reason=exc.reason)
    return Invalid(exc.detail, errors=[{"field": "evidence"}], reason=exc.reason)


class Footage:
    """Stills and clips cut from a video by a person, with a reason for custody."""

    def __init__(self, deps: EvidenceDeps):
        self.deps = deps

    def still(self, principal: Principal, evidence_id: str, body: StillIn, idempotency_key: str | None = None) -> EvidenceItem:
        """A JPEG of the frame shown at `body.at_seconds`, full size, as a new item (kind
        `suspect_image` unless asked otherwise, so it meets D2P's suspect-image rule)."""
        return self._make(principal, evidence_id, "evidence.still", body.model_dump(mode="json"), idempotency_key, still=body)

    def clip(self, principal: Principal, evidence_id: str, body: ClipIn, idempotency_key: str | None = None) -> EvidenceItem:
        """The part between `start_seconds` and `end_seconds` as a playable MP4 item of the original's kind."""
        if body.end_seconds - body.start_seconds > self.deps.video.clip_max_seconds:
            raise Invalid(
                f"A clip may run up to {self.deps.video.clip_max_seconds:.0f} s; this one would run {body.end_seconds - body.start_seconds:.1f} s.",
                errors=[{"field": "end_seconds"}],
            )
        return self._make(principal, evidence_id, "evidence.clip", body.model_dump(mode="json"), idempotency_key, clip=body)

    def _make(
        self,
        principal: Principal,
        evidence_id: str,
        operation: str,
        payload: dict,
        idempotency_key: str | None,
        *,
        still: StillIn | None = None,
        clip: ClipIn | None = None,
    ) -> EvidenceItem:
        deps = self.deps
        key = idempotency.check_key(idempotency_key)
        print_ = idempotency.fingerprint(operation, {"evidence_id": evidence_id, **payload})
        with deps.records.unit_of_work() as uow:
            stored, loc = locate_item(deps, uow, principal, evidence_id)
            again = replayed_copy(deps, uow, principal, loc, operation, key, print_)
            if again is not None:
                return again
        original = stored.record
        if original.media != Media.VIDEO:
            raise Invalid(
                f"Stills and clips are made from video; evidence {evidence_id} is {original.media.value}.",
                errors=[{"field": "evidence"}],
                media=original.media.value,
            )
        duration = original.video.duration_seconds if original.video else None
        asked_end = still.at_seconds if still is not None else clip.end_seconds if clip is not None else 0.0
        field = "at_seconds" if still is not None else "end_seconds"
        if duration is not None and (asked_end > duration or (still is not None and asked_end >= duration)):
            raise Invalid(
                f"The video runs {duration:.2f} s; {field} {asked_end:g} is past its end.",
                errors=[{"field": field}],
                duration_seconds=duration,
            )
        what = "Stills" if still is not None else "Clips"
        # Decoding holds a worker, as image work does: memory stays bounded however many
        # people cut footage at once.
        with deps.image_work.slot(principal, what), tempfile.TemporaryDirectory(prefix="vigil-footage-") as work:
            path = spool_intact(deps, original, work)
            if still is not None:
                return self._still(principal, loc, original, path, work, still, key, operation, print_)
            assert clip is not None
            return self._clip(principal, loc, original, path, work, clip, key, operation, print_)

    def _still(
        self,
        principal: Principal,
        loc: Located,
        original: EvidenceItem,
        path: str,
        work: str,
        body: StillIn,
        key: str | None,
        operation: str,
        print_: str,
    ) -> EvidenceItem:
        deps = self.deps
        try:
            data, width, height, at = transcoding.still(path, body.at_seconds, deps.video)
        except VideoFailure as exc:
            raise _refused(exc) from exc
        except ValueError:
            raise Invalid(f"The video ends before {body.at_seconds:g} s.", errors=[{"field": "at_seconds"}]) from None
        out = os.path.join(work, "still.jpg")
        with open(out, "wb") as f:
            f.write(data)
        kind = EvidenceKind(body.kind)
        with deps.records.read_only() as uow:
            # A suspect image falls under the person-of-interest period, not the CCTV's.
            until = deps.retention.evidence_terms(uow, loc.owner_org, loc.doc, deps.clock.now(), kind.value)[0]
        return self._store(
            principal, loc, original, out, "jpeg", kind, derived_name(original, f"still-{at:.2f}s", "jpg"), "still",
            {"at_seconds": at, "asked_seconds": body.at_seconds, "format": "jpeg", "quality": transcoding.STILL_QUALITY,
             "size": f"{width}x{height}", **transcoding.versions()},
            body.reason, key, operation, print_, retention_until=until,
        )  # fmt: skip

    def _clip(
        self,
        principal: Principal,
        loc: Located,
        original: EvidenceItem,
        path: str,
        work: str,
        body: ClipIn,
        key: str | None,
        operation: str,
        print_: str,
    ) -> EvidenceItem:
        deps = self.deps
        out = os.path.join(work, "clip.mp4")
        try:
            encoded = transcoding.encode(path, out, deps.video, start=body.start_seconds, end=body.end_seconds)
        except VideoFailure as exc:
            if exc.reason == "not-a-video" and body.start_seconds > 0:
                raise Invalid(f"The video ends before {body.start_seconds:g} s.", errors=[{"field": "start_seconds"}]) from exc
            raise _refused(exc) from exc
        info = transcoding.probe(out)
        return self._store(
            principal, loc, original, out, "mp4", original.kind,
            derived_name(original, f"clip-{body.start_seconds:g}-{body.end_seconds:g}s", "mp4"), "clip",
            {**encoded.parameters, "duration_seconds": encoded.duration_seconds, "method": "re-encoded from the frame at the start"},
            body.reason, key, operation, print_, describe={"video": info},
        )  # fmt: skip

    def _store(
        self, principal, loc, original, path, type_id, kind, filename, op, parameters, reason, key, operation, print_, retention_until=None, describe=None
    ) -> EvidenceItem:  # fmt: skip
        deps = self.deps
        return store_derived(
            deps,
            principal,
            loc,
            original,
            path=path,
            type_id=type_id,
            kind=kind,
            filename=filename,
            operation=op,
            parameters=parameters,
            reason=reason,
            retention_until=retention_until,
            describe=describe,
            extra=keyed_and_audited(deps, principal, loc, original, operation=operation, key=key, print_=print_, reason=reason),
        )
