"""What the D2P routes answer: every field declared, so nothing a service or the store
adds leaves by accident."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from functions.http.evaluation_schemas import EvaluationTableOut
from shared.domain.d2p import Dispatch, DispatchStatus, Outcome
from shared.domain.d2p_rules import CurrentRules, D2PSettings, Evaluation, ForceRules, RulesVersion
from shared.services.d2p.police import InboxPage


class RuleOut(BaseModel):
    rule: str
    passed: bool
    sentence: str = Field(description="On failure, what the store manager can do about it")


class RulesOut(BaseModel):
    force_id: str
    version: int
    updated_at: str
    updated_by: str
    rules: ForceRules
    etag: str = Field(description="The ETag to send as If-Match with the next change")

    @classmethod
    def of(cls, current: CurrentRules, etag: str) -> RulesOut:
        return cls(**current.model_dump(exclude={"id"}), etag=f'"{etag}"')


class RulesVersionOut(BaseModel):
    id: str
    force_id: str
    version: int
    rules: ForceRules
    at: str
    by: str


class RulesVersionsOut(BaseModel):
    items: list[RulesVersionOut]

    @classmethod
    def of(cls, versions: list[RulesVersion]) -> RulesVersionsOut:
        return cls(items=[RulesVersionOut(**v.model_dump()) for v in versions])


class HistoryEntryOut(BaseModel):
    at: str
    status: DispatchStatus
    note: str | None = None


class EmailDeliveryOut(BaseModel):
    state: str = Field(description="delivered, bounced, dropped or deferred, as the mail provider last said")
    at: str
    reason: str | None = None


class DispatchOut(BaseModel):
    id: str
    incident_id: str
    owner_org: str
    force_id: str
    reference: str
    status: DispatchStatus
    auto: bool
    rules_version: int | None = None
    created_at: str
    sent_at: str | None = None
    attempts: int
    to: str | None = None
    failure_reason: str | None = None
    last_error: str | None = None
    delivery: EmailDeliveryOut | None = Field(default=None, description="The delivery event the provider stamped latest")
    deliveries: list[EmailDeliveryOut] = Field(default=[], description="The provider's delivery events, oldest first (the last 50)")
    acknowledged_at: str | None = None
    crime_reference: str | None = None
    history: list[HistoryEntryOut] = []

    @classmethod
    def of(cls, dispatch: Dispatch) -> DispatchOut:
        return cls.model_validate(dispatch.model_dump(mode="json"))


class EvaluationOut(BaseModel):
    eligible: bool
    reasons: list[str]
    force_id: str
    rules_version: int | None
    rules: list[RuleOut]

    @classmethod
    def of(cls, ev: Evaluation) -> EvaluationOut:
        return cls.model_validate(ev.as_dict())


class SendOut(DispatchOut):
    evaluation: EvaluationOut = Field(description="The evaluation the send was decided on (the rules in force now)")


class DispatchesOut(BaseModel):
    items: list[DispatchOut]


class InboxItemOut(BaseModel):
    """A report in a force's inbox: what the D2P email's subject line carries, and where it stands."""

    dispatch_id: str
    incident_id: str
    reference: str
    store_id: str
    category: str
    occurred_at: str
    sent_at: str | None = None
    status: DispatchStatus
    priority: list[str] = Field(description="Why it comes first: violence, suspect detained (empty for the rest)")
    overdue: bool = Field(description="Unacknowledged past the force's acknowledge_within_hours")
    acknowledged_at: str | None = None
    crime_reference: str | None = None


class InboxOut(BaseModel):
    items: list[InboxItemOut]
    acknowledge_within_hours: int = Field(description="The force's target for acknowledging a report")
    continuation: str | None = Field(default=None, description="Pass back as ?continuation= for the next page; absent on the last page")

    @classmethod
    def of(cls, page: InboxPage, now: datetime, continuation: str | None) -> InboxOut:
        return cls(
            items=[
                InboxItemOut(
                    dispatch_id=d.id,
                    incident_id=d.incident_id,
                    reference=d.reference,
                    store_id=d.store_id,
                    category=d.category,
                    occurred_at=d.occurred_at,
                    sent_at=d.sent_at,
                    status=d.status,
                    priority=d.priority,
                    overdue=d.overdue(now, page.acknowledge_within_hours),
                    acknowledged_at=d.acknowledged_at,
                    crime_reference=d.crime_reference,
                )
                for d in page.items
            ],
            acknowledge_within_hours=page.acknowledge_within_hours,
            continuation=continuation,
        )


class OutcomeRecordOut(BaseModel):
    id: str
    incident_id: str
    force_id: str
    code: str
    label: str
    note: str | None = None
    recorded_at: str
    recorded_by: str
    via_d2p: bool = Field(description="Recorded on a report the force received through D2P")
    dispatch_id: str | None = None

    @classmethod
    def of(cls, outcome: Outcome) -> OutcomeRecordOut:
        return cls.model_validate(outcome.model_dump(mode="json"))


class EligibilityOut(BaseModel):
    incident_id: str
    eligible: bool
    reasons: list[str]
    force_id: str
    rules_version: int | None
    rules: list[RuleOut]
    dispatches: list[DispatchOut]
    outcomes: list[OutcomeRecordOut]


class SettingsOut(BaseModel):
    organisation_id: str
    auto_send: bool
    updated_at: str | None = None

    @classmethod
    def of(cls, org_id: str, settings: D2PSettings) -> SettingsOut:
        return cls(organisation_id=org_id, auto_send=settings.auto_send, updated_at=settings.updated_at)


class OutcomeOut(BaseModel):
    outcome: OutcomeRecordOut
    history: list[OutcomeRecordOut]


class TimeStatsOut(BaseModel):
    n: int
    median_hours: float | None = None
    p90_hours: float | None = None


class KpiTimesOut(BaseModel):
    occurred_to_reported: TimeStatsOut
    reported_to_dispatched: TimeStatsOut
    dispatched_to_acknowledged: TimeStatsOut
    other_channels_reported_to_first_outcome: TimeStatsOut


class OutcomeRatesOut(BaseModel):
    reports: int
    with_outcome: int
    charged: int
    outcome_14: int
    outcome_16: int
    charge_rate: float | None = None
    outcome_14_rate: float | None = None
    outcome_16_rate: float | None = None


class KpiOutcomesOut(BaseModel):
    d2p: OutcomeRatesOut
    other_channels: OutcomeRatesOut


class KpiOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    force: str
    from_: str = Field(alias="from")
    to: str
    dispatches_by_status: dict[str, int]
    times: KpiTimesOut
    outcomes: KpiOutcomesOut
    evaluation: EvaluationTableOut = Field(
        description="The force's evaluation table: D2P against each channel whose figures it uploaded for days in the period"
    )


class DeadLetterOut(BaseModel):
    message_id: str | None = None
    delivery_count: int | None = None
    reason: str | None = None
    dispatch_id: str | None = None
    dead_lettered_at: str | None = Field(default=None, description="When it was dead-lettered (or enqueued, for one the queue holds)")
    source: str = Field(
        default="queue", description="`recorded`: by the Azure trigger, with its reason; `queue`: in the queue's own dead-letter queue"
    )


class DeadLettersOut(BaseModel):
    items: list[DeadLetterOut]


class ReplayOut(BaseModel):
    replayed: int


class EventCountsOut(BaseModel):
    recorded: int
    ignored: int = Field(description="Events of other kinds, naming no dispatch, or without an sg_event_id")
    duplicates: int = Field(default=0, description="Events recorded before (a replayed or re-sent batch): not recorded again")
