"""The court package handed out from storage: built once into the package store, then
served from there (in Azure a short-lived read-only link to the blob's version, locally
the stored file streamed by the app), so a package of gigabytes never passes whole
through the Functions host.

A package is keyed by a digest of what its manifest is made from (the incident as the
reader sees it, its items and their hashes, the dispatches and outcomes the reader may
see, who asks and why), so it is rebuilt when the incident's evidence changes and not
otherwise. Where the store gives links, building is a queue job (`court_packages`) and the
request answers 202 until it is done; locally it is built within the first request.
Every handout is recorded like a download: an `exported` custody event on each item and
the `evidence.package` audit entry. Built packages go after `PACKAGE_HOURS`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.domain.court_package import PACKAGE_FORMAT
from shared.domain.errors import Conflict, IntegrityFailure, NotFound
from shared.domain.tenancy import Principal
from shared.domain.timestamps import from_iso, to_iso
from shared.evidence_ports import PackageStore
from shared.services.evidence.deps import EvidenceDeps
from shared.services.evidence.documents import gather
from shared.services.evidence.package import Packages

log = logging.getLogger("vigil.evidence.package")

PACKAGE_QUEUE = "court_packages"
# A built package is served for a day, then built again from the records as they stand;
# the store's lifecycle rule (Azure) and the staging sweep remove it after that.
PACKAGE_HOURS = 24
# The link a reader follows: long enough to start the transfer, no longer.
LINK_MINUTES = 5
# How soon a client asking while the package is being built should ask again.
RETRY_SECONDS = 5
PREFIX = "court-"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def incident_prefix(incident_id: str) -> str:
    """Every stored object of an incident's built packages starts with this (store keys
    are short and flat, so the incident is named by a digest)."""
    return f"{PREFIX}{hashlib.sha256(incident_id.encode()).hexdigest()[:16]}-"


def _failure(exc: IntegrityFailure, at: datetime) -> dict[str, Any]:
    # Kept as the build's outcome, so every reader gets the same 409 until the package goes.
    return {"failed": exc.detail, "problem": json.loads(json.dumps(exc.extra, default=str)), "built_at": to_iso(at)}


@dataclass(frozen=True)
class Handout:
    """What a request for the package gets: `building` (ask again in `retry_after`
    seconds), or the package by `url` (storage serves it) or `body` (the app streams it)."""

    building: bool
    filename: str = ""
    size: int = 0
    sha256: str = ""
    manifest_sha256: str = ""
    url: str | None = None
    url_expires_at: datetime | None = None
    body: Iterator[bytes] | None = None
    retry_after: int = RETRY_SECONDS


class PackageDelivery:
    def __init__(self, deps: EvidenceDeps, packages: Packages):
        self.deps = deps
        self.packages = packages

    @property
    def _store(self) -> PackageStore:
        if self.deps.package_store is None:
            raise RuntimeError("no package store configured")
        return self.deps.package_store()

    def fetch(self, principal: Principal, incident_id: str, purpose: str | None) -> Handout:
        """The incident's court package for this reader: served from the store when built,
        else built (within the request locally; by the queue job where the store gives
        links, answering `building` meanwhile). Refused (409) when a file is missing,
        short, or was found altered while the package was built."""
        deps = self.deps
        self.packages.check_present(principal, incident_id, purpose)
        key = self.key(principal, incident_id, purpose)
        built = self._built(key)
        if built is None:
            if self._store.serves_links:
                message = {"incident_id": incident_id, "purpose": purpose, "key": key, "principal": principal.model_dump(mode="json")}
                deps.outbox.queue.send(PACKAGE_QUEUE, message, message_id=key)
                return Handout(building=True)
            built = self.build(principal, incident_id, purpose, key)
        if "failed" in built:
            raise IntegrityFailure(built["failed"], **built.get("problem", {}))
        url, expires_at = None, None
        if self._store.serves_links:
            expires_at = deps.clock.now() + timedelta(minutes=LINK_MINUTES)
            url = self._store.download_url(
                built["zip_key"], valid_for=timedelta(minutes=LINK_MINUTES), filename=built["filename"], content_type="application/zip"
            )
        extra: dict[str, Any] = {"package_sha256": built["sha256"]}
        if url:
            extra["link_expires_at"] = to_iso(expires_at)
        self.packages.record_export(principal, incident_id, purpose, list(built["evidence_ids"]), built["manifest_sha256"], **extra)
        return Handout(
            building=False,
            filename=built["filename"],
            size=built["size"],
            sha256=built["sha256"],
            manifest_sha256=built["manifest_sha256"],
            url=url,
            url_expires_at=expires_at if url else None,
            body=None if url else self._store.open(built["zip_key"]),
        )

    def key(self, principal: Principal, incident_id: str, purpose: str | None) -> str:
        """The store key of this reader's package as the records stand: a digest of what
        the manifest and documents are made from. Custody is left out: a package carries
        each chain as it stood when built, and handing one out adds to the chain."""
        got = gather(self.deps, principal, incident_id)
        f = got.facts
        basis = {
            "format": PACKAGE_FORMAT,
            "incident_id": incident_id,
            "reader": {
                "user": principal.user_id,
                "organisation": principal.organisation_id,
                "roles": sorted(r.value for r in principal.roles),
                "stores": sorted(principal.stores),
            },
            "purpose": purpose,
            "incident": got.incident,
            "names": [f.retailer_name, f.store, f.force_name, f.org_names, list(f.crime_references)],
            "dispatches": list(f.dispatches),
            "outcomes": list(f.outcomes),
            "items": [
                [i.id, i.sha256, i.size, i.exhibit_label, i.filename, i.kind.value, i.content_type, i.derived_from] for i in got.items
            ],
        }
        digest = hashlib.sha256(json.dumps(basis, sort_keys=True, default=str).encode()).hexdigest()
        return f"{incident_prefix(incident_id)}{digest[:32]}"

    def build(self, principal: Principal, incident_id: str, purpose: str | None, key: str) -> dict[str, Any]:
        """Write the package once under `key`: the zip streamed into the store block by
        block (never whole in memory), then a small record of it (`<key>-m`) that marks it
        complete. A file found altered on the way is recorded as the build's outcome, so
        readers get the 409 instead of waiting. Returns that record."""
        store, deps = self._store, self.deps
        now = deps.clock.now()
        zip_key = f"{key}-{secrets.token_hex(4)}"
        pkg = self.packages.assemble(principal, incident_id, purpose)
        writer = store.writer(zip_key, content_type="application/zip", retention_until=now, legal_hold=False)
        digest, size = hashlib.sha256(), 0
        try:
            for chunk in pkg.body:
                writer.write(chunk)
                digest.update(chunk)
                size += len(chunk)
            writer.commit()
        except IntegrityFailure as exc:
            writer.abort()
            failed = _failure(exc, now)
            return self._mark(key, failed) or failed
        except BaseException:
            writer.abort()
            raise
        record = {
            "zip_key": zip_key,
            "incident_id": incident_id,
            "filename": pkg.filename,
            "sha256": digest.hexdigest(),
            "size": size,
            "manifest_sha256": pkg.manifest_sha256,
            "evidence_ids": list(pkg.evidence_ids),
            "built_at": to_iso(now),
        }
        earlier = self._mark(key, record)
        if earlier is not None:
            # Built twice at once (a redelivered job): the first one stands, this copy goes.
            store.delete(zip_key)
            return earlier
        return record

    def build_job(self, body: dict[str, Any]) -> str:
        """The queue job: build the package a request asked for, unless it is built already."""
        principal = Principal.model_validate(body["principal"])
        key = body["key"]
        if self._built(key) is not None:
            return "already built"
        try:
            self.packages.check_present(principal, body["incident_id"], body.get("purpose"))
        except IntegrityFailure as exc:
            self._mark(
                key, {"failed": exc.detail, "missing": list(exc.extra.get("missing", [])), "built_at": to_iso(self.deps.clock.now())}
            )
            return "refused"
        except NotFound:
            # The incident was erased or is no longer the reader's to see: nothing to build.
            return "gone"
        built = self.build(principal, body["incident_id"], body.get("purpose"), key)
        return "failed" if "failed" in built else "built"

    def _built(self, key: str) -> dict[str, Any] | None:
        store = self._store
        try:
            record = json.loads(b"".join(store.open(f"{key}-m")))
        except NotFound:
            return None
        if from_iso(record["built_at"]) + timedelta(hours=PACKAGE_HOURS) <= self.deps.clock.now():
            # Past its time: removed, and built again from the records as they stand now.
            self._drop(record, key)
            return None
        return record

    def _mark(self, key: str, record: dict[str, Any]) -> dict[str, Any] | None:
        """Write the record of a build once; the record already there when another build won."""
        writer = self._store.writer(f"{key}-m", content_type="application/json", retention_until=self.deps.clock.now(), legal_hold=False)
        writer.write(json.dumps(record, sort_keys=True).encode())
        try:
            writer.commit()
        except Conflict:
            return json.loads(b"".join(self._store.open(f"{key}-m")))
        return None

    def _drop(self, record: dict[str, Any], key: str) -> None:
        for name in (record.get("zip_key"), f"{key}-m"):
            if name:
                self._store.delete(name)

    def sweep(self, as_of: datetime) -> int:
        """Remove built packages (and their records) older than `PACKAGE_HOURS`; returns how many objects went."""
        before = as_of - timedelta(hours=PACKAGE_HOURS)
        removed = 0
        for name in list(self._store.objects(_EPOCH, before)):
            if name.startswith(PREFIX) and self._store.delete(name):
                removed += 1
        return removed


def erase_built(deps: EvidenceDeps, incident_id: str) -> int:
    """An erased incident's built packages go with it, whatever their age; returns how
    many objects went. (The store is listed whole: its names are flat, and it holds only
    packages of the last day and those of live shares.)"""
    if deps.package_store is None:
        return 0
    store = deps.package_store()
    prefix = incident_prefix(incident_id)
    removed = 0
    for name in list(store.objects(_EPOCH, datetime(9999, 1, 1, tzinfo=UTC))):
        if name.startswith(prefix) and store.delete(name):
            removed += 1
    return removed
