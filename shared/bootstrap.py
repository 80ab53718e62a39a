"""The composition root: the one place that chooses adapters from settings.

Everything is built lazily on first use: in Azure, FastAPI's lifespan runs only on
the first HTTP request, never before a timer or queue trigger, so nothing may depend
on it having run.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from functools import cached_property
from pathlib import Path

from shared.ports import (
    ArchiveWriter,
    CheckpointStore,
    Clock,
    ConsoleSignIn,
    CourtDocumentRenderer,
    DeliveryEventVerifier,
    EvidenceBlobStore,
    MailSender,
    MessageQueue,
    RecordStore,
    TemplateRenderer,
    TokenVerifier,
    WebhookSender,
)
from shared.settings import Settings, get_settings


class Container:
    """Builds each adapter and service once, on first use.

    Adapters given as arguments are used as they are (a test passes fakes: a fixed
    clock, an in-memory mail sender); the others are built from settings.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        clock: Clock | None = None,
        records: RecordStore | None = None,
        queue: MessageQueue | None = None,
        mail: MailSender | None = None,
        evidence_blobs: EvidenceBlobStore | None = None,
        checkpoint_store: CheckpointStore | None = None,
        webhooks: WebhookSender | None = None,
        token_verifier: TokenVerifier | None = None,
        console_signin: ConsoleSignIn | None = None,
    ):
        self.settings = settings or get_settings()
        self._lock = threading.RLock()
        given = {
            "clock": clock,
            "records": records,
            "queue": queue,
            "mail": mail,
            "evidence_blobs": evidence_blobs,
            "checkpoint_store": checkpoint_store,
            "webhooks": webhooks,
            "token_verifier": token_verifier,
            "console_signin": console_signin,
        }
        # A cached_property whose value is already in the instance is never computed.
        self.__dict__.update({name: adapter for name, adapter in given.items() if adapter is not None})

    # ---- adapters --------------------------------------------------------------
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

    # ---- services --------------------------------------------------------------
    @cached_property
    def write_quota(self):
        """Writes each principal may make through this process (per instance, in memory)."""
        from shared.services.quotas import WriteQuota

        return WriteQuota.from_settings(self.settings)

    @cached_property
    def directory(self):
        from shared.services.directory import Directory

        return Directory(self.records, region=self.settings.region, region_base_urls=self.settings.region_base_urls)

    @cached_property
    def chain_keys(self):
        """The audit and custody chain keys: from settings (Key Vault in Azure), or on the
        local backend a key made once under <data_dir>/keys."""
        from shared.domain.audit import ChainKeys

        s = self.settings
        if s.audit_chain_keys:
            keys = {kid: secret.get_secret_value().encode() for kid, secret in s.audit_chain_keys.items()}
            if not s.audit_chain_key_id:
                raise ValueError("VIGIL_AUDIT_CHAIN_KEY_ID must name one of VIGIL_AUDIT_CHAIN_KEYS")
            return ChainKeys(keys, s.audit_chain_key_id)
        if s.backend != "local":
            raise ValueError("VIGIL_AUDIT_CHAIN_KEYS is required on the azure backend (a Key Vault reference: docs/audit.md)")
        from shared.adapters.local.chain_key import LOCAL_KEY_ID, ensure_local_chain_key

        return ChainKeys(ensure_local_chain_key(self.data_dir / "keys"), s.audit_chain_key_id or LOCAL_KEY_ID)

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
    def audit(self):
        from shared.services.audit import AuditTrail
        from shared.services.checkpoints import ChainCheckpoints

        checkpoints = ChainCheckpoints(self.checkpoint_store, self.records, self.chain_keys, self.clock)
        return AuditTrail(self.records, self.clock, self.chain_keys, checkpoints)

    @cached_property
    def incidents(self):
        from shared.services.incidents import IncidentDeps, Incidents

        return Incidents(
            IncidentDeps(
                records=self.records,
                clock=self.clock,
                directory=self.directory,
                audit=self.audit,
                bus=self.bus,
                idempotency_ttl=timedelta(hours=self.settings.idempotency_key_hours),
            )
        )

    @cached_property
    def bus(self):
        """Domain events to the handlers in shared/services/handlers.py, which reach their
        capabilities through this container."""
        from shared.services.handlers import HANDLERS
        from shared.services.messagebus import MessageBus

        return MessageBus(services=self, handlers=HANDLERS)

    @cached_property
    def retention(self):
        """Schedules, the index, the sweep of the lanes in shared/services/handlers.py, holds, tombstones."""
        from shared.services.handlers import RETENTION_LANES
        from shared.services.retention import Retention, RetentionDeps

        s = self.settings
        defaults = {
            "incident": s.retention_incident_months,
            "incident_police_case": s.retention_incident_police_case_months,
            "poi_image": s.retention_poi_image_months,
            "evidence": s.retention_evidence_months,
            "anpr_hit": s.retention_anpr_hit_months,
            "d2p_email_body": s.retention_d2p_email_body_months,
            "footage_request": s.retention_footage_request_months,
            "audit": s.retention_audit_months,
        }
        deps = RetentionDeps(
            records=self.records,
            clock=self.clock,
            directory=self.directory,
            audit=self.audit,
            region=s.region,
            defaults=defaults,
            bounds=s.retention_bounds_months,
            batch=s.retention_sweep_batch,
            schedule_delay_days=s.retention_schedule_delay_days,
            incidents=self.incidents,
            bus=self.bus,
        )
        return Retention.build(deps, RETENTION_LANES)

    @cached_property
    def subject_requests(self):
        from shared.services.subject_requests import SubjectRequestDeps, SubjectRequests

        return SubjectRequests.build(
            SubjectRequestDeps(
                records=self.records,
                clock=self.clock,
                audit=self.audit,
                retention=self.retention,
                receipt_window_days=self.settings.subject_request_receipt_window_days,
            )
        )

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
    def anpr(self):
        from shared.services.anpr import Anpr, AnprDeps

        deps = AnprDeps(
            records=self.records,
            clock=self.clock,
            directory=self.directory,
            audit=self.audit,
            incidents=self.incidents,
            queue=self.queue,
            webhooks=self.webhooks,
            settings=self.settings,
            templates=self.templates,
            mail=self.mail,
            outbox=self.outbox,
        )
        return Anpr.build(deps)

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
    def d2p(self):
        """Direct to police, one attribute per use case (`container.d2p.dispatch.send`)."""
        from shared.services.d2p import D2P, D2PDeps

        s = self.settings
        return D2P(
            D2PDeps(
                records=self.records,
                clock=self.clock,
                directory=self.directory,
                audit=self.audit,
                queue=self.queue,
                mail=self.mail,
                templates=self.templates,
                delivery_events=self.delivery_events,
                outbox=self.outbox,
                incidents=self.incidents,
                region_base_url=s.region_base_urls.get(s.region, ""),
                region=s.region,
                mail_from=s.d2p_mail_from,
                max_deliveries=s.d2p_max_deliveries,
                webhook_public_key=s.sendgrid_webhook_public_key,
                webhook_max_age_seconds=s.sendgrid_webhook_max_age_seconds,
            )
        )

    @cached_property
    def footage(self):
        """Police requests for footage, one attribute per use case (`container.footage.create.create`)."""
        from shared.services.footage import Footage, FootageDeps

        s = self.settings
        return Footage(
            FootageDeps(
                records=self.records,
                clock=self.clock,
                directory=self.directory,
                audit=self.audit,
                outbox=self.outbox,
                mail=self.mail,
                templates=self.templates,
                incidents=self.incidents,
                chain_keys=self.chain_keys,
                region_base_url=s.region_base_urls.get(s.region, ""),
                region=s.region,
                mail_from=s.d2p_mail_from,
            ),
            # Built on first upload only: asking for footage needs no evidence store.
            evidence=lambda: self.evidence,
        )

    @cached_property
    def outbox(self):
        """Messages written with the change that owes them, relayed to their queues."""
        from shared.services.outbox import Outbox

        return Outbox(records=self.records, queue=self.queue, clock=self.clock, bus=self.bus)

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
    def evidence(self):
        """The evidence locker, one attribute per use case (`evidence.uploads.put_chunk`)."""
        from shared.domain.video import VideoLimits
        from shared.services.evidence import Evidence, EvidenceDeps, EvidenceLimits
        from shared.services.evidence.image_work import ImageWork

        deps = EvidenceDeps(
            records=self.records,
            blobs=self.evidence_blobs,
            clock=self.clock,
            incidents=self.incidents,
            audit=self.audit,
            retention=self.retention.terms,
            bus=self.bus,
            limits=EvidenceLimits.from_settings(self.settings),
            templates=self.templates,
            archives=self.archives,
            image_work=ImageWork.from_settings(self.settings),
            chain_keys=self.chain_keys,
            documents=self.court_documents,
            directory=self.directory,
            region=self.settings.region,
            outbox=self.outbox,
            video=VideoLimits.from_settings(self.settings),
        )
        return Evidence.build(deps)

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
    def disclosure(self):
        """Court packages shared with prosecutors and defence (`disclosure.shares.share`)."""
        from shared.services.disclosure import Disclosure, DisclosureDeps

        s = self.settings
        return Disclosure.build(
            DisclosureDeps(
                records=self.records,
                clock=self.clock,
                evidence=self.evidence,
                incidents=self.incidents,
                audit=self.audit,
                directory=self.directory,
                mail=self.mail,
                templates=self.templates,
                packages=self.package_store,
                base_url=s.region_base_urls.get(s.region, ""),
                mail_from=s.d2p_mail_from,
            )
        )

    @cached_property
    def archives(self) -> ArchiveWriter:
        """Zip archives streamed as they are written (court packages)."""
        from shared.adapters.zipstream import ZipStream

        return ZipStream()

    @cached_property
    def sharing(self):
        from shared.services.sharing import SharingService

        return SharingService(self.records, self.clock, self.directory, self.audit)

    @cached_property
    def onboarding(self):
        """Organisations, stores, devices and store members (`container.onboarding.stores.put`)."""
        from shared.services.onboarding import Onboarding, OnboardingDeps

        s = self.settings
        return Onboarding(
            OnboardingDeps(
                records=self.records,
                clock=self.clock,
                directory=self.directory,
                audit=self.audit,
                bus=self.bus,
                region=s.region,
                region_base_urls=s.region_base_urls,
            )
        )

    def readiness(self) -> dict[str, str]:
        """Each backing store's readiness, by name: "ok" or a short reason."""
        checks = {}
        ok, why = self.records.ready()
        checks["records"] = "ok" if ok else why
        ok, why = self.mail.ready()
        checks["mail"] = "ok" if ok else why
        ok, why = self.evidence_blobs.ready()
        checks["evidence"] = "ok" if ok else why
        try:
            _ = self.chain_keys
            checks["audit_chain_keys"] = "ok"
        except ValueError as exc:
            # No audited request can be served without them: say so before one fails.
            checks["audit_chain_keys"] = str(exc)
        return checks

    def close(self) -> None:
        if "records" in self.__dict__:
            self.records.close()
        if "webhooks" in self.__dict__:
            self.webhooks.close()


_default: Container | None = None
_default_lock = threading.Lock()


def default_container() -> Container:
    """The process-wide container built from environment settings."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Container()
        return _default
