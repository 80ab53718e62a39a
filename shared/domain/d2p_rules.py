"""A force's D2P rules and the eligibility they decide: what a report must carry, and the words the email and forms use for its flags, category and value."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.domain.incident_report import Category, Money
from shared.domain.tenancy import EMAIL_PATTERN

FLAG_NAMES = ("violence", "weapon", "threats", "staff_injured", "offender_detained", "hate_element")
FLAG_WORDS = {
    "violence": "violence",
    "weapon": "a weapon",
    "threats": "threats",
    "staff_injured": "staff injured",
    "offender_detained": "offender detained by security",
    "hate_element": "a hate element",
}
CATEGORY_WORDS = {
    "shop_theft": "shop theft",
    "robbery": "theft with violence (robbery)",
    "violence_against_staff": "violence against staff",
    "abuse_threats": "abuse or threats",
    "criminal_damage": "criminal damage",
    "fraud": "fraud",
    "burglary": "burglary",
    "anti_social_behaviour": "anti-social behaviour",
    "hate_incident": "hate incident",
    "suspicious_activity": "suspicious activity",
    "prevented_offence": "prevented offence",
}


# ---- rules -----------------------------------------------------------------------


class ForceRules(BaseModel):
    """A force's D2P thresholds and its control-room inbox, as its Police.Admin sets them."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "control_room_email": "control-room@devon-cornwall.police.example",
                    "always_send_categories": ["robbery", "violence_against_staff", "hate_incident"],
                    "always_send_flags": ["violence", "weapon", "threats", "staff_injured", "offender_detained", "hate_element"],
                    "theft_categories": ["shop_theft"],
                    "min_theft_value": {"amount_minor": 10000, "currency": "GBP"},
                    "repeat_offender_meets_value": True,
                    "accepted_categories": ["criminal_damage", "fraud", "burglary"],
                    "require_cctv": True,
                    "require_suspect_image": True,
                    "require_reporter_statement": True,
                    "require_prosecution_support": True,
                    "enrolled_retailers": ["northwind"],
                    "acknowledge_within_hours": 24,
                }
            ]
        },
    )

    control_room_email: str = Field(pattern=EMAIL_PATTERN, max_length=320, description="The control-room inbox D2P emails go to")
    always_send_categories: list[Category] = Field(default_factory=list, max_length=20, description="Categories sent whatever the value")
    always_send_flags: list[str] = Field(
        default_factory=list, max_length=10, description=f"Flags that make any report worth sending: {', '.join(FLAG_NAMES)}"
    )
    theft_categories: list[Category] = Field(
        default_factory=lambda: [Category.SHOP_THEFT], max_length=20, description="Categories held to the minimum value"
    )
    min_theft_value: Money | None = Field(default=None, description="Theft at or above this value is sent; none: any value")
    repeat_offender_meets_value: bool = Field(
        default=True, description="A known repeat offender makes a theft worth sending below the minimum"
    )
    accepted_categories: list[Category] = Field(
        default_factory=list, max_length=20, description="Other categories sent when the evidence rules hold"
    )
    require_cctv: bool = True
    require_suspect_image: bool = True
    require_reporter_statement: bool = True
    require_prosecution_support: bool = True
    enrolled_retailers: list[str] = Field(
        default_factory=list, max_length=1000, description="Retailer organisation ids enrolled with this force"
    )
    acknowledge_within_hours: int = Field(default=24, ge=1, le=24 * 30, description="A dispatch unacknowledged past this is reported")

    @field_validator("always_send_flags")
    @classmethod
    def _flags(cls, v: list[str]) -> list[str]:
        bad = [f for f in v if f not in FLAG_NAMES]
        if bad:
            raise ValueError(f"unknown flags {bad}: use {', '.join(FLAG_NAMES)}")
        return v

    @field_validator("enrolled_retailers")
    @classmethod
    def _ids(cls, v: list[str]) -> list[str]:
        if any(not (1 <= len(x) <= 64) for x in v):
            raise ValueError("organisation ids are 1 to 64 characters")
        return sorted(set(v))


