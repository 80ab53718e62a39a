"""The single-request upload carries at most one chunk's worth (32 MiB): the Functions
host holds a whole request in memory, so a larger file is refused with a problem that
names the upload-session route, and nothing of it is kept."""

from __future__ import annotations

import pytest

from shared.services.evidence.intake import SINGLE_REQUEST_MAX_BYTES
from shared.services.evidence.uploads import MAX_CHUNK_BYTES
from tests.evidence.conftest import MP4, REPORTER, azure_store, committed_keys, headers, new_incident, staged_files
from tests.fixtures_backends import BACKENDS
from tests.fixtures_http import make_stamp

MIB = 1024 * 1024


@pytest.fixture(params=BACKENDS)
def big(request, tmp_path):
    """A stamp with the default evidence bound (2 GiB), so only the one-request cap applies."""
    stamp = make_stamp(tmp_path)
    stamp.backend = request.param
    if request.param == "azure":
        stamp.container.__dict__["evidence_blobs"] = azure_store(request.getfixturevalue("azurite"))
    yield stamp
    stamp.container.close()


def _refused(answer, incident: str) -> None:
    assert answer.status_code == 413, answer.text
    problem = answer.json()
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert problem["max_request_bytes"] == SINGLE_REQUEST_MAX_BYTES == 32 * MIB == MAX_CHUNK_BYTES
    assert problem["upload_sessions_url"] == f"/api/v1/incidents/{incident}/evidence/uploads"
    assert f"POST /api/v1/incidents/{incident}/evidence/uploads" in problem["detail"]


def _nothing_kept(stamp, incident: str) -> None:
    listed = stamp.client.get(f"/api/v1/incidents/{incident}/evidence", headers=headers(stamp))
    assert listed.status_code == 200 and listed.json()["items"] == []
    assert committed_keys(stamp) == [] and staged_files(stamp) == []


def test_a_body_declared_over_32_mib_is_refused_naming_the_upload_sessions(big):
    incident = new_incident(big)
    h = headers(big, REPORTER, **{"Content-Type": "video/mp4", "X-Filename": "whole evening.mp4"})
    answer = big.client.post(f"/api/v1/incidents/{incident}/evidence", content=MP4 + bytes(32 * MIB), headers=h)
    _refused(answer, incident)
    _nothing_kept(big, incident)


def test_a_chunked_body_that_grows_past_32_mib_is_refused_and_nothing_stays(big):
    incident = new_incident(big)

    def body():
        # No Content-Length: the cap is found while the bytes arrive.
        yield MP4
        for _ in range(33):
            yield bytes(MIB)

    h = headers(big, REPORTER, **{"Content-Type": "video/mp4", "X-Filename": "whole evening.mp4"})
    answer = big.client.post(f"/api/v1/incidents/{incident}/evidence", content=body(), headers=h)
    _refused(answer, incident)
    _nothing_kept(big, incident)


def test_a_file_of_exactly_32_mib_still_goes_in_one_request(big):
    incident = new_incident(big)
    data = MP4 + bytes(32 * MIB - len(MP4))
    h = headers(big, REPORTER, **{"Content-Type": "video/mp4", "X-Filename": "short clip.mp4"})
    answer = big.client.post(f"/api/v1/incidents/{incident}/evidence", content=data, headers=h)
    assert answer.status_code == 201, answer.text
    assert answer.json()["size"] == 32 * MIB
