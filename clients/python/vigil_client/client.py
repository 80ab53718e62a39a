"""The Vigil API over httpx: retries, idempotency keys, ETags, problem details, paging and
resumable evidence upload."""

from __future__ import annotations

import email.utils
import hashlib
import json as _json
import mimetypes
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO, cast

import httpx

try:  # optional (`pip install vigil-client[fast]`): several times faster than json for plate-read batches
    import orjson
except ImportError:  # pragma: no cover - the stdlib encoder gives the same bytes' meaning
    orjson = None  # type: ignore[assignment]

from vigil_client.auth import TokenProvider
from vigil_client.errors import IntegrityError, VigilNetworkError, VigilProblem
from vigil_client.models import Dispatch, Evidence, Health, Incident, ReadBatchResult, UploadSession

API_PREFIX = "/api/v1"
USER_AGENT = "vigil-client/0.1"

# Answers worth asking again as they stand: rate limits and a busy or restarting server.
RETRY_STATUSES = frozenset({429, 503})
# Never wait longer than this between attempts, whatever Retry-After says: a till must not
# hang for minutes; the offline queue takes over instead.
MAX_WAIT_SECONDS = 60.0
# Resumable upload chunks: big enough that a 700 MB CCTV export is ~90 requests, small
# enough that a dropped connection costs little to resend.
DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024
# How often within a chunk the progress callback hears of bytes sent.
PROGRESS_STEP = 256 * 1024

Progress = Callable[[int, int], None]


def dumps(data: Any) -> bytes:
    """`data` as compact UTF-8 JSON (orjson when installed)."""
    if orjson is not None:
        return orjson.dumps(data)
    return _json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


JSON_HEADERS = {"Content-Type": "application/json"}


def new_idempotency_key() -> str:
    """A fresh key for one logical write (reused across its retries)."""
    return str(uuid.uuid4())


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The file's SHA-256 as lowercase hex (read in 1 MiB pieces)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for piece in iter(lambda: f.read(1024 * 1024), b""):
            h.update(piece)
    return h.hexdigest()


def guess_content_type(path: str | os.PathLike[str]) -> str:
    """The file's type from its name (the API checks it against the first bytes)."""
    guessed, _ = mimetypes.guess_type(str(path))
    return guessed or "application/octet-stream"


