"""Content-Digest is read as the structured dictionary RFC 9530 makes it: every sha-256
member counts, members of other algorithms are skipped, and a header that contradicts
itself stores nothing."""

from __future__ import annotations

import base64
import hashlib

import pytest

from shared.domain.http_fields import parse_content_digest
from tests.evidence.conftest import MP4, committed_keys, new_incident, upload


def _b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_every_sha256_member_is_read_and_others_are_skipped():
    good = hashlib.sha256(b"abc")
    field = f"sha-256=:{_b64(b'abc')}:"
    assert parse_content_digest(f'sha-512=:AAAA:;p="x, y", {field}') == good.hexdigest()
    assert parse_content_digest(f"unixsum=30637, id-sha-256=:{_b64(b'zzz')}:, {field}") == good.hexdigest()
    assert parse_content_digest(f"{field}, {field}") == good.hexdigest()
    assert parse_content_digest("sha-512=:AAAA:") is None
    for bad in (f"{field}, sha-256=:{_b64(b'other')}:", f"{field},", "sha-256=abc", "sha-256", "=:AAAA:", f"{field} junk"):
        with pytest.raises(ValueError):
            parse_content_digest(bad)


def test_a_second_sha256_that_disagrees_stores_nothing(ev):
    incident = new_incident(ev)
    # The first member is right: a server that read only it would have stored the file.
    header = f"sha-256=:{_b64(MP4)}:, sha-256=:{_b64(b'something else')}:"
    r = upload(ev, incident, **{"Content-Digest": header})
    assert r.status_code == 400, r.text
    assert r.json()["errors"][0]["field"] == "Content-Digest" and "disagree" in r.json()["detail"]
    assert committed_keys(ev) == []
    only_unknown = upload(ev, incident, **{"Content-Digest": "sha-512=:AAAA:"})
    assert only_unknown.status_code == 422 and committed_keys(ev) == []
    both = upload(ev, incident, **{"Content-Digest": f"md5=:AAAA:, sha-256=:{_b64(MP4)}:;note=1"})
    assert both.status_code == 201, both.text