class CurrentRules(BaseModel):
    """The rules in force for a force: the `current` record beside every kept version."""

    id: str = "current"
    force_id: str
    version: int
    rules: ForceRules
    updated_at: str
    updated_by: str

    def next(self, rules: ForceRules, *, by: str, now: str) -> CurrentRules:
        return CurrentRules(force_id=self.force_id, version=self.version + 1, rules=rules, updated_at=now, updated_by=by)

    def as_version(self) -> RulesVersion:
        """The kept copy of this version, never changed afterwards."""
        return RulesVersion(
            id=f"v{self.version:06d}",
            force_id=self.force_id,
            version=self.version,
            rules=self.rules,
            at=self.updated_at,
            by=self.updated_by,
        )


class RulesVersion(BaseModel):
    id: str
    force_id: str
    version: int
    rules: ForceRules
    at: str
    by: str


class D2PSettings(BaseModel):
    """A retailer's D2P settings: automatic sending is off until its admin turns it on."""

    id: str = "settings"
    auto_send: bool = False
    updated_at: str | None = None
    updated_by: str | None = None


@dataclass(frozen=True)
class RuleResult:
    rule: str
    passed: bool
    sentence: str  # on failure: what the store manager can do; on success: why it holds

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "passed": self.passed, "sentence": self.sentence}


@dataclass(frozen=True)
class Evaluation:
    force_id: str
    rules_version: int | None
    results: tuple[RuleResult, ...]

    @property
    def eligible(self) -> bool:
        return bool(self.results) and all(r.passed for r in self.results)

    @property
    def reasons(self) -> list[str]:
        return [r.sentence for r in self.results if not r.passed]

    @property
    def failed_rules(self) -> list[str]:
        return [r.rule for r in self.results if not r.passed]

    def as_dict(self) -> dict[str, Any]:
        return {
            "eligible": self.eligible,
            "reasons": self.reasons,
            "force_id": self.force_id,
            "rules_version": self.rules_version,
            "rules": [r.as_dict() for r in self.results],
        }


def money_words(amount_minor: int, currency: str) -> str:
    symbol = {"GBP": "£", "EUR": "€", "USD": "$", "AUD": "A$", "NZD": "NZ$", "CAD": "C$"}.get(currency)
    text = f"{amount_minor // 100:,}.{amount_minor % 100:02d}"
    return f"{symbol}{text}" if symbol else f"{text} {currency}"


