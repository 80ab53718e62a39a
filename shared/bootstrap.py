"""The composition root: the one place that chooses adapters from settings.

Everything is built lazily on first use: in Azure, FastAPI's lifespan runs only on
the first HTTP request, never before a timer or queue trigger, so nothing may depend
on it having run.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from functools import cached_property

from shared.bootstrap_adapters import AdapterBuilders
from shared.evidence_ports import CheckpointStore, EvidenceBlobStore
from shared.ports import Clock, ConsoleSignIn, MailSender, MessageQueue, RecordStore, TokenVerifier, WebhookSender
from shared.settings import Settings, get_settings


class Container(AdapterBuilders):
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
    def audit(self):
        from shared.services.audit import AuditTrail
        from shared.services.checkpoints import ChainCheckpoints

        checkpoints = ChainCheckpoints(self.checkpoint_store, self.records, self.chain_keys, self.clock)
        return AuditTrail(self.records, self.clock, self.chain_keys, checkpoints, shards=self.settings.audit_chain_shards)

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
            "lookout": s.retention_lookout_months,
            "referral": s.retention_referral_months,
            "crime_group": s.retention_crime_group_months,
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
                bus=self.bus,  # persons of interest: a contest suspends listings
            )
        )

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
                # Evaluation: acknowledgements and outcomes move the force's counters.
                bus=self.bus,
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

    # ---- persons of interest ----
    @cached_property
    def offenders(self):
        """Persons of interest, one attribute per use case (`container.offenders.profiles.get`)."""
        from shared.services.offenders import OffenderDeps, Offenders

        return Offenders(
            OffenderDeps(
                records=self.records,
                clock=self.clock,
                directory=self.directory,
                audit=self.audit,
                incidents=self.incidents,
                retention_months=self.settings.retention_poi_image_months,
                bus=self.bus,  # a review answers the contest's subject request
            )
        )

    # ---- intelligence: rankings, networks, groups ----
    @cached_property
    def intel(self):
        """Repeat offending, networks and crime groups (`container.intel.ranking.rank`)."""
        from shared.services.intel import Intel, IntelDeps

        return Intel(IntelDeps(records=self.records, clock=self.clock, directory=self.directory, audit=self.audit))

    @cached_property
    def referrals(self):
        """Referrals to a national unit, one attribute per use case (`container.referrals.create.create`)."""
        from shared.services.referrals import ReferralDeps, Referrals

        return Referrals(
            ReferralDeps(
                records=self.records,
                clock=self.clock,
                directory=self.directory,
                audit=self.audit,
                incidents=self.incidents,
                region=self.settings.region,
            )
        )

    @cached_property
    def outbox(self):
        """Messages written with the change that owes them, relayed to their queues."""
        from shared.services.outbox import Outbox

        return Outbox(records=self.records, queue=self.queue, clock=self.clock, bus=self.bus)

    # Dead letters.
    @cached_property
    def dead_letters(self):
        """Queue messages no host will retry, recorded or held by their queue, in one list."""
        from shared.services.dead_letters import DeadLetters

        return DeadLetters(records=self.records, queue=self.queue, clock=self.clock)

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
            package_store=lambda: self.package_store,  # court packages built once, served from storage
        )
        return Evidence.build(deps)

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

    # ---- network ranges ----------------------------------------------
    @cached_property
    def network(self):
        """Where an organisation's people and devices may call from, and the check every
        signed-in request passes (`container.network.gate.admit`)."""
        from shared.services.network import Network, NetworkDeps

        return Network(NetworkDeps(records=self.records, clock=self.clock, audit=self.audit))

    # ---- lookouts ----
    @cached_property
    def lookouts(self):
        """Lookouts to nearby stores, one attribute per use case (`container.lookouts.issue.issue`)."""
        from shared.services.lookouts import LookoutDeps, Lookouts

        s = self.settings
        return Lookouts(
            LookoutDeps(
                records=self.records,
                clock=self.clock,
                directory=self.directory,
                audit=self.audit,
                outbox=self.outbox,
                mail=self.mail,
                webhooks=self.webhooks,
                settings=s,
                evidence_blobs=lambda: self.evidence_blobs,
                region_base_url=s.region_base_urls.get(s.region, ""),
            )
        )

    # ---- go-live (checklist and DPIA) ----
    @cached_property
    def go_live(self):
        """The go-live checklist and the DPIA from the live configuration (`container.go_live.dpia.generate`)."""
        from shared.services.go_live import GoLive, GoLiveDeps

        return GoLive(
            GoLiveDeps(
                records=self.records,
                clock=self.clock,
                directory=self.directory,
                audit=self.audit,
                retention=self.retention.deps,
                documents=self.court_documents,
                settings=self.settings,
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
        # Key Vault references: which settings still hold the reference
        # text, each taken as not configured until the app restarts with it resolved.
        unresolved = self.settings.unresolved_key_vault_references
        checks["key_vault_references"] = "ok" if not unresolved else "not resolved: " + ", ".join(unresolved)
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
