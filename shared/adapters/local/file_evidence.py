"""Evidence bytes on the local disk, written once.

Layout under the root (names are evidence or upload ids, never client file names):
- `staging/<key>.<nonce>.part`: a single upload being received (created O_EXCL).
- `uploads/<upload_id>.part`: a resumable upload's bytes so far.
- `objects/<k0k1>/<key>`: committed objects, hard-linked from staging (link() refuses an
  existing name, so a second write of the same key fails) and made read-only.
- `objects/<k0k1>/<key>.meta`: retention date and legal-hold flag, which `delete`
  honours just as Blob Storage does for immutability policies and legal holds.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.domain.errors import Conflict, NotFound
from shared.ports import Clock

READ_CHUNK = 1024 * 1024
_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$")


def _check_key(key: str) -> str:
    if not _KEY.match(key):
        raise ValueError(f"not an evidence key: {key!r}")
    return key


class _FileWriter:
    def __init__(self, store: FileEvidenceStore, key: str, meta: dict):
        self._store = store
        self._key = key
        self._meta = meta
        self._staging = store.root / "staging" / f"{key}.{secrets.token_hex(8)}.part"
        self._fd: int | None = os.open(self._staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)

    def write(self, chunk: bytes) -> None:
        assert self._fd is not None, "the writer is already committed or aborted"
        view = memoryview(chunk)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def commit(self) -> None:
        final = self._store._object(self._key)
        final.parent.mkdir(parents=True, exist_ok=True)
        assert self._fd is not None, "the writer is already committed or aborted"
        os.fsync(self._fd)
        os.close(self._fd)
        self._fd = None
        try:
            os.link(self._staging, final)
        except FileExistsError as exc:
            self._staging.unlink(missing_ok=True)
            raise Conflict(f"Evidence object {self._key} already exists and cannot be overwritten.") from exc
        if self._store._clock is not None:
            # Stamped on the stamp's clock, which the orphan sweep judges age by.
            at = self._store._clock.now().timestamp()
            os.utime(final, (at, at))
        os.chmod(final, 0o444)
        meta = final.with_name(final.name + ".meta")
        meta.write_text(json.dumps(self._meta))
        self._staging.unlink(missing_ok=True)
        _fsync_dir(final.parent)

    def abort(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._staging.unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class FileEvidenceStore:
    # Local files have no URL of their own: the app streams them.
    serves_links = False

    def __init__(self, root: Path, clock: Clock | None = None):
        self.root = Path(root)
        # Retention is judged on the stamp's clock, as Blob Storage judges it on its own.
        self._clock = clock
        for sub in ("staging", "uploads", "objects"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)

    def _object(self, key: str) -> Path:
        _check_key(key)
        return self.root / "objects" / key[:2] / key

    def _upload(self, upload_id: str) -> Path:
        return self.root / "uploads" / f"{_check_key(upload_id)}.part"

    def writer(self, key: str, *, content_type: str, retention_until: datetime, legal_hold: bool) -> _FileWriter:
        _check_key(key)
        return _FileWriter(
            self,
            key,
            {"content_type": content_type, "retention_until": retention_until.astimezone(UTC).isoformat(), "legal_hold": legal_hold},
        )

    def open(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        path = self._object(key)
        try:
            f = open(path, "rb")  # noqa: SIM115 - closed by the generator
        except FileNotFoundError as exc:
            raise NotFound(f"Evidence object {key} is missing from storage.") from exc
        return self._read(f, start, end)

    @staticmethod
    def _read(f, start: int, end: int | None) -> Iterator[bytes]:
        with f:
            f.seek(start)
            remaining = None if end is None else end - start
            while remaining is None or remaining > 0:
                chunk = f.read(READ_CHUNK if remaining is None else min(READ_CHUNK, remaining))
                if not chunk:
                    return
                if remaining is not None:
                    remaining -= len(chunk)
                yield chunk

    def size(self, key: str) -> int | None:
        try:
            return self._object(key).stat().st_size
        except FileNotFoundError:
            return None

    def _meta(self, key: str) -> tuple[Path, dict]:
        path = self._object(key)
        meta_path = path.with_name(path.name + ".meta")
        try:
            return meta_path, json.loads(meta_path.read_text())
        except FileNotFoundError:
            return meta_path, {}

    def set_legal_hold(self, key: str, held: bool) -> None:
        if self.size(key) is None:
            raise NotFound(f"Evidence object {key} is missing from storage.")
        meta_path, meta = self._meta(key)
        meta["legal_hold"] = held
        tmp = meta_path.with_name(meta_path.name + ".tmp")
        tmp.write_text(json.dumps(meta))
        os.replace(tmp, meta_path)

    def delete(self, key: str) -> bool:
        path = self._object(key)
        if not path.exists():
            return False
        meta_path, meta = self._meta(key)
        if meta.get("legal_hold"):
            raise Conflict(f"Evidence object {key} is under legal hold and cannot be deleted.")
        until = meta.get("retention_until")
        if until and datetime.fromisoformat(until) > (self._clock.now() if self._clock else datetime.now(UTC)):
            raise Conflict(f"Evidence object {key} is protected until {until} and cannot be deleted yet.")
        path.unlink()
        meta_path.unlink(missing_ok=True)
        return True

    def download_url(self, key: str, *, valid_for: timedelta, filename: str, content_type: str) -> str | None:
        """None: local files have no URL of their own, so the app streams them."""
        return None

    def objects(self, modified_after: datetime, modified_before: datetime) -> Iterator[str]:
        low, high = modified_after.timestamp(), modified_before.timestamp()
        for path in (self.root / "objects").glob("*/*"):
            if path.name.endswith((".meta", ".tmp")):
                continue
            try:
                mtime = path.stat().st_mtime
            except FileNotFoundError:
                continue
            if low <= mtime < high:
                yield path.name

    # ---- resumable staging ----------------------------------------------------------
    def stage(self, upload_id: str, offset: int, chunks: Iterable[bytes]) -> int:
        path = self._upload(upload_id)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            size = os.fstat(fd).st_size
            if size != offset:
                raise Conflict(f"Upload {upload_id} holds {size} bytes; send from offset {size}.", received=size)
            os.lseek(fd, offset, os.SEEK_SET)
            try:
                for chunk in chunks:
                    view = memoryview(chunk)
                    while view:
                        view = view[os.write(fd, view) :]
            except BaseException:
                # A chunk is kept whole or not at all: the next one must start where the
                # last accepted chunk ended, not somewhere inside a refused one.
                os.ftruncate(fd, offset)
                raise
            os.fsync(fd)
            return os.fstat(fd).st_size
        finally:
            os.close(fd)

    def staged_size(self, upload_id: str) -> int:
        try:
            return self._upload(upload_id).stat().st_size
        except FileNotFoundError:
            return 0

    def read_staged(self, upload_id: str) -> Iterator[bytes]:
        path = self._upload(upload_id)
        try:
            f = open(path, "rb")  # noqa: SIM115 - closed by the generator
        except FileNotFoundError as exc:
            raise NotFound(f"Upload {upload_id} has nothing staged.") from exc
        return self._read(f, 0, None)

    def discard_staged(self, upload_id: str) -> None:
        self._upload(upload_id).unlink(missing_ok=True)

    def sweep_staging(self, older_than: datetime) -> int:
        cutoff = older_than.timestamp()
        removed = 0
        for sub in ("staging", "uploads"):
            for path in (self.root / sub).glob("*.part"):
                try:
                    if path.stat().st_mtime < cutoff:
                        path.unlink()
                        removed += 1
                except FileNotFoundError:
                    continue
        return removed

    def ready(self) -> tuple[bool, str]:
        ok = os.access(self.root / "objects", os.W_OK) and os.access(self.root / "staging", os.W_OK)
        return (True, "") if ok else (False, f"evidence directory {self.root} is not writable")
