"""Accepted evidence file types and how they are recognised from their first bytes: the
type list and the sniffer are read together whenever a type is added."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# How many leading bytes the type sniffer looks at. Every signature below sits in the
# first 16 bytes; plain text is judged on this much.
SNIFF_BYTES = 4096


class Media(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    DOCUMENT = "document"


@dataclass(frozen=True)
class FileType:
    id: str
    media: Media
    content_types: tuple[str, ...]  # the first is the canonical one
    label: str

    @property
    def content_type(self) -> str:
        return self.content_types[0]


ALLOWED: dict[str, FileType] = {
    t.id: t
    for t in (
        FileType("jpeg", Media.IMAGE, ("image/jpeg", "image/jpg", "image/pjpeg"), "JPEG image"),
        FileType("png", Media.IMAGE, ("image/png",), "PNG image"),
        FileType("webp", Media.IMAGE, ("image/webp",), "WebP image"),
        FileType("heic", Media.IMAGE, ("image/heic", "image/heif", "image/heic-sequence", "image/heif-sequence"), "HEIC/HEIF image"),
        FileType("mp4", Media.VIDEO, ("video/mp4",), "MP4 video"),
        FileType("quicktime", Media.VIDEO, ("video/quicktime",), "QuickTime video"),
        FileType("avi", Media.VIDEO, ("video/x-msvideo", "video/avi", "video/msvideo"), "AVI video"),
        FileType("matroska", Media.VIDEO, ("video/x-matroska", "video/matroska", "video/webm"), "Matroska/WebM video"),
        FileType("mpegts", Media.VIDEO, ("video/mp2t",), "MPEG transport stream"),
        FileType("mpegps", Media.VIDEO, ("video/mpeg", "video/mp2p"), "MPEG program stream"),
        FileType("h264", Media.VIDEO, ("video/h264",), "raw H.264 video stream"),
        FileType("h265", Media.VIDEO, ("video/h265", "video/hevc"), "raw H.265 video stream"),
        # DVR exports in a maker's own wrapper that FFmpeg demuxes (Dahua .dav, Hikvision's
        # IMKH-headed MPEG-PS): one type, since neither maker registered a media type.
        FileType("dvr", Media.VIDEO, ("video/x-dvr",), "DVR export (Dahua DAV or Hikvision)"),
        FileType("mp3", Media.AUDIO, ("audio/mpeg", "audio/mp3"), "MP3 audio"),
        FileType("wav", Media.AUDIO, ("audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"), "WAV audio"),
        FileType("m4a", Media.AUDIO, ("audio/mp4", "audio/x-m4a", "audio/m4a"), "M4A audio"),
        FileType("pdf", Media.DOCUMENT, ("application/pdf",), "PDF document"),
        FileType("text", Media.DOCUMENT, ("text/plain",), "plain text"),
    )
}

# Things people upload that we recognise but do not accept, so the 415 can say what it was.
_KNOWN_OTHERS: list[tuple[bytes, int, str]] = [
    (b"GIF87a", 0, "GIF image"),
    (b"GIF89a", 0, "GIF image"),
    (b"BM", 0, "BMP image"),
    (b"PK\x03\x04", 0, "ZIP archive (or an Office document)"),
    (b"\x7fELF", 0, "ELF executable"),
    (b"MZ", 0, "Windows executable"),
    (b"\x1f\x8b", 0, "gzip archive"),
    (b"Rar!", 0, "RAR archive"),
    (b"7z\xbc\xaf\x27\x1c", 0, "7-Zip archive"),
    (b"OggS", 0, "Ogg media"),
    (b"fLaC", 0, "FLAC audio"),
    (b"II*\x00", 0, "TIFF image"),
    (b"MM\x00*", 0, "TIFF image"),
]

_HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1", b"avci"}
_M4A_BRANDS = {b"M4A ", b"M4B ", b"M4P "}
_QT_BRANDS = {b"qt  "}
_MP4_BRANDS = {
    b"isom",
    b"iso2",
    b"iso4",
    b"iso5",
    b"iso6",
    b"mp41",
    b"mp42",
    b"avc1",
    b"dash",
    b"M4V ",
    b"MSNV",
    b"3gp4",
    b"3gp5",
    b"3g2a",
    b"mmp4",
    b"f4v ",
}
_QT_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


@dataclass(frozen=True)
class Sniffed:
    """What the first bytes say: an allowed type id, or None with a human label."""

    type_id: str | None
    label: str


def sniff(head: bytes) -> Sniffed:
    """Recognise a file from its first bytes (at least `SNIFF_BYTES` unless the file is shorter)."""
    if head.startswith(b"\xff\xd8\xff"):
        return _ok("jpeg")
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return _ok("png")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return _ok("webp")
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return _ok("wav")
    if head.startswith(b"%PDF-"):
        return _ok("pdf")
    if len(head) >= 12 and head[4:8] == b"ftyp":
        major = head[8:12]
        box_size = int.from_bytes(head[0:4], "big")
        compatible = {head[i : i + 4] for i in range(16, min(box_size, len(head)), 4)} if box_size >= 16 else set()
        brands = {major} | compatible
        if major in _HEIC_BRANDS or (major not in _MP4_BRANDS | _QT_BRANDS | _M4A_BRANDS and brands & _HEIC_BRANDS):
            return _ok("heic")
        if major in _M4A_BRANDS:
            return _ok("m4a")
        if major in _QT_BRANDS:
            return _ok("quicktime")
        if major in _MP4_BRANDS or brands & _MP4_BRANDS:
            return _ok("mp4")
        return Sniffed(None, f"ISO media with brand {major.decode('latin-1')!r}")
    if len(head) >= 8 and head[4:8] in _QT_ATOMS:
        return _ok("quicktime")
    video = _sniff_video(head)
    if video is not None:
        return _ok(video)
    if head.startswith(b"ID3") or (len(head) >= 2 and head[0] == 0xFF and (head[1] & 0xE0) == 0xE0 and (head[1] & 0x06) != 0):
        return _ok("mp3")
    for magic, offset, label in _KNOWN_OTHERS:
        if head[offset : offset + len(magic)] == magic:
            return Sniffed(None, label)
    if head and _is_text(head):
        return _ok("text")
    if not head:
        return Sniffed(None, "an empty file")
    return Sniffed(None, "unrecognised binary data")


# The NAL unit types a raw Annex B stream starts with: H.264 access unit delimiter, SEI,
# sequence parameter set; H.265 video parameter set, access unit delimiter, prefix SEI.
_H264_FIRST = {9, 6, 7}
_H265_FIRST = {32, 35, 39}


def _sniff_video(head: bytes) -> str | None:
    """The video containers and raw streams CCTV exports come in, past MP4 and QuickTime."""
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head.startswith(b"\x1aE\xdf\xa3"):
        return "matroska"
    if head.startswith(b"DHAV") or head.startswith(b"IMKH"):
        return "dvr"
    # Transport stream packets are 188 bytes, each starting 0x47: three in a row.
    if len(head) >= 377 and head[0] == head[188] == head[376] == 0x47:
        return "mpegts"
    if head.startswith(b"\x00\x00\x01\xba"):
        return "mpegps"
    for start in (b"\x00\x00\x00\x01", b"\x00\x00\x01"):
        if head.startswith(start) and len(head) > len(start) + 1:
            nal = head[len(start)]
            if nal & 0x80:
                continue  # the forbidden bit: not a NAL unit header
            if (nal >> 1) & 0x3F in _H265_FIRST and head[len(start) + 1] == 0x01:
                return "h265"
            if nal & 0x1F in _H264_FIRST:
                return "h264"
    return None


def _ok(type_id: str) -> Sniffed:
    return Sniffed(type_id, ALLOWED[type_id].label)


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
        return True
    except UnicodeDecodeError as exc:
        # A multi-byte character cut off at the end of the sniffed window is still text.
        return exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"


def declared_type(content_type: str | None) -> FileType | None:
    """The allowed type a `Content-Type` header names (parameters ignored), if any."""
    if not content_type:
        return None
    base = content_type.split(";", 1)[0].strip().lower()
    for t in ALLOWED.values():
        if base in t.content_types:
            return t
    return None


def allowed_summary() -> str:
    return ", ".join(t.content_type for t in ALLOWED.values())
