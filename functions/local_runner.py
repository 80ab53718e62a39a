"""`make run`: the whole platform on the embedded backend.

The HTTP app under uvicorn, a worker thread per queue and a timer thread that fires
jobs on the same NCRONTAB schedules the Azure stamp uses. Ctrl-C stops all of it.

`HTTP_PROCESSES=N` serves HTTP from N processes sharing one listening socket (as the
Functions host runs several Python worker processes per instance): the handlers are
CPU-bound under one GIL per process, so a second process uses a second core. Queue
workers and timers run once, in the first process.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import random
import signal
import socket
import sys
import threading
from collections.abc import Mapping
from datetime import UTC, datetime

import uvicorn

from functions import jobs, ncrontab
from functions.http.app import create_app
from functions.http.observability import configure_logging
from shared import telemetry
from shared.bootstrap import Container
from shared.names import TIMERS
from shared.services.seed import seed_demo
from shared.settings import Settings, get_settings

log = logging.getLogger("vigil.runner")


def runner_settings(port: int, environ: Mapping[str, str] = os.environ, settings: Settings | None = None) -> Settings:
    """The settings `make run` serves with: the region's public base URL (the D2P email's
    links, 421 answers) follows the port actually served, unless
    VIGIL_REGION_BASE_URLS is set explicitly (a proxy in front, a tunnel)."""
    settings = settings or get_settings()
    if any(name.upper() == "VIGIL_REGION_BASE_URLS" for name in environ):
        return settings
    urls = {**settings.region_base_urls, settings.region: f"http://127.0.0.1:{port}"}
    return settings.model_copy(update={"region_base_urls": urls})


def timer_loop(container: Container, stop: threading.Event) -> None:
    schedules = {name: os.environ.get(TIMERS[name], t.default_schedule) for name, t in jobs.TIMER_JOBS.items()}
    now = datetime.now(UTC)
    due = {name: ncrontab.next_after(expr, now) for name, expr in schedules.items()}
    while not stop.is_set():
        if not due:
            stop.wait(1)
            continue
        name, at = min(due.items(), key=lambda kv: kv[1])
        wait = (at - datetime.now(UTC)).total_seconds()
        if wait > 0 and stop.wait(min(wait, 1.0)):
            return
        if datetime.now(UTC) < at:
            continue
        try:
            jobs.run_job(container, name, datetime.now(UTC))
        except Exception:  # noqa: BLE001 - one failed run must not stop the other timers
            log.exception("timer job failed", extra={"job": name})
        due[name] = ncrontab.next_after(schedules[name], datetime.now(UTC))


def queue_worker(container: Container, logical: str, stop: threading.Event, *, idle_wait: float = 0.05) -> None:
    handler = jobs.QUEUE_HANDLERS[logical]
    queue = container.queue
    while not stop.is_set():
        messages = queue.receive(logical, max_messages=16, visibility_seconds=60)
        if not messages:
            stop.wait(idle_wait)
            continue
        for message in messages:
            try:
                handler(container, message.body, message.delivery_count)
            except Exception as exc:  # noqa: BLE001 - settled by the one redelivery policy (functions/jobs.py)
                decision = jobs.after_failure(container.settings, logical, message.delivery_count, exc, jitter=random.random())
                log.warning(
                    "delivery failed; will retry" if decision.retry else "delivery failed; dead-lettered",
                    extra={"queue": logical, "message_id": message.message_id, "delivery": message.delivery_count},
                )
                if decision.retry:
                    queue.abandon(message, delay_seconds=decision.delay_seconds)
                else:
                    queue.dead_letter(message, reason=decision.reason)
            else:
                queue.complete(message)


def start_background(container: Container, stop: threading.Event) -> list[threading.Thread]:
    jobs.load_all()
    threads = [threading.Thread(target=timer_loop, args=(container, stop), name="timers", daemon=True)]
    for logical in sorted(jobs.QUEUE_HANDLERS):
        threads.append(threading.Thread(target=queue_worker, args=(container, logical, stop), name=f"queue-{logical}", daemon=True))
    for t in threads:
        t.start()
    return threads


def _exit_with_parent() -> None:
    # uvicorn ends the first process by re-raising SIGTERM, so it cannot be relied on to
    # stop the others: each watches its parent and shuts itself down when the parent goes.
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


# On Linux each process listens on its own SO_REUSEPORT socket and the kernel spreads new
# connections across them; with one shared socket the first process, whose event loop is
# always free to accept, takes nearly all of them.
_REUSE_PORT = sys.platform == "linux" and hasattr(socket, "SO_REUSEPORT")


def _listen(port: int, *, reuse_port: bool) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    return sock


def _http_process(shared: socket.socket | None, port: int, log_level: str) -> None:
    """One more HTTP process: its own container over the same region store, listening on
    its own socket for the port (or the first process's, without SO_REUSEPORT)."""
    configure_logging(log_level)
    _exit_with_parent()
    sock = shared if shared is not None else _listen(port, reuse_port=True)
    container = Container(runner_settings(port))
    try:
        uvicorn.Server(uvicorn_config(container)).run(sockets=[sock])
    finally:
        container.close()


def uvicorn_config(container: Container) -> uvicorn.Config:
    """uvicorn for `make run`: the app logs its own access lines and answers 431 past its
    header bounds. With h11, uvicorn also stops buffering a request head past
    `h11_max_incomplete_event_size`. httptools (picked when installed, for speed) takes no
    such setting: there only the app's check applies, after the head has been read."""
    bound = container.settings.max_header_bytes + 8 * 1024  # the request line and header framing
    # proxy_headers off: uvicorn would otherwise take the client address from X-Forwarded-For
    # sent from 127.0.0.1, and any local client could claim to be inside an organisation's
    # network ranges. The local stamp has no proxy in front: the socket is the address.
    return uvicorn.Config(
        create_app(container), log_level="warning", access_log=False, h11_max_incomplete_event_size=bound, proxy_headers=False
    )


def bind_http(port: int, processes: int) -> tuple[socket.socket, bool]:
    """The first process's listening socket, and whether each process has its own
    (SO_REUSEPORT). Exits with a clear message when the port is taken."""
    reuse_port = _REUSE_PORT and processes > 1
    try:
        if reuse_port:
            # SO_REUSEPORT would also let this bind beside another `make run` on the same
            # port and split its traffic: a plain bind first fails as usual if it is taken.
            _listen(port, reuse_port=False).close()
        return _listen(port, reuse_port=reuse_port), reuse_port
    except OSError as exc:
        raise SystemExit(
            f"Cannot listen on 127.0.0.1:{port} ({exc.strerror}): is Vigil already running? Set PORT= to use another port."
        ) from None


def serve_http(container: Container, sock: socket.socket, reuse_port: bool, port: int, processes: int) -> None:
    """Serve the API on `sock` (127.0.0.1:`port`) from `processes` processes until stopped."""
    config = uvicorn_config(container)
    spawn = multiprocessing.get_context("spawn")
    level = container.settings.log_level
    shared = None if reuse_port else sock
    others = [
        spawn.Process(target=_http_process, args=(shared, port, level), name=f"http-{i + 2}", daemon=True) for i in range(processes - 1)
    ]
    for p in others:
        p.start()
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        for p in others:
            p.terminate()
        for p in others:
            p.join(timeout=10)
        sock.close()


def main() -> None:
    port = int(os.environ.get("PORT", "7071"))
    container = Container(runner_settings(port))
    configure_logging(container.settings.log_level)  # key=value lines with request ids; quiet HTTP client libraries
    telemetry.start(container)  # off unless VIGIL_TELEMETRY_CONSOLE or an Application Insights connection string
    added = seed_demo(container)  # directory, D2P rules, a named person for subject requests, an incident past its schedule
    from functions.cli import demo_token

    processes = max(1, int(os.environ.get("HTTP_PROCESSES", "1")))
    sock, reuse_port = bind_http(port, processes)
    token = demo_token(container, "northwind", "Retailer.Reporter", stores=["nw-plymouth"])
    print(
        f"\nVigil is running on http://127.0.0.1:{port} (region {container.settings.region}, {added} demo records seeded"
        f"{f', {processes} HTTP processes' if processes > 1 else ''})\n"
        f"  Console:   http://127.0.0.1:{port}/  (sign in as any seeded organisation and role; D2P email links open here)\n"
        f"  API docs:  http://127.0.0.1:{port}/api/v1/docs\n"
        f"  Try:       curl -s -H 'Authorization: Bearer {token}' http://127.0.0.1:{port}/api/v1/incidents\n"
        f"  Tokens:    make token ORG=northwind ROLE=Retailer.Investigator\n",
        flush=True,
    )
    stop = threading.Event()
    start_background(container, stop)
    try:
        serve_http(container, sock, reuse_port, port, processes)
    finally:
        stop.set()
        container.close()
        print("Vigil stopped.", flush=True)


if __name__ == "__main__":
    main()
