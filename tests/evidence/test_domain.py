"""Pure evidence rules: type sniffing, digests, ranges, custody links, file names."""

from __future__ import annotations

import base64
import hashlib

import pytest

from shared.domain.audit import ChainKeys
from shared.domain.custody import custody_link_hash, verify_custody
from shared.domain.file_types import sniff
from shared.domain.http_fields import parse_content_digest, parse_content_range, parse_range, safe_filename

KEYS = ChainKeys({"k1": b"k" * 32}, "k1")


@pytest.mark.parametrize(
    "head,expected",
    [
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "png"),
        (b"RIFF\x00\x00\x00\x00WEBPVP8 ", "webp"),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "heic"),
        (b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2", "mp4"),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ", "quicktime"),
        (b"\x00\x00\x00\x08wide\x00\x00\x00\x00mdat", "quicktime"),
        (b"ID3\x04\x00\x00\x00\x00\x00\x00", "mp3"),
        (b"\xff\xfb\x90\x64\x00", "mp3"),
        (b"RIFF\x24\x00\x00\x00WAVEfmt ", "wav"),
        (b"\x00\x00\x00\x20ftypM4A \x00\x00\x00\x00M4A mp42", "m4a"),
        (b"%PDF-1.7\n", "pdf"),
        ("Witness statement: I saw him leave — 14:02".encode(), "text"),
    ],
)
def test_sniff_recognises_each_allowed_type(head, expected):
    assert sniff(head).type_id == expected


@pytest.mark.parametrize(
    "head,label",
    [
        (b"GIF89a", "GIF image"),
        (b"MZ\x90\x00", "Windows executable"),
        (b"PK\x03\x04", "ZIP archive"),
        (b"\x00\x01\x02\x03", "unrecognised"),
    ],
)
def test_sniff_names_what_it_refuses(head, label):
    found = sniff(head)
    assert found.type_id is None and label in found.label


def test_content_digest_and_ranges():
    digest = hashlib.sha256(b"abc")
    assert parse_content_digest("sha-512=:AAAA:, sha-256=:" + base64.b64encode(digest.digest()).decode() + ":") == digest.hexdigest()
    with pytest.raises(ValueError):
        parse_content_digest("sha-256=:bm90MzI=:")
    assert parse_content_range("bytes 0-99/1000") == (0, 99, 1000)
    with pytest.raises(ValueError):
        parse_content_range("bytes 100-50/1000")
    assert parse_range("bytes=-10", 100) == (90, 100)
    assert parse_range("bytes=5-", 100) == (5, 100)
    assert parse_range("items=1-2", 100) is None
    with pytest.raises(ValueError):
        parse_range("bytes=100-", 100)


def test_custody_chain_detects_an_edited_event():
    events, prev = [], ""
    for seq, name in enumerate(["received", "stored", "downloaded"], start=1):
        e = {
            "id": f"e{seq}",
            "evidence_id": "x",
            "event": name,
            "at": "2026-11-23T12:00:00+00:00",
            "actor_user": "u",
            "actor_org": "o",
            "actor_role": "r",
            "purpose": None,
            "details": {},
            "chain": "custody/x",
            "seq": seq,
            "prev_hash": prev,
            "key_id": "k1",
        }
        e["hash"] = prev = custody_link_hash(KEYS, prev, seq, e)
        events.append(e)
    head = {"id": "custody/x", "seq": 3, "hash": prev}
    assert verify_custody(events, head, KEYS)["verified"]
    events[1]["actor_user"] = "someone else"
    assert verify_custody(events, head, KEYS)["first_broken"]["seq"] == 2


def test_file_names_never_become_paths():
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename("C:\\cctv\\cam<1>.mp4") == "cam1.mp4"
    assert safe_filename("") == "evidence"
