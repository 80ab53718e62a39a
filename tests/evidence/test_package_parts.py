"""The court package's parts on their own: the streamed zip adapter."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

from shared.adapters.zipstream import FLUSH_BYTES, ZipStream
from shared.evidence_ports import ArchiveMember

AT = datetime(2026, 11, 23, 12, 30, 4, tzinfo=UTC)  # zip times have two-second steps


def test_zip_stream_reads_back_with_each_member_compressed_as_asked():
    opened = []

    def big():
        opened.append(True)
        yield from (bytes([n]) * FLUSH_BYTES for n in range(3))

    members = [ArchiveMember("a.txt", data=b"hello"), ArchiveMember("big.bin", chunks=big, compress=False)]
    stream = ZipStream().stream(iter(members), modified_at=AT)
    assert opened == []  # nothing is read before the archive reaches it
    parts = list(stream)
    assert len(parts) > 3  # handed out while written, not as one buffer
    with zipfile.ZipFile(io.BytesIO(b"".join(parts))) as zf:
        assert zf.read("a.txt") == b"hello"
        assert zf.read("big.bin") == b"".join(bytes([n]) * FLUSH_BYTES for n in range(3))
        assert zf.getinfo("a.txt").compress_type == zipfile.ZIP_DEFLATED
        assert zf.getinfo("big.bin").compress_type == zipfile.ZIP_STORED
        assert zf.getinfo("a.txt").date_time == (2026, 11, 23, 12, 30, 4)
