"""Media derived from evidence, each a new item beside its untouched original: image
and video redaction with their face proposals, stills and clips of a video."""

from __future__ import annotations

from fastapi import APIRouter, Response

from functions.http.deps import ContainerDep, IdempotencyKey
from functions.http.evidence import (
    EvidenceId,
    Purpose,
    Reader,
    Reporter,
    created,
    evidence_out,
)
from functions.http.evidence_schemas import (
    EvidenceOut,
    FaceProposalsOut,
    FaceTrack,
    Rectangle,
    VideoFaceProposalsOut,
)
from functions.http.problems import AUTH_ERRORS, responses
from shared.domain.evidence import RedactionIn
from shared.domain.video import ClipIn, StillIn, VideoRedactionIn
from shared.services.evidence.access import FaceProposals

VIDEO_FACE_NOTE = (
    "Suggestions only: confirm, edit or add tracks, then POST them as regions to /video-redactions. Nothing has been redacted."
)
FACE_NOTE = "Suggestions only: confirm, edit or add rectangles, then POST them to /redactions. Nothing has been redacted."

router = APIRouter(tags=["evidence"])


@router.post(
    "/evidence/{evidence_id}/redactions",
    status_code=201,
    summary="Redact an image into a new derived item (the original stays untouched)",
    response_model=EvidenceOut,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
    response_description="The new, redacted evidence item (Location names it)",
)
def redact_evidence(
    evidence_id: EvidenceId, body: RedactionIn, response: Response, principal: Reporter, container: ContainerDep
) -> EvidenceOut:
    """Redacts rectangles of an image into a new, derived evidence item; the original stays untouched."""
    item = container.evidence.redaction.redact(principal, evidence_id, body)
    created(response, item, digest=False)
    return evidence_out(item)


@router.post(
    "/evidence/{evidence_id}/stills",
    status_code=201,
    summary="A still from a video at a time offset, as a new derived JPEG item (by default the suspect image D2P asks for)",
    response_model=EvidenceOut,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
    response_description="The new still (Location names it)",
)
def make_still(
    evidence_id: EvidenceId,
    body: StillIn,
    response: Response,
    principal: Reporter,
    container: ContainerDep,
    idempotency_key: IdempotencyKey = None,
) -> EvidenceOut:
    """Takes the frame shown at `at_seconds` from a video, full size, as a new JPEG item derived from it; the video stays untouched. Send an `Idempotency-Key` so a retry cannot make two."""
    item = container.evidence.footage.still(principal, evidence_id, body, idempotency_key)
    created(response, item)
    return evidence_out(item)


@router.post(
    "/evidence/{evidence_id}/clips",
    status_code=201,
    summary="A clip of a video between two time offsets, as a new derived MP4 item (H.264, fast start)",
    response_model=EvidenceOut,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
    response_description="The new clip (Location names it)",
)
def make_clip(
    evidence_id: EvidenceId,
    body: ClipIn,
    response: Response,
    principal: Reporter,
    container: ContainerDep,
    idempotency_key: IdempotencyKey = None,
) -> EvidenceOut:
    """Cuts the part between `start_seconds` and `end_seconds` into a new MP4 item derived from the video, re-encoded from the frame at the start. Send an `Idempotency-Key` so a retry cannot make two."""
    item = container.evidence.footage.clip(principal, evidence_id, body, idempotency_key)
    created(response, item)
    return evidence_out(item)


@router.post(
    "/evidence/{evidence_id}/video-redactions",
    status_code=201,
    summary="Redact a video (boxes over time, muted sound) into a new derived MP4 item (the original stays untouched)",
    response_model=EvidenceOut,
    responses=responses(400, *AUTH_ERRORS, 404, 409, 413, 422),
    response_description="The new, redacted video (Location names it)",
)
def redact_video(
    evidence_id: EvidenceId,
    body: VideoRedactionIn,
    response: Response,
    principal: Reporter,
    container: ContainerDep,
    idempotency_key: IdempotencyKey = None,
) -> EvidenceOut:
    """Obscures box tracks (blur, pixelate or black; boxes in source pixels, linear between keys, only from the first key's time to the last's) and silences mute ranges in a new MP4 item derived from the video; the original stays untouched. Send an `Idempotency-Key` so a retry cannot make two."""
    item = container.evidence.video_redaction.redact(principal, evidence_id, body, idempotency_key)
    created(response, item)
    return evidence_out(item)


@router.post(
    "/evidence/{evidence_id}/video-face-proposals",
    summary="Suggested face tracks in a video for a person to confirm (nothing is redacted)",
    response_model=VideoFaceProposalsOut,
    responses=responses(*AUTH_ERRORS, 404, 409, 413, 422),
    response_description="Suggested face tracks for a person to confirm",
)
def propose_video_face_redactions(
    evidence_id: EvidenceId, principal: Reader, container: ContainerDep, purpose: Purpose = None
) -> VideoFaceProposalsOut:
    """Looks for faces on one downscaled frame a second and joins them into tracks a person confirms, edits and sends back as regions; nothing is redacted."""
    found = container.evidence.video_redaction.face_proposals(principal, evidence_id, purpose)
    return VideoFaceProposalsOut(
        evidence_id=found.evidence_id,
        tracks=[FaceTrack.model_validate({"keys": keys}) for keys in found.tracks],
        detector=found.detector,
        sample_every_seconds=found.sample_every_seconds,
        samples=found.samples,
        width=found.size["width"],
        height=found.size["height"],
        note=VIDEO_FACE_NOTE,
    )


@router.get(
    "/evidence/{evidence_id}/face-proposals",
    summary="Suggested face rectangles for a person to confirm (nothing is redacted)",
    response_model=FaceProposalsOut,
    responses=responses(*AUTH_ERRORS, 404, 409, 413, 422),
    response_description="Suggested face rectangles for a person to confirm",
)
def propose_face_redactions(
    evidence_id: EvidenceId, principal: Reader, container: ContainerDep, purpose: Purpose = None
) -> FaceProposalsOut:
    """Suggests face rectangles in an image for a person to confirm before redacting; nothing is redacted."""
    found: FaceProposals = container.evidence.access.face_proposals(principal, evidence_id, purpose)
    return FaceProposalsOut(
        evidence_id=found.evidence_id,
        proposals=[Rectangle.model_validate(r) for r in found.proposals],
        detector=found.detector,
        note=FACE_NOTE,
    )
