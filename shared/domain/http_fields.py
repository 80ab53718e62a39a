"""HTTP fields evidence transfer reads and writes: Content-Digest, Content-Range, Range,
and file names safe in a download; parsed here so the routes stay thin."""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata

from shared.domain.errors import DomainError

# One dictionary member of an RFC 8941 structured field: a key, then `=` and a value
# (a byte sequence, string, token, number or boolean) or nothing (boolean true), then
# any parameters. Values other than byte sequences are matched only to be skipped.
# Keys are matched case-blind: clients that send `SHA-256` mean sha-256.
_SF_KEY = r"[A-Za-z*][A-Za-z0-9_\-.*]*"
_SF_BARE = r"(?::[A-Za-z0-9+/=]*:|\"(?:[^\"\\]|\\[\"\\])*\"|[A-Za-z*][!#$%&'*+\-.^_`|~:/A-Za-z0-9]*|-?[0-9]+(?:\.[0-9]+)?|\?[01])"
_SF_PARAMS = rf"(?:;\s*{_SF_KEY}(?:={_SF_BARE})?)*"
_SF_MEMBER = re.compile(rf"[ \t]*({_SF_KEY})(?:=({_SF_BARE}))?({_SF_PARAMS})[ \t]*(?:,|$)")


def parse_content_digest(header: str) -> str | None:
    """The SHA-256 (hex) from an RFC 9530 `Content-Digest` header, or None when it names none.

    The header is a structured dictionary: every `sha-256` member is read (a sender may
    repeat it) and all must agree; members of other algorithms are ignored. Raises
    ValueError when the header is not a dictionary, a sha-256 value is malformed, or two
    sha-256 values differ.
    """
    found: set[str] = set()
    pos, text = 0, header.strip()
    if not text:
        raise ValueError("Content-Digest is empty; send sha-256=:<base64>:")
    while pos < len(text):
        m = _SF_MEMBER.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError("Content-Digest must be a structured dictionary such as sha-256=:<base64>:")
        pos = m.end()
        if m.group(0).rstrip().endswith(",") and pos >= len(text):
            raise ValueError("Content-Digest ends with a comma")
        if m.group(1).lower() != "sha-256":
            continue
        value = m.group(2) or ""
        if not (value.startswith(":") and value.endswith(":") and len(value) >= 2):
            raise ValueError("Content-Digest sha-256 value must be a byte sequence, sha-256=:<base64>:")
        try:
            raw = base64.b64decode(value[1:-1], validate=True)
        except binascii.Error as exc:
            raise ValueError("Content-Digest sha-256 value is not base64") from exc
        if len(raw) != 32:
            raise ValueError("Content-Digest sha-256 value is not 32 bytes")
        found.add(raw.hex())
    if len(found) > 1:
        raise ValueError("Content-Digest carries sha-256 values that disagree; send one")
    return found.pop() if found else None


def sha256_field(hex_digest: str) -> str:
    """`sha-256=:<base64>:` (RFC 9530) for a hex digest."""
    return "sha-256=:" + base64.b64encode(bytes.fromhex(hex_digest)).decode() + ":"


_CONTENT_RANGE = re.compile(r"^bytes (\d{1,15})-(\d{1,15})/(\d{1,15}|\*)$")


def parse_content_range(header: str) -> tuple[int, int, int | None]:
    """`bytes first-last/total` -> (first, last inclusive, total or None). ValueError if malformed."""
    m = _CONTENT_RANGE.match(header.strip())
    if not m:
        raise ValueError("Content-Range must look like 'bytes 0-4194303/104857600'")
    first, last = int(m.group(1)), int(m.group(2))
    total = None if m.group(3) == "*" else int(m.group(3))
    if last < first or (total is not None and last >= total):
        raise ValueError("Content-Range is inconsistent (last before first, or past the total)")
    return first, last, total


_RANGE = re.compile(r"^bytes=(\d{0,15})-(\d{0,15})$")


def parse_range(header: str, size: int) -> tuple[int, int] | None:
    """A single `Range: bytes=a-b` (or `a-`, `-n`) as (start, end exclusive).

    Returns None when the header should be ignored (not a single byte range, RFC 9110
    allows serving the whole representation); raises ValueError when unsatisfiable.
    """
    m = _RANGE.match(header.strip())
    if not m or (not m.group(1) and not m.group(2)):
        return None
    if not m.group(1):
        n = int(m.group(2))
        if n == 0:
            raise ValueError("empty suffix range")
        return max(0, size - n), size
    start = int(m.group(1))
    end = int(m.group(2)) + 1 if m.group(2) else size
    if m.group(2) and int(m.group(2)) < start:
        return None
    if start >= size:
        raise ValueError("range starts past the end")
    return start, min(end, size)


def safe_filename(name: str | None, fallback: str = "evidence") -> str:
    """A display name safe in a zip member or Content-Disposition: no paths, no controls.

    Stored names are for people only; storage is always keyed by evidence id.
    """
    if not name:
        return fallback
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '<>:"|?*')
    name = name.strip(" .")[:150]
    return name or fallback


def ascii_filename(name: str) -> str:
    return "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;' else "_" for ch in name)


class RangeNotSatisfiable(DomainError):
    status, slug, title = 416, "range-not-satisfiable", "Range not satisfiable"
