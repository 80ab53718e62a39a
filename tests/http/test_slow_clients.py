"""Slow clients cannot stop the API. Uploads that send their headers and a few bytes, then
nothing, hold at most the upload threads: the health check and small authenticated
requests keep answering, the stalled bodies are cut with 408 after the idle timeout and
nothing of them is stored. Past the per-user and per-organisation caps an upload is
refused at once (429, Retry-After); a body that trickles under the minimum rate is cut.

These run the app as `make run` serves it (uvicorn on 127.0.0.1, the runner's config)
with raw sockets: the in-process test client sends whole bodies and cannot stall."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from functions.cli import demo_token
from functions.http.limits import BodyPace, TooManyUploads, UploadsBusy, UploadSlots
from functions.local_runner import bind_http, uvicorn_config
from shared.bootstrap import Container
from shared.domain.incident_report import IncidentIn
from shared.domain.tenancy import OrgKind, Principal, Role
from shared.services.seed import seed_directory
from shared.settings import Settings
from tests.emulators import free_port
from tests.fakes import FakeClock
from tests.fixtures_http import _key_template

# A minimal real MP4 head (ftyp box) and filler: enough for the type sniffer.
MP4 = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + bytes(range(256)) * 400
DECLARED = 10 * 1024 * 1024  # what a stalled upload says it will send


@dataclass
class Live:
    container: Container
    app: object
    port: int

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    def token(self, user: str = "nw-reporter", org: str = "northwind") -> str:
        # Investigators may add evidence to any of their organisation's reports (store staff
        # only to the reports they filed), so many users can upload to one incident.
        return demo_token(self.container, org, "Retailer.Investigator", user=user, stores=["nw-plymouth"])

    def in_progress(self) -> int:
        return self.app.state.upload_slots.in_progress()  # type: ignore[attr-defined]

    def new_incident(self) -> str:
        body = IncidentIn.model_json_schema()["examples"][0]
        r = httpx.post(f"{self.base}/incidents", json=body, headers={"Authorization": f"Bearer {self.token()}"}, timeout=10)
        assert r.status_code == 201, r.text
        return r.json()["id"]


@contextlib.contextmanager
def serve(tmp_path: Path, **settings) -> Iterator[Live]:
    """The app under uvicorn as `make run` configures it, in a thread, with `settings`."""
    shutil.copytree(_key_template(), tmp_path / "keys", dirs_exist_ok=True)
    container = Container(Settings(data_dir=tmp_path, **settings))
    seed_directory(container)
    config = uvicorn_config(container)
    server = uvicorn.Server(config)
    port = free_port()
    sock, _ = bind_http(port, 1)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn-under-test", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.05)
        yield Live(container=container, app=config.app, port=port)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        container.close()


def stalled_upload(live: Live, incident_id: str, *, user: str = "nw-reporter", first: bytes = MP4[:200]) -> socket.socket:
    """An upload that sends its headers and `first`, then nothing."""
    s = socket.create_connection(("127.0.0.1", live.port), timeout=30)
    head = (
        f"POST /api/v1/incidents/{incident_id}/evidence HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{live.port}\r\n"
        f"Authorization: Bearer {live.token(user)}\r\n"
        "Content-Type: video/mp4\r\n"
        f"Content-Length: {DECLARED}\r\n\r\n"
    )
    s.sendall(head.encode() + first)
    return s


def answer(s: socket.socket, timeout: float) -> tuple[int, dict[str, str], dict]:
    """The status, headers and JSON body the server sends on `s` (then closes)."""
    s.settimeout(timeout)
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while b"\r\n\r\n" not in data or len(data) < _expected_length(data):
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers, json.loads(body or b"{}")


def _expected_length(data: bytes) -> int:
    head, sep, _ = data.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(head) + len(sep) + int(value)
    return len(data) + 1


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def staged_files(live: Live) -> list[Path]:
    root = live.container.evidence_blobs.root
    return [p for sub in ("staging", "uploads", "objects") if (root / sub).exists() for p in (root / sub).iterdir()]


# ---- against a real server -----------------------------------------------------------------


def test_stalled_uploads_leave_the_api_answering_and_are_cut_after_the_idle_timeout(tmp_path):
    idle = 3.0
    threads, upload_threads = 2, 3
    with serve(
        tmp_path,
        http_worker_threads=threads,
        http_upload_threads=upload_threads,
        http_uploads_per_user=100,
        http_uploads_per_organisation=100,
        http_body_idle_timeout_seconds=idle,
        http_body_grace_seconds=600,  # this test is about the idle timeout
    ) as live:
        incident_id = live.new_incident()
        auth = {"Authorization": f"Bearer {live.token()}"}
        stalled = [stalled_upload(live, incident_id, user=f"nw-user-{i}") for i in range(threads + upload_threads + 3)]
        # A JSON body that stalls is read before any handler runs: it is cut the same way.
        json_stall = socket.create_connection(("127.0.0.1", live.port), timeout=30)
        json_stall.sendall(
            f"POST /api/v1/incidents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {live.token()}\r\n"
            f"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{".encode()
        )
        # The upload threads take the first uploads; the rest are refused at once (503), not queued.
        wait_until(lambda: live.in_progress() == upload_threads, 10, "the uploads were not admitted")
        opened = time.monotonic()

        for _ in range(3):
            started = time.monotonic()
            assert httpx.get(f"{live.base}/healthz", timeout=5).status_code == 200
            assert httpx.get(f"{live.base}/incidents", headers=auth, timeout=5).status_code == 200
            assert time.monotonic() - started < 2.5, "small requests waited behind stalled uploads"
        assert live.in_progress() == upload_threads, "the stalls ended before the API was checked"

        answers = [answer(s, timeout=idle + 15) for s in stalled]
        cut_after = time.monotonic() - opened
        statuses = sorted(status for status, _, _ in answers)
        assert statuses == [408] * upload_threads + [503] * (len(stalled) - upload_threads), statuses
        assert cut_after >= idle - 0.5
        for status, headers, problem in answers:
            assert headers["content-type"] == "application/problem+json"
            if status == 408:
                assert problem["type"].endswith("/request-timeout") and problem["reason"] == "idle"
                assert problem["received_bytes"] == 200 and f"{idle:g} s" in problem["detail"]
                assert headers["connection"] == "close"
            else:
                assert problem["type"].endswith("/uploads-busy") and headers["retry-after"] == "5"

        status, _, problem = answer(json_stall, timeout=15)
        assert status == 408 and problem["reason"] == "idle" and problem["received_bytes"] == 1

        # Nothing half-written: no item, no staged or stored bytes, every slot given back.
        wait_until(lambda: live.in_progress() == 0, 5, "upload slots were not released")
        items = httpx.get(f"{live.base}/incidents/{incident_id}/evidence", headers=auth, timeout=5).json()["items"]
        assert items == [] and staged_files(live) == []
        # The server still takes uploads.
        done = httpx.post(
            f"{live.base}/incidents/{incident_id}/evidence", content=MP4, headers={**auth, "Content-Type": "video/mp4"}, timeout=10
        )
        assert done.status_code == 201, done.text


def test_uploads_past_the_user_and_organisation_caps_are_refused_at_once(tmp_path):
    with serve(
        tmp_path,
        http_upload_threads=5,
        http_uploads_per_user=1,
        http_uploads_per_organisation=2,
        http_body_idle_timeout_seconds=3.0,
        http_body_grace_seconds=600,
    ) as live:
        incident_id = live.new_incident()
        first = stalled_upload(live, incident_id, user="amy")
        wait_until(lambda: live.in_progress() == 1, 10, "the first upload was not admitted")

        status, headers, problem = answer(stalled_upload(live, incident_id, user="amy"), timeout=5)
        assert status == 429 and headers["retry-after"] == "5", problem
        assert problem["type"].endswith("/too-many-uploads") and problem["scope"] == "user" and problem["limit"] == 1

        second = stalled_upload(live, incident_id, user="ben")
        wait_until(lambda: live.in_progress() == 2, 10, "a second user's upload was not admitted")
        status, headers, problem = answer(stalled_upload(live, incident_id, user="cat"), timeout=5)
        assert status == 429 and headers["retry-after"] == "5"
        assert problem["scope"] == "organisation" and problem["limit"] == 2 and "organisation" in problem["detail"]

        assert [answer(s, timeout=20)[0] for s in (first, second)] == [408, 408]
        wait_until(lambda: live.in_progress() == 0, 5, "upload slots were not released")
        auth = {"Authorization": f"Bearer {live.token('amy')}", "Content-Type": "video/mp4"}
        assert httpx.post(f"{live.base}/incidents/{incident_id}/evidence", content=MP4, headers=auth, timeout=10).status_code == 201


def test_a_trickling_body_is_cut_by_the_minimum_rate_and_a_slow_steady_one_is_not(tmp_path):
    with serve(tmp_path, http_body_idle_timeout_seconds=5.0, http_body_grace_seconds=1.0, http_body_min_bytes_per_second=1024) as live:
        incident_id = live.new_incident()
        # 50 bytes every 0.2 s: never idle for long, but about 250 bytes/s.
        s = stalled_upload(live, incident_id, first=MP4[:50])
        started = time.monotonic()
        stop = threading.Event()

        def trickle() -> None:
            sent = 50
            while not stop.wait(0.2):
                try:
                    s.sendall(MP4[sent : sent + 50])
                except OSError:
                    return
                sent += 50

        feeder = threading.Thread(target=trickle, daemon=True)
        feeder.start()
        try:
            status, _, problem = answer(s, timeout=15)
        finally:
            stop.set()
            feeder.join(timeout=5)
        assert status == 408 and problem["reason"] == "rate", problem
        assert "bytes/s" in problem["detail"] and time.monotonic() - started < 5.0  # before the idle timeout could apply

        # About 100 KiB over 1.5 s in pieces, with pauses: well over the minimum rate.
        def steady() -> Iterator[bytes]:
            step = len(MP4) // 6 + 1
            for i in range(0, len(MP4), step):
                time.sleep(0.25)
                yield MP4[i : i + step]

        r = httpx.post(
            f"{live.base}/incidents/{incident_id}/evidence",
            content=steady(),
            headers={"Authorization": f"Bearer {live.token()}", "Content-Type": "video/mp4", "Content-Length": str(len(MP4))},
            timeout=20,
        )
        assert r.status_code == 201, r.text
        assert r.json()["size"] == len(MP4)


# ---- the policy on its own ----------------------------------------------------------------------


def test_body_pace_idle_and_rate_bounds_on_a_fake_clock():
    clock = FakeClock()
    now = lambda: clock.now().timestamp()  # noqa: E731 - the pace takes a seconds clock
    pace = BodyPace(idle_seconds=30, min_bytes_per_second=1024, grace_seconds=10, clock=now)

    # Nothing yet: the grace period bounds the first wait (nothing by then is under any rate).
    assert pace.begin() == 10
    clock.advance(seconds=2)
    pace.arrived(100 * 1024)  # 100 KiB in 2 s: 100 s of waiting earned
    assert pace.begin() == 30  # the idle bound is the tighter one now
    clock.advance(seconds=29)
    pace.arrived(1024)  # 31 s waited of 101 earned
    assert pace.begin() == 30
    clock.advance(seconds=30)
    cut = pace.expired()
    assert cut.reason == "idle" and cut.received == 101 * 1024 and cut.waited == 61
    assert "nothing arrived for 30 s" in cut.detail

    # A trickle: idle never trips, the average does.
    trickle = BodyPace(idle_seconds=30, min_bytes_per_second=1024, grace_seconds=10, clock=now)
    waits = []
    for _ in range(3):
        waits.append(trickle.begin())
        clock.advance(seconds=3)
        trickle.arrived(100)
    assert waits == [10, 7, 4]
    assert trickle.begin() == 1  # 300 bytes earn well under the 10 s of grace
    clock.advance(seconds=1)
    cut = trickle.expired()
    assert cut.reason == "rate" and cut.received == 300 and cut.waited == 10
    assert "300 bytes in 10.0 s, under the minimum of 1024 bytes/s" in cut.detail

    # Time the server spends between reads is not the client's: only waits count.
    paced = BodyPace(idle_seconds=30, min_bytes_per_second=1024, grace_seconds=10, clock=now)
    assert paced.begin() == 10
    clock.advance(seconds=1)
    paced.arrived(1024)
    clock.advance(seconds=300)  # hashing and writing, say
    assert paced.begin() == 9

    # No minimum rate: only the idle bound.
    assert BodyPace(idle_seconds=30, min_bytes_per_second=0, grace_seconds=0, clock=now).begin() == 30


def test_upload_slots_count_per_user_organisation_and_process():
    slots = UploadSlots(threads=3, per_user=2, per_organisation=2, is_upload=lambda method, path: True)

    def who(user: str, org: str) -> Principal:
        return Principal(user_id=user, organisation_id=org, organisation_kind=OrgKind.RETAILER, roles=frozenset({Role.RETAILER_REPORTER}))

    amy, ben, cat, dan = who("amy", "northwind"), who("ben", "northwind"), who("cat", "northwind"), who("dan", "contoso")
    slots.acquire(amy)
    slots.acquire(amy)
    with pytest.raises(TooManyUploads) as user_cap:
        slots.acquire(amy)
    assert user_cap.value.extra["scope"] == "user"
    with pytest.raises(TooManyUploads) as org_cap:
        slots.acquire(cat)
    assert org_cap.value.extra["scope"] == "organisation" and org_cap.value.headers["Retry-After"] == "5"
    slots.acquire(dan)
    with pytest.raises(UploadsBusy):
        slots.acquire(who("eve", "contoso"))
    slots.release(amy)
    slots.acquire(ben)  # a freed slot is taken again
    for p in (amy, ben, dan):
        slots.release(p)
    assert slots.in_progress() == 0 and not slots._users and not slots._orgs


def test_the_upload_routes_document_their_limits(stamp):
    paths = stamp.client.app.openapi()["paths"]
    settings = stamp.container.settings
    for path, method in (("/api/v1/incidents/{incident_id}/evidence", "post"), ("/api/v1/evidence/uploads/{upload_id}/chunks", "put")):
        operation = paths[path][method]
        assert {"408", "429", "503"} <= set(operation["responses"])
        assert f"{settings.http_uploads_per_user} uploads per user" in operation["description"]
    assert "429" not in paths["/api/v1/incidents/{incident_id}/evidence"]["get"]["responses"]
