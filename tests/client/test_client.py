"""The Python client against a real local stamp: problem details as typed errors, a retry
after a lost answer recorded once, ETags, paging, and an upload cut mid-chunk that resumes
from the server's offset with the stored hash matching the file."""

from __future__ import annotations

import hashlib

import httpx
import pytest

from tests.client.proxies import CuttingProxy
from vigil_client import VigilClient, VigilProblem
from vigil_client.client import file_sha256

# One real stamp serves the folder: keep its tests on one xdist worker.
pytestmark = pytest.mark.xdist_group("client-stamp")


def report(n: int = 0) -> dict:
    return {
        "store_id": "nw-plymouth",
        "category": "shop_theft",
        "occurred_at": "2026-11-20T14:32:00+00:00",
        "narrative": f"Client test {n}: took six bottles of whisky and left without paying.",
        "reporter": {"name": "Sam Taylor", "job_title": "Duty manager"},
    }


def test_a_refused_report_raises_a_typed_problem_naming_the_field(stamp):
    with VigilClient(stamp.url, stamp.token()) as client:
        with pytest.raises(VigilProblem) as caught:
            client.report_incident({**report(), "category": "shoplifting"})
    problem = caught.value
    assert problem.status == 422 and problem.type.startswith("/api/v1/problems/")
    assert problem.title and problem.detail
    assert [e["field"] for e in problem.errors] == ["category"]


class LoseFirstAnswer(httpx.BaseTransport):
    """Delivers the first POST to the stamp, then drops its answer (a cut on the way back)."""

    def __init__(self):
        self.inner = httpx.HTTPTransport()
        self.keys: list[str] = []
        self.lost_ids: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST":
            self.keys.append(request.headers["Idempotency-Key"])
            if len(self.keys) == 1:
                response.read()
                self.lost_ids.append(response.json()["id"])
                raise httpx.ReadError("connection reset by peer")
        return response


def test_a_report_whose_answer_was_lost_is_retried_with_the_same_key_and_recorded_once(stamp):
    transport = LoseFirstAnswer()
    with VigilClient(stamp.url, stamp.token(), transport=transport, sleep=lambda s: None) as client:
        made = client.report_incident(report(1))
        assert len(transport.keys) == 2 and transport.keys[0] == transport.keys[1]
        assert made["id"] == transport.lost_ids[0]
        matching = [i for i in client.iter_incidents(store="nw-plymouth") if i["narrative"] == report(1)["narrative"]]
    assert len(matching) == 1


def test_an_upload_whose_open_answer_was_lost_goes_on_in_the_session_the_first_open_made(stamp, tmp_path):
    with VigilClient(stamp.url, stamp.token()) as client:
        incident = client.report_incident(report(2))
    clip = tmp_path / "till-2.png"
    clip.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 2000)
    transport = LoseFirstAnswer()
    sessions: list[str] = []
    with VigilClient(stamp.url, stamp.token(), transport=transport, sleep=lambda s: None) as client:
        item = client.upload_evidence(incident["id"], clip, kind="photo", on_session=lambda s: sessions.append(s["id"]))
        # The open was sent twice with one key and answered with one session: no orphan left staged.
        assert transport.keys[0] == transport.keys[1]
        assert sessions == transport.lost_ids
        assert client.upload_status(sessions[0])["state"] == "committed"
        assert [e["id"] for e in client.list_evidence(incident["id"])] == [item["id"]]


def test_a_change_sends_the_etag_and_a_stale_one_is_412(stamp):
    with (
        VigilClient(stamp.url, stamp.token()) as reporter,
        VigilClient(stamp.url, stamp.token(role="Retailer.Investigator")) as investigator,
    ):
        made = reporter.report_incident(report(2))
        changed = investigator.change_incident(made["id"], {"narrative": "Six bottles; the suspect left in a silver Ford."})
        assert changed["version"] == 2 and changed["etag"] != made["etag"]
        with pytest.raises(VigilProblem) as caught:
            investigator.change_incident(made["id"], {"narrative": "A stale edit"}, etag=made["etag"])
    assert caught.value.status == 412


def test_paging_follows_continuation_to_the_last_page(stamp):
    with VigilClient(stamp.url, stamp.token()) as client:
        made = {client.report_incident({**report(100 + n), "category": "criminal_damage"})["id"] for n in range(5)}
        seen = [i["id"] for i in client.iter_incidents(store="nw-plymouth", category="criminal_damage", page_size=2)]
    assert len(seen) == len(set(seen)) and made <= set(seen)


