"""The court package's parts on their own: the streamed zip adapter and the case summary template."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime

from shared.adapters.templates import JinjaTemplates
from shared.adapters.zipstream import FLUSH_BYTES, ZipStream
from shared.domain.tenancy import OrgKind, Principal, Role
from shared.ports import ArchiveMember

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


def test_case_summary_escapes_what_people_typed():
    principal = Principal(
        user_id="pc.jones",
        organisation_id="devon-and-cornwall",
        organisation_kind=OrgKind.POLICE_FORCE,
        roles=frozenset({Role.POLICE_OFFICER}),
    )
    html = JinjaTemplates().render(
        "evidence/summary.html",
        title="NW-2026-000123",
        generated_at="2026-11-23T12:30:05.000000+00:00",
        principal=principal,
        facts=[("Reference", "NW-2026-000123"), ("Category", "theft")],
        narrative="<script>alert(1)</script> took two bottles",
        items=[
            {
                "id": "northwind-" + "0" * 32,
                "kind": "cctv",
                "filename": "till <2>.mp4",
                "content_type": "video/mp4",
                "size": 42,
                "sha256": "ab" * 32,
                "created_at": "2026-11-23T12:00:00.000000+00:00",
                "derived_from": None,
            }
        ],
        chains={
            "northwind-" + "0" * 32: [
                {"at": "t1", "event": "received", "actor_user": "amy", "actor_org": "northwind", "actor_role": "r", "purpose": None}
            ]
        },
    )
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt; took two bottles" in html
    assert "till &lt;2&gt;.mp4" in html and "ab" * 32 in html
    assert "Evidence (1 items)" in html and "t1: received by amy (northwind, r)</li>" in html
    assert "<th>Category</th><td>theft</td>" in html and "pc.jones (devon-and-cornwall, Police.Officer)" in html