def evaluate(
    incident: dict[str, Any],
    evidence: list[dict[str, Any]],
    *,
    force_id: str,
    force_name: str,
    store_force_id: str | None,
    rules: ForceRules | None,
    rules_version: int | None,
    repeat_offender: bool,
) -> Evaluation:
    """Every rule of `force_id` against the incident, each with pass/fail and a sentence.

    `store_force_id` is the force whose area holds the incident's store;
    `repeat_offender` whether a person on the report is a known offender seen before.
    """
    results: list[RuleResult] = []
    if rules is None:
        results.append(
            RuleResult(
                "force_participates",
                False,
                f"{force_name} does not take direct reports through Vigil yet: report this incident by 101 or online.",
            )
        )
        return Evaluation(force_id, None, tuple(results))
    results.append(RuleResult("force_participates", True, f"{force_name} takes direct reports."))

    in_area = store_force_id == force_id
    results.append(
        RuleResult(
            "store_in_force_area",
            in_area,
            f"The store lies in {force_name}'s area."
            if in_area
            else f"The store is not in {force_name}'s area: the report goes to the force whose area holds the store.",
        )
    )
    enrolled = incident["organisation_id"] in rules.enrolled_retailers
    results.append(
        RuleResult(
            "retailer_enrolled",
            enrolled,
            "Your organisation is enrolled with the force."
            if enrolled
            else f"Your organisation is not enrolled for direct reporting with {force_name}: ask your administrator to arrange it with the force.",
        )
    )
    results.append(_threshold(incident, rules, repeat_offender))

    kinds = {e.get("kind") for e in evidence}
    if rules.require_cctv:
        ok = "cctv" in kinds
        results.append(RuleResult("cctv", ok, "CCTV of the incident is attached." if ok else "Attach CCTV covering the whole incident."))
    if rules.require_suspect_image:
        ok = "suspect_image" in kinds
        results.append(
            RuleResult(
                "suspect_image",
                ok,
                "An image of the suspect is attached." if ok else "Attach a clear image of the suspect (a still from the CCTV will do).",
            )
        )
    if rules.require_reporter_statement:
        ok = any(w.get("is_reporter") and (w.get("statement") or "").strip() for w in incident.get("witnesses", []))
        results.append(
            RuleResult(
                "reporter_statement",
                ok,
                "The reporter's witness statement is included."
                if ok
                else "Add your own witness statement, marked as the reporter's statement.",
            )
        )
    if rules.require_prosecution_support:
        ok = bool(incident.get("prosecution_supported"))
        results.append(
            RuleResult(
                "prosecution_support",
                ok,
                "Your organisation supports prosecution."
                if ok
                else "Confirm that your organisation supports prosecution: the force only takes direct reports it can take to court.",
            )
        )
    return Evaluation(force_id, rules_version, tuple(results))


def _threshold(incident: dict[str, Any], rules: ForceRules, repeat_offender: bool) -> RuleResult:
    category = incident["category"]
    flags = incident.get("flags") or {}
    raised = [f for f in rules.always_send_flags if flags.get(f)]
    if raised:
        return RuleResult("seriousness", True, f"Always sent: the report records {', '.join(FLAG_WORDS[f] for f in raised)}.")
    if category in rules.always_send_categories:
        return RuleResult("seriousness", True, f"Always sent: {CATEGORY_WORDS.get(category, category)}.")
    if category in rules.theft_categories:
        minimum = rules.min_theft_value
        if minimum is None:
            return RuleResult("seriousness", True, "The force takes thefts of any value.")
        total = incident.get("total_value")
        if total and total["currency"] == minimum.currency and total["amount_minor"] >= minimum.amount_minor:
            return RuleResult(
                "seriousness",
                True,
                f"The value {money_words(total['amount_minor'], total['currency'])} meets the minimum of {money_words(minimum.amount_minor, minimum.currency)}.",
            )
        if repeat_offender and rules.repeat_offender_meets_value:
            return RuleResult("seriousness", True, "A known repeat offender is linked, which the force takes below the minimum value.")
        if total and total["currency"] != minimum.currency:
            return RuleResult(
                "seriousness",
                False,
                f"Value the goods in {minimum.currency}: the force's minimum is {money_words(minimum.amount_minor, minimum.currency)}.",
            )
        value = money_words(total["amount_minor"], total["currency"]) if total else "no value"
        hint = " or link a known repeat offender" if rules.repeat_offender_meets_value else ""
        return RuleResult(
            "seriousness",
            False,
            f"The goods are valued at {value}, below the force's minimum of {money_words(minimum.amount_minor, minimum.currency)}: add every item taken with its value{hint}.",
        )
    if category in rules.accepted_categories:
        return RuleResult("seriousness", True, f"The force takes {CATEGORY_WORDS.get(category, category)} reports.")
    return RuleResult(
        "seriousness",
        False,
        f"The force does not take {CATEGORY_WORDS.get(category, category)} reports directly unless violence, a weapon, threats, an injury, a detention or a hate element is recorded: tick the flags that apply, or report by 101.",
    )


class D2PSettingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"auto_send": True}]})

    auto_send: bool = Field(description="Send every eligible report to the force without a second click")