def test_429_is_retried_after_the_time_retry_after_names():
    answers = [httpx.Response(429, headers={"Retry-After": "7"}, json={"status": 429, "title": "Too many", "detail": "slow down"})]
    answers.append(httpx.Response(201, json={"id": "i-1", "etag": '"1"'}))
    keys: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["Idempotency-Key"])
        return answers.pop(0)

    slept: list[float] = []
    with VigilClient("http://vigil.test", transport=httpx.MockTransport(handler), sleep=slept.append) as client:
        assert client.report_incident(report())["id"] == "i-1"
    assert len(slept) == 1 and 7 <= slept[0] <= 8
    assert keys[0] == keys[1]


def test_an_upload_cut_mid_chunk_resumes_from_the_servers_offset_and_the_stored_hash_matches(stamp, tmp_path):
    with VigilClient(stamp.url, stamp.token()) as direct:
        incident = direct.report_incident(report(3))
    data = (b"\xff\xd8\xff\xe0" + hashlib.sha256(b"seed").digest() * 50_000)[:3_000_000]
    file = tmp_path / "till-camera-2.jpg"
    file.write_bytes(data)
    # The cut falls inside the second 1 MB chunk: the server keeps what arrived whole.
    proxy = CuttingProxy(stamp.port, cut_after=1_600_000)
    progress: list[tuple[int, int]] = []
    try:
        with VigilClient(proxy.url, stamp.token(), sleep=lambda s: None) as client:
            item = client.upload_evidence(
                incident["id"], file, content_type="image/jpeg", chunk_size=1_000_000, progress=lambda a, b: progress.append((a, b))
            )
            stored = client.request("GET", f"/evidence/{item['id']}/content").content
    finally:
        proxy.close()
    assert proxy.cuts == 1
    assert item["sha256"] == file_sha256(file) == hashlib.sha256(stored).hexdigest()
    assert item["size"] == len(data)
    assert progress[-1] == (len(data), len(data))


class CountingToken:
    """A test token provider: a new token after each invalidation."""

    def __init__(self):
        self.issued = 0

    def token(self):
        return f"token-{self.issued}"

    def invalidate(self):
        self.issued += 1


def test_a_401_signs_in_again_once_and_other_errors_are_not_retried():
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        if request.headers["Authorization"] == "Bearer token-0":
            return httpx.Response(401, json={"status": 401, "title": "Sign-in required", "detail": "expired"})
        return httpx.Response(422, json={"status": 422, "title": "Invalid", "detail": "no", "errors": [{"field": "narrative"}]})

    with VigilClient("http://vigil.test", CountingToken(), transport=httpx.MockTransport(handler), sleep=lambda s: None) as client:
        with pytest.raises(VigilProblem) as caught:
            client.report_incident(report())
    assert seen == ["Bearer token-0", "Bearer token-1"]
    assert caught.value.status == 422 and caught.value.errors == [{"field": "narrative"}]


def test_an_upload_keeps_each_chunk_within_the_size_the_session_names(tmp_path):
    data = b"\xff\xd8\xff\xe0" + b"x" * 2_496
    file = tmp_path / "till-camera-3.jpg"
    file.write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    chunks: list[int] = []
    state = {"received": 0}

    def session() -> dict:
        return {
            "id": "u-1",
            "incident_id": "i-1",
            "filename": file.name,
            "content_type": "image/jpeg",
            "size": len(data),
            "received": state["received"],
            "expires_at": "2026-11-30T12:00:00+00:00",
            "state": "open",
            "evidence_id": None,
            "chunks_url": "/api/v1/evidence/uploads/u-1/chunks",
            "commit_url": "/api/v1/evidence/uploads/u-1/commit",
            "max_chunk_bytes": 1_000,
        }

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "PUT":
            body = request.read()
            chunks.append(len(body))
            state["received"] += len(body)
            return httpx.Response(200, json=session())
        if request.url.path.endswith("/commit"):
            return httpx.Response(201, json={"id": "e-1", "sha256": digest, "size": len(data)})
        return httpx.Response(201, json=session())

    with VigilClient("http://vigil.test", transport=httpx.MockTransport(handler), sleep=lambda s: None) as client:
        item = client.upload_evidence("i-1", file, content_type="image/jpeg", chunk_size=8 * 1024 * 1024)
    assert item["sha256"] == digest
    assert chunks == [1_000, 1_000, 500]
