"""The court package's manifest format: its names, per-MiB chunk digests, and the check
that says which files of a package changed, were added or went missing."""

from __future__ import annotations

import hashlib
import json
from typing import Any

MANIFEST_NAME = "manifest.json"
# 2: PDFs, the standalone verifier, exhibit labels, and a SHA-256 per MiB of every file.
PACKAGE_FORMAT = "vigil-evidence-package/2"
CHUNK_INDEX_NAME = "chunks.json"
# Each file's SHA-256 per MiB: enough to say where a changed file differs without a
# manifest that outgrows the files (a 4 GiB video has 4096 of them).
PACKAGE_CHUNK_BYTES = 1024 * 1024


class ChunkHasher:
    """The SHA-256 of each PACKAGE_CHUNK_BYTES of a stream, fed in pieces of any size."""

    def __init__(self, chunk_bytes: int = PACKAGE_CHUNK_BYTES):
        self.chunk_bytes = chunk_bytes
        self.digests: list[str] = []
        self._part = hashlib.sha256()
        self._in_part = 0

    def update(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            take = min(len(view), self.chunk_bytes - self._in_part)
            self._part.update(view[:take])
            self._in_part += take
            view = view[take:]
            if self._in_part == self.chunk_bytes:
                self.digests.append(self._part.hexdigest())
                self._part, self._in_part = hashlib.sha256(), 0

    def finish(self) -> list[str]:
        """Every chunk's digest (an empty stream has one, of no bytes)."""
        if self._in_part or not self.digests:
            self.digests.append(self._part.hexdigest())
            self._part, self._in_part = hashlib.sha256(), 0
        return self.digests


def chunk_digests(data: bytes, chunk_bytes: int = PACKAGE_CHUNK_BYTES) -> list[str]:
    """The SHA-256 of each chunk of `data`."""
    hasher = ChunkHasher(chunk_bytes)
    hasher.update(data)
    return hasher.finish()


def label_path(label: str) -> str:
    """An exhibit label as a file name part: ST/1 -> ST-1."""
    return label.replace("/", "-")


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The canonical serialisation whose SHA-256 is recorded in each item's custody."""
    return json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False).encode()


def check_package(manifest: dict[str, Any], present: dict[str, tuple[int, str]]) -> dict[str, list[str]]:
    """Compare a package's files (path -> (size, sha256)) with its manifest.

    Names every file changed, added (not in the manifest) or removed (listed but absent).
    """
    listed = {f["path"]: f for f in manifest.get("files", [])}
    changed = sorted(p for p, f in listed.items() if p in present and present[p] != (f["size"], f["sha256"]))
    removed = sorted(p for p in listed if p not in present)
    added = sorted(p for p in present if p not in listed and p != MANIFEST_NAME)
    return {"changed": changed, "added": added, "removed": removed}
