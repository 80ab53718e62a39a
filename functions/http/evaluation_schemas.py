"""Answers of the force's evaluation: the table (D2P against each uploaded channel) and the
channels' figures as stored."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class HoursOut(BaseModel):
    n: int = Field(description="Reports the hours are over (crimes recorded)")
    mean_hours: float | None = None
    median_hours: float | None = Field(default=None, description="None where it cannot be known (aggregates of several periods)")


class OutcomeCountOut(BaseModel):
    label: str
    count: int
    rate: float | None = Field(default=None, description="count / reports (0..1)")
    highlighted: bool = Field(description="Outcomes 14 and 16: what the victim's support decides")


class SideOut(BaseModel):
    reports: int
    with_outcome: int
    charged: int
    charge_rate: float | None = Field(default=None, description="charged / reports (0..1)")
    outcomes: dict[str, OutcomeCountOut] = Field(description="By Home Office outcome code (latest outcome of each report)")
    hours_to_record: HoursOut


class RateDifferenceOut(BaseModel):
    percentage_points: float = Field(description="D2P's rate minus the channel's, in percentage points")
    relative_percent: float | None = Field(default=None, description="D2P's rate relative to the channel's, in percent")
    points_label: str
    relative_label: str


class HoursDifferenceOut(BaseModel):
    hours: float = Field(description="D2P's hours minus the channel's (negative: D2P is recorded sooner)")
    relative_percent: float | None = None
    hours_label: str
    relative_label: str


class DifferencesOut(BaseModel):
    charge_rate: RateDifferenceOut | None = None
    outcome_14_rate: RateDifferenceOut | None = None
    outcome_16_rate: RateDifferenceOut | None = None
    mean_hours_to_record: HoursDifferenceOut | None = None
    median_hours_to_record: HoursDifferenceOut | None = None


class PeriodOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: str = Field(alias="from")
    to: str


class FiguresVersionOut(BaseModel):
    period_from: str
    version: int
    source: str


class ChannelRowOut(BaseModel):
    channel: str
    periods: list[PeriodOut] = Field(description="The channel's periods; D2P is counted over the very same days")
    versions: list[FiguresVersionOut]
    d2p: SideOut
    channel_figures: SideOut
    differences: DifferencesOut


class EvaluationTableOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    from_: str = Field(alias="from", description="First UTC day")
    to: str = Field(description="Last UTC day, included")
    days: str
    d2p: SideOut = Field(description="D2P over the whole period")
    channels: list[ChannelRowOut]


class ChannelFiguresOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    id: str
    channel: str
    period_from: str
    period_to: str
    reports: int
    charged: int
    outcomes: dict[str, int]
    hours_to_record: HoursOut
    version: int
    source: str = Field(description="aggregates, or extract (rows counted at upload, then dropped)")
    uploaded_at: str
    uploaded_by: str

    @classmethod
    def of(cls, doc: dict[str, Any]) -> ChannelFiguresOut:
        return cls.model_validate({k: v for k, v in doc.items() if k in cls.model_fields})


class ChannelFiguresListOut(BaseModel):
    items: list[ChannelFiguresOut]