class VigilClient:
    """A signed-in session with one Vigil stamp.

    Every write carries an `Idempotency-Key`, made once per call and sent unchanged on each
    retry, so a retry after a lost answer is answered, not recorded twice. Connection
    failures, 429 and 503 are retried with exponential backoff and full jitter (at least
    `Retry-After` when the API names it); other errors raise `VigilProblem` at once."""

    def __init__(
        self,
        base_url: str,
        auth: TokenProvider | None = None,
        *,
        timeout: float = 30.0,
        retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        root = base_url.rstrip("/")
        if not root.endswith(API_PREFIX):
            root += API_PREFIX
        self.base_url = root
        self.auth = auth
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=root,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
            headers={"User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> VigilClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- the one request loop ---------------------------------------------------------
    def _delay(self, attempt: int, response: httpx.Response | None) -> float:
        ceiling = min(self.max_backoff, self.backoff * (2**attempt))
        # Full jitter: many tills coming back online at once must not retry in step.
        delay = random.uniform(0, ceiling)
        hinted = _retry_after(response) if response is not None else None
        if hinted is not None:
            delay = hinted + random.uniform(0, min(1.0, ceiling))
        return min(delay, MAX_WAIT_SECONDS)

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: bytes | Callable[[], Any] | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
        expect: tuple[int, ...] = (),
    ) -> httpx.Response:
        """Send one logical request, retrying as described on the class; the answer when its
        status is 2xx (or in `expect`), else `VigilProblem`; `VigilNetworkError` when no
        answer came after the retries. `content` may be a callable giving a fresh body for
        each attempt (a stream cannot be sent twice)."""
        sent_headers = dict(headers or {})
        if method.upper() not in ("GET", "HEAD", "OPTIONS") and "Idempotency-Key" not in sent_headers:
            sent_headers["Idempotency-Key"] = idempotency_key or new_idempotency_key()
        if json is not None and content is None:
            content, json = dumps(json), None
            sent_headers.setdefault("Content-Type", "application/json")
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}
        refreshed = False
        attempt = 0
        while True:
            if self.auth is not None:
                sent_headers["Authorization"] = f"Bearer {self.auth.token()}"
            body = content() if callable(content) else content
            try:
                response = self._http.request(method, path, json=json, content=body, params=clean_params, headers=sent_headers)
            except httpx.TransportError as exc:
                if attempt >= self.retries:
                    raise VigilNetworkError(f"{method} {path}: no answer from {self.base_url} ({type(exc).__name__}: {exc})") from exc
                self._sleep(self._delay(attempt, None))
                attempt += 1
                continue
            if response.status_code == 401 and self.auth is not None and not refreshed:
                # An expired or revoked token: one fresh one, then the answer stands.
                self.auth.invalidate()
                refreshed = True
                continue
            if response.status_code in RETRY_STATUSES and attempt < self.retries:
                self._sleep(self._delay(attempt, response))
                attempt += 1
                continue
            if response.is_success or response.status_code in expect:
                return response
            raise VigilProblem.from_response(response)

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        return orjson.loads(response.content) if orjson is not None else response.json()

    def paginate(self, path: str, params: Mapping[str, Any] | None = None, *, page_size: int | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a listing, following `continuation` page after page."""
        query = dict(params or {})
        if page_size:
            query["limit"] = page_size
        while True:
            page = self._json("GET", path, params=query)
            yield from page.get("items", [])
            token = page.get("continuation")
            if not token:
                return
            query["continuation"] = token

    # ---- platform -------------------------------------------------------------------------
    def health(self) -> Health:
        """The stamp's health (no sign-in needed)."""
        return cast(Health, self._json("GET", "/healthz"))

    # ---- incidents ----------------------------------------------------------------------
    def report_incident(self, incident: Mapping[str, Any], *, idempotency_key: str | None = None) -> Incident:
        """Report an incident (201). A replay with the same key answers the incident the
        first call created, as it now stands."""
        return cast(Incident, self._json("POST", "/incidents", json=incident, idempotency_key=idempotency_key))

    def validate_incident(self, incident: Mapping[str, Any]) -> None:
        """Check a report against the API's rules without recording it (POST
        /incidents/validate): returns when it would be accepted, else raises the
        `VigilProblem` reporting it would (422 naming each field, 403 for a store)."""
        self.request("POST", "/incidents/validate", json=incident)

    def get_incident(self, incident_id: str, *, purpose: str | None = None) -> Incident:
        """One incident; its `etag` is what `change_incident` sends as If-Match."""
        return cast(Incident, self._json("GET", f"/incidents/{incident_id}", params={"purpose": purpose}))

    def change_incident(self, incident_id: str, patch: Mapping[str, Any], *, etag: str | None = None) -> Incident:
        """Apply a JSON merge patch to an incident as it stood at `etag` (read first when
        not given). Someone else's change in between is 412 (`VigilProblem`): read again,
        reapply, resend."""
        if etag is None:
            etag = self.get_incident(incident_id)["etag"]
        return cast(
            Incident,
            self._json("PATCH", f"/incidents/{incident_id}", json=patch, headers={"If-Match": etag}),
        )

    def iter_incidents(self, *, page_size: int | None = None, **filters: Any) -> Iterator[Incident]:
        """Every incident matching the filters (store, category, from, to, plate, offender,
        reference, purpose), page after page."""
        params = {("from" if k == "occurred_from" else "to" if k == "occurred_to" else k): v for k, v in filters.items()}
        return cast(Iterator[Incident], self.paginate("/incidents", params, page_size=page_size))

    # ---- D2P --------------------------------------------------------------------------------
    def send_d2p(self, incident_id: str) -> Dispatch:
        """Send an eligible report to its force; a repeat answers the existing dispatch."""
        return cast(Dispatch, self._json("POST", f"/incidents/{incident_id}/d2p"))

    def d2p_status(self, incident_id: str) -> dict[str, Any]:
        """Eligibility (rule by rule), dispatches and outcomes of an incident."""
        return cast(dict[str, Any], self._json("GET", f"/incidents/{incident_id}/d2p"))

    # ---- ANPR -------------------------------------------------------------------------------
    def post_reads(self, reads: list[Mapping[str, Any]], *, idempotency_key: str | None = None) -> ReadBatchResult:
        """Post one batch of plate reads (at most the stamp's anpr_max_batch_reads, 1,000 by
        default). Reads have deterministic ids, so a resent batch is counted as duplicates."""
        return self.post_encoded_reads([dumps(r) for r in reads], idempotency_key=idempotency_key)

    def post_encoded_reads(self, reads: Sequence[bytes], *, idempotency_key: str | None = None) -> ReadBatchResult:
        """`post_reads` for reads already encoded as JSON objects (e.g. the lines of a JSON
        lines file as they are): the body is joined from them, no read is decoded."""
        body = b'{"reads":[' + b",".join(reads) + b"]}"
        return cast(ReadBatchResult, self._json("POST", "/anpr/reads", content=body, headers=JSON_HEADERS, idempotency_key=idempotency_key))

    # ---- evidence ---------------------------------------------------------------------------
    def list_evidence(self, incident_id: str, *, purpose: str | None = None) -> list[Evidence]:
        """The evidence items of an incident."""
        return cast(list[Evidence], self._json("GET", f"/incidents/{incident_id}/evidence", params={"purpose": purpose})["items"])

    def get_evidence(self, evidence_id: str, *, purpose: str | None = None) -> Evidence:
        """An evidence item's description."""
        return cast(Evidence, self._json("GET", f"/evidence/{evidence_id}", params={"purpose": purpose}))

    def start_upload(
        self,
        incident_id: str,
        *,
        filename: str,
        content_type: str,
        size: int,
        sha256: str | None = None,
        kind: str | None = None,
        idempotency_key: str | None = None,
    ) -> UploadSession:
        """Open a resumable upload session for a file of `size` bytes. The open carries an
        Idempotency-Key (a new one unless given), so a retry after a lost answer gets the
        session the first attempt opened, not a second one."""
        body = {"filename": filename, "content_type": content_type, "size": size, "sha256": sha256, "kind": kind}
        return cast(
            UploadSession,
            self._json(
                "POST",
                f"/incidents/{incident_id}/evidence/uploads",
                json={k: v for k, v in body.items() if v},
                idempotency_key=idempotency_key,
            ),
        )

    def upload_status(self, upload_id: str) -> UploadSession:
        """How much of an upload the server holds: resume from `received`."""
        return cast(UploadSession, self._json("GET", f"/evidence/uploads/{upload_id}"))

    def _put_chunk(self, upload_id: str, source: BinaryIO, first: int, length: int, total: int, progress: Progress | None) -> int:
        """Send bytes [first, first+length) once; the server's offset after it."""

        def body() -> Iterator[bytes]:
            source.seek(first)
            left = length
            while left:
                piece = source.read(min(PROGRESS_STEP, left))
                if not piece:
                    raise IntegrityError("The file got shorter while it was being uploaded.")
                left -= len(piece)
                yield piece
                if progress:
                    progress(first + length - left, total)

        headers = {
            "Content-Range": f"bytes {first}-{first + length - 1}/{total}",
            "Content-Length": str(length),
            "Content-Type": "application/octet-stream",
        }
        # One attempt only: after a cut the offset to resume from is the server's, not ours.
        response = self._http.put(
            f"/evidence/uploads/{upload_id}/chunks",
            content=body(),
            headers={**headers, **self._auth_header(), "Idempotency-Key": new_idempotency_key()},
        )
        if response.status_code == 409 and isinstance(response.json().get("received"), int):
            return int(response.json()["received"])
        if response.status_code == 401 and self.auth is not None:
            self.auth.invalidate()
            return first
        if response.status_code in RETRY_STATUSES:
            self._sleep(self._delay(0, response))
            return first
        if not response.is_success:
            raise VigilProblem.from_response(response)
        return int(response.json()["received"])

    def _auth_header(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.auth.token()}"} if self.auth is not None else {}

    def upload_evidence(
        self,
        incident_id: str,
        path: str | os.PathLike[str],
        *,
        content_type: str | None = None,
        kind: str | None = None,
        filename: str | None = None,
        chunk_size: int = DEFAULT_CHUNK_BYTES,
        progress: Progress | None = None,
        upload_id: str | None = None,
        on_session: Callable[[UploadSession], None] | None = None,
        sha256: str | None = None,
    ) -> Evidence:
        """Upload a file as evidence of an incident in resumable chunks, and check that the
        stored SHA-256 is the file's.

        After a dropped connection the client asks the server how much it holds and sends
        on from there. Pass `upload_id` to resume a session opened earlier (e.g. by a
        process that stopped); `on_session` hears of a new session before any byte is sent,
        so it can be recorded. `progress(sent, total)` is called as bytes go out."""
        file = Path(path)
        size = file.stat().st_size
        digest = sha256 or file_sha256(file)
        if upload_id is None:
            session = self.start_upload(
                incident_id,
                filename=filename or file.name,
                content_type=content_type or guess_content_type(file),
                size=size,
                sha256=digest,
                kind=kind,
            )
            if on_session:
                on_session(session)
        else:
            session = self.upload_status(upload_id)
        upload_id = session["id"]
        offset = session["received"]
        # A server that names its largest chunk refuses bigger ones (its host buffers each).
        limit = session.get("max_chunk_bytes")
        if limit:
            chunk_size = min(chunk_size, limit)
        failures = 0
        with open(file, "rb") as source:
            while session["state"] != "committed" and offset < size:
                if progress:
                    progress(offset, size)
                length = min(chunk_size, size - offset)
                try:
                    new_offset = self._put_chunk(upload_id, source, offset, length, size, progress)
                except httpx.TransportError as exc:
                    failures += 1
                    if failures > self.retries:
                        raise VigilNetworkError(f"upload {upload_id}: connection lost at byte {offset} ({exc})") from exc
                    self._sleep(self._delay(failures - 1, None))
                    # The server may hold part of the chunk that was cut: ask, do not guess.
                    session = self.upload_status(upload_id)
                    offset = session["received"]
                    continue
                if new_offset > offset:
                    failures = 0
                else:
                    # Refused without progress (a rate limit, a token refreshed): bounded too.
                    failures += 1
                    if failures > self.retries:
                        raise VigilNetworkError(f"upload {upload_id}: no progress at byte {offset} after {failures} attempts")
                offset = new_offset
        if progress:
            progress(size, size)
        if session["state"] == "committed" and session["evidence_id"]:
            item = self.get_evidence(session["evidence_id"])
        else:
            try:
                item = cast(Evidence, self._json("POST", f"/evidence/uploads/{upload_id}/commit"))
            except VigilProblem as problem:
                # A commit whose answer was lost, then retried: the session says what it became.
                if problem.status != 409:
                    raise
                session = self.upload_status(upload_id)
                if session["state"] != "committed" or not session["evidence_id"]:
                    raise
                item = self.get_evidence(session["evidence_id"])
        if item.get("sha256") != digest:
            raise IntegrityError(f"Evidence {item.get('id')} was stored with SHA-256 {item.get('sha256')}, the file has {digest}.")
        return item
