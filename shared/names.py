"""Names shared by the code and the infrastructure: queues, blob containers, timers.

The Bicep under `infra/` declares exactly these (tests/infra/test_consistency.py
checks both ways), so add a queue, container or timer here and the check tells you
what the templates still lack.

- `QUEUES`: logical name -> Service Bus queue name. Each queue name is also an app
  setting (`queue_setting(logical)`, e.g. `QUEUE_D2P_DISPATCH`) so a trigger can
  bind with `queue_name="%QUEUE_D2P_DISPATCH%"`.
- `DUPLICATE_DETECTION`: logical queues whose consumers rely on Service Bus
  duplicate detection (send with `message_id` = a stable key). This can only be set
  when a queue is created.
- `BLOB_CONTAINERS`: logical name -> blob container name on the evidence account.
- `TIMERS`: job name -> app setting holding its six-field NCRONTAB schedule (UTC,
  seconds first); bind with `schedule="%SCHEDULE_RETENTION%"`.
- `SERVICE_BUS_CONNECTION`: prefix of the identity-based connection settings
  (`<prefix>__fullyQualifiedNamespace`, `__credential`, `__clientId`) for triggers.
"""

from __future__ import annotations

QUEUES: dict[str, str] = {
    "d2p_dispatch": "d2p-dispatch",
    "anpr_alerts": "anpr-alerts",
    "webhook_deliveries": "webhook-deliveries",
    # One message per uploaded video: probe, playable copy, poster, thumbnails.
    "evidence_video": "evidence-video",
    "footage_mail": "footage-mail",
    # Lookouts: one message per recipient store's mailbox or webhook.
    "lookout_deliveries": "lookout-deliveries",
    # Court packages: one message per package to build into the packages container.
    "court_packages": "court-packages",
}

# One report reaches one force once: the dispatcher sends with a stable message id.
# A video is processed once: the outbox may resend its message, the queue drops the copy.
# A court package is built once: a reader polling while it is built sends the same message id.
DUPLICATE_DETECTION: frozenset[str] = frozenset({"d2p_dispatch", "evidence_video", "lookout_deliveries", "court_packages"})

BLOB_CONTAINERS: dict[str, str] = {
    "evidence": "evidence",
    "evidence_staging": "evidence-staging",
    "packages": "packages",
    # Audit chain checkpoints, write-once (docs/audit.md).
    "audit_checkpoints": "audit-checkpoints",
}

TIMERS: dict[str, str] = {
    "outbox-relay": "SCHEDULE_OUTBOX_RELAY",
    "d2p-unacknowledged": "SCHEDULE_D2P_UNACKNOWLEDGED",
    "anpr-expiry": "SCHEDULE_ANPR_EXPIRY",
    "retention": "SCHEDULE_RETENTION",
    "evidence-verify": "SCHEDULE_EVIDENCE_VERIFY",
    "staging-sweep": "SCHEDULE_STAGING_SWEEP",
    "evidence-settle": "SCHEDULE_EVIDENCE_SETTLE",
    "expiry-sweep": "SCHEDULE_EXPIRY_SWEEP",
    "audit-checkpoint": "SCHEDULE_AUDIT_CHECKPOINT",
    "audit-checkpoint-due": "SCHEDULE_AUDIT_CHECKPOINT_DUE",
    "audit-verify": "SCHEDULE_AUDIT_VERIFY",
    "package-share-sweep": "SCHEDULE_PACKAGE_SHARE_SWEEP",
    "footage-reminders": "SCHEDULE_FOOTAGE_REMINDERS",
}

SERVICE_BUS_CONNECTION = "ServiceBusConnection"


def queue_setting(logical: str) -> str:
    """The app setting that holds the name of queue `logical` (e.g. QUEUE_D2P_DISPATCH)."""
    if logical not in QUEUES:
        raise KeyError(logical)
    return "QUEUE_" + logical.upper()


def binding(setting: str) -> str:
    """A binding expression that the Functions host resolves from an app setting."""
    return f"%{setting}%"
