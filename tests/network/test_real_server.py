"""The local stamp's real HTTP server (uvicorn, as `make run` configures it): the client
address network ranges are matched against is the socket's, never a forwarding header."""

from __future__ import annotations

import threading
import time

import httpx
import uvicorn

from functions import local_runner
from tests.emulators import free_port
from tests.fixtures_http import make_stamp
from tests.network.test_network_ranges import DC, INBOX, RANGES

OUTSIDE_LOOPBACK = ["192.0.2.0/24"]


def test_a_forwarded_for_header_sent_to_the_local_server_does_not_get_in(tmp_path):
    stamp = make_stamp(tmp_path)
    port = free_port()
    sock, _ = local_runner.bind_http(port, 1)
    server = uvicorn.Server(local_runner.uvicorn_config(stamp.container))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        admin = stamp.auth(DC, "Police.Admin")
        put = httpx.put(f"{base}{RANGES}", json={"staff": OUTSIDE_LOOPBACK}, headers={**admin, "If-Match": '"unset"'}, timeout=10)
        assert put.status_code == 200, put.text
        officer = stamp.auth(DC, "Police.Officer")
        for spoof in ({"X-Forwarded-For": "192.0.2.10"}, {"Forwarded": "for=192.0.2.10"}, {"X-Real-IP": "192.0.2.10"}):
            r = httpx.get(f"{base}{INBOX}", headers={**officer, **spoof}, timeout=10)
            assert r.status_code == 403, spoof
            assert r.json()["detail"].endswith("this request came from 127.0.0.1.")
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        stamp.container.close()
