"""`vigil`: the Vigil API from a shell.

Results go to stdout as JSON; messages and progress to stderr. Exit codes (stable, for
scripts):

    0  done
    1  the API refused (its problem details are printed), or rows/reads it refused
    2  usage, configuration or sign-in error
    3  no answer from the API: the report or file was queued (`vigil queue drain` later),
       or the upload can be resumed by running the same command again
    4  the input is wrong before anything is sent: rows that do not map, a file that
       cannot be read, a webhook signature that does not verify
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from queue import Empty, Full, Queue
from typing import Any, NoReturn, TypeVar

from vigil_client.client import DEFAULT_CHUNK_BYTES, VigilClient, dumps, file_sha256, guess_content_type
from vigil_client.config import AUTH_MODES, Settings, load_settings, token_provider
from vigil_client.errors import IntegrityError, SignInError, VigilNetworkError, VigilProblem
from vigil_client.importer import Mapping, MappingError, Row, read_rows
from vigil_client.queue import OfflineQueue
from vigil_client.webhooks import DEFAULT_TOLERANCE_SECONDS, signature_problem

OK, API_REFUSED, USAGE, OFFLINE, BAD_INPUT = 0, 1, 2, 3, 4
T = TypeVar("T")

# The API's default bound on a batch of plate reads (anpr_max_batch_reads); a stamp set
# lower answers 413 with its own bound, which the push then follows.
MAX_BATCH_READS = 1000


class Exit(Exception):
    def __init__(self, code: int, message: str | None = None):
        super().__init__(message)
        self.code = code
        self.message = message


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _out(data: Any) -> None:
    print(json.dumps(data, indent=2, ensure_ascii=False), flush=True)


def _problem_exit(problem: VigilProblem) -> NoReturn:
    lines = [f"vigil: {problem.status} {problem.title}: {problem.detail}"]
    lines += [f"  {e.get('field')}: {e.get('message') or ''}".rstrip(": ") for e in problem.errors]
    raise Exit(API_REFUSED, "\n".join(lines))


def _read_json(source: str) -> Any:
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
        return json.loads(text)
    except (OSError, ValueError) as exc:
        raise Exit(BAD_INPUT, f"vigil: cannot read JSON from {source}: {exc}") from exc


class Bar:
    """A progress bar on stderr (plain lines when stderr is not a terminal)."""

    def __init__(self, label: str, quiet: bool):
        self.label = label
        self.quiet = quiet
        self.tty = sys.stderr.isatty()
        self._last = -1.0

    def __call__(self, done: int, total: int) -> None:
        if self.quiet or not total:
            return
        share = done / total
        step = 0.001 if self.tty else 0.1
        if share - self._last < step and done != total:
            return
        self._last = share
        filled = int(share * 30)
        text = f"{self.label} [{'#' * filled}{'.' * (30 - filled)}] {share:6.1%} {done:,}/{total:,} bytes"
        if self.tty:
            sys.stderr.write("\r" + text + ("\n" if done == total else ""))
            sys.stderr.flush()
        else:
            _say(text)


# ---- commands -------------------------------------------------------------------------------
def cmd_report(args: argparse.Namespace, ctx: Context) -> int:
    body = _read_json(args.file)
    if not isinstance(body, dict):
        raise Exit(BAD_INPUT, "vigil: a report is one JSON object")
    key = args.idempotency_key or ctx.new_key()
    try:
        made = ctx.client().report_incident(body, idempotency_key=key)
    except VigilNetworkError as exc:
        if args.no_queue:
            raise Exit(OFFLINE, f"vigil: {exc}") from exc
        seq = ctx.queue().enqueue_report(body, idempotency_key=key)
        _say(f"vigil: no answer from the API; report queued as #{seq} (send with `vigil queue drain`)")
        _out({"queued": seq, "idempotency_key": key})
        return OFFLINE
    _out(made)
    return OK


def cmd_upload(args: argparse.Namespace, ctx: Context) -> int:
    file = Path(args.file)
    if not file.is_file():
        raise Exit(BAD_INPUT, f"vigil: no such file: {file}")
    if not args.quiet:
        _say(f"vigil: hashing {file.name} ...")
    digest = file_sha256(file)
    queue = ctx.queue()
    # A re-run of the same command resumes the session a killed or cut run opened.
    known = queue.upload_session(args.incident_id, str(file.resolve()), digest)
    bar = Bar(file.name, args.quiet)
    try:
        item = ctx.client().upload_evidence(
            args.incident_id,
            file,
            content_type=args.content_type or guess_content_type(file),
            kind=args.kind,
            chunk_size=int(args.chunk_mb * 1024 * 1024),
            progress=bar,
            upload_id=known,
            sha256=digest,
            on_session=lambda s: queue.remember_upload_session(args.incident_id, str(file.resolve()), digest, s["id"]),
        )
    except VigilNetworkError as exc:
        if args.queue:
            # The drain resumes the session this run opened rather than sending it all again.
            opened = queue.upload_session(args.incident_id, str(file.resolve()), digest)
            seq = queue.enqueue_evidence(
                file, incident_id=args.incident_id, content_type=args.content_type, kind=args.kind, upload_id=opened
            )
            queue.forget_upload_session(args.incident_id, str(file.resolve()), digest)
            _say(f"vigil: {exc}; queued as #{seq} (send with `vigil queue drain`)")
            return OFFLINE
        raise Exit(OFFLINE, f"vigil: {exc}; run the same command again to resume") from exc
    except VigilProblem as problem:
        if problem.status == 404 and known:
            queue.forget_upload_session(args.incident_id, str(file.resolve()), digest)
            raise Exit(API_REFUSED, "vigil: the earlier upload session has expired; run the command again to start afresh") from None
        raise
    queue.forget_upload_session(args.incident_id, str(file.resolve()), digest)
    _out(item)
    return OK


def cmd_status(args: argparse.Namespace, ctx: Context) -> int:
    client = ctx.client()
    if args.incident_id:
        incident = client.get_incident(args.incident_id)
        evidence = client.list_evidence(args.incident_id)
        _out(
            {
                "id": incident.get("id"),
                "reference": incident.get("reference"),
                "version": incident.get("version"),
                "updated_at": incident.get("updated_at"),
                "d2p": incident.get("d2p"),
                "evidence": [{"id": e.get("id"), "filename": e.get("filename"), "sha256": e.get("sha256")} for e in evidence],
            }
        )
        return OK
    status: dict[str, Any] = {"url": client.base_url, "auth": ctx.settings.auth, "queue": ctx.queue().counts()}
    try:
        status["health"] = client.health()
    except VigilNetworkError as exc:
        status["health"] = None
        _out(status)
        raise Exit(OFFLINE, f"vigil: {exc}") from exc
    _out(status)
    return OK


def cmd_d2p_send(args: argparse.Namespace, ctx: Context) -> int:
    _out(ctx.client().send_d2p(args.incident_id))
    return OK


def pipeline(produce: Iterator[T], consume: Callable[[T], None], *, workers: int, depth: int | None = None) -> None:
    """Run `consume` on every item of `produce` from `workers` threads, while one more
    thread reads ahead no further than `depth` items (default twice the workers): memory
    stays bounded whatever the input's size. The first error from either side stops both
    and is raised here."""
    items: Queue[Any] = Queue(maxsize=depth or 2 * workers)
    stop = threading.Event()
    errors: list[BaseException] = []
    done = object()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=0.1)
                return True
            except Full:
                continue
        return False

    def read() -> None:
        try:
            for item in produce:
                if not put(item):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            errors.append(exc)
            stop.set()
        finally:
            for _ in range(workers):
                put(done)

    def work() -> None:
        while not stop.is_set():
            try:
                item = items.get(timeout=0.1)
            except Empty:
                continue
            if item is done:
                return
            try:
                consume(item)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
                errors.append(exc)
                stop.set()
                return

    threads = [threading.Thread(target=read, daemon=True)] + [threading.Thread(target=work, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    try:
        for t in threads:
            while t.is_alive():
                t.join(0.2)
    except KeyboardInterrupt:
        stop.set()
        raise
    if errors:
        raise errors[0]


# A read as it goes on the wire: the file line it came from and its JSON object's bytes.
Read = tuple[int, bytes]


def _read_batches(path: str, fmt: str | None, size: Callable[[], int]) -> Iterator[list[Read]]:
    """The file's reads in batches. JSON lines are sent as they are (no read is decoded
    or encoded: the API validates them and names any it refuses); CSV rows become JSON
    objects with the header's field names."""
    kind = fmt or ("csv" if path.lower().endswith(".csv") else "jsonl")
    batch: list[Read] = []
    if kind == "csv":
        stream = sys.stdin if path == "-" else open(path, newline="", encoding="utf-8-sig")  # noqa: SIM115
        try:
            reader = csv.DictReader(stream)
            for row in reader:
                read: dict[str, Any] = {k: v for k, v in row.items() if k and v not in (None, "")}
                if "confidence" in read:
                    try:
                        read["confidence"] = float(read["confidence"])
                    except ValueError:
                        pass  # the API names the read and field
                batch.append((reader.line_num, dumps(read)))
                if len(batch) >= size():
                    yield batch
                    batch = []
        finally:
            if stream is not sys.stdin:
                stream.close()
    else:
        binary = sys.stdin.buffer if path == "-" else open(path, "rb")  # noqa: SIM115
        try:
            for line, text in enumerate(binary, start=1):
                if line == 1 and text.startswith(b"\xef\xbb\xbf"):
                    text = text[3:]
                text = text.strip()
                if text:
                    batch.append((line, text))
                    if len(batch) >= size():
                        yield batch
                        batch = []
        finally:
            if binary is not sys.stdin.buffer:
                binary.close()
    if batch:
        yield batch


