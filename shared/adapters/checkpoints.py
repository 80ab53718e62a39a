"""Chain checkpoints kept in a write-once evidence blob store of their own (a separate
directory locally, the `audit-checkpoints` container in Azure): the same write-once
guarantee as evidence, so a checkpoint can be neither overwritten nor edited."""

from __future__ import annotations

from datetime import timedelta

from shared.domain.errors import NotFound
from shared.evidence_ports import EvidenceBlobStore
from shared.ports import Clock


class BlobCheckpointStore:
    def __init__(self, blobs: EvidenceBlobStore, clock: Clock, *, keep: timedelta):
        self._blobs = blobs
        self._clock = clock
        # Protected at least as long as the longest audit period an organisation may
        # choose, so no checkpoint goes before the entries it vouches for.
        self._keep = keep

    def publish(self, name: str, body: bytes) -> None:
        """Write once; Conflict (from the blob store) when the name is taken."""
        writer = self._blobs.writer(name, content_type="application/json", retention_until=self._clock.now() + self._keep, legal_hold=False)
        try:
            writer.write(body)
        except BaseException:
            writer.abort()
            raise
        writer.commit()

    def read(self, name: str) -> bytes | None:
        """The published body, or None."""
        if self._blobs.size(name) is None:
            return None
        try:
            return b"".join(self._blobs.open(name))
        except NotFound:
            return None
