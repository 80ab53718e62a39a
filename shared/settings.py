"""Settings, read once from the environment (pydantic-settings).

Every field here must appear in `local.settings.sample.json` and in the Bicep app
settings; `tests/infra/test_consistency.py` holds the three in step.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, PrivateAttr, SecretStr, ValidatorFunctionWrapHandler, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, EnvSettingsSource, PydanticBaseSettingsSource, SettingsConfigDict

from shared.domain.imaging import DECODER_CEILING_PIXELS

Region = Literal["uk", "au", "nz", "us", "ca"]

# --- Key Vault references ---------------------------------------------
# App Service hands the app the reference text itself until it can resolve it (the role
# assignment not there yet, the secret not set, the vault unreachable).
KEY_VAULT_REFERENCE_PREFIX = "@microsoft.keyvault("


def is_unresolved_key_vault_reference(value: Any) -> bool:
    """Whether a setting's raw value is a Key Vault reference App Service has not resolved."""
    return isinstance(value, str) and value.strip().lower().startswith(KEY_VAULT_REFERENCE_PREFIX)


class _KeyVaultAwareEnvSource(EnvSettingsSource):
    """The environment, except that an unresolved reference reaches the settings as the
    plain text it is: a JSON setting (audit_chain_keys) would otherwise fail to decode and
    stop the app from starting, where it should start and say what is missing."""

    def prepare_field_value(self, field_name: str, field: FieldInfo, value: Any, value_is_complex: bool) -> Any:
        if is_unresolved_key_vault_reference(value):
            return value
        return super().prepare_field_value(field_name, field, value, value_is_complex)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VIGIL_", extra="ignore")

    # Key Vault references: one rule for every setting (the SendGrid key, the signing and
    # session keys, the audit chain keys...). A value still holding the reference counts as
    # not configured (the field keeps its default), so no adapter takes the reference text
    # for a secret; readiness names each one (unresolved_key_vault_references).
    _unresolved_key_vault_references: tuple[str, ...] = PrivateAttr(default=())

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        env = _KeyVaultAwareEnvSource(settings_cls)
        return init_settings, env, dotenv_settings, file_secret_settings

    @model_validator(mode="wrap")
    @classmethod
    def _unresolved_references_are_not_configured(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Settings:
        unresolved: list[str] = []
        if isinstance(data, dict):
            unresolved = sorted(key for key, value in data.items() if is_unresolved_key_vault_reference(value))
            data = {key: value for key, value in data.items() if key not in unresolved}
        settings = handler(data)
        settings._unresolved_key_vault_references = tuple(f"VIGIL_{key.upper()}" for key in unresolved)
        return settings

    @property
    def unresolved_key_vault_references(self) -> tuple[str, ...]:
        """Settings (as VIGIL_* names) whose Key Vault reference had not resolved when the
        settings were read: each counts as not configured."""
        return self._unresolved_key_vault_references

    backend: Literal["local", "azure"] = "local"
    region: Region = "uk"
    # Public base URL of each regional stamp, used in 421 answers and case links.
    region_base_urls: dict[str, str] = Field(
        default_factory=lambda: {
            "uk": "http://127.0.0.1:7071",
            "au": "https://au.vigil.example.net",
            "nz": "https://nz.vigil.example.net",
            "us": "https://us.vigil.example.net",
            "ca": "https://ca.vigil.example.net",
        }
    )
    data_dir: Path = Path("var")

    # Sign-in
    auth_issuer: str = "vigil-local"
    auth_audience: str = "api://vigil"
    # Further audiences and issuers accepted besides the two above (JSON lists). A v2.0
    # Entra registration issues its client id (a GUID) as aud, and api://... only when an
    # application ID URI is asked for; "{tid}" in an issuer stands for the token's tenant.
    auth_audiences: list[str] = Field(default_factory=list)
    auth_issuers: list[str] = Field(default_factory=list)
    auth_jwks_url: str = ""  # Entra ID: https://login.microsoftonline.com/{tid}/discovery/v2.0/keys
    auth_algorithms: list[str] = Field(default_factory=lambda: ["RS256"])
    auth_leeway_seconds: int = 30
    # Longest a token may live (exp - iat, and exp - now), people's and camera systems' alike (docs/tenancy.md).
    auth_max_token_lifetime_seconds: int = Field(default=24 * 3600, ge=60)

    # Console sign-in (azure backend only): OpenID Connect through the console's own Entra
    # app registration (docs/tenancy.md). Empty client id: the console offers no sign-in.
    console_client_id: str = ""
    # "organizations": people sign in from their own work tenant (each retailer and force
    # has one); a tenant id in its place admits that tenant only.
    console_authority: str = "https://login.microsoftonline.com/organizations"
    # How the console proves itself to Entra: "federated" (a token of the stamp's managed
    # identity, VIGIL_AZURE_CLIENT_ID: no secret exists) or "certificate" (below).
    console_credential: Literal["federated", "certificate"] = "federated"
    # PEM private key and certificate (a Key Vault reference), for "certificate" only.
    console_client_certificate: SecretStr = SecretStr("")

    # Network ranges (docs/security.md): where the client address of a request is read.
    # "socket": the connection's peer (local; any header a client sends is ignored).
    # "front-door": Azure Front Door's X-Azure-SocketIP, and only on requests carrying this
    # stamp's Front Door id in X-Azure-FDID; any other request is refused.
    client_address_from: Literal["socket", "front-door"] = "socket"
    front_door_id: str = ""

    # Level of Vigil's own log lines (DEBUG, INFO, WARNING, ERROR); `make run` also applies it to the process.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Telemetry: spans, logs and metrics printed on stdout when no Application Insights
    # connection string is set (shared/telemetry.py); off by default locally.
    telemetry_console: bool = False

    # Embedded backend: the most units of work one SQLite COMMIT may carry (group commit:
    # units queued for the writer share its transaction). 1 commits every unit on its own.
    sqlite_group_commit_max: int = Field(default=32, ge=1, le=1000)
    # HTTP handler threads per process (see functions/http/app.py lifespan).
    http_worker_threads: int = Field(default=8, ge=1, le=200)
    # Evidence uploads (single files and resumable chunks) streaming at once per process.
    # Each holds a thread while its body arrives: these are on top of http_worker_threads,
    # so stalled uploads never take the threads other requests need (503 past it).
    http_upload_threads: int = Field(default=8, ge=1, le=200)
    # Uploads one user, and one organisation, may have streaming at once per process (429 past either).
    http_uploads_per_user: int = Field(default=2, ge=1)
    http_uploads_per_organisation: int = Field(default=4, ge=1)
    # Request bodies: cut with 408 when nothing arrives for the idle timeout, or when, after
    # the grace period, they have averaged under the minimum rate (0: no minimum). Only time
    # spent waiting for the client counts (docs/limits.md).
    http_body_idle_timeout_seconds: float = Field(default=30.0, gt=0)
    http_body_min_bytes_per_second: int = Field(default=1024, ge=0)
    http_body_grace_seconds: float = Field(default=10.0, ge=0)
    # Writes (POST, PUT, PATCH, DELETE) per principal and process (429 past it): `burst` at
    # once, refilled at `per_minute`. ANPR camera systems (Device.Anpr) post read batches
    # all day and get their own, higher budget (docs/limits.md).
    http_write_burst: int = Field(default=300, ge=1)
    http_writes_per_minute: float = Field(default=300.0, gt=0)
    http_device_write_burst: int = Field(default=1200, ge=1)
    http_device_writes_per_minute: float = Field(default=6000.0, gt=0)
    # Identities an operator names for a bulk import ("<organisation>/<user id>", JSON list),
    # each with this budget instead of a person's (docs/limits.md, docs/integrators.md).
    http_import_principals: list[Annotated[str, Field(pattern=r"^[^/\s]+/[^\s]+$")]] = Field(default_factory=list)
    http_import_write_burst: int = Field(default=1200, ge=1)
    http_import_writes_per_minute: float = Field(default=6000.0, gt=0)

    # Bounds
    max_json_body_bytes: int = 256 * 1024
    # Request headers: fields per request and their total size (names and values); 431 past either.
    max_header_count: int = 100
    max_header_bytes: int = 16 * 1024
    max_page_size: int = 100
    # HMAC key sealing continuation tokens to their listing (route, organisation, user,
    # filters): a secret, shared by every instance of the stamp. Empty: generated under
    # <data_dir>/keys on the local backend, per process on azure (docs/limits.md).
    page_token_key: str = ""
    # The console (docs/console.md): the HMAC key signing its session cookies, shared by every
    # instance. Empty: generated under <data_dir>/keys on the local backend, per process on
    # azure (sessions then end at a restart or on another instance: set the secret).
    console_session_key: str = ""
    # A console session ends after this long without a request, and this long after sign-in.
    console_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    console_absolute_hours: int = Field(default=12, ge=1, le=24)
    # How long an Idempotency-Key answers a retry; past it the key is forgotten (and swept).
    idempotency_key_hours: int = Field(default=24, ge=1, le=168)
    default_page_size: int = 25

    # Azure records (Cosmos DB). Endpoint plus identity in Azure; a key only for the emulator.
    cosmos_endpoint: str = ""
    cosmos_key: str = ""
    cosmos_database_prefix: str = "vigil"
    cosmos_verify_tls: bool = True
    # Expiring items (ANPR reads, idempotency keys) get a Cosmos ttl this long after their
    # expires_at: the timer sweep deletes and audits them first; TTL is the backstop.
    cosmos_ttl_grace_seconds: int = 3600

    # Managed identity (user-assigned) client id for DefaultAzureCredential.
    azure_client_id: str = ""

    # Direct to police (D2P): mail, delivery webhook, retries, Service Bus.
    # "auto": .eml files in <data_dir>/outbox on the local backend, SendGrid on azure.
    mail_provider: Literal["auto", "outbox", "sendgrid"] = "auto"
    d2p_mail_from: str = "d2p@vigil.example.net"
    alert_mail_from: str = "alerts@vigil.example.net"
    sendgrid_api_key: str = ""
    sendgrid_host: str = "https://api.sendgrid.com"
    sendgrid_timeout_seconds: float = 10.0
    # SendGrid signed event webhook: base64 DER (or PEM) ECDSA P-256 verification key.
    sendgrid_webhook_public_key: str = ""
    sendgrid_webhook_max_age_seconds: int = 300
    # Backoff of a queue delivery whose handler failed (D2P mail outages above all; every
    # queue, both hosts: functions/jobs.py after_failure): full jitter over [0, min(cap, base * 2^(n-1))].
    d2p_retry_base_seconds: float = 2.0
    d2p_retry_cap_seconds: float = 300.0
    # Deliveries before a dispatch message is dead-lettered (Service Bus maxDeliveryCount).
    d2p_max_deliveries: int = 10
    # Fully qualified Service Bus namespace (<name>.servicebus.windows.net) for the adapter.
    service_bus_namespace: str = ""

    # ANPR: the default figures are still to be checked before production.
    # Per-organisation retention overrides live in the organisation's anpr_settings record, within the maximum.
    anpr_max_batch_reads: int = 1000
    anpr_max_batch_bytes: int = 8 * 1024 * 1024  # POST /anpr/reads body bound (plate patches make it larger than other JSON)
    anpr_max_patch_bytes: int = 16 * 1024
    anpr_read_retention_days: int = 30
    anpr_read_retention_max_days: int = 365  # NASPLE: reads kept at most 12 months
    anpr_search_days_without_authorisation: int = 90
    anpr_vehicle_interest_days: int = 90
    anpr_expiry_batch: int = 5000
    # Webhook alerts: attempts before dead-lettering, exponential backoff, per-attempt timeout.
    webhook_max_attempts: int = 8
    # Must equal maxDeliveryCount of the webhook-deliveries queue (app/messaging.bicep; the
    # local queue takes its limit from here): a delivery whose handler fails on this many
    # deliveries of its message is marked failed before the queue dead-letters the message.
    webhook_queue_max_deliveries: int = Field(default=10, ge=1, le=100)
    webhook_backoff_base_seconds: float = 2.0
    webhook_backoff_cap_seconds: float = 3600.0
    webhook_timeout_seconds: float = 5.0
    # Hosts a webhook may use plain http for (local receivers only); everything else needs https.
    webhook_http_hosts: list[str] = Field(default_factory=lambda: ["127.0.0.1", "localhost"])
    # Let webhooks reach loopback, private and link-local addresses (a local receiver under
    # `make run`, tests). Off: every subscription and delivery goes to public addresses only.
    webhook_allow_private_networks: bool = False

    # Retention: the default figures are still to be checked before production. Region
    # defaults in calendar months per record type; Platform.Operator may change them and
    # organisations may choose within [min, max] (retention_bounds_months).
    retention_incident_months: int = 72  # no police case: MoPI 6-year clear period
    retention_incident_police_case_months: int = 120
    retention_poi_image_months: int = 24  # after the last linked incident
    retention_evidence_months: int = 72  # blob immutability period set at upload
    retention_anpr_hit_months: int = 12  # hits linked to no incident (NASPLE: at most 12 months)
    retention_d2p_email_body_months: int = 12  # after acknowledgement
    retention_footage_request_months: int = 24  # after the request was answered, withdrawn or fell due
    retention_lookout_months: int = 1  # lookouts: after expiry or withdrawal
    retention_referral_months: int = 72  # referrals to a national unit, after their last step
    retention_crime_group_months: int = 6  # organised crime group records: after a review date passed unreviewed
    retention_audit_months: int = 120  # never shorter than the longest data period
    retention_bounds_months: dict[str, list[int]] = Field(
        default_factory=lambda: {
            "incident": [24, 120],
            "incident_police_case": [72, 240],
            "poi_image": [6, 36],
            "evidence": [24, 120],
            "anpr_hit": [1, 12],
            "d2p_email_body": [1, 24],
            "footage_request": [6, 72],
            "lookout": [1, 6],
            "referral": [24, 120],
            "crime_group": [1, 24],
            "audit": [72, 240],
        }
    )
    retention_sweep_batch: int = 100  # records deleted per unit of work by the retention timer
    # An approved change of the region's schedule takes effect this many days later; until
    # then any operator can cancel it.
    retention_schedule_delay_days: int = Field(default=7, ge=1, le=90)
    # A subject request's receipt may be recorded at most this many days back (post,
    # weekends): the statutory month runs from it, so it cannot be back-dated further.
    subject_request_receipt_window_days: int = Field(default=7, ge=0, le=31)

    # Audit and custody hash chains (docs/audit.md): HMAC-SHA256 keys by id, as JSON
    # {"<id>": "<secret of at least 32 bytes>"}, and the id that links new entries. Ids
    # retired by rotation stay listed so the entries linked with them still verify.
    # Empty on the local backend: a key is made once under <data_dir>/keys, beside the
    # token signing key and outside the records store. Required on azure (Key Vault).
    audit_chain_keys: dict[str, SecretStr] = Field(default_factory=dict)
    audit_chain_key_id: str = ""
    # A chain is also checkpointed once it has grown by this many entries since its newest
    # checkpoint (checked every minute), besides the hourly checkpoint: the entries after
    # the newest checkpoint are the ones that could be cut unnoticed (docs/audit.md).
    audit_checkpoint_every_entries: int = Field(default=1000, ge=1, le=1_000_000)
    # Audit chain shards: an organisation's trail is this many independent hash chains, so
    # concurrent audited writers rarely move the same chain head (docs/audit.md, bench
    # figures in bench/README.md). At most 64; lowering it leaves older shards verified.
    audit_chain_shards: int = Field(default=16, ge=1, le=64)

    # Evidence locker.
    evidence_max_bytes: int = 2 * 1024**3  # one file, single or resumable upload (413 past it)
    evidence_policy_locked: bool = False  # Locked immutability can never be shortened or removed
    evidence_blob_account_url: str = ""  # https://<account>.blob.core.windows.net (identity auth)
    evidence_blob_connection_string: str = ""  # Azurite only; never a real account key
    evidence_upload_session_hours: int = 24  # a resumable upload's lifetime; staging older than this is swept
    evidence_verify_sample_size: int = 200  # items re-hashed per daily verification run, least recently verified first
    evidence_image_max_bytes: int = 50 * 1024**2  # redaction and face proposals load the image in memory
    # Decoded pixels an image may have for redaction and face proposals (413 past it, from
    # the header, before decoding): 8K DCI stills (8192x4320, 35.4 MP) fit. Never above
    # OpenCV's own bound (imaging.DECODER_CEILING_PIXELS), so the two agree.
    evidence_image_max_pixels: int = Field(default=36_000_000, ge=1, le=DECODER_CEILING_PIXELS)
    # Images decoded at once per process (a 36 MP image takes about 180 MB while it is
    # worked on), how long a request waits for one before 503, and how many image jobs one
    # person may start (429 past it): `burst` at once, refilled at `per_minute`.
    evidence_image_workers: int = Field(default=2, ge=1, le=32)
    evidence_image_queue_seconds: float = Field(default=10.0, ge=0)
    evidence_image_burst: int = Field(default=20, ge=1)
    evidence_image_per_minute: float = Field(default=10.0, gt=0)
    # CCTV video pipeline (docs/evidence.md "Video"): encoder and decoder threads per job
    # (the Flex instance has 2 cores), the longest and largest video a job takes (refused
    # with a named failure past them), its wall-clock budget, the playable copy's height
    # and quality, the longest clip, and deliveries of a job message before it is failed.
    evidence_video_threads: int = Field(default=2, ge=1, le=16)
    evidence_video_max_seconds: float = Field(default=3 * 3600, gt=0)
    evidence_video_max_pixels: int = Field(default=3840 * 2160, ge=1)
    # The budget stays under host.json's functionTimeout (10 min), so a job ends with a named
    # failure rather than being killed by the host.
    evidence_video_budget_seconds: float = Field(default=540, gt=0)
    evidence_video_playable_max_height: int = Field(default=1080, ge=144, le=4320)
    evidence_video_crf: int = Field(default=23, ge=0, le=51)
    evidence_video_preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"] = "superfast"
    evidence_video_clip_max_seconds: float = Field(default=600, gt=0)
    evidence_video_max_deliveries: int = Field(default=3, ge=1, le=10)
    # Video jobs at once per process: each takes `threads` cores and about 250 MB at
    # 1080p, and the Service Bus host would otherwise start up to maxConcurrentCalls (16).
    # A job arriving while all are busy is put back on the queue a little later.
    evidence_video_workers: int = Field(default=1, ge=1, le=8)

    def queue_max_deliveries(self) -> dict[str, int]:
        """Deliveries of a message before its queue dead-letters it, per logical queue that
        has a setting for it. Both queue adapters take their limits from here, so the queue
        and the handlers that act on its last delivery cannot disagree."""
        return {
            "d2p_dispatch": self.d2p_max_deliveries,
            "webhook_deliveries": self.webhook_queue_max_deliveries,
            "evidence_video": self.evidence_video_max_deliveries,
        }


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings, read from the environment exactly once."""
    return Settings()