def _not_json(path: str, batch: list[Read]) -> None:
    """Exit naming the first line of the batch that is not a JSON object, if any."""
    for line, text in batch:
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise Exit(BAD_INPUT, f"vigil: {path}:{line}: not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise Exit(BAD_INPUT, f"vigil: {path}:{line}: not a JSON object")


def _bad_indexes(problem: VigilProblem) -> set[int]:
    found = {int(i) for i in problem.extra.get("bad_reads") or [] if isinstance(i, int)}
    for e in problem.errors:
        parts = str(e.get("field") or "").split(".")
        if len(parts) > 1 and parts[0] == "reads" and parts[1].isdigit():
            found.add(int(parts[1]))
    return found


def cmd_anpr_push(args: argparse.Namespace, ctx: Context) -> int:
    client = ctx.client()
    size = max(1, min(args.batch_size, MAX_BATCH_READS))
    in_flight = max(1, args.in_flight)
    totals = {"sent": 0, "accepted": 0, "stored": 0, "duplicates": 0, "hits": 0, "refused": 0}
    started = time.monotonic()
    # Batches in flight share the totals, the batch size and the --rate schedule.
    lock = threading.Lock()
    scheduled = 0

    def pace(reads: int) -> None:
        nonlocal scheduled
        with lock:
            # Pace to the user's rate: the batch may leave once the reads before it would have.
            due = started + scheduled / args.rate
            scheduled += reads
        if (wait := due - time.monotonic()) > 0:
            time.sleep(wait)

    def send(batch: list[Read]) -> None:
        nonlocal size
        while batch:
            part, batch = batch[:size], batch[size:]
            if args.rate:
                pace(len(part))
            try:
                result = client.post_encoded_reads([r for _, r in part])
            except VigilProblem as problem:
                if problem.status == 413 and isinstance(problem.extra.get("max_reads"), int) and problem.extra["max_reads"] < len(part):
                    with lock:
                        size = min(size, max(1, problem.extra["max_reads"]))
                    batch = part + batch
                    continue
                bad = _bad_indexes(problem) if problem.status == 422 else set()
                if not bad:
                    if problem.status in (400, 422):
                        _not_json(args.file, part)
                    raise
                for index in sorted(bad):
                    fields = [str(e.get("field")) for e in problem.errors if str(e.get("field", "")).startswith(f"reads.{index}.")]
                    _say(f"vigil: {args.file}:{part[index][0]}: read refused ({', '.join(fields) or 'invalid'})")
                with lock:
                    totals["refused"] += len(bad)
                # The API refuses the whole batch for one bad read: resend the others.
                batch = [r for i, r in enumerate(part) if i not in bad] + batch
                continue
            with lock:
                totals["sent"] += len(part)
                totals["accepted"] += result.get("accepted", 0)
                totals["stored"] += result.get("stored", 0)
                totals["duplicates"] += result.get("duplicates", 0)
                totals["hits"] += len(result.get("hits", []))

    # The file is read and batched on its own thread, a bounded queue ahead of the
    # senders, so reading overlaps the API's answers; several batches are in flight at
    # once over the client's keep-alive connections (one at a time left the process
    # waiting on the API most of the time). Reads have deterministic ids, so a batch
    # resent after a cut counts as duplicates whatever order the batches were stored in.
    pipeline(_read_batches(args.file, args.format, lambda: size), send, workers=in_flight)
    totals["seconds"] = round(time.monotonic() - started, 3)  # type: ignore[assignment]
    _out(totals)
    return API_REFUSED if totals["refused"] else OK


def report_paced(client: VigilClient, body: dict[str, Any], key: str, sleep: Callable[[float], None] = time.sleep) -> Any:
    """Report one historical row, waiting out rate limits however long they last: a
    migration runs at the pace of the caller's write budget, and a row is never counted
    as refused because the API asked to slow down."""
    return _report_row(client, body, key, sleep)[0]


def _report_row(client: VigilClient, body: dict[str, Any], key: str, sleep: Callable[[float], None] = time.sleep) -> tuple[Any, bool]:
    """`report_paced`, and whether the API already held the row's incident (the same key
    retried, or the row's external reference reported before, from anywhere)."""
    answer = _paced(lambda: client.request("POST", "/incidents", json=body, idempotency_key=key), sleep)
    return answer.json(), bool(answer.headers.get("vigil-repeat"))


def cmd_import_incidents(args: argparse.Namespace, ctx: Context) -> int:
    try:
        mapping = Mapping.load(args.mapping)
    except MappingError as exc:
        raise Exit(USAGE, f"vigil: {exc}") from exc
    if not Path(args.file).is_file():
        raise Exit(BAD_INPUT, f"vigil: no such file: {args.file}")
    counts = {"rows": 0, "created": 0, "already_imported": 0, "invalid": 0, "refused": 0}
    source = str(Path(args.file).resolve())

    def bad(row: Row, message: str) -> None:
        _say(f"vigil: {args.file}:{row.line}: {message}")

    if args.dry_run:
        return _dry_run(args, ctx, mapping, counts, bad)

    client, queue = ctx.client(), ctx.queue()
    offline: list[VigilNetworkError] = []

    def one(row: Row) -> str:
        if row.errors:
            for e in row.errors:
                bad(row, e)
            return "invalid"
        key = row.idempotency_key
        if queue.imported(key):
            return "already_imported"
        if offline:
            return "skipped"
        try:
            made, repeat = _report_row(client, row.body or {}, key)
        except VigilProblem as problem:
            if problem.status in (409, 410):
                # Already imported with other details, or imported and since erased: the detail says which.
                bad(row, f"{problem.status} {problem.title}: {problem.detail}")
            else:
                bad(row, _refusal(problem))
            return "refused"
        except VigilNetworkError as exc:
            offline.append(exc)
            return "skipped"
        queue.record_import(key, source, row.line, made["id"])
        return "already_imported" if repeat else "created"

    tally = threading.Lock()

    def count(row: Row) -> None:
        outcome = one(row)
        with tally:
            counts["rows"] += 1
            if outcome in counts:
                counts[outcome] += 1

    # Rows are read and mapped a few ahead of the workers, never all at once: a
    # million-row history is imported in the memory of a few rows.
    workers = max(1, args.workers)
    pipeline(read_rows(args.file, mapping), count, workers=workers)
    _out(counts)
    if offline:
        raise Exit(OFFLINE, f"vigil: {offline[0]}; rows imported so far are recorded: run the same command again to continue")
    if counts["refused"]:
        return API_REFUSED
    return BAD_INPUT if counts["invalid"] else OK


def _refusal(problem: VigilProblem) -> str:
    fields = "; ".join(f"{e.get('field')}: {e.get('message') or ''}" for e in problem.errors) or problem.detail
    return f"{problem.status} {problem.title}: {fields}"


def _dry_run(args: argparse.Namespace, ctx: Context, mapping: Mapping, counts: dict[str, int], bad: Callable[[Row, str], None]) -> int:
    """Map every row and, unless --local, have the API check each mapped report by its
    own rules (POST /incidents/validate: nothing is recorded); name each row refused."""
    client = None if args.local else ctx.client()
    first: list[dict[str, Any]] = []
    local_only: list[str] = []
    tally = threading.Lock()

    def check(row: Row) -> None:
        outcome = "rows"
        if row.errors:
            for e in row.errors:
                bad(row, e)
            outcome = "invalid"
        elif client is not None and not local_only:
            try:
                _paced(lambda: client.validate_incident(row.body or {}))
            except VigilProblem as problem:
                if problem.status == 404:  # the route takes no id: only a stamp without it answers 404
                    local_only.append("the API has no validate-only route (an older stamp): rows were checked locally only")
                else:
                    bad(row, _refusal(problem))
                    outcome = "refused"
        with tally:
            counts["rows"] += 1
            if outcome != "rows":
                counts[outcome] += 1
            elif not first or row.line < first[0]["line"]:
                first[:] = [{"line": row.line, "body": row.body}]

    pipeline(read_rows(args.file, mapping), check, workers=max(1, args.workers))
    if local_only:
        _say(f"vigil: {local_only[0]}")
    _out({**counts, "dry_run": True, "first_report": first[0]["body"] if first else None})
    if counts["invalid"]:
        return BAD_INPUT
    return API_REFUSED if counts["refused"] else OK


def _paced(call: Callable[[], Any], sleep: Callable[[float], None] = time.sleep) -> Any:
    """`call`, waiting out rate limits and a busy API however long they last."""
    while True:
        try:
            return call()
        except VigilProblem as problem:
            if problem.status not in (429, 503):
                raise
            hinted = problem.headers.get("retry-after", "")
            sleep(float(hinted) if hinted.isdigit() else 5.0)


def cmd_webhook_verify(args: argparse.Namespace, ctx: Context) -> int:
    import os

    secret = args.secret or os.environ.get("VIGIL_WEBHOOK_SECRET")
    if not secret:
        raise Exit(USAGE, "vigil: give --secret or set VIGIL_WEBHOOK_SECRET (the whsec_... shown when subscribing)")
    try:
        body = sys.stdin.buffer.read() if args.body == "-" else Path(args.body).read_bytes()
    except OSError as exc:
        raise Exit(BAD_INPUT, f"vigil: cannot read the body: {exc}") from exc
    problem = signature_problem(secret, args.timestamp, args.signature, body, tolerance=args.tolerance)
    if problem:
        raise Exit(BAD_INPUT, f"vigil: not verified: {problem}")
    _say("vigil: verified")
    return OK


def cmd_queue_drain(args: argparse.Namespace, ctx: Context) -> int:
    queue = ctx.queue()
    bar: dict[int, Bar] = {}

    def progress(entry: Any, done: int, total: int) -> None:
        bar.setdefault(entry.seq, Bar(f"#{entry.seq}", args.quiet))(done, total)

    report = queue.drain(ctx.client(), progress=progress)
    for e in report.failed:
        _say(f"vigil: #{e.seq} ({e.kind}) refused: {e.last_error}")
    _out(
        {
            "sent": [{"seq": e.seq, "kind": e.kind, "id": (e.result or {}).get("id")} for e in report.sent],
            "failed": [{"seq": e.seq, "kind": e.kind, "error": e.last_error} for e in report.failed],
            "waiting": report.waiting,
        }
    )
    if report.failed:
        return API_REFUSED
    if report.waiting:
        _say(f"vigil: {report.waiting} still queued (no answer from the API or rate limited)")
        return OFFLINE
    return OK


def cmd_queue_discard(args: argparse.Namespace, ctx: Context) -> int:
    if not ctx.queue().discard(args.seq):
        raise Exit(BAD_INPUT, f"vigil: no failed or pending entry #{args.seq}")
    return OK


def cmd_queue_list(args: argparse.Namespace, ctx: Context) -> int:
    _out(
        [
            {"seq": e.seq, "kind": e.kind, "state": e.state, "attempts": e.attempts, "last_error": e.last_error}
            for e in ctx.queue().entries(args.state)
        ]
    )
    return OK


# ---- wiring ----------------------------------------------------------------------------------
class Context:
    """Settings, client and queue, made on first use (webhook verify needs neither)."""

    def __init__(self, args: argparse.Namespace):
        self.args = args
        self._settings: Settings | None = None
        self._client: VigilClient | None = None
        self._queue: OfflineQueue | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            a = self.args
            self._settings = load_settings(a.profile, a.config, url=a.url, auth=a.auth, queue=a.queue_file)
        return self._settings

    def client(self) -> VigilClient:
        if self._client is None:
            self._client = VigilClient(self.settings.url, token_provider(self.settings), retries=self.args.retries)
        return self._client

    def queue(self) -> OfflineQueue:
        if self._queue is None:
            self._queue = OfflineQueue(self.settings.queue_path)
        return self._queue

    def new_key(self) -> str:
        from vigil_client.client import new_idempotency_key

        return new_idempotency_key()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._queue is not None:
            self._queue.close()


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vigil", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--url", help="the stamp, e.g. https://vigil.example (VIGIL_API_URL)")
    p.add_argument("--auth", choices=AUTH_MODES, help="how to sign in (VIGIL_AUTH_MODE)")
    p.add_argument("--profile", help="a [profiles.<name>] table of the config file")
    p.add_argument("--config", help="the config file (VIGIL_CONFIG_FILE; default <config dir>/config.toml)")
    p.add_argument("--queue-file", help="the offline queue's SQLite file (VIGIL_QUEUE_FILE)")
    p.add_argument("--retries", type=int, default=5, help="attempts after the first on connection errors, 429 and 503 (default 5)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress output")
    sub = p.add_subparsers(dest="command", required=True)

    r = sub.add_parser("report", help="report an incident from a JSON file (queued when the API cannot be reached)")
    r.add_argument("file", help="the report as JSON (- for stdin), with the API's field names")
    r.add_argument("--idempotency-key", help="your own key for this report (default: a new one)")
    r.add_argument("--no-queue", action="store_true", help="fail (exit 3) instead of queueing when offline")
    r.set_defaults(run=cmd_report)

    u = sub.add_parser("upload", help="upload an evidence file (resumable: run again to resume)")
    u.add_argument("incident_id")
    u.add_argument("file")
    u.add_argument("--kind", help="cctv, suspect_image, photo, statement, audio, document or other")
    u.add_argument("--content-type", help="the file's type (default: from its name)")
    u.add_argument("--chunk-mb", type=float, default=DEFAULT_CHUNK_BYTES / 1024 / 1024, help="chunk size in MiB (default 8)")
    u.add_argument("--queue", action="store_true", help="queue the file when the API cannot be reached (else exit 3)")
    u.set_defaults(run=cmd_upload)

    s = sub.add_parser("status", help="the stamp's health and the queue, or one incident's status")
    s.add_argument("incident_id", nargs="?")
    s.set_defaults(run=cmd_status)

    d = sub.add_parser("d2p", help="Direct to Police").add_subparsers(dest="d2p_command", required=True)
    ds = d.add_parser("send", help="send an eligible report to its force")
    ds.add_argument("incident_id")
    ds.set_defaults(run=cmd_d2p_send)

    a = sub.add_parser("anpr", help="plate reads").add_subparsers(dest="anpr_command", required=True)
    ap = a.add_parser("push", help="post plate reads from CSV or JSON lines, in batches")
    ap.add_argument("file", help="CSV with a header (camera_id, store_id, captured_at, plate, confidence, direction) or JSON lines")
    ap.add_argument("--format", choices=["csv", "jsonl"], help="default: from the file name (.csv, else JSON lines)")
    ap.add_argument(
        "--batch-size", type=int, default=MAX_BATCH_READS, help=f"reads per request (default and most: the API's bound, {MAX_BATCH_READS})"
    )
    ap.add_argument("--rate", type=float, help="at most this many reads per second")
    ap.add_argument("--in-flight", type=int, default=8, help="batches sent at once over the connection pool (default 8)")
    ap.set_defaults(run=cmd_anpr_push)

    i = sub.add_parser("import", help="historical data").add_subparsers(dest="import_command", required=True)
    ii = i.add_parser("incidents", help="import incidents from CSV with a column mapping (a re-run adds nothing)")
    ii.add_argument("file")
    ii.add_argument("--mapping", required=True, help="the JSON column mapping")
    ii.add_argument("--dry-run", action="store_true", help="map every row and have the API check it by its own rules; nothing is recorded")
    ii.add_argument("--local", action="store_true", help="with --dry-run: check the mapping only, without asking the API")
    ii.add_argument("--workers", type=int, default=4, help="reports in flight at once (default 4)")
    ii.set_defaults(run=cmd_import_incidents)

    w = sub.add_parser("webhook", help="ANPR alert webhooks").add_subparsers(dest="webhook_command", required=True)
    wv = w.add_parser("verify", help="check a received alert's signature (exit 0 verified, 4 not)")
    wv.add_argument("body", help="file holding the raw request body (- for stdin)")
    wv.add_argument("--timestamp", required=True, help="the Vigil-Timestamp header")
    wv.add_argument("--signature", required=True, help="the Vigil-Signature header")
    wv.add_argument("--secret", help="the subscription's secret (or VIGIL_WEBHOOK_SECRET)")
    wv.add_argument("--tolerance", type=int, default=DEFAULT_TOLERANCE_SECONDS, help="seconds of clock difference allowed (default 300)")
    wv.set_defaults(run=cmd_webhook_verify)

    q = sub.add_parser("queue", help="the offline queue").add_subparsers(dest="queue_command", required=True)
    qd = q.add_parser("drain", help="send everything queued, oldest first")
    qd.set_defaults(run=cmd_queue_drain)
    qx = q.add_parser("discard", help="delete a failed or pending entry (its personal data goes with it)")
    qx.add_argument("seq", type=int)
    qx.set_defaults(run=cmd_queue_discard)
    ql = q.add_parser("list", help="list queued entries")
    ql.add_argument("--state", choices=["pending", "sent", "failed"])
    ql.set_defaults(run=cmd_queue_list)
    return p


def main(argv: list[str] | None = None) -> int:
    """The `vigil` command; returns the exit code."""
    args = parser().parse_args(argv)
    ctx = Context(args)
    run: Callable[[argparse.Namespace, Context], int] = args.run
    try:
        return run(args, ctx)
    except Exit as done:
        if done.message:
            _say(done.message)
        return done.code
    except VigilProblem as problem:
        try:
            _problem_exit(problem)
        except Exit as done:
            _say(done.message or "")
            return done.code
    except VigilNetworkError as exc:
        _say(f"vigil: {exc}")
        return OFFLINE
    except SignInError as exc:
        _say(f"vigil: sign-in: {exc}")
        return USAGE
    except IntegrityError as exc:
        _say(f"vigil: {exc}")
        return API_REFUSED
    except KeyboardInterrupt:
        _say("vigil: interrupted")
        return 130
    finally:
        ctx.close()


if __name__ == "__main__":
    sys.exit(main())
