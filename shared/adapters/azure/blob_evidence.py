"""Evidence bytes in Azure Blob Storage, written once.

- Committed evidence: block blobs in the `evidence` container (version-level
  immutability enabled in Bicep), named by evidence id. A write stages 4 MiB blocks as
  the bytes arrive (uncommitted blocks are invisible) and commits the block list with
  If-None-Match: * (what `upload_blob(overwrite=False)` sends), a version-level
  immutability policy until the retention date (`Unlocked` unless
  `evidence_policy_locked`) and the legal-hold flag.
- Resumable uploads: block blobs in `evidence-staging`. A chunk's blocks are staged as
  they arrive and committed (with the previous blocks, under the blob's ETag) only once
  the whole chunk is in, so a chunk is kept whole or not at all and a resent chunk can
  never land twice.

Authentication: DefaultAzureCredential with the managed identity's client id; a
connection string is accepted only for Azurite, which lacks immutability policies,
legal holds and blob versioning: with `azurite=True` exactly those calls are skipped
(`immutability_policy=`/`legal_hold=` on commit, `set_legal_hold`, and version
deletes), nothing else.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceModifiedError, ResourceNotFoundError
from azure.storage.blob import BlobBlock, BlobServiceClient, BlobType, ContentSettings, ImmutabilityPolicy

from shared import names
from shared.domain.errors import Conflict, NotFound

BLOCK = 4 * 1024 * 1024


def _block_id(index: int) -> str:
    # Every block id of a blob must have the same length.
    return base64.b64encode(f"{index:08d}".encode()).decode()


class _BlobWriter:
    def __init__(self, store: AzureBlobEvidenceStore, key: str, content_type: str, retention_until: datetime, legal_hold: bool):
        self._store = store
        self._blob = store.evidence.get_blob_client(key)
        self._key = key
        self._content_type = content_type
        self._retention_until = retention_until
        self._legal_hold = legal_hold
        self._buffer = bytearray()
        self._blocks: list[str] = []

    def write(self, chunk: bytes) -> None:
        self._buffer += chunk
        while len(self._buffer) >= BLOCK:
            self._stage(bytes(self._buffer[:BLOCK]))
            del self._buffer[:BLOCK]

    def _stage(self, data: bytes) -> None:
        block_id = _block_id(len(self._blocks))
        self._blob.stage_block(block_id, data, length=len(data))
        self._blocks.append(block_id)

    def commit(self) -> None:
        if self._buffer or not self._blocks:
            self._stage(bytes(self._buffer))
            self._buffer.clear()
        kwargs: dict[str, Any] = {"match_condition": MatchConditions.IfMissing}
        if self._store.immutable and not self._store.azurite:
            kwargs["immutability_policy"] = ImmutabilityPolicy(expiry_time=self._retention_until, policy_mode=self._store.policy_mode)
            kwargs["legal_hold"] = self._legal_hold
        try:
            self._blob.commit_block_list(
                [BlobBlock(block_id=b) for b in self._blocks], content_settings=ContentSettings(content_type=self._content_type), **kwargs
            )
        except (ResourceExistsError, ResourceModifiedError) as exc:
            raise Conflict(f"Evidence object {self._key} already exists and cannot be overwritten.") from exc

    def abort(self) -> None:
        self._buffer.clear()
        if not self._blocks:
            return
        # Uncommitted blocks cannot be deleted on their own: a Put Blob of the same name
        # discards them. Only when that put creates the blob (If-None-Match: *) is it ours to
        # delete; an existing committed object is never touched.
        try:
            put = self._blob.upload_blob(b"", overwrite=False)
        except (ResourceExistsError, ResourceModifiedError):
            return
        self._blob.delete_blob()
        version = put.get("version_id")
        if version and not self._store.azurite:
            self._store.evidence.get_blob_client(self._key, version_id=version).delete_blob()


class AzureBlobEvidenceStore:
    # Reads can go straight from storage by a short-lived SAS (`download_url`).
    serves_links = True

    def __init__(
        self,
        service: BlobServiceClient,
        *,
        policy_locked: bool = False,
        azurite: bool = False,
        evidence_container: str = names.BLOB_CONTAINERS["evidence"],
        staging_container: str = names.BLOB_CONTAINERS["evidence_staging"],
        immutable: bool = True,
    ):
        self.service = service
        self.azurite = azurite
        # False for a container without version-level immutability (built court packages).
        self.immutable = immutable
        self._delegation: tuple[datetime, Any] | None = None
        self.policy_mode = "Locked" if policy_locked else "Unlocked"
        self.evidence = service.get_container_client(evidence_container)
        self.staging = service.get_container_client(staging_container)

    @classmethod
    def from_settings(
        cls, settings, *, evidence_container: str = names.BLOB_CONTAINERS["evidence"], immutable: bool = True
    ) -> AzureBlobEvidenceStore:
        """The store on the configured account; `evidence_container` names another write-once
        container on it (the audit checkpoints)."""
        common: dict[str, Any] = {"max_single_get_size": BLOCK, "max_chunk_get_size": BLOCK, "max_block_size": BLOCK}
        if settings.evidence_blob_connection_string:
            service = BlobServiceClient.from_connection_string(settings.evidence_blob_connection_string, **common)
            return cls(
                service,
                policy_locked=settings.evidence_policy_locked,
                azurite=True,
                evidence_container=evidence_container,
                immutable=immutable,
            )
        from azure.identity import DefaultAzureCredential

        credential = DefaultAzureCredential(managed_identity_client_id=settings.azure_client_id or None)
        service = BlobServiceClient(settings.evidence_blob_account_url, credential=credential, **common)
        return cls(service, policy_locked=settings.evidence_policy_locked, evidence_container=evidence_container, immutable=immutable)

    def create_containers(self) -> None:
        """For Azurite: in Azure the containers come from Bicep with immutability enabled."""
        for container in (self.evidence, self.staging):
            try:
                container.create_container()
            except ResourceExistsError:
                pass

    # ---- committed objects --------------------------------------------------------
    def writer(self, key: str, *, content_type: str, retention_until: datetime, legal_hold: bool) -> _BlobWriter:
        return _BlobWriter(self, key, content_type, retention_until, legal_hold)

    def open(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        blob = self.evidence.get_blob_client(key)
        length = None if end is None else end - start
        if length == 0:
            return iter(())
        try:
            downloader = blob.download_blob(offset=start, length=length)
        except ResourceNotFoundError as exc:
            raise NotFound(f"Evidence object {key} is missing from storage.") from exc
        return downloader.chunks()

    def size(self, key: str) -> int | None:
        try:
            return self.evidence.get_blob_client(key).get_blob_properties().size
        except ResourceNotFoundError:
            return None

    def set_legal_hold(self, key: str, held: bool) -> None:
        if self.azurite:
            if self.size(key) is None:
                raise NotFound(f"Evidence object {key} is missing from storage.")
            return
        try:
            self.evidence.get_blob_client(key).set_legal_hold(held)
        except ResourceNotFoundError as exc:
            raise NotFound(f"Evidence object {key} is missing from storage.") from exc

    def delete(self, key: str) -> bool:
        blob = self.evidence.get_blob_client(key)
        try:
            blob.delete_blob()
            deleted = True
        except ResourceNotFoundError:
            deleted = False
        except HttpResponseError as exc:
            raise self._protected(key, exc) from exc
        if self.immutable and not self.azurite:
            # With versioning on, deleting makes the current version a previous one: remove
            # every version, each of which the service still protects until its policy ends.
            # (A plain container's old versions go by its lifecycle rule, infra/app/storage.bicep.)
            for item in self.evidence.list_blobs(name_starts_with=key, include=["versions"]):
                if item.name != key or not item.version_id:
                    continue
                try:
                    self.evidence.get_blob_client(key, version_id=item.version_id).delete_blob()
                    deleted = True
                except ResourceNotFoundError:
                    continue
                except HttpResponseError as exc:
                    raise self._protected(key, exc) from exc
        return deleted

    def objects(self, modified_after: datetime, modified_before: datetime) -> Iterator[str]:
        # Listing carries each blob's last-modified time, so only recent objects cost a
        # record lookup; the listing itself is paged by the SDK.
        for item in self.evidence.list_blobs():
            if item.last_modified and modified_after <= item.last_modified < modified_before:
                yield item.name

    def download_url(self, key: str, *, valid_for: timedelta, filename: str, content_type: str) -> str | None:
        """A read-only SAS URL to the blob's current version for `valid_for`, so the bytes
        go from storage to the reader without passing through the host. Signed with a user
        delegation key from the managed identity; with Azurite (no Entra ID) with the account key.

        Where the account keeps versions the SAS and the URL name that version (`versionid`),
        so a link issued for one version can never serve another written later under the
        same name. Raises NotFound when the blob is missing."""
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        blob = self.evidence.get_blob_client(key)
        try:
            version_id = blob.get_blob_properties().version_id
        except ResourceNotFoundError as exc:
            raise NotFound(f"Evidence object {key} is missing from storage.") from exc
        # Storage checks the SAS against its own clock: the wall clock, not the app's.
        now = datetime.now(UTC)
        expires_at = now + valid_for
        signing: dict[str, Any]
        if self.azurite:
            signing = {"account_key": self.service.credential.account_key}
        else:
            signing = {"user_delegation_key": self._delegation_key(now, expires_at)}
        if version_id:
            signing["version_id"] = version_id
        sas = generate_blob_sas(
            account_name=str(self.service.account_name),
            container_name=self.evidence.container_name,
            blob_name=key,
            permission=BlobSasPermissions(read=True),
            # A few minutes back: the storage service's clock may be behind ours.
            start=now - timedelta(minutes=5),
            expiry=expires_at,
            content_disposition=f'attachment; filename="{filename}"',
            content_type=content_type,
            protocol=None if self.azurite else "https",
            **signing,
        )
        pinned = f"&versionid={quote(version_id, safe='')}" if version_id else ""
        return f"{blob.url}?{sas}{pinned}"

    def _delegation_key(self, now: datetime, until: datetime) -> Any:
        # One key serves every URL signed within its hour (asking for one is a round trip).
        if self._delegation is None or self._delegation[0] < until:
            key_until = max(until, now + timedelta(hours=1))
            self._delegation = (key_until, self.service.get_user_delegation_key(now - timedelta(minutes=5), key_until))
        return self._delegation[1]

    @staticmethod
    def _protected(key: str, exc: HttpResponseError) -> Exception:
        if exc.status_code == 409:
            return Conflict(
                f"Evidence object {key} is protected by its immutability policy or a legal hold and cannot be deleted yet ({exc.error_code})."  # type: ignore[attr-defined]  # set by the storage SDK on the errors it raises
            )
        return exc

    # ---- resumable staging (block blobs; append blobs only from earlier versions) ----
    def stage(self, upload_id: str, offset: int, chunks: Iterable[bytes]) -> int:
        blob = self.staging.get_blob_client(upload_id)
        try:
            props = blob.get_blob_properties()
            if props.blob_type != BlobType.BLOCKBLOB:
                # Staged as an append blob before chunks became all-or-nothing.
                raise Conflict(f"Upload {upload_id} was staged in an older format and cannot be resumed; cancel it and start again.")
            size, etag = props.size, props.etag
            committed = [b.id for b in blob.get_block_list("committed")[0]]
        except ResourceNotFoundError:
            size, etag, committed = 0, None, []
        if size != offset:
            raise Conflict(f"Upload {upload_id} holds {size} bytes; send from offset {size}.", received=size)
        staged: list[str] = []
        buffer = bytearray()
        at = offset

        def put(data: bytes) -> None:
            nonlocal at
            # Named by offset: a chunk resent after a failure replaces its own uncommitted
            # blocks instead of adding to them.
            block_id = base64.b64encode(f"{at:015d}".encode()).decode()
            blob.stage_block(block_id, data, length=len(data))
            staged.append(block_id)
            at += len(data)

        for chunk in chunks:
            buffer += chunk
            while len(buffer) >= BLOCK:
                put(bytes(buffer[:BLOCK]))
                del buffer[:BLOCK]
        if buffer:
            put(bytes(buffer))
        if not staged:
            return size
        # Staged blocks stay invisible until this commit, so a chunk that failed part way
        # (the loop above raised) leaves the upload exactly as it was. The ETag condition
        # refuses a commit when another chunk landed meanwhile.
        condition: dict[str, Any] = (
            {"etag": etag, "match_condition": MatchConditions.IfNotModified} if etag else {"match_condition": MatchConditions.IfMissing}
        )
        try:
            blob.commit_block_list([BlobBlock(block_id=b) for b in committed + staged], **condition)
        except (ResourceExistsError, ResourceModifiedError) as exc:
            raise Conflict(f"Upload {upload_id} moved on while this chunk was sent; ask for the received offset.") from exc
        return at

    def staged_size(self, upload_id: str) -> int:
        try:
            return self.staging.get_blob_client(upload_id).get_blob_properties().size
        except ResourceNotFoundError:
            return 0

    def read_staged(self, upload_id: str) -> Iterator[bytes]:
        try:
            return self.staging.get_blob_client(upload_id).download_blob().chunks()
        except ResourceNotFoundError as exc:
            raise NotFound(f"Upload {upload_id} has nothing staged.") from exc

    def discard_staged(self, upload_id: str) -> None:
        try:
            self.staging.get_blob_client(upload_id).delete_blob()
        except ResourceNotFoundError:
            pass

    def sweep_staging(self, older_than: datetime) -> int:
        removed = 0
        for item in self.staging.list_blobs():
            if item.last_modified and item.last_modified < older_than:
                try:
                    self.staging.delete_blob(item.name)
                    removed += 1
                except ResourceNotFoundError:
                    continue
        return removed

    def ready(self) -> tuple[bool, str]:
        try:
            self.evidence.get_container_properties()
            return True, ""
        except Exception as exc:  # noqa: BLE001 - readiness reports any failure by kind
            return False, f"evidence container unavailable: {type(exc).__name__}"
