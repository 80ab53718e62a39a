"""The adapters half of the composition root: how each port is built from settings,
kept apart from the services so a reader finds every backend choice in one place.
Container (shared/bootstrap.py) inherits these and stays the one object that chooses."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from shared.evidence_ports import ArchiveWriter, CheckpointStore, CourtDocumentRenderer, EvidenceBlobStore, TemplateRenderer
from shared.ports import Clock, ConsoleSignIn, DeliveryEventVerifier, MessageQueue, RecordStore, TokenVerifier
from shared.settings import Settings


class AdapterBuilders:
    """Each adapter built once, on first use, from `settings`; one given to Container's
    constructor is used as it is instead."""

    settings: Settings

    @cached_property
    def clock(self) -> Clock:
        from shared.adapters.clock import SystemClock

        return SystemClock()

    @property
    def data_dir(self) -> Path:
        return Path(self.settings.data_dir)

    @cached_property
    def records(self) -> RecordStore:
        s = self.settings
        if s.backend == "local":
            from shared.adapters.local.sqlite_records import SqliteRecordStore

            return SqliteRecordStore(self.data_dir / s.region / "records.sqlite", group_commit_max=s.sqlite_group_commit_max)
        from shared.adapters.azure.cosmos import CosmosRecordStore

        return CosmosRecordStore.from_settings(s, clock=self.clock)

    @cached_property
    def queue(self) -> MessageQueue:
        """Message queues: SQLite locally, Service Bus in Azure."""
        s = self.settings
        if s.backend == "local":
            from shared.adapters.local.sqlite_queue import SqliteQueue

            return SqliteQueue(self.data_dir / s.region / "queue.sqlite", queue_max_deliveries=s.queue_max_deliveries())
        from shared.adapters.azure.service_bus import ServiceBusQueue

        return ServiceBusQueue.from_settings(s)

    @cached_property
    def local_keys(self):
        from shared.adapters.local.signing import LocalSigningKeys

        return LocalSigningKeys(self.data_dir / "keys").ensure()

    @cached_property
    def token_verifier(self) -> TokenVerifier:
        from shared.adapters.tokens import JwtVerifier, LocalJwksSource, RemoteJwksSource

        s = self.settings
        source = RemoteJwksSource(s.auth_jwks_url) if s.auth_jwks_url else LocalJwksSource(self.local_keys.jwks_path)
        return JwtVerifier(
            source,
            issuer=[s.auth_issuer, *s.auth_issuers],
            audience=[s.auth_audience, *s.auth_audiences],
            algorithms=s.auth_algorithms,
            leeway=s.auth_leeway_seconds,
            max_lifetime=s.auth_max_token_lifetime_seconds,
        )

    @cached_property
    def console_signin(self) -> ConsoleSignIn | None:
        """The console's Entra ID sign-in (OpenID Connect through msal) on the azure
        backend; None locally, where the console lists the seeded organisations instead,
        and in Azure until VIGIL_CONSOLE_CLIENT_ID names the console's app registration."""
        s = self.settings
        if s.backend != "azure" or not s.console_client_id:
            return None
        from shared.adapters.azure.console_signin import MsalConsoleSignIn

        return MsalConsoleSignIn.from_settings(s)

    @cached_property
    def page_tokens(self):
        """Seals continuation tokens to the listing that gave them (shared/adapters/page_tokens.py)."""
        from shared.adapters.page_tokens import page_tokens_from_settings

        s = self.settings
        return page_tokens_from_settings(s.page_token_key, backend=s.backend, key_dir=self.data_dir / "keys")

    @cached_property
    def console_sessions(self):
        """Seals and opens the console's signed session cookies (shared/adapters/console_sessions.py)."""
        from shared.adapters.console_sessions import sessions_from_settings

        return sessions_from_settings(self.settings, key_dir=self.data_dir / "keys")

    @cached_property
    def checkpoint_store(self) -> CheckpointStore:
        """Write-once chain checkpoints: files under <data_dir>/<region>/checkpoints locally,
        the immutable `audit-checkpoints` container in Azure."""
        from datetime import timedelta

        from shared import names
        from shared.adapters.checkpoints import BlobCheckpointStore

        s = self.settings
        blobs: EvidenceBlobStore
        if s.backend == "local" and not s.evidence_blob_connection_string:
            from shared.adapters.local.file_evidence import FileEvidenceStore

            blobs = FileEvidenceStore(self.data_dir / s.region / "checkpoints", clock=self.clock)
        else:
            from shared.adapters.azure.blob_evidence import AzureBlobEvidenceStore

            blobs = AzureBlobEvidenceStore.from_settings(s, evidence_container=names.BLOB_CONTAINERS["audit_checkpoints"])
        longest_audit_months = max(s.retention_audit_months, *s.retention_bounds_months.get("audit", [0]))
        return BlobCheckpointStore(blobs, self.clock, keep=timedelta(days=31 * longest_audit_months))

    @cached_property
    def templates(self) -> TemplateRenderer:
        """Email bodies and case summaries from Jinja2 templates (the same everywhere)."""
        from shared.adapters.templates import JinjaTemplates

        return JinjaTemplates()

    @cached_property
    def webhooks(self):
        """Signed alert delivery over HTTP (the same adapter locally and in Azure)."""
        from shared.adapters.webhooks import HttpWebhookSender

        return HttpWebhookSender(allow_private_networks=self.settings.webhook_allow_private_networks)

    @cached_property
    def mail(self):
        """Mail: `.eml` files in <data_dir>/outbox locally, SendGrid in Azure."""
        s = self.settings
        provider = s.mail_provider if s.mail_provider != "auto" else ("outbox" if s.backend == "local" else "sendgrid")
        if provider == "outbox":
            from shared.adapters.local.outbox_mail import OutboxMail

            return OutboxMail(self.data_dir / "outbox")
        from shared.adapters.azure.sendgrid_mail import SendGridMail

        return SendGridMail.from_settings(s)

    @cached_property
    def delivery_events(self) -> DeliveryEventVerifier:
        """SendGrid's signed event webhook check (the same locally and in Azure)."""
        from shared.adapters.azure.sendgrid_events import SendGridEventVerifier

        return SendGridEventVerifier()

    @cached_property
    def evidence_blobs(self):
        """Write-once evidence bytes: files under <data_dir>/<region>/evidence locally, Blob Storage in Azure."""
        s = self.settings
        if s.backend == "local" and not s.evidence_blob_connection_string:
            from shared.adapters.local.file_evidence import FileEvidenceStore

            return FileEvidenceStore(self.data_dir / s.region / "evidence", clock=self.clock)
        from shared.adapters.azure.blob_evidence import AzureBlobEvidenceStore

        return AzureBlobEvidenceStore.from_settings(s)

    @cached_property
    def court_documents(self) -> CourtDocumentRenderer:
        """Court documents as PDF (fpdf2, pure Python: the same everywhere)."""
        from shared.adapters.pdf_documents import FpdfDocuments

        return FpdfDocuments()

    @cached_property
    def package_store(self):
        """Court packages built for a share: files under <data_dir>/<region>/packages
        locally, the `packages` container (no immutability) in Azure."""
        from shared import names

        s = self.settings
        if s.backend == "local" and not s.evidence_blob_connection_string:
            from shared.adapters.local.file_evidence import FileEvidenceStore

            return FileEvidenceStore(self.data_dir / s.region / "packages", clock=self.clock)
        from shared.adapters.azure.blob_evidence import AzureBlobEvidenceStore

        return AzureBlobEvidenceStore.from_settings(s, evidence_container=names.BLOB_CONTAINERS["packages"], immutable=False)

    @cached_property
    def archives(self) -> ArchiveWriter:
        """Zip archives streamed as they are written (court packages)."""
        from shared.adapters.zipstream import ZipStream

        return ZipStream()
