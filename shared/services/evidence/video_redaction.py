"""Video redaction and face proposals on video: boxes obscured over time and sound
silenced, made into a new MP4 item derived from the untouched original; and face tracks
found on sampled frames for a person to confirm and send back as regions.

Like clips, a redaction is made within the request, holding an image-work slot: the
video it works on is bounded (`VIGIL_EVIDENCE_VIDEO_CLIP_MAX_SECONDS`), so a longer
recording is cut to the part to disclose first, and that clip is redacted.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from typing import Any

from shared.domain import imaging
from shared.domain.custody import CustodyEvent
from shared.domain.errors import Invalid, PayloadTooLarge
from shared.domain.evidence import EvidenceItem
from shared.domain.file_types import Media
from shared.domain.tenancy import Principal
from shared.domain.video import VideoFailure, VideoInfo, VideoRedactionIn, join_tracks, problems_with
from shared.services import idempotency
from shared.services.evidence import custody, transcoding
from shared.services.evidence.access import FACE_DETECTOR
from shared.services.evidence.deps import EvidenceDeps
from shared.services.evidence.lookup import audit_access, locate_item, need_purpose
from shared.services.evidence.video import derived_name, keyed_and_audited, replayed_copy, spool_intact, store_derived

OPERATION = "evidence.video-redaction"
# Faces are looked for once a second on a copy at most this long: a person walking
# through a shop stays in view for seconds, and the reviewer confirms every track anyway.
SAMPLE_EVERY_SECONDS = 1.0
SAMPLE_LONG_EDGE = 640


def _refused(exc: VideoFailure) -> Invalid | PayloadTooLarge:
    if exc.reason == "resolution-too-high":
        return PayloadTooLarge(exc.detail, errors=[{"field": "evidence"}], reason=exc.reason)
    return Invalid(exc.detail, errors=[{"field": "evidence"}], reason=exc.reason)


@dataclass
class VideoFaceProposals:
    """Suggested face tracks (each a list of keys `{t, x, y, w, h}` in source pixels); nothing redacted."""

    evidence_id: str
    tracks: list[list[dict[str, float]]]
    detector: str
    sample_every_seconds: float
    samples: int
    size: dict[str, int] = field(default_factory=dict)


class VideoRedaction:
    """Redacted copies of video and the face tracks that help a person plan one."""

    def __init__(self, deps: EvidenceDeps):
        self.deps = deps

    def _video(self, principal: Principal, evidence_id: str, what: str) -> tuple[Any, Any]:
        with self.deps.records.read_only() as uow:
            stored, loc = locate_item(self.deps, uow, principal, evidence_id)
        if stored.record.media != Media.VIDEO:
            raise Invalid(
                f"{what} works on video; evidence {evidence_id} is {stored.record.media.value}.",
                errors=[{"field": "evidence"}],
                media=stored.record.media.value,
            )
        return stored.record, loc

    def _check(self, plan: VideoRedactionIn, info: VideoInfo | None) -> None:
        if info is None:
            return
        if info.duration_seconds is not None and info.duration_seconds > self.deps.video.clip_max_seconds:
            raise Invalid(
                f"Video redaction works on recordings up to {self.deps.video.clip_max_seconds:.0f} s; this one runs "
                f"{info.duration_seconds:.0f} s. Cut a clip of the part to disclose and redact that.",
                errors=[{"field": "evidence"}],
                duration_seconds=info.duration_seconds,
            )
        found = problems_with(plan, info.video.width, info.video.height, info.duration_seconds, info.audio is not None)
        if found:
            raise Invalid(
                "; ".join(f"{f}: {m}" for f, m in found[:5]),
                errors=[{"field": f, "message": m} for f, m in found],
                width=info.video.width,
                height=info.video.height,
                duration_seconds=info.duration_seconds,
            )

    def redact(self, principal: Principal, evidence_id: str, plan: VideoRedactionIn, idempotency_key: str | None = None) -> EvidenceItem:
        """A new MP4 item (`derived_from` the original, the exact plan in its derivation)
        with the plan's boxes obscured and its ranges silenced; the original is untouched.
        Refused (422, naming the field) when a time is past the end, a box reaches outside
        the picture, or a mute is asked of a video without sound; nothing is written then."""
        deps = self.deps
        key = idempotency.check_key(idempotency_key)
        parameters = plan.model_dump(mode="json", exclude={"reason"})
        print_ = idempotency.fingerprint(OPERATION, {"evidence_id": evidence_id, **plan.model_dump(mode="json")})
        with deps.records.unit_of_work() as uow:
            _, loc = locate_item(deps, uow, principal, evidence_id)
            again = replayed_copy(deps, uow, principal, loc, OPERATION, key, print_)
            if again is not None:
                return again
        original, loc = self._video(principal, evidence_id, "Video redaction")
        # Checked against what the upload's job probed before any work starts.
        self._check(plan, original.video)
        with deps.image_work.slot(principal, "Video redaction"), tempfile.TemporaryDirectory(prefix="vigil-vredact-") as work:
            path = spool_intact(deps, original, work)
            try:
                info = transcoding.probe(path)
            except VideoFailure as exc:
                raise _refused(exc) from exc
            self._check(plan, info)
            out = os.path.join(work, "redacted.mp4")
            try:
                encoded = transcoding.encode(path, out, deps.video, known_duration=info.duration_seconds, redaction=plan)
            except VideoFailure as exc:
                raise _refused(exc) from exc
            made = transcoding.probe(out)

            return store_derived(
                deps,
                principal,
                loc,
                original,
                path=out,
                type_id="mp4",
                kind=original.kind,
                filename=derived_name(original, "redacted", "mp4"),
                operation="video-redaction",
                parameters={"redaction": parameters, "encoding": encoded.parameters, "duration_seconds": encoded.duration_seconds},
                reason=plan.reason,
                describe={"video": made},
                extra=keyed_and_audited(deps, principal, loc, original, operation=OPERATION, key=key, print_=print_, reason=plan.reason),
            )

    def face_proposals(self, principal: Principal, evidence_id: str, purpose: str | None) -> VideoFaceProposals:
        """Face tracks found on one downscaled frame a second, in source pixels, for a
        person to confirm, edit and send back as regions; nothing is redacted."""
        deps = self.deps
        need_purpose(principal, purpose)
        original, loc = self._video(principal, evidence_id, "Face proposals on video")
        with deps.image_work.slot(principal, "Face proposals"), tempfile.TemporaryDirectory(prefix="vigil-vfaces-") as work:
            path = spool_intact(deps, original, work)
            try:
                width, height, samples = transcoding.sampled_grey(path, SAMPLE_EVERY_SECONDS, SAMPLE_LONG_EDGE, deps.video)
            except VideoFailure as exc:
                raise _refused(exc) from exc
        found: list[tuple[float, list[dict[str, float]]]] = []
        for t, grey in samples:
            small = (grey.shape[1], grey.shape[0])
            boxes = imaging.scale_boxes(imaging.haar_faces(grey), small, (width, height))
            found.append((t, [{"x": b["x"], "y": b["y"], "w": b["width"], "h": b["height"]} for b in boxes]))
        tracks = join_tracks(found)
        with deps.records.unit_of_work() as uow:
            custody.record_event(
                uow,
                deps.chain_keys,
                loc.owner_org,
                evidence_id,
                CustodyEvent.VIEWED,
                principal,
                at=deps.clock.now(),
                purpose=purpose,
                details={"what": "video face proposals", "tracks": len(tracks), "samples": len(samples)},
            )
            audit_access(deps, uow, principal, loc.owner_org, "evidence.video-face-proposals", f"evidence/{evidence_id}", purpose)
        return VideoFaceProposals(
            evidence_id=evidence_id,
            tracks=tracks,
            detector=FACE_DETECTOR,
            sample_every_seconds=SAMPLE_EVERY_SECONDS,
            samples=len(samples),
            size={"width": width, "height": height},
        )
