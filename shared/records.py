"""The catalogue of record collections and the fields each can be queried on.

Both backends read this: the local adapter makes one SQLite table per collection
with a column and index per field (a side table for list fields); the Azure
adapter makes one Cosmos container per collection and the Bicep declares the same
containers (`tests/infra/test_consistency.py` checks). A service may only filter
or order on fields listed here, so every query has an index behind it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

from shared.domain.incident_ids import incident_bucket


@dataclass(frozen=True)
class Collection:
    name: str
    # Scalar fields copied to indexed columns (local) and named in the indexing policy (Cosmos).
    indexed: tuple[str, ...] = ()
    # List-valued fields filterable with `contains`.
    indexed_lists: tuple[str, ...] = ()
    # Composite (field, field) orderings needing their own index.
    composite: tuple[tuple[str, ...], ...] = ()
    # Items carry `expires_at`; Cosmos sets `ttl` from it and the container has defaultTtl -1.
    expires: bool = False
    # Cosmos partitioning. `tenantId` alone unless a tenant can outgrow 20 GB, when the
    # partition key is hierarchical (tenantId then a time bucket).
    hierarchical_bucket: str | None = None
    # Or a bucket read from the id itself (None for an id that names none: kept in the
    # tenant's own partition), so a read by id stays a point read.
    id_bucket: Callable[[str], str | None] | None = None
    # Fields kept out of the Cosmos index (large free text).
    unindexed: tuple[str, ...] = field(default=())
    # Fields also queried across every tenant (timer sweeps): indexed without the tenant prefix.
    global_indexed: tuple[str, ...] = ()
    # Fields filtered or ordered on only together with an equality on the first field of a
    # composite (a read search always names the plate): a column but no index of their own
    # locally, because every extra b-tree is paid on each of thousands of inserts a second.
    filter_only: tuple[str, ...] = ()

    @property
    def bucketed(self) -> bool:
        """Whether one tenant's items span several partitions, so a tenant-wide query
        cannot be confined to one partition key."""
        return self.hierarchical_bucket is not None or self.id_bucket is not None

    @cached_property
    def sweep_fields(self) -> tuple[str, ...]:
        return self.global_indexed + (("expires_at",) if self.expires and "expires_at" not in self.global_indexed else ())

    @cached_property
    def keyset_composites(self) -> tuple[tuple[str, ...], ...]:
        """Every ordering a query can ask for, with `id` last: keyset paging sorts ties by id,
        and Cosmos serves an ORDER BY on two or more fields only from a composite index."""
        return tuple((f, "id") for f in self.all_indexed) + tuple((*c, "id") for c in self.composite if len(c) == 2)

    @cached_property
    def all_indexed(self) -> tuple[str, ...]:
        extra = ("expires_at",) if self.expires and "expires_at" not in self.indexed else ()
        return self.indexed + self.filter_only + extra


ORGANISATIONS = Collection("organisations", indexed=("kind", "idp_tenant_id", "home_region"))
STORES = Collection("stores", indexed=("organisation_id", "force_id"))
SHARING = Collection("sharing", indexed=("partner_id", "owner_id"))
# Who acts for which of a retailer's stores (tenant = the retailer): members (people, by
# Entra object id) and registered camera systems (by client id), id "<kind>:<subject>".
STORE_ACCESS = Collection("store_access", indexed=("kind",), indexed_lists=("stores",))
# A national retailer outgrows 20 GB of incidents in about two years on Cosmos: each new
# incident's id names its partition bucket (its month, or a hash bucket for an id derived
# from an external reference), so reads by id stay point reads.
INCIDENTS = Collection(
    "incidents",
    id_bucket=incident_bucket,
    indexed=("store_id", "category", "occurred_at", "reference", "created_at", "force_id"),
    indexed_lists=("plates", "offender_ids"),
    composite=(("store_id", "occurred_at"), ("category", "occurred_at")),
    unindexed=("narrative", "witnesses", "persons", "goods"),
)
INCIDENT_VERSIONS = Collection("incident_versions", indexed=("incident_id", "version"), unindexed=("snapshot",))
# What a keyed request created (`resource`, e.g. "incident/<id>"), never a copy of it: the
# key is found by resource when that record is erased.
IDEMPOTENCY = Collection("idempotency", indexed=("resource",), expires=True)
# A national retailer's audit outgrows 20 GB in a few months on Cosmos: bucketed by month
# (estimate in docs/partitions.md).
AUDIT = Collection(
    "audit",
    indexed=("entity", "seq", "chain", "at", "actor_org"),
    composite=(("chain", "seq"),),
    hierarchical_bucket="at",
    global_indexed=("at",),  # retention: what is due in every organisation, in one query
)
# Per-incident access for a partner beyond sharing agreements (a D2P dispatch to a force):
# kept in the partner's partition so "may this force see incident X" is one point read.
ACCESS_GRANTS = Collection("access_grants", indexed=("owner_org", "incident_id"))
# ---- retention and rights ----
# Region schedule in the platform partition (id "region"), an organisation's overrides in
# its own (id "organisation"); every change also kept as a version.
RETENTION_SCHEDULES = Collection("retention_schedules")
RETENTION_SCHEDULE_VERSIONS = Collection("retention_schedule_versions", indexed=("scope", "version"), composite=(("scope", "version"),))
# One entry per swept record (tenant = owner org): the sweep asks "lane = L and basis_at <=
# cutoff", so its cost follows what is due; lane "held" takes an entry out of every sweep.
RETENTION_INDEX = Collection(
    "retention_index",
    indexed=("lane", "basis_at", "month", "entity_id"),
    composite=(("lane", "basis_at"),),
    global_indexed=("basis_at",),  # the sweep asks every organisation at once
)
LEGAL_HOLDS = Collection("legal_holds", indexed=("incident_id", "status"))
TOMBSTONES = Collection("tombstones", indexed=("entity_id", "type", "deleted_at"))
# Deleted-record counts per (month, store, category): statistics survive deletion.
RETENTION_COUNTS = Collection("retention_counts", indexed=("month",))
# Named persons of incidents by folded name (tenant = owner org), for subject requests.
PERSON_INDEX = Collection("person_index", indexed=("name_key", "incident_id"))
SUBJECT_REQUESTS = Collection("subject_requests", indexed=("status", "received_at"), unindexed=("name", "when_and_where"))
SUBJECT_TASKS = Collection("subject_tasks", indexed=("request_id", "status", "due_at"), unindexed=("name", "matches"))
CHAIN_HEADS = Collection("chain_heads")
# Evidence files of an incident, tenant = the reporting organisation.
EVIDENCE = Collection(
    "evidence", indexed=("incident_id", "last_verified_at", "pending_since"), global_indexed=("last_verified_at", "pending_since")
)
# Chain-of-custody events (tenant = the evidence owner), one hash chain per item ("custody/<id>").
CUSTODY = Collection("custody", indexed=("chain", "seq", "evidence_id"), composite=(("chain", "seq"),))
# Resumable evidence uploads in progress (tenant = the uploading organisation).
EVIDENCE_UPLOADS = Collection("evidence_uploads", indexed=("incident_id",), expires=True)
# Integrity alerts raised by the daily evidence verification (tenant = the evidence owner).
EVIDENCE_ALERTS = Collection("evidence_alerts", indexed=("evidence_id", "raised_at", "status"))
# Direct to police. A force's rules (tenant = force): "current" plus one doc per version.
D2P_RULES = Collection("d2p_rules", indexed=("version",))
# A retailer's D2P settings (tenant = retailer): automatic sending.
D2P_SETTINGS = Collection("d2p_settings")
# The latest eligibility evaluation of an incident (tenant = retailer, id = incident id).
D2P_EVALUATIONS = Collection("d2p_evaluations", indexed=("incident_id",))
# One dispatch of one incident to one force (tenant = retailer, id = "<incident>.<force>").
DISPATCHES = Collection(
    "dispatches",
    indexed=("incident_id", "force_id", "status", "created_at", "sent_at", "acknowledged_at", "crime_reference", "email_body_kept"),
    global_indexed=("status", "acknowledged_at"),
    # Retention: email bodies still kept, oldest acknowledgement first. Evaluation: a force's
    # reports received on some days are counted on (force_id, sent_at), never scanned.
    composite=(("email_body_kept", "acknowledged_at"), ("force_id", "sent_at")),
)
# Transactional outbox: messages written with the change that causes them (tenant = retailer).
OUTBOX = Collection("outbox", indexed=("created_at",), global_indexed=("created_at",))
# Mail provider events already recorded (tenant = retailer, id = digest of the provider's
# event id), so a replayed or re-sent webhook batch records each event once; they expire.
DELIVERY_EVENTS = Collection("delivery_events", expires=True)
# Home Office outcome codes a force records on an incident over time (tenant = retailer).
OUTCOMES = Collection("outcomes", indexed=("incident_id", "force_id", "recorded_at"))
# Force evaluation (tenant = force). The other channels' figures a force uploads, as
# aggregates only: id "<channel>.<from>.<to>" is the current version, "<id>.v<n>" each one.
CHANNEL_FIGURES = Collection("channel_figures", indexed=("channel", "period_from", "period_to", "current"))
# D2P's side of the evaluation, one counter per force per UTC day reports reached its inbox
# (id = the day): acknowledgements with their minutes to record, latest outcome codes.
D2P_COUNTERS = Collection("d2p_counters", indexed=("day",))
# ANPR. Plate reads (tenant = the camera's retailer, id from store, camera, plate
# and time so a re-sent read is stored once); they expire from birth.
# A large retailer outgrows 20 GB of reads in a month or two on Cosmos: bucketed by month.
ANPR_READS = Collection(
    "anpr_reads",
    filter_only=("plate", "captured_at", "store_id"),
    composite=(("plate", "captured_at"),),
    expires=True,
    hierarchical_bucket="captured_at",
)
# Vehicles of interest (tenant = the retailer or force that listed it, id = normalised plate).
VEHICLES = Collection("vehicles", indexed=("plate", "until"))
# Hits: a read matching a vehicle of interest (tenant = the read's retailer). Never expire with
# the read; kept with the incidents they link (retention finds them by incident id).
ANPR_HITS = Collection(
    "anpr_hits",
    indexed=("captured_at", "store_id", "force_id", "vehicle_owner", "plate", "linked"),
    indexed_lists=("incident_ids",),
    # Retention: hits linked to no incident, oldest first (in every organisation at once).
    composite=(("linked", "captured_at"),),
    global_indexed=("captured_at",),
)
# Who is alerted about hits (tenant = the subscribing organisation).
ALERT_SUBSCRIPTIONS = Collection("alert_subscriptions", indexed=("force_area", "created_at"), indexed_lists=("stores",))
# One alert to one subscription over one channel (tenant = the subscribing organisation).
ALERT_DELIVERIES = Collection("alert_deliveries", indexed=("subscription_id", "hit_id", "status", "created_at"))
# An organisation's ANPR settings (tenant = the organisation, id "settings"): read retention.
ANPR_SETTINGS = Collection("anpr_settings")
SEQUENCES = Collection("sequences")
# Court packages shared with a named recipient outside Vigil (tenant = the incident's
# retailer, so they go with the incident; id = share id). The link is found by the hash of
# its token; the sweep finds built packages due for deletion by `package_until`.
PACKAGE_SHARES = Collection(
    "package_shares",
    indexed=("incident_id", "force_id", "created_at", "token_hash", "package_until"),
    global_indexed=("token_hash", "package_until"),
    unindexed=("accesses", "manifest_files"),
)

# A force's request to a store for footage (tenant = the store's retailer). `due_at` is the
# deadline while open (the reminder timer's sweep); `retention_basis` starts its retention.
FOOTAGE_REQUESTS = Collection(
    "footage_requests",
    indexed=("force_id", "store_id", "status", "created_at", "due_at", "retention_basis"),
    global_indexed=("due_at", "retention_basis"),
)

# ---- network ranges ----
# The addresses an organisation's staff and devices may use (tenant = the organisation):
# "current" plus one doc per version, every change audited.
NETWORK_RANGES = Collection("network_ranges", indexed=("version",))
# ---- persons of interest ----
# An organisation's profile of a person of interest (tenant = the organisation, id = the
# offender_id its incident persons carry). `name_key` is the folded name (suggestions).
OFFENDERS = Collection(
    "offenders",
    indexed=("status", "review_at", "expires_at", "name_key"),
    indexed_lists=("incident_ids", "plates"),
    global_indexed=("expires_at",),  # retention: profiles past their expiry in every organisation
)
# Every version of a profile (merge, unmerge and revert restore from them), tenant = the organisation.
OFFENDER_VERSIONS = Collection("offender_versions", indexed=("offender_id", "version"), unindexed=("snapshot",))
# Linking suggestions an investigator rejected, remembered so they are not made again
# (tenant = the organisation, id "<incident>.<person index>.<offender>").
OFFENDER_REJECTIONS = Collection("offender_rejections", indexed=("incident_id", "offender_id"))
# ---- intelligence (repeat offending, networks, groups) ----
# Repeat-offending read model (tenant = the organisation holding the person): per person and
# scope ("org", or "force:<id>" for one force area) the scored facts of their incidents and
# `rank_key`, so a ranking is one read ordered by it; "incident:<id>" documents remember
# the persons an incident named when last indexed.
OFFENDER_STANDING = Collection(
    "offender_standing",
    indexed=("scope", "rank_key", "person_id"),
    composite=(("scope", "rank_key"),),
    unindexed=("incidents", "areas", "persons"),
)
# Organised crime groups (tenant = the organisation keeping the record): members (persons of
# interest), linked incidents, reason and review date.
CRIME_GROUPS = Collection(
    "crime_groups", indexed=("review_at", "updated_at"), indexed_lists=("member_ids", "incident_ids"), global_indexed=("review_at",)
)

# ---- lookouts ----
# Lookouts to nearby stores (tenant = the issuer): store staff find theirs by `store_ids`;
# the retention lane deletes them from `retention_basis` (expiry or withdrawal).
LOOKOUTS = Collection(
    "lookouts",
    indexed=("issued_at", "offender_id", "plate", "retention_basis"),
    indexed_lists=("store_ids",),
    global_indexed=("retention_basis",),
)
# One per (lookout, store) a member of staff acknowledged (tenant = the issuer: it goes with the lookout).
LOOKOUT_ACKNOWLEDGEMENTS = Collection("lookout_acknowledgements", indexed=("lookout_id", "acknowledged_at"))
# Go-live: an organisation's generated DPIA versions (tenant = the organisation, id the
# zero-padded version) and its head (id "head": latest version, the approval in force).
DPIA_VERSIONS = Collection("dpia_versions", indexed=("version",), unindexed=("markdown", "facts"))
# Referrals to a national unit (tenant = the unit; the referrer finds its own by
# `referrer_org`). `incident_ids` finds the referrals an erased incident must leave.
REFERRALS = Collection(
    "referrals",
    indexed=("referrer_org", "status", "created_at", "retention_basis"),
    indexed_lists=("incident_ids",),
    global_indexed=("retention_basis",),
    unindexed=("summary", "incidents", "persons", "vehicles", "other_forces", "withheld", "questions", "history"),
)
# Dead letters: queue messages a host will not retry, recorded with their reason when the
# host cannot dead-letter them on the queue itself (tenant = the logical queue); they expire.
DEAD_LETTERS = Collection("dead_letters", indexed=("dead_lettered_at",), expires=True)

ALL: dict[str, Collection] = {
    c.name: c
    for c in (
        ORGANISATIONS,
        STORES,
        SHARING,
        STORE_ACCESS,
        INCIDENTS,
        INCIDENT_VERSIONS,
        IDEMPOTENCY,
        AUDIT,
        ACCESS_GRANTS,
        CHAIN_HEADS,
        SEQUENCES,
        PACKAGE_SHARES,
        RETENTION_SCHEDULES,
        RETENTION_SCHEDULE_VERSIONS,
        RETENTION_INDEX,
        LEGAL_HOLDS,
        TOMBSTONES,
        RETENTION_COUNTS,
        PERSON_INDEX,
        SUBJECT_REQUESTS,
        SUBJECT_TASKS,
        EVIDENCE,
        CUSTODY,
        EVIDENCE_UPLOADS,
        EVIDENCE_ALERTS,
        D2P_RULES,
        D2P_SETTINGS,
        D2P_EVALUATIONS,
        DISPATCHES,
        OUTBOX,
        DELIVERY_EVENTS,
        OUTCOMES,
        ANPR_READS,
        VEHICLES,
        ANPR_HITS,
        ALERT_SUBSCRIPTIONS,
        ALERT_DELIVERIES,
        ANPR_SETTINGS,
        FOOTAGE_REQUESTS,
        NETWORK_RANGES,
        REFERRALS,
        OFFENDERS,
        OFFENDER_VERSIONS,
        OFFENDER_REJECTIONS,
        LOOKOUTS,
        LOOKOUT_ACKNOWLEDGEMENTS,
        DPIA_VERSIONS,
        CHANNEL_FIGURES,
        D2P_COUNTERS,
        OFFENDER_STANDING,
        CRIME_GROUPS,
        # Dead letters.
        DEAD_LETTERS,
    )
}
