"""Zip archives streamed to the caller while they are written (zipfile on an unseekable sink).

Large members are copied in chunks and the archive is handed out about a MiB at a time,
so a package of multi-gigabyte videos never sits in memory.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from datetime import datetime

from shared.evidence_ports import ArchiveMember

FLUSH_BYTES = 1024 * 1024


class _Sink:
    """A write-only, unseekable file for zipfile: what was written is drained as it goes."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def write(self, data: bytes) -> int:
        self.buffer += data
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass

    def drain(self) -> bytes:
        out = bytes(self.buffer)
        self.buffer.clear()
        return out


class ZipStream:
    """The `ArchiveWriter` port as a ZIP64 zip: deflated when a member asks for it, stored
    otherwise (media is compressed already)."""

    def stream(self, members: Iterable[ArchiveMember], modified_at: datetime) -> Iterator[bytes]:
        """The zip's bytes, produced while its members are read."""
        sink = _Sink()
        m = modified_at
        stamp = (m.year, m.month, m.day, m.hour, m.minute, m.second)
        with zipfile.ZipFile(sink, "w", allowZip64=True) as zf:
            for member in members:
                info = zipfile.ZipInfo(member.path, stamp)
                info.compress_type = zipfile.ZIP_DEFLATED if member.compress else zipfile.ZIP_STORED
                if member.chunks is None:
                    zf.writestr(info, member.data or b"")
                else:
                    with zf.open(info, "w", force_zip64=True) as dst:
                        for chunk in member.chunks():
                            dst.write(chunk)
                            if len(sink.buffer) >= FLUSH_BYTES:
                                yield sink.drain()
                if sink.buffer:
                    yield sink.drain()
        yield sink.drain()
